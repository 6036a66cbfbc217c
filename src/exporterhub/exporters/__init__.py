"""One sub-package per exporter, each with the same module names inside.

``load_plugins`` imports the exporters by kind; an exporter whose extra is not
installed reports which extra to install instead of failing with an import trace.
Importing this package loads no exporter and no asyncio.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from exporterhub.core.errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    # Not at run time: importing this package must not load asyncio. Coverage's
    # subprocess hook imports it (to find exporterhub.exporters.<name>) and then
    # drops what it loaded; a second asyncio beside the first's C tasks makes
    # their CancelledError unrecognised (see tests/test_packages.py).
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
        ConfigError: the kind is unknown.
        MissingExtraError: its extra is not installed.
    """
    if kind not in KINDS:
        raise ConfigError(f"unknown exporter {kind!r}; known: {', '.join(KINDS)}")
    try:
        module = importlib.import_module(
            f"exporterhub.exporters.{MODULES[kind]}.plugin"
        )
    except ImportError as exc:
        extra = MODULES[kind]
        raise MissingExtraError(
            f"exporter {kind!r} needs its extra: pip install 'exporterhub[{extra}]' "
            f"({exc.name} is missing)"
        ) from exc
    plugin: ExporterPlugin = module.PLUGIN
    return plugin


def load_plugins(
    kinds: Iterable[str] = KINDS, *, installed_only: bool = False
) -> dict[str, ExporterPlugin]:
    """Import several exporters' plugins, keyed by kind.

    Args:
        kinds: the kinds to import.
        installed_only: leave out a kind whose extra is not installed instead of
            raising (a user who installed ``exporterhub[phd2]`` runs PHD2 targets
            without the other exporters' packages).

    Raises:
        ConfigError: a kind is unknown.
        MissingExtraError: a kind's extra is missing (unless ``installed_only``).
    """
    plugins: dict[str, ExporterPlugin] = {}
    for kind in kinds:
        try:
            plugins[kind] = load_plugin(kind)
        except MissingExtraError:
            if not installed_only:
                raise
    return plugins
