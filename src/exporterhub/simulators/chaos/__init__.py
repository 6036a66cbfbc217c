"""CHAOS simulator: an HTTP server that answers like AAISP's CHAOS v2 API.

The public face of the simulator; it holds no logic and re-exports the names
callers use (``chaos-simulator`` and ``exporterhub simulate chaos`` call
:func:`main` through it). Modules:

- ``accounts``: control logins and their lines, loaded from ``data/chaos.json``.
- ``model``: the answer builder and the fault switches.
- ``wire``: request attributes in, JSON or XML envelopes out.
- ``http``: one HTTP/1.1 request in, one response out, on asyncio streams.
- ``server``: the HTTP server and its request log (the only listener).
- ``command``: the ``chaos-simulator`` command line.

Nothing here may bind anything but the configured host (127.0.0.1 by default),
import exporter code or store a password.
"""

from __future__ import annotations

from exporterhub.simulators.chaos.command import (
    build_parser,
    config_from_args,
    main,
    serve,
)
from exporterhub.simulators.chaos.model import ChaosFaults
from exporterhub.simulators.chaos.server import (
    ChaosSimConfig,
    ChaosSimulator,
    LoggedRequest,
)

__all__ = [
    "ChaosFaults",
    "ChaosSimConfig",
    "ChaosSimulator",
    "LoggedRequest",
    "build_parser",
    "config_from_args",
    "main",
    "serve",
]
