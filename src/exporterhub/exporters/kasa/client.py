"""The plug exporter's only network code: python-kasa ``Device`` objects, bounded.

``PlugClient`` connects once (directly, with the configured connection type, or by
unicast discovery for ``auto``), reuses the ``Device`` for every poll (a new object
means a new KLAP handshake on a small Wi-Fi MCU), bounds each ``update()`` with
its own deadline (python-kasa's internal retries can take minutes against a dead
SMART plug), rebuilds the device when python-kasa has switched its energy module
off, and classifies failures into a short fixed set. Credentials never leave the
``DeviceConfig``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import kasa
from kasa import (
    Credentials,
    Device,
    DeviceConfig,
    DeviceConnectionParameters,
    DeviceEncryptionType,
    DeviceFamily,
    Discover,
)

from exporterhub.exporters.kasa.discovery import FoundPlug, normal_mac
from exporterhub.exporters.kasa.state import error_kind

__all__ = ["PlugClient", "PlugError", "discover_plugs", "resolve"]


class PlugError(Exception):
    """A failed poll, with its kind (``auth``, ``timeout``, ``connection`` …)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _connection_type(
    kind: str, login_version: int | None = None
) -> DeviceConnectionParameters | None:
    if kind == "iot":
        return DeviceConnectionParameters(
            DeviceFamily.IotSmartPlugSwitch, DeviceEncryptionType.Xor
        )
    if kind == "klap":
        return DeviceConnectionParameters(
            DeviceFamily.SmartTapoPlug,
            DeviceEncryptionType.Klap,
            login_version=login_version or 2,
        )
    if kind == "aes":
        return DeviceConnectionParameters(
            DeviceFamily.SmartTapoPlug,
            DeviceEncryptionType.Aes,
            login_version=login_version,
        )
    return None  # auto: ask the plug


class PlugClient:
    """One plug's connection.

    Args:
        host: the plug's address.
        port: the port (XOR TCP or HTTP), None for the protocol default.
        connection_type: ``auto``, ``iot``, ``klap`` or ``aes``.
        username: the TP-Link account e-mail (ignored by XOR plugs).
        password: its password.
        timeout: python-kasa's per-attempt timeout, seconds.
        deadline: the most one poll may take, seconds, retries included.
        login_version: the SMART login version (None: 2 for KLAP).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int | None,
        connection_type: str,
        username: str,
        password: str,
        timeout: float,
        deadline: float,
        login_version: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.connection_type = connection_type
        self.login_version = login_version
        self._credentials = Credentials(username, password)
        self._timeout = timeout
        self._deadline = deadline
        self.device: Device | None = None

    @property
    def protocol(self) -> str:
        """Return the wire protocol in use (``xor``, ``klap``, ``aes`` or ``auto``)."""
        device = self.device
        if device is None:
            return self.connection_type
        encryption = device.config.connection_type.encryption_type
        return str(encryption.value).lower()

    async def _connect(self) -> Device:
        if self.connection_type == "auto":
            return await self._connect_auto()
        return await self._connect_as(self.connection_type)

    async def _connect_auto(self) -> Device:
        """Try each protocol directly (no UDP needed), then unicast discovery.

        A plug given as ``host:port`` is usually reached through a forwarded port
        or on another network, where discovery datagrams do not arrive. The kind
        that works is remembered, so later reconnects go straight to it.
        """
        last: Exception | None = None
        for kind in ("iot", "klap", "aes"):
            try:
                async with asyncio.timeout(self._deadline):
                    device = await self._connect_as(kind)
            except kasa.AuthenticationError:
                raise  # the right protocol, the wrong account: say so
            except (kasa.KasaException, TimeoutError) as exc:
                last = exc
                continue
            self.connection_type = kind
            return device
        found = await Discover.discover_single(
            self.host,
            port=self.port,
            timeout=int(max(1, self._timeout)),
            discovery_timeout=int(max(1, self._timeout)),
            credentials=self._credentials,
        )
        if found is None:  # pragma: no cover - discover_single raises instead
            raise last or kasa.KasaException(f"no plug answered at {self.host}")
        await found.update()
        return found

    async def _connect_as(self, kind_name: str) -> Device:
        kind = _connection_type(kind_name, self.login_version)
        if kind is None:  # pragma: no cover - "auto" never gets here
            raise ValueError(f"no direct connection type for {kind_name!r}")
        config = DeviceConfig(
            host=self.host,
            port_override=self.port,
            timeout=int(max(1, self._timeout)),
            credentials=self._credentials,
            connection_type=kind,
        )
        return await Device.connect(config=config)

    async def poll(self) -> Device:
        """Connect (first time) or update, within the deadline (per attempt for auto).

        Raises:
            PlugError: the poll failed; ``kind`` says how.
        """
        try:
            if self.device is None:
                # Each protocol tried by "auto" has its own deadline.
                limit = self._deadline * (4 if self.connection_type == "auto" else 1)
                async with asyncio.timeout(limit):
                    self.device = await self._connect()
            else:
                async with asyncio.timeout(self._deadline):
                    await self.device.update()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise PlugError(str(error_kind(exc)), type(exc).__name__) from exc
        return self.device

    async def rebuild(self) -> None:
        """Drop the device (its energy module was switched off); reconnect next poll."""
        await self.close()

    async def close(self) -> None:
        """Disconnect and forget the device; never raises."""
        device, self.device = self.device, None
        if device is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await device.disconnect()


_KINDS: dict[DeviceEncryptionType, str] = {
    DeviceEncryptionType.Xor: "iot",
    DeviceEncryptionType.Klap: "klap",
    DeviceEncryptionType.Aes: "aes",
}


def _found(device: Device) -> FoundPlug | None:
    """Describe one discovered device; None for one we cannot talk to."""
    params = device.config.connection_type
    kind = _KINDS.get(params.encryption_type)
    if kind is None:  # pragma: no cover - a camera's or hub's transport
        return None
    if kind == "iot":
        port = device.config.port_override
        port = None if port == Discover.DISCOVERY_PORT else port
        login_version = None
    else:
        port = params.http_port if params.http_port not in (None, 80) else None
        login_version = params.login_version
    try:
        mac, model = normal_mac(str(device.mac)), str(device.model)
    except (KeyError, AttributeError, kasa.KasaException):  # pragma: no cover
        mac, model = "", ""
    return FoundPlug(
        host=device.host,
        port=port,
        connection_type=kind,
        login_version=login_version,
        mac=mac,
        model=model,
        family=str(params.device_family.value),
    )


async def discover_plugs(
    target: str,
    *,
    port: int | None,
    username: str,
    password: str,
    discovery_timeout: int,
    discovery_packets: int,
    interface: str | None = None,
) -> list[FoundPlug]:
    """Ask ``target`` (a broadcast or a plug's address) which plugs are there.

    The devices python-kasa builds from the answers are described and closed at
    once: each found plug's own worker connects it.

    Raises:
        OSError: the datagrams could not be sent (no route, no interface).
        kasa.KasaException: python-kasa gave up on the round.
        TimeoutError: no end within ``discovery_timeout`` plus a margin.
    """
    # python-kasa sends with a blocking sendto() on an IPv4 socket, where a name
    # would be resolved on the event loop and a lookup failure only logged: resolve
    # here, without blocking, and let a failure fail the round.
    async with asyncio.timeout(discovery_timeout + 5):
        infos = await asyncio.get_running_loop().getaddrinfo(
            target, None, family=socket.AF_INET, type=socket.SOCK_DGRAM
        )
        address = str(infos[0][4][0])
        devices = await Discover.discover(
            target=address,
            port=port,
            discovery_timeout=discovery_timeout,
            discovery_packets=discovery_packets,
            interface=interface,
            credentials=Credentials(username, password),
        )
    found = []
    for device in devices.values():
        plug = _found(device)
        if plug is not None:
            found.append(plug)
        with contextlib.suppress(Exception):
            await device.disconnect()
    return found


RESOLVE_TIMEOUT = 5.0
"""Seconds a host name lookup may take (a hung resolver must not stall discovery)."""


async def resolve(host: str) -> frozenset[str]:
    """Return the addresses ``host`` resolves to; empty when it does not resolve."""
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError):
        return frozenset()
    return frozenset(str(info[4][0]) for info in infos)
