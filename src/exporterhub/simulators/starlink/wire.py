"""The fake dish's protobuf schema, built in Python (no ``.proto``, no codegen).

A subset of the dish's ``SpaceX.API.Device`` package with the field numbers of
``shared/protocols/starlink.md`` §5: enough for ``starlink_grpc`` to resolve
``Device``, ``Request``, ``Response``, ``DishAlerts`` and ``DishOutage`` through
reflection and to read status, location and history. :func:`build_schema` puts it
in a fresh ``DescriptorPool`` (one per server, so two fakes with different schemas
can live in one process) and returns the message classes.

The file is deliberately *not* named ``spacex_api/device/…``: the client must find
it by symbol through reflection, as it does on a real dish (§7, §8). No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from google.protobuf import (  # type: ignore[import-untyped]
    descriptor_pb2,
    descriptor_pool,
    message_factory,
)

__all__ = [
    "ALERT_FIELDS",
    "OUTAGE_CAUSES",
    "PACKAGE",
    "SERVICE",
    "Schema",
    "build_schema",
]

PACKAGE: Final = "SpaceX.API.Device"
SERVICE: Final = f"{PACKAGE}.Device"
FILE_NAME: Final = "exporterhub_fake_dish/device.proto"

OUTAGE_CAUSES: Final = {
    "UNKNOWN": 0,
    "BOOTING": 1,
    "STOWED": 2,
    "THERMAL_SHUTDOWN": 3,
    "NO_SCHEDULE": 4,
    "NO_SATS": 5,
    "OBSTRUCTED": 6,
    "NO_DOWNLINK": 7,
    "NO_PINGS": 8,
    "ACTUATOR_ACTIVITY": 9,
    "CABLE_TEST": 10,
    "SLEEPING": 11,
    "SKY_SEARCH": 13,
    "INHIBIT_RF": 14,
}
"""``DishOutage.Cause`` (§5.5)."""

ALERT_FIELDS: Final = {
    "motors_stuck": 1,
    "thermal_shutdown": 2,
    "thermal_throttle": 3,
    "unexpected_location": 4,
    "mast_not_near_vertical": 5,
    "slow_ethernet_speeds": 6,
    "roaming": 7,
    "install_pending": 8,
    "is_heating": 9,
    "power_supply_thermal_throttle": 10,
    "is_power_save_idle": 11,
    "dbf_telem_stale": 14,
    "low_motor_current": 16,
    "lower_signal_than_predicted": 17,
    "slow_ethernet_speeds_100": 18,
    "obstruction_map_reset": 19,
    "dish_water_detected": 20,
    "router_water_detected": 21,
    "upsu_router_port_slow": 22,
    "no_ethernet_link": 23,
}
"""``DishAlerts`` field numbers (§5.6)."""

POSITION_SOURCES: Final = (
    "AUTO",
    "NONE",
    "UT_INFO",
    "EXTERNAL",
    "GPS",
    "STARLINK",
    "GNC_FUSED",
    "GNC_BAD_SAT",
    "GNC_GPS",
    "GNC_PNT",
    "GNC_STATIC",
)

HISTORY_SAMPLES: Final = 900

# The fields the "missing fields" schema leaves out (firmware drift, §10.10).
MISSING_STATUS_FIELDS: Final = frozenset(
    {"pop_ping_latency_ms", "gps_stats", "is_snr_above_noise_floor"}
)
MISSING_LOCATION_FIELDS: Final = frozenset({"horizontal_speed_mps", "sigma_m"})

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS: Final = {
    "bool": _F.TYPE_BOOL,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "string": _F.TYPE_STRING,
    "uint32": _F.TYPE_UINT32,
    "int32": _F.TYPE_INT32,
    "uint64": _F.TYPE_UINT64,
    "int64": _F.TYPE_INT64,
}

# (name, number, type, label) — type is a scalar name, ".Msg" for a message in
# this package, or "enum:.Msg.Enum" for an enum.
_Field = tuple[str, int, str]

_MESSAGES: Final[dict[str, list[_Field]]] = {
    "GetStatusRequest": [],
    "GetHistoryRequest": [],
    "GetLocationRequest": [],
    "DeviceInfo": [
        ("id", 1, "string"),
        ("hardware_version", 2, "string"),
        ("software_version", 3, "string"),
    ],
    "DeviceState": [("uptime_s", 1, "uint64")],
    "DishObstructionStats": [
        ("fraction_obstructed", 1, "float"),
        ("valid_s", 4, "float"),
        ("currently_obstructed", 5, "bool"),
        ("avg_prolonged_obstruction_duration_s", 6, "float"),
        ("avg_prolonged_obstruction_interval_s", 7, "float"),
        ("avg_prolonged_obstruction_valid", 8, "bool"),
        ("time_obstructed", 9, "float"),
        ("patches_valid", 10, "uint32"),
    ],
    "DishAlerts": [(name, num, "bool") for name, num in ALERT_FIELDS.items()],
    "DishOutage": [
        ("cause", 1, "enum:.SpaceX.API.Device.DishOutage.Cause"),
        ("start_timestamp_ns", 2, "int64"),
        ("duration_ns", 3, "uint64"),
        ("did_switch", 4, "bool"),
    ],
    "DishGpsStats": [
        ("gps_valid", 1, "bool"),
        ("gps_sats", 2, "uint32"),
        ("no_sats_after_ttff", 3, "bool"),
        ("inhibit_gps", 4, "bool"),
    ],
    "DishGetStatusResponse": [
        ("device_info", 1, ".DeviceInfo"),
        ("device_state", 2, ".DeviceState"),
        ("seconds_to_first_nonempty_slot", 1002, "float"),
        ("pop_ping_drop_rate", 1003, "float"),
        ("obstruction_stats", 1004, ".DishObstructionStats"),
        ("alerts", 1005, ".DishAlerts"),
        ("downlink_throughput_bps", 1007, "float"),
        ("uplink_throughput_bps", 1008, "float"),
        ("pop_ping_latency_ms", 1009, "float"),
        ("boresight_azimuth_deg", 1011, "float"),
        ("boresight_elevation_deg", 1012, "float"),
        ("outage", 1014, ".DishOutage"),
        ("gps_stats", 1015, ".DishGpsStats"),
        ("eth_speed_mbps", 1016, "int32"),
        ("is_snr_above_noise_floor", 1018, "bool"),
        ("is_snr_persistently_low", 1022, "bool"),
    ],
    "LLAPosition": [("lat", 1, "double"), ("lon", 2, "double"), ("alt", 3, "double")],
    "GetLocationResponse": [
        ("lla", 1, ".LLAPosition"),
        ("source", 3, "enum:.SpaceX.API.Device.PositionSource"),
        ("sigma_m", 4, "double"),
        ("horizontal_speed_mps", 5, "double"),
        ("vertical_speed_mps", 6, "double"),
    ],
    "DishGetHistoryResponse": [
        ("current", 1, "uint64"),
        ("pop_ping_drop_rate", 1001, "repeated float"),
        ("pop_ping_latency_ms", 1002, "repeated float"),
        ("downlink_throughput_bps", 1003, "repeated float"),
        ("uplink_throughput_bps", 1004, "repeated float"),
        ("power_in", 1010, "repeated float"),
    ],
    "Request": [
        ("id", 1, "uint64"),
        ("target_id", 13, "string"),
        ("epoch_id", 14, "uint64"),
        ("get_status", 1004, "oneof .GetStatusRequest"),
        ("get_history", 1007, "oneof .GetHistoryRequest"),
        ("get_location", 1017, "oneof .GetLocationRequest"),
    ],
    "Response": [
        ("id", 1, "uint64"),
        ("api_version", 3, "uint64"),
        ("get_location", 1017, "oneof .GetLocationResponse"),
        ("dish_get_status", 2004, "oneof .DishGetStatusResponse"),
        ("dish_get_history", 2006, "oneof .DishGetHistoryResponse"),
    ],
}


@dataclass(frozen=True, slots=True)
class Schema:
    """The pool and message classes of one fake-dish schema."""

    pool: descriptor_pool.DescriptorPool
    request: Any
    response: Any
    status: Any
    location: Any
    history: Any
    cause_numbers: dict[str, int]


def _add_field(
    msg: descriptor_pb2.DescriptorProto, name: str, num: int, kind: str
) -> None:
    field = msg.field.add(name=name, number=num, label=_F.LABEL_OPTIONAL)
    if kind.startswith("oneof "):
        if not msg.oneof_decl:
            msg.oneof_decl.add(name="payload")
        field.oneof_index = 0
        kind = kind.removeprefix("oneof ")
    if kind.startswith("repeated "):
        field.label = _F.LABEL_REPEATED
        kind = kind.removeprefix("repeated ")
    if kind.startswith("enum:"):
        field.type = _F.TYPE_ENUM
        field.type_name = kind.removeprefix("enum:")
    elif kind.startswith("."):
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".{PACKAGE}{kind}"
    else:
        field.type = _SCALARS[kind]


def build_schema(*, missing_fields: bool = False) -> Schema:
    """Build the fake dish's schema in a fresh descriptor pool.

    Args:
        missing_fields: leave out :data:`MISSING_STATUS_FIELDS` and
            :data:`MISSING_LOCATION_FIELDS`, as older or newer firmware might.

    Returns:
        The pool (for reflection) and the message classes.
    """
    fdp = descriptor_pb2.FileDescriptorProto(
        name=FILE_NAME, package=PACKAGE, syntax="proto3"
    )
    enum = fdp.enum_type.add(name="PositionSource")
    for number, name in enumerate(POSITION_SOURCES):
        enum.value.add(name=name, number=number)
    for name, fields in _MESSAGES.items():
        msg = fdp.message_type.add(name=name)
        dropped: frozenset[str] = frozenset()
        if missing_fields and name == "DishGetStatusResponse":
            dropped = MISSING_STATUS_FIELDS
        elif missing_fields and name == "GetLocationResponse":
            dropped = MISSING_LOCATION_FIELDS
        for fname, num, kind in fields:
            if fname not in dropped:
                _add_field(msg, fname, num, kind)
        if name == "DishOutage":
            cause = msg.enum_type.add(name="Cause")
            for cname, cnum in OUTAGE_CAUSES.items():
                cause.value.add(name=cname, number=cnum)
    service = fdp.service.add(name="Device")
    service.method.add(
        name="Handle",
        input_type=f".{PACKAGE}.Request",
        output_type=f".{PACKAGE}.Response",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)

    def cls(name: str) -> type[Any]:
        found: type[Any] = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        )
        return found

    return Schema(
        pool=pool,
        request=cls("Request"),
        response=cls("Response"),
        status=cls("DishGetStatusResponse"),
        location=cls("GetLocationResponse"),
        history=cls("DishGetHistoryResponse"),
        cause_numbers=dict(OUTAGE_CAUSES),
    )
