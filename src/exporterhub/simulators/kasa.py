"""Kasa/Tapo plug simulator: plugs on loopback that speak the real wire protocols.

Used by the plug exporter's tests, by ``make demo`` and by anyone trying the
project without plugs. Each :class:`PlugSimulator` is one plug on its own port:
legacy IOT over XOR-framed TCP (``protocol="xor"``) or SMART over KLAP v2 on
HTTP (``protocol="klap"``), answering from a fixture-shaped profile whose values
move over time (``_kasa_device``). The unmodified python-kasa client talks to it
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

This module is the public face and holds no logic: it re-exports the plug server
(``_kasa_plug``), the multi-plug runner and bundled specs (``_kasa_fleet``) and
the command line (``_kasa_cli``); framing, crypto, discovery replies and the
device model live in the other private ``_kasa_*`` modules. None of them may
import this module. The simulator must not bind anything but the configured
hosts (127.0.0.1 by default, loopback addresses with discovery), import exporter
code or log credentials; only ``_kasa_plug``'s servers and ``_kasa_discovery``'s
responder touch sockets.

Example:
    >>> [s.protocol for s in default_specs(1, 1)]
    ['xor', 'klap']
    >>> [(s.host, s.port) for s in default_specs(1, 1, first_address="127.0.0.2")]
    [('127.0.0.2', 9999), ('127.0.0.3', 0)]
"""

from __future__ import annotations

from exporterhub.simulators._kasa_cli import build_parser, main, serve
from exporterhub.simulators._kasa_cli import specs_from_args as specs_from_args
from exporterhub.simulators._kasa_fleet import KasaSimulator, default_specs
from exporterhub.simulators._kasa_plug import PlugFaults, PlugSimulator, PlugSpec

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

if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
