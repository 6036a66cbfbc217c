r"""UDP discovery answers of the simulated Kasa/Tapo plugs (``kasa.md`` §5.1, §5.3).

python-kasa finds plugs by sending UDP probes and building a client from the
reply. Two kinds of probe reach a plug:

- legacy IOT, on the plug's own port number (9999 on real plugs): the
  XOR-obfuscated JSON ``{"system":{"get_sysinfo":{}}}`` **without** the 4-byte
  length prefix of TCP frames; the reply is the obfuscated sysinfo, also without
  prefix, sent from that same port (the client drops legacy replies from any
  other port).
- SMART, on fixed UDP port 20002 (python-kasa also probes 20004): a 16-byte
  header and an RSA-keyed blob meant for real firmware. The reply is 16 header
  bytes followed by plain JSON ``{"error_code": 0, "result": <discovery
  result>}``; the client reads ``result.mgt_encrypt_schm`` to pick KLAP, the
  login version and ``http_port``.

Discovery result fields this module sets (the rest come from the profile):
``ip`` (the plug's listen address), ``mac`` (``AA-BB-CC-DD-EE-FF``),
``device_id``, ``device_type`` (``SMART.TAPOPLUG`` …), ``device_model``
(``P110(EU)``), ``mgt_encrypt_schm`` = ``{encrypt_type "KLAP", http_port (TCP
port of the plug's HTTP server), is_support_https false, lv 2}``.

Reply building is pure. :class:`DiscoveryResponder` is the only part touching a
socket: it honours the plug's fault switches and sends what its ``answer``
callback returns. This module must not bind anything but the address it is
given, decrypt the SMART probe (its content is ignored), or let a datagram
callback raise.

Example:
    >>> reply = smart_reply({"device_type": "SMART.TAPOPLUG"})
    >>> reply[:4], reply[16:32]
    (b'\x02\x00\x00\x01', b'{"error_code": 0')
    >>> nth_loopback("127.0.0.2", 3)
    '127.0.0.5'
    >>> plug_address("klap", 2, base_port=0, host="", first="127.0.0.2")
    ('127.0.0.4', 0)
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

import structlog

from exporterhub.simulators.kasa.model import PlugFaults
from exporterhub.simulators.kasa.xor import decrypt, encrypt

__all__ = [
    "LEGACY_DISCOVERY_PORT",
    "SMART_DISCOVERY_PORT",
    "DiscoveryResponder",
    "discovery_result",
    "nth_loopback",
    "open_responder",
    "plug_address",
    "smart_reply",
    "xor_reply",
]

_log = structlog.get_logger(__name__)

LEGACY_DISCOVERY_PORT: Final = 9999  # python-kasa's default IOT port, TCP and UDP
SMART_DISCOVERY_PORT: Final = 20002  # fixed; python-kasa cannot be told another
SMART_HEADER: Final = bytes.fromhex("02000001") + bytes(12)  # version 2, probe reply
GARBAGE_SIZE: Final = 48  # bytes of a garbage reply; far too long to parse as JSON
SYSINFO_QUERY: Final[Mapping[str, Any]] = {"system": {"get_sysinfo": {}}}

Json = dict[str, Any]
Answer = Callable[[bytes], bytes | None]


def xor_reply(
    datagram: bytes, handle_iot: Callable[[Mapping[str, Any]], Json]
) -> bytes | None:
    """Return the obfuscated sysinfo reply to a legacy probe.

    Args:
        datagram: the probe, XOR-obfuscated JSON without length prefix.
        handle_iot: the plug model's IOT request handler (applies overrides).

    Returns:
        The reply datagram, or ``None`` if the probe is not an obfuscated JSON
        object (the plug then stays quiet, like firmware does).
    """
    try:
        request = json.loads(decrypt(datagram))
    except ValueError:  # also UnicodeDecodeError
        return None
    if not isinstance(request, dict):
        return None
    return encrypt(json.dumps(handle_iot(SYSINFO_QUERY)).encode())


def discovery_result(
    stored: object, device_info: Mapping[str, Any], *, host: str, http_port: int
) -> Json:
    """Return the SMART discovery result of a plug.

    Args:
        stored: the profile's ``discovery_result`` (``{"result": {...}}``) or
            ``None``; without one a result is built from ``device_info``.
        device_info: the model's current ``get_device_info`` result.
        host: the address the plug listens on.
        http_port: the TCP port of the plug's KLAP HTTP server.
    """
    result = _stored_result(stored) or {
        "device_type": device_info.get("type", "SMART.TAPOPLUG"),
        "device_model": device_info.get("model", ""),
    }
    # encrypt_info would make the client try to RSA-decrypt it for nothing.
    result.pop("encrypt_info", None)
    result.update(
        ip=host,
        mac=str(device_info.get("mac", "")).replace(":", "-").upper(),
        device_id=device_info.get("device_id", ""),
    )
    scheme = result.get("mgt_encrypt_schm")
    result["mgt_encrypt_schm"] = scheme = dict(scheme or {})
    # Describe what the simulator speaks, whatever the recorded device did.
    scheme.update(
        encrypt_type="KLAP", http_port=http_port, is_support_https=False, lv=2
    )
    return result


def _stored_result(stored: object) -> Json | None:
    if isinstance(stored, Mapping) and isinstance(stored.get("result"), Mapping):
        return dict(copy.deepcopy(stored["result"]))
    return None


def smart_reply(result: Mapping[str, Any]) -> bytes:
    """Return the SMART discovery reply datagram carrying ``result``."""
    return SMART_HEADER + json.dumps({"error_code": 0, "result": result}).encode()


def nth_loopback(first: str, index: int) -> str:
    """Return the IPv4 loopback address ``index`` places after ``first``.

    Raises:
        ValueError: ``first`` is not IPv4 or the address is not loopback.
    """
    address = ipaddress.IPv4Address(first) + index
    if not address.is_loopback:
        msg = f"{address} is not a loopback address"
        raise ValueError(msg)
    return str(address)


def plug_address(
    protocol: str, index: int, *, base_port: int, host: str, first: str | None
) -> tuple[str, int]:
    """Return the ``(host, port)`` of the ``index``-th simulated plug.

    Without ``first`` every plug shares ``host`` and plug ``i`` takes port
    ``base_port + i`` (ephemeral with ``base_port`` 0). With it, plug ``i`` gets
    the ``i``-th loopback address counting from ``first``; XOR plugs then all use
    ``base_port`` (9999, python-kasa's discovery default, when 0) and KLAP plugs
    ``base_port + i`` (ephemeral when 0: discovery tells the client the port).

    Raises:
        ValueError: ``first`` is not IPv4 or runs past the loopback network.
    """
    consecutive = base_port + index if base_port else 0
    if first is None:
        return host, consecutive
    address = nth_loopback(first, index)
    if protocol == "xor":
        return address, base_port or LEGACY_DISCOVERY_PORT
    return address, consecutive


class DiscoveryResponder(asyncio.DatagramProtocol):
    """Answers each datagram with ``answer(datagram)`` unless a fault says not to.

    ``refuse`` and ``silent`` drop every probe, ``garbage`` answers random
    bytes; switches are read per datagram, so a flip takes effect at once.
    """

    def __init__(self, faults: PlugFaults, answer: Answer) -> None:
        self._faults = faults
        self._answer = answer
        self._transport: asyncio.DatagramTransport | None = None
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to reply through."""
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Reply to one probe from ``addr``."""
        if self._faults.refuse or self._faults.silent or self._transport is None:
            return
        if self._faults.garbage:
            reply: bytes | None = secrets.token_bytes(GARBAGE_SIZE)
        else:
            reply = self._answer(data)
        if reply is None:
            _log.debug("kasa_discovery_ignored", peer=addr[0], size=len(data))
            return
        self._transport.sendto(reply, addr)
        self.answered += 1

    def error_received(self, exc: Exception) -> None:
        """Log a send error (e.g. ICMP unreachable); the endpoint stays open."""
        _log.debug("kasa_discovery_send_failed", error=str(exc))


async def open_responder(
    host: str, port: int, faults: PlugFaults, answer: Answer
) -> tuple[asyncio.DatagramTransport, DiscoveryResponder]:
    """Bind UDP ``(host, port)`` and answer discovery probes there.

    Raises:
        OSError: the address cannot be bound (e.g. another plug holds it).
    """
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(
        lambda: DiscoveryResponder(faults, answer), local_addr=(host, port)
    )
