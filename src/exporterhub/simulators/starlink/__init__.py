"""Fake Starlink dish: the dish's gRPC API with server reflection on 127.0.0.1.

The public face of the simulator; it holds no logic and re-exports the names
callers use (``starlink-simulator`` and ``exporterhub simulate starlink`` call
:func:`main` through it).

Nothing here may bind anything but the configured host, import exporter code other
than the ``Telemetry`` shape and the simulation engine that feeds it, or block the
event loop.
"""

from __future__ import annotations

from exporterhub.simulators.starlink.server import (
    DishFaults,
    DishSimConfig,
    StarlinkDishSimulator,
    build_parser,
    config_from_args,
    default_telemetry,
    main,
    serve_grpc,
)

__all__ = [
    "DishFaults",
    "DishSimConfig",
    "StarlinkDishSimulator",
    "build_parser",
    "config_from_args",
    "default_telemetry",
    "main",
    "serve_grpc",
]
