"""CHAOS simulator: an HTTP server that answers like AAISP's CHAOS v2 API.

The public face of the simulator; it holds no logic and re-exports the names
callers use (``chaos-simulator`` and ``exporterhub simulate chaos`` call
:func:`main` through it).

Nothing here may bind anything but the configured host (127.0.0.1 by default),
import exporter code or store a password.
"""

from __future__ import annotations

from exporterhub.simulators.chaos.server import (
    ChaosFaults,
    ChaosSimConfig,
    ChaosSimulator,
    LoggedRequest,
    build_parser,
    config_from_args,
    main,
    serve,
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
