"""exporterhub: Prometheus exporters for devices that speak their own protocols.

The package holds one shared core (``exporterhub.core``), one sub-package per exporter
(``exporterhub.exporters.<name>``) and one protocol simulator per exporter
(``exporterhub.simulators.<name>``). Importing it has no side effects.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
