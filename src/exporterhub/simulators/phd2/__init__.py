"""PHD2 simulator: a TCP server that speaks PHD2's event-monitoring protocol.

The public face of the simulator; it holds no logic and re-exports the names
callers use (``phd2-simulator`` and ``exporterhub simulate phd2`` call
:func:`main` through it). Modules:

- ``model``: fault switches, app states, capture modes, mount geometry.
- ``wire``: JSON text with PHD2's number formats, request framing, RPC envelopes.
- ``session``: the simulated guiding session (``core`` holds its state and event
  output, ``frames`` the per-exposure physics).
- ``rpc``: JSON-RPC requests against the session.
- ``server``: the TCP server and its client connections (the only I/O).
- ``command``: the ``phd2-simulator`` command line.

Nothing here may bind anything but the configured host (127.0.0.1 by default) or
import exporter code.
"""

from __future__ import annotations

from exporterhub.simulators.phd2.command import (
    build_parser,
    config_from_args,
    main,
    serve,
)
from exporterhub.simulators.phd2.model import AppState, Phd2Faults
from exporterhub.simulators.phd2.server import Phd2SimConfig, Phd2Simulator
from exporterhub.simulators.phd2.wire import Num

__all__ = [
    "AppState",
    "Num",
    "Phd2Faults",
    "Phd2SimConfig",
    "Phd2Simulator",
    "build_parser",
    "config_from_args",
    "main",
    "serve",
]
