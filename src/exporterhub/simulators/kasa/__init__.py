"""Kasa/Tapo plug simulator: plugs on loopback that speak the real wire protocols.

Used by the plug exporter's tests, by ``make demo`` and by anyone trying the
project without plugs. Each :class:`PlugSimulator` is one plug on its own port:
legacy IOT over XOR-framed TCP (``protocol="xor"``) or SMART over KLAP v2 on
HTTP (``protocol="klap"``), answering from a fixture-shaped profile whose values
move over time (``model``). The unmodified python-kasa client talks to it
(protocol document ``kasa.md`` §5). :class:`PlugFaults` switches, mutable while
running, refuse connections, swallow requests, answer garbage or fail meter
queries; :meth:`PlugSimulator.reboot` resets the counters.

With ``PlugSpec.discovery`` a plug also answers python-kasa's UDP discovery
(``Discover.discover``/``discover_single``; ``kasa.md`` §5.1, §5.3): an XOR plug
on UDP at its own TCP port number, a KLAP plug on UDP 20002 of its own address.
Port 20002 is fixed, so each discoverable KLAP plug needs its own loopback
address; :func:`default_specs` with ``first_address`` hands out 127.0.0.2,
127.0.0.3, … (all routed to ``lo`` on Linux without setup).

Run it with ``kasa-simulator --xor 2 --klap 2 --base-port 9999``, or with
``--discovery`` for discoverable plugs on 127.0.0.2 onwards (see
:func:`build_parser`).

This package's ``__init__`` is the public face and holds no logic: it re-exports
the plug server (``server``), the multi-plug runner and bundled specs (``fleet``)
and the command line (``command``); the device model (``model``), XOR framing
(``xor``), KLAP v2 crypto (``klap``) and discovery replies (``discovery``) live
in the other modules, the bundled profiles in ``data/``. None of them may import
the package itself. The simulator must not bind anything but the configured
hosts (127.0.0.1 by default, loopback addresses with discovery), import exporter
code or log credentials; only ``server``'s servers and ``discovery``'s responder
touch sockets.

Example:
    >>> [s.protocol for s in default_specs(1, 1)]
    ['xor', 'klap']
    >>> [(s.host, s.port) for s in default_specs(1, 1, first_address="127.0.0.2")]
    [('127.0.0.2', 9999), ('127.0.0.3', 0)]
"""

from __future__ import annotations

from exporterhub.simulators.kasa.command import build_parser, main, serve
from exporterhub.simulators.kasa.command import specs_from_args as specs_from_args
from exporterhub.simulators.kasa.fleet import KasaSimulator, default_specs
from exporterhub.simulators.kasa.server import PlugFaults, PlugSimulator, PlugSpec

__all__ = [
    "KasaSimulator",
    "PlugFaults",
    "PlugSimulator",
    "PlugSpec",
    "build_parser",
    "default_specs",
    "main",
    "serve",
]
