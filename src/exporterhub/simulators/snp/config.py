"""Settings of a simulated SNP fleet and of each device in it.

:class:`SnpSimConfig` holds what the whole process shares (listen host, TLS,
keepalive and drift timing, the clock); :class:`DeviceSpec` one device's name,
credentials, address and behaviour options, and its optional script — a fixed,
timed list of frames replayed on every authenticated connection instead of the
live behaviour (``snp.md`` §8, last item). :class:`Close` and :class:`Drop` are
the two script steps that are not frames.

Plain data; this module must not do I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from exporterhub.simulators.snp.timers import Clock

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "Close",
    "DeviceSpec",
    "Drop",
    "ScriptFrame",
    "ScriptStep",
    "SnpSimConfig",
    "device_address",
    "fme_ip_of",
]

DEFAULT_USERNAME: Final = "monitor"
DEFAULT_PASSWORD: Final = "example-only-password"  # noqa: S105 - the fixtures' made-up one
MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Close:
    """Script step: close the WebSocket with ``code`` and ``reason``."""

    code: int = 1000
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Drop:
    """Script step: drop the TCP connection without a close frame.

    With ``mid_frame`` the connection drops after half of a frame was written.
    """

    mid_frame: bool = False


ScriptFrame = str | bytes | Mapping[str, Any] | Close | Drop
"""A text frame as is, a binary frame, a JSON object to encode, or an action."""
ScriptStep = tuple[float, ScriptFrame]
"""``(delay, frame)``: ``delay`` seconds after the previous step (or the token)."""


@dataclass(slots=True, kw_only=True)
class DeviceSpec:
    """One simulated SNP.

    Attributes:
        name: the device's name (the exporter's connection name, in logs).
        username: the account ``POST /api/auth`` accepts.
        password: its password.
        host: listen address; ``None`` = the fleet's (``SnpSimConfig.host`` or
            its own loopback address from ``SnpSimConfig.first_address``).
        port: the REST + WebSocket port (the SMM's 443); 0 = the fleet's choice
            (``base_port`` + index, or a free port).
        rest_port: also serve the REST API alone on this port (the SMM's 9089);
            0 = a free port; ``None`` = no separate REST listener.
        fme_ip: the address in every object's ``fme_ip``; ``None`` = derived
            from the index (192.0.2.21 for the first device).
        seed: drift random seed; ``None`` = the device's index.
        script: replay these steps on each authenticated connection instead of
            live behaviour; ``None`` = live.
        answer_with_all_statuses: answer a subscription with one ``allStatuses``
            of every object (what the original exporter expected) instead of a
            ``statusState`` of the subscribed ones.
        resend_unchanged: re-send every subscribed object each ``frequency``
            even when unchanged (load tests).
    """

    name: str = "SNP-LAB-1"
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    host: str | None = None
    port: int = 0
    rest_port: int | None = None
    fme_ip: str | None = None
    seed: int | None = None
    script: Sequence[ScriptStep] | None = None
    answer_with_all_statuses: bool = False
    resend_unchanged: bool = False


@dataclass(slots=True, kw_only=True)
class SnpSimConfig:
    """Settings shared by every device of one simulator process.

    Attributes:
        devices: one entry per device.
        host: listen address of devices without their own.
        first_address: give device ``i`` the ``i``-th loopback address from this
            one (127.0.0.2, 127.0.0.3 …) instead of ``host``; they may then share
            one port number.
        base_port: device ``i`` listens on ``base_port + i`` (on ``base_port``
            with ``first_address``); 0 = free ports.
        tls: serve ``https``/``wss`` with a self-signed certificate made at start.
        keepalive_interval: seconds between ``fmmStatus`` + ``permissionsMsg``.
        first_status_delay: seconds from a subscription to its ``statusState``.
        alarm_interval: also send ``activeAlarmStatus`` every this many seconds
            (the vendor's 2021 behaviour: 2.0); ``None`` = at connect and on change.
        drift: temperatures, fans and PTP values move by themselves.
        ptp_interval: seconds between PTP drift steps; also the granularity of
            the per-object rate limit and of ``resend_unchanged``.
        system_interval: seconds between temperature and fan drift steps.
        token_lifetime: seconds a token stays valid.
        token_timeout: seconds a new WebSocket may take to send its token.
        all_objects_bytes: pad ``allObjects`` past this size (0 = no padding).
        clock: time source; ``None`` = the system clock.
        raise_file_limit: raise the open-file soft limit to fit the fleet.
    """

    devices: list[DeviceSpec] = field(default_factory=lambda: [DeviceSpec()])
    host: str = "127.0.0.1"
    first_address: str | None = None
    base_port: int = 0
    tls: bool = False
    keepalive_interval: float = 5.0
    first_status_delay: float = 1.0
    alarm_interval: float | None = None
    drift: bool = True
    ptp_interval: float = 1.0
    system_interval: float = 10.0
    token_lifetime: float = 86400.0
    token_timeout: float = 30.0
    all_objects_bytes: int = MIB
    clock: Clock | None = None
    raise_file_limit: bool = True

    @staticmethod
    def fleet(count: int, *, prefix: str = "SNP-SIM-", **spec: Any) -> list[DeviceSpec]:  # noqa: ANN401 - DeviceSpec fields
        """Return ``count`` device specs named ``prefix1``, ``prefix2`` ….

        >>> [d.name for d in SnpSimConfig.fleet(2)]
        ['SNP-SIM-1', 'SNP-SIM-2']
        """
        return [DeviceSpec(name=f"{prefix}{i + 1}", **spec) for i in range(count)]


def device_address(
    config: SnpSimConfig, spec: DeviceSpec, index: int
) -> tuple[str, int]:
    """Return the host and port device ``index`` listens on.

    Raises:
        ValueError: ``first_address`` is not IPv4 loopback or runs past it.

    >>> cfg = SnpSimConfig(first_address="127.0.0.2", base_port=8443)
    >>> device_address(cfg, DeviceSpec(), 3)
    ('127.0.0.5', 8443)
    """
    if spec.host is not None:
        host = spec.host
    elif config.first_address is not None:
        address = ipaddress.IPv4Address(config.first_address) + index
        if not address.is_loopback:
            raise ValueError(f"{address} is not a loopback address")
        host = str(address)
    else:
        host = config.host
    if spec.port:
        return host, spec.port
    if not config.base_port:
        return host, 0
    return host, config.base_port + (0 if config.first_address else index)


def fme_ip_of(spec: DeviceSpec, index: int) -> str:
    """Return the device's own address as its objects report it.

    >>> fme_ip_of(DeviceSpec(), 0), fme_ip_of(DeviceSpec(), 300)
    ('192.0.2.21', '10.20.1.51')
    """
    if spec.fme_ip is not None:
        return spec.fme_ip
    if index == 0:
        return "192.0.2.21"
    return f"10.20.{index // 250}.{index % 250 + 1}"
