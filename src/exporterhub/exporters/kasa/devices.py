"""One plug's address: ``host[:port]`` parsing and the ``KasaDevice`` model.

A device is ``host[:port]`` (``[::1]:9999`` for IPv6) on the command line and in
``TAPO_PLUG_DEVICES`` (a space or comma separated list); in YAML a ``devices``
entry is either that string or a mapping ``{host, port, connection_type, name,
credentials}``. This module validates those forms and nothing else: it must not
know about the YAML section, the environment or credentials' values (a device
only names a credential set), and it never talks to a plug.

``KasaDevice`` is part of the per-plug settings the REST API validates and
documents, so it is strict (JSON's types as the schema states them, the host as
``core.address.Host``, ``connection_type`` exactly one of its values); a YAML or
flag entry (``DeviceEntry``) keeps its conveniences first: ``host[:port]``
strings and a connection type in any case.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from exporterhub.core.address import Host
from exporterhub.core.fields import FROZEN, WholeNumber, whole_number

__all__ = [
    "ConnectionType",
    "DeviceEntry",
    "KasaDevice",
    "hostport",
    "parse_device",
    "split_devices",
]

ConnectionType = Literal["auto", "iot", "klap", "aes"]
"""``auto`` probes; ``iot`` = legacy XOR; ``klap``/``aes`` = SMART transports."""

_BRACKETED: Final = re.compile(r"^\[(?P<host>[^\[\]]+)\](?::(?P<port>[^:]*))?$")
_SPLIT: Final = re.compile(r"[\s,]+")


def _port(text: str, device: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"device {device!r}: port must be a number 1-65535")
    return int(text)


def parse_device(text: str) -> KasaDevice:
    """Parse ``host[:port]`` (``[v6addr]:port`` for IPv6) into a ``KasaDevice``.

    A bare IPv6 address without brackets is taken as a host without port.

    >>> parse_device("192.168.1.20:9999").port
    9999
    >>> parse_device("[::1]:9999").host, parse_device("plug.lan").port
    ('::1', None)

    Raises:
        ValueError: empty text, a host that is not a host name, IPv4 or IPv6
            address, or a port that is not 1-65535.
    """
    device = text.strip()
    if not device:
        raise ValueError("device: empty device string")
    port: int | None = None
    match = _BRACKETED.match(device)
    if match is not None:
        host = match["host"]
        if match["port"] is not None:
            port = _port(match["port"], device)
    elif device.count(":") > 1:
        host = device  # bare IPv6 address: no port possible without brackets
    else:
        host, sep, port_text = device.partition(":")
        if sep:
            port = _port(port_text, device)
    try:
        return KasaDevice(host=host, port=port)
    except ValidationError as exc:  # only the host can be wrong here
        reason = "; ".join(e["msg"] for e in exc.errors())
        raise ValueError(f"device {device!r}: invalid host: {reason}") from None


def hostport(host: str, port: int | None) -> str:
    """Return ``host[:port]`` as a user writes it (``[v6]:port`` for IPv6).

    >>> hostport("::1", 9999), hostport("plug.lan", None)
    ('[::1]:9999', 'plug.lan')
    """
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


class KasaDevice(BaseModel):
    """One plug to poll, as configured.

    Attributes:
        name: the target name (``target`` label); defaults to ``host:port`` (or
            ``host`` without a port, ``[v6]:port`` for IPv6).
        host: a host name, an IPv4 address or a bare IPv6 address.
        port: TCP port (XOR) or HTTP port (KLAP/AES), 1..65535; None = protocol
            default.
        connection_type: ``auto`` (probe), ``iot`` (legacy XOR), ``klap``, ``aes``.
        login_version: the SMART login version (KLAP v1 or v2), 1..3; None = 2
            for KLAP. Discovery fills it in from the plug's answer.
        credentials: name of a set in the section's ``credentials``; None = the
            default username and password.
    """

    model_config = FROZEN

    name: str = Field(default="", max_length=128)
    host: Host
    port: WholeNumber | None = Field(default=None, ge=1, le=65535)
    connection_type: ConnectionType = "auto"
    login_version: WholeNumber | None = Field(default=None, ge=1, le=3)
    credentials: str | None = None

    _whole = field_validator("port", "login_version", mode="before")(
        staticmethod(whole_number)
    )

    @model_validator(mode="after")
    def _default_name(self) -> KasaDevice:
        if not self.name:
            object.__setattr__(self, "name", hostport(self.host, self.port))
        return self

    @property
    def address(self) -> str:
        """Return ``host[:port]`` as a user would write it."""
        return hostport(self.host, self.port)


def split_devices(value: object) -> object:
    """Split a space or comma separated device string into a list."""
    if isinstance(value, str):
        return [part for part in _SPLIT.split(value) if part]
    return value


def _device_item(value: object) -> object:
    """Parse one ``host[:port]`` entry; a mapping's connection type in any case."""
    if isinstance(value, str):
        return parse_device(value)
    if isinstance(value, dict) and isinstance(value.get("connection_type"), str):
        return value | {"connection_type": value["connection_type"].lower()}
    return value


DeviceEntry = Annotated[KasaDevice, BeforeValidator(_device_item)]
"""A ``devices`` entry (YAML, flags, env): ``host[:port]`` or a mapping whose
``connection_type`` may be in any case (errors name the index)."""
