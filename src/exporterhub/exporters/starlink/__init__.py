"""Starlink dish exporter: a seedable simulation engine and (later) a live dish reader.

Both sources produce one frozen ``Telemetry`` sample (``telemetry.py``); the
configuration model lives in ``settings.py`` (its sections in ``route_settings.py``,
``link_settings.py`` and ``scenario_settings.py``, their shared rules in
``settings_rules.py``, the dish address grammar in the core's ``address.py``;
``settings`` re-exports the sections) and the simulation in ``engine.py``. The
REST routes are in ``api.py``, the ``/api/status`` document in ``status.py``.
Importing this package starts nothing.
"""

from __future__ import annotations

__all__: list[str] = []
