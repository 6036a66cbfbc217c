"""Settings of the Tapo/Kasa plug exporter: the one import for all of them.

This is the exporter's ``settings`` module (every exporter has one); it only
re-exports, so that ``from exporterhub.exporters.kasa.settings import …`` keeps
working while the code lives in small modules:

- ``devices``: ``host[:port]`` parsing and ``KasaDevice``;
- ``section``: the ``exporters.tapo`` YAML section and the per-plug settings it
  resolves to (``KasaTargetSettings``, ``KasaDiscoverySettings``);
- ``command_settings``: the standalone command's settings (CLI > environment >
  YAML > defaults) and ``load_tapo_settings``.

It must not define anything itself: new code goes into one of those modules, and
nothing they import may import this facade back (that would be an import cycle).
Names fixed by COMPAT: the ``exporters.tapo`` section with ``devices``,
``discovery_options`` and ``prometheus_options.refresh_interval``; env
``TP_LINK_USERNAME``/``TP_LINK_PASSWORD`` (also ``TAPO_USERNAME``,
``TAPO_PASSWORD``), ``TAPO_PLUG_DEVICES``, ``PROMETHEUS_PORT`` and ``LOG_LEVEL``;
port 8090. Nothing here ever writes the user's config file.
"""

from __future__ import annotations

from exporterhub.exporters.kasa.command_settings import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_PORT,
    TapoExporterSettings,
    load_tapo_settings,
)
from exporterhub.exporters.kasa.devices import ConnectionType, KasaDevice, parse_device
from exporterhub.exporters.kasa.section import (
    CredentialSet,
    DiscoveryOptions,
    KasaDiscoverySettings,
    KasaTargetSettings,
    PrometheusOptions,
    TapoSection,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_PORT",
    "ConnectionType",
    "CredentialSet",
    "DiscoveryOptions",
    "KasaDevice",
    "KasaDiscoverySettings",
    "KasaTargetSettings",
    "PrometheusOptions",
    "TapoExporterSettings",
    "TapoSection",
    "load_tapo_settings",
    "parse_device",
]
