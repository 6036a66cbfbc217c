"""The shared core every exporter builds on: config, workers, snapshots, HTTP.

Nothing in here knows a device protocol; exporters plug in through ``ExporterPlugin``.
"""

from __future__ import annotations
