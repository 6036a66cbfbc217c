"""Starlink dish exporter: a seedable simulation engine and (later) a live dish reader.

Both sources produce one frozen ``Telemetry`` sample (``telemetry.py``); the
configuration model lives in ``settings.py`` (its sections in ``route_settings.py``,
``link_settings.py`` and ``scenario_settings.py``, their shared rules in
``settings_rules.py``, the dish address grammar in the core's ``address.py``;
``settings`` re-exports the sections) and the simulation in ``engine.py``. The
REST routes are in ``api.py``, the ``/api/status`` document in ``status.py``.
Importing this package starts nothing. It does one thing to the process: unless
``GRPC_VERBOSITY`` is already set, it sets it to ``NONE`` before live mode
imports ``grpc``. gRPC's C core otherwise writes its own lines straight to stderr
(``I1207 17:12:29.98 3413 fork_posix.cc:71] Other threads are currently calling
into gRPC, skipping fork() handlers``), outside the JSON log and in no format a
log shipper parses; what live mode needs from a failed call reaches the log as
``starlink_pass_failed`` with its reason. Set ``GRPC_VERBOSITY`` (``ERROR``,
``INFO``, ``DEBUG``) to see the C core's lines again.
"""

from __future__ import annotations

import os

__all__: list[str] = []

# Read once by gRPC's C core when grpc is first imported (see above).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
