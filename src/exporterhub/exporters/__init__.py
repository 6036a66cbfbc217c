"""One sub-package per exporter, each with the same module names inside.

``load_plugins`` imports the exporters by kind; an exporter whose extra is not
installed reports which extra to install instead of failing with an import trace.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Final

from exporterhub.core.errors import ConfigError
from exporterhub.core.plugin import ExporterPlugin

__all__ = ["KINDS", "MODULES", "load_plugin", "load_plugins"]

KINDS: Final = ("phd2", "chaos", "starlink", "tapo", "snp")
"""Every exporter kind this version ships, in demo order."""

MODULES: Final = {
    "phd2": "phd2",
    "chaos": "chaos",
    "starlink": "starlink",
    "tapo": "kasa",
    "snp": "snp",
}
"""The sub-package (and simulator module) of each kind. The Tapo/Kasa exporter keeps
the original's ``tapo`` in configuration and metrics; its code lives in ``kasa``."""


def load_plugin(kind: str) -> ExporterPlugin:
    """Import one exporter's plugin.

    Raises:
        ConfigError: the kind is unknown or its extra is not installed.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown exporter {kind!r}; known: {', '.join(KINDS)}")
    try:
        module = importlib.import_module(
            f"exporterhub.exporters.{MODULES[kind]}.plugin"
        )
    except ImportError as exc:
        raise ConfigError(
            f"exporter {kind!r} needs its extra: pip install 'exporterhub[{kind}]' "
            f"({exc.name} is missing)"
        ) from exc
    plugin: ExporterPlugin = module.PLUGIN
    return plugin


def load_plugins(kinds: Iterable[str] = KINDS) -> dict[str, ExporterPlugin]:
    """Import several exporters' plugins, keyed by kind."""
    return {kind: load_plugin(kind) for kind in kinds}
