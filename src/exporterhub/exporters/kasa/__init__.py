"""TP-Link Kasa/Tapo plug exporter: polls plugs through python-kasa, exports ``tapo_*``.

Modules: ``settings`` (device strings, the ``exporters.tapo`` YAML section and the
standalone command's settings), ``state`` (reads a python-kasa ``Device`` into a
frozen ``KasaReading`` and folds readings and poll errors into a ``KasaSnapshot``)
and ``collector`` (the metric table). All three are pure; only the client touches
the network. Importing this package loads nothing heavy: python-kasa is imported
only when a device is read.
"""

from __future__ import annotations

__all__ = ["collector", "settings", "state"]
