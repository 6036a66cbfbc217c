"""Fake Starlink dish: the dish's gRPC API with server reflection on 127.0.0.1.

The public face of the simulator; it holds no logic and re-exports the names
callers use (``starlink-simulator`` and ``exporterhub simulate starlink`` call
:func:`main` through it). Modules:

- ``model``: the sample source (fixed sample or simulation engine) and the
  scenario switches.
- ``wire``: the dish's protobuf schema, built in Python.
- ``server``: the gRPC server (or the silent TCP listener), the only I/O.
- ``command``: the ``starlink-simulator`` command line.

Nothing here may bind anything but the configured host, import exporter code other
than the ``Telemetry`` shape and the simulation engine that feeds it, or block the
event loop.
"""

from __future__ import annotations

from exporterhub.simulators.starlink.command import (
    build_parser,
    config_from_args,
    main,
    serve_grpc,
)
from exporterhub.simulators.starlink.model import DishFaults, default_telemetry
from exporterhub.simulators.starlink.server import DishSimConfig, StarlinkDishSimulator

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
