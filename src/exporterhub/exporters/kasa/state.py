"""Read a python-kasa ``Device`` into a frozen reading; fold readings into a snapshot.

``read_device`` only reads properties of a device whose ``update()`` already ran:
no network, no awaiting. Every accessor is read on its own, and one that raises
(``KeyError``, ``KasaException``, ``AttributeError``, ``ValueError``, ``TypeError``)
leaves only that value unknown (``protocols/kasa.md`` §6): an IOT plug without a
time module has no ``on_since``, a rejected ``get_daystat`` hides today's energy,
a failed SMART module raises from its properties. Unknown is ``None``, never 0.

Units (``protocols/kasa.md`` §2.3): python-kasa gives W, V, A, dBm and kWh;
readings keep kWh (the legacy metrics serve kWh) and expose joules through
properties (1 kWh = 3 600 000 J, STYLE §4) for the ``tapo_*`` metrics.

``energy_total_kwh`` is the longest monotonic window the device has: IOT
``consumption_total`` (since the last meter reset); SMART plugs report no lifetime
total (``consumption_total`` is always None), so it is ``consumption_this_month``,
which drops to 0 at each month start — an ordinary counter reset.

``energy_module_disabled`` is True when python-kasa switched the SMART energy module
off after repeated errors (``module.disabled``; it stays off for the life of the
``Device`` object), or when the module exists but power, today and this month are
all None — values stuck at None although a meter is present. The client should
rebuild the device (disconnect + connect) when it sees it.

``KasaState`` is plain bookkeeping: the latest reading, monotonic poll-error counts
by kind and the last poll's duration. No clock reads, no I/O. python-kasa is
imported only inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TypeVar

if TYPE_CHECKING:
    import kasa

__all__ = [
    "ERROR_KINDS",
    "KWH_TO_JOULES",
    "ErrorKind",
    "KasaReading",
    "KasaSnapshot",
    "KasaState",
    "OutletReading",
    "error_kind",
    "read_device",
]

T = TypeVar("T")

KWH_TO_JOULES: Final = 3_600_000.0


class ErrorKind(StrEnum):
    """Why a poll failed: the ``error`` label of ``tapo_exporter_poll_errors_total``."""

    AUTH = "auth"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    PROTOCOL = "protocol"
    UNSUPPORTED = "unsupported"
    WRONG_DEVICE = "wrong_device"
    """The address answered as another plug (discovery knows this one's MAC)."""


ERROR_KINDS: Final = tuple(ErrorKind)


def error_kind(exc: BaseException) -> ErrorKind:
    """Classify a failed ``update()`` (``protocols/kasa.md`` §2.4).

    Builtin ``TimeoutError`` (also what ``asyncio.timeout`` raises, and a base of
    ``kasa.TimeoutError``) is ``timeout``; authentication is ``auth``; an unknown
    family or encryption is ``unsupported``; a device error code is ``protocol``;
    every other ``KasaException`` and ``OSError`` is ``connection``.
    """
    from kasa import AuthenticationError, DeviceError, UnsupportedDeviceError

    if isinstance(exc, AuthenticationError):
        return ErrorKind.AUTH
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, UnsupportedDeviceError):
        return ErrorKind.UNSUPPORTED
    if isinstance(exc, DeviceError):
        return ErrorKind.PROTOCOL
    return ErrorKind.CONNECTION


def _kwh_to_joules(value: float | None) -> float | None:
    return None if value is None else value * KWH_TO_JOULES


@dataclass(frozen=True, slots=True, kw_only=True)
class _Energy:
    """What an energy module reports; all None without a module.

    Attributes:
        present: the device has an energy module.
        power_watts: instantaneous power, W (``current_consumption``).
        voltage_volts: V (``voltage``); None when the device does not report it.
        current_amperes: A (``current``); None likewise.
        energy_total_kwh: kWh, IOT ``consumption_total`` / SMART this month.
        energy_today_kwh: kWh (``consumption_today``).
        energy_month_kwh: kWh (``consumption_this_month``).
        disabled: see the module docstring.
    """

    present: bool = False
    power_watts: float | None = None
    voltage_volts: float | None = None
    current_amperes: float | None = None
    energy_total_kwh: float | None = None
    energy_today_kwh: float | None = None
    energy_month_kwh: float | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OutletReading:
    """One outlet of a power strip (a python-kasa child device).

    Attributes:
        index: position among the strip's children (``outlet`` label, as text).
        id: the child's device id.
        alias: the outlet's user-given name.
        is_on: relay state.
        on_since: Unix seconds the relay was switched on; None while off.
        power_watts: W, when the outlet meters.
        voltage_volts: V, when reported.
        current_amperes: A, when reported.
        energy_total_kwh: kWh, as ``KasaReading.energy_total_kwh``.
        energy_today_kwh: kWh today.
        energy_month_kwh: kWh this month.
    """

    index: int
    id: str = ""
    alias: str = ""
    is_on: bool | None = None
    on_since: float | None = None
    power_watts: float | None = None
    voltage_volts: float | None = None
    current_amperes: float | None = None
    energy_total_kwh: float | None = None
    energy_today_kwh: float | None = None
    energy_month_kwh: float | None = None

    @property
    def energy_total_joules(self) -> float | None:
        """Return the energy counter in joules."""
        return _kwh_to_joules(self.energy_total_kwh)

    @property
    def energy_today_joules(self) -> float | None:
        """Return today's energy in joules."""
        return _kwh_to_joules(self.energy_today_kwh)

    @property
    def energy_month_joules(self) -> float | None:
        """Return this month's energy in joules."""
        return _kwh_to_joules(self.energy_month_kwh)


@dataclass(frozen=True, slots=True, kw_only=True)
class KasaReading:
    """Everything one successful poll of a plug said. Units in the field names.

    Identity fields are "" when the device did not say.

    Attributes:
        alias: user-given name (``alias``; SMART nickname, base64-decoded).
        model: model without region (``HS110``, ``P110``).
        hardware_version: ``device_info.hardware_version``.
        firmware_version: ``device_info.firmware_version`` (without the build).
        mac: ``AA:BB:CC:DD:EE:FF``.
        device_id: device id (the MAC on IOT plugs).
        family: ``IOT.SMARTPLUGSWITCH``, ``SMART.TAPOPLUG``, ``SMART.KASAPLUG``.
        protocol: how the exporter talks to it (``xor``, ``klap``, ``aes``).
        host: the configured address.
        is_iot: a legacy IOT device (else SMART).
        is_on: relay state.
        rssi: Wi-Fi RSSI, dBm.
        signal_level: Wi-Fi bars 0-3 (SMART only).
        on_since: Unix seconds the relay was switched on; None while off.
        has_energy: the device has an energy module.
        power_watts: W.
        voltage_volts: V; None when not reported.
        current_amperes: A; None when not reported.
        energy_total_kwh: kWh; see the module docstring for the window.
        energy_today_kwh: kWh today.
        energy_month_kwh: kWh this month.
        energy_module_disabled: see the module docstring.
        children: outlets of a power strip, in child order; empty for plugs.
    """

    alias: str = ""
    model: str = ""
    hardware_version: str = ""
    firmware_version: str = ""
    mac: str = ""
    device_id: str = ""
    family: str = ""
    protocol: str = ""
    host: str = ""
    is_iot: bool = False
    is_on: bool | None = None
    rssi: float | None = None
    signal_level: float | None = None
    on_since: float | None = None
    has_energy: bool = False
    power_watts: float | None = None
    voltage_volts: float | None = None
    current_amperes: float | None = None
    energy_total_kwh: float | None = None
    energy_today_kwh: float | None = None
    energy_month_kwh: float | None = None
    energy_module_disabled: bool = False
    children: tuple[OutletReading, ...] = ()

    @property
    def energy_total_joules(self) -> float | None:
        """Return the energy counter in joules."""
        return _kwh_to_joules(self.energy_total_kwh)

    @property
    def energy_today_joules(self) -> float | None:
        """Return today's energy in joules."""
        return _kwh_to_joules(self.energy_today_kwh)

    @property
    def energy_month_joules(self) -> float | None:
        """Return this month's energy in joules."""
        return _kwh_to_joules(self.energy_month_kwh)


def _read(getter: Callable[[], T]) -> T | None:
    """Call ``getter``; an accessor that raises means the value is unknown."""
    from kasa import KasaException

    try:
        return getter()
    except (KeyError, KasaException, AttributeError, ValueError, TypeError):
        return None


def _number(getter: Callable[[], object]) -> float | None:
    value = _read(getter)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(getter: Callable[[], object]) -> str:
    value = _read(getter)
    return "" if value is None else str(value)


def _timestamp(getter: Callable[[], object]) -> float | None:
    value = _read(getter)
    return value.timestamp() if isinstance(value, datetime) else None


def _flag(getter: Callable[[], object]) -> bool | None:
    value = _read(getter)
    return None if value is None else bool(value)


def _read_energy(device: kasa.Device, *, is_iot: bool) -> _Energy:
    from kasa import Module

    module = _read(lambda: device.modules.get(Module.Energy))
    if module is None:
        return _Energy()
    power = _number(lambda: module.current_consumption)
    today = _number(lambda: module.consumption_today)
    month = _number(lambda: module.consumption_this_month)
    total = _number(lambda: module.consumption_total) if is_iot else month
    disabled = _read(lambda: getattr(module, "disabled", False)) is True
    return _Energy(
        present=True,
        power_watts=power,
        voltage_volts=_number(lambda: module.voltage),
        current_amperes=_number(lambda: module.current),
        energy_total_kwh=total,
        energy_today_kwh=today,
        energy_month_kwh=month,
        disabled=disabled or (power is None and today is None and month is None),
    )


def _is_iot(device: kasa.Device) -> bool:
    from kasa.iot import IotDevice

    return isinstance(device, IotDevice)


def _read_outlet(index: int, child: kasa.Device, *, is_iot: bool) -> OutletReading:
    energy = _read_energy(child, is_iot=is_iot)
    return OutletReading(
        index=index,
        id=_text(lambda: child.device_id),
        alias=_text(lambda: child.alias),
        is_on=_flag(lambda: child.is_on),
        on_since=_timestamp(lambda: child.on_since),
        power_watts=energy.power_watts,
        voltage_volts=energy.voltage_volts,
        current_amperes=energy.current_amperes,
        energy_total_kwh=energy.energy_total_kwh,
        energy_today_kwh=energy.energy_today_kwh,
        energy_month_kwh=energy.energy_month_kwh,
    )


def _signal_level(device: kasa.Device) -> float | None:
    feature = _read(lambda: device.features.get("signal_level"))
    if feature is None:
        return None
    return _number(lambda: feature.value)


def read_device(device: kasa.Device, *, host: str, protocol: str) -> KasaReading:
    """Read every value of an updated device; a value that raises stays unknown.

    Args:
        device: a python-kasa device whose ``update()`` just succeeded.
        host: the configured address (``host`` label of the info metric).
        protocol: the transport in use (``xor``, ``klap``, ``aes``).

    Returns:
        The reading; identity fields are "" and values None where unknown.
    """
    is_iot = _is_iot(device)
    info = _read(lambda: device.device_info)
    energy = _read_energy(device, is_iot=is_iot)
    children = _read(lambda: tuple(device.children)) or ()
    return KasaReading(
        alias=_text(lambda: device.alias),
        model=_text(lambda: device.model),
        hardware_version=_text(lambda: info.hardware_version) if info else "",
        firmware_version=_text(lambda: info.firmware_version) if info else "",
        mac=_text(lambda: device.mac),
        device_id=_text(lambda: device.device_id),
        family=_text(lambda: info.device_family) if info else "",
        protocol=protocol,
        host=host,
        is_iot=is_iot,
        is_on=_flag(lambda: device.is_on),
        rssi=_number(lambda: device.rssi),
        signal_level=None if is_iot else _signal_level(device),
        on_since=_timestamp(lambda: device.on_since),
        has_energy=energy.present,
        power_watts=energy.power_watts,
        voltage_volts=energy.voltage_volts,
        current_amperes=energy.current_amperes,
        energy_total_kwh=energy.energy_total_kwh,
        energy_today_kwh=energy.energy_today_kwh,
        energy_month_kwh=energy.energy_month_kwh,
        energy_module_disabled=energy.disabled,
        children=tuple(
            _read_outlet(i, child, is_iot=is_iot) for i, child in enumerate(children)
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class KasaSnapshot:
    """What a scrape may show of one plug.

    Attributes:
        reading: the latest successful reading; None before the first.
        errors: failed polls by kind, every kind present, in ``ERROR_KINDS`` order.
        poll_seconds: wall time of the last poll (success or failure); None before.
        legacy: serve the original's metric names too.
    """

    reading: KasaReading | None = None
    errors: tuple[tuple[str, int], ...] = tuple((k.value, 0) for k in ERROR_KINDS)
    poll_seconds: float | None = None
    legacy: bool = False


class KasaState:
    """One plug's accumulated state: latest reading, error counts, poll duration."""

    def __init__(self, *, legacy: bool = False) -> None:
        """Start empty; ``legacy`` turns on the original's metric names."""
        self.legacy = legacy
        self._reading: KasaReading | None = None
        self._errors: dict[ErrorKind, int] = dict.fromkeys(ERROR_KINDS, 0)
        self._poll_seconds: float | None = None

    @property
    def reading(self) -> KasaReading | None:
        """Return the latest successful reading."""
        return self._reading

    def apply(self, reading: KasaReading, duration: float) -> None:
        """Take a successful poll's reading and its wall time in seconds."""
        self._reading = reading
        self._poll_seconds = duration

    def failed(self, kind: ErrorKind | str, duration: float | None = None) -> None:
        """Count a failed poll of ``kind``; the last reading is kept for its info.

        Raises:
            ValueError: ``kind`` is not one of ``ERROR_KINDS``.
        """
        self._errors[ErrorKind(kind)] += 1
        if duration is not None:
            self._poll_seconds = duration

    def snapshot(self) -> KasaSnapshot:
        """Freeze the current state."""
        return KasaSnapshot(
            reading=self._reading,
            errors=tuple((k.value, n) for k, n in self._errors.items()),
            poll_seconds=self._poll_seconds,
            legacy=self.legacy,
        )
