"""TP-Link Kasa/Tapo plug exporter: polls plugs through python-kasa, exports ``tapo_*``.

Modules: ``settings`` (re-exports ``devices``: host[:port] strings; ``section``: the
``exporters.tapo`` YAML section, discovery options and per-plug settings;
``command_settings``: the standalone command's env and flags), ``state`` (reads a
python-kasa ``Device`` into a frozen ``KasaReading`` and folds readings and poll
errors into a ``KasaSnapshot``), ``collector`` (the metric table), ``discovery``
(which discovered plugs become targets, by MAC) and ``instruments`` (discovery's own
metrics). Those are pure; only ``client`` touches the network and ``plugin`` wires.
Importing this package loads nothing heavy: python-kasa is imported only when a
device is read.
"""

from __future__ import annotations

__all__ = ["collector", "settings", "state"]
