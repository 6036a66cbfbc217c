"""Tests for Starlink live mode: the pure mapping and the client against a fake dish.

The client tests run the unmodified ``starlink_grpc`` library over real loopback
against :mod:`exporterhub.simulators.starlink`.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import replace

import pytest
import starlink_grpc
import structlog.testing
from yagrc import reflector

from exporterhub.core.errors import ConnectionLostError
from exporterhub.core.testing import free_port
from exporterhub.exporters.starlink import client as client_module
from exporterhub.exporters.starlink.client import DEADLINE_FACTOR, LiveDishClient
from exporterhub.exporters.starlink.protocol import (
    KNOTS_PER_MPS,
    Fix,
    bearing_degrees,
    distance_m,
    telemetry_from_dish,
)
from exporterhub.exporters.starlink.telemetry import Telemetry
from exporterhub.simulators.starlink import (
    DishFaults,
    DishSimConfig,
    StarlinkDishSimulator,
    default_telemetry,
)

NOW = 1_800_000_000.0
M_PER_DEG_LAT = distance_m(0.0, 0.0, 1.0, 0.0)

STATUS = {
    "id": "ut01000000-00000000-00abcdef",
    "hardware_version": "rev4_prod1",
    "software_version": "2026.06.22.mr81471",
    "state": "CONNECTED",
    "uptime": 3600,
    "snr": None,
    "seconds_to_first_nonempty_slot": 0.0,
    "pop_ping_drop_rate": 0.02,
    "downlink_throughput_bps": 150_000_000.0,
    "uplink_throughput_bps": 20_000_000.0,
    "pop_ping_latency_ms": 31.5,
    "alerts": 0,
    "fraction_obstructed": 0.125,
    "currently_obstructed": True,
    "seconds_obstructed": None,
    "obstruction_duration": None,
    "obstruction_interval": None,
    "direction_azimuth": 12.5,
    "direction_elevation": 71.0,
    "is_snr_above_noise_floor": True,
    "gps_ready": True,
    "gps_enabled": True,
    "gps_sats": 11,
}
LOCATION = {"latitude": 50.0, "longitude": -5.0, "altitude": 20.0}


def map_status(status=None, *, alerts=None, location=None, **kw):
    """Map a status dict (default :data:`STATUS`) and return the Telemetry."""
    t, _ = telemetry_from_dish(
        STATUS if status is None else status,
        None,
        alerts,
        location,
        now=NOW,
        previous_fix=None,
        **kw,
    )
    return t


def north(lat: float, metres: float) -> float:
    """Return the latitude ``metres`` north of ``lat``."""
    return lat + metres / M_PER_DEG_LAT


def step(lat, lon, t, previous, *, sigma=None, speed_mps=None):
    """Map one fix; return (telemetry, anchor)."""
    loc = {"latitude": lat, "longitude": lon, "altitude": 1.0}
    extra = {"sigma_m": sigma, "horizontal_speed_mps": speed_mps}
    return telemetry_from_dish(
        None, None, None, loc, now=t, previous_fix=previous, raw_location_extra=extra
    )


class TestStatusMapping:
    def test_normal_values(self):
        """Every §6 status field is converted to the Telemetry unit."""
        t = map_status()
        assert t.mode == "live"
        assert t.timestamp == NOW
        assert t.latency_ms == 31.5
        assert t.throughput_down_mbps == pytest.approx(150.0)
        assert t.throughput_up_mbps == pytest.approx(20.0)
        assert t.packet_loss_percent == pytest.approx(2.0)
        assert t.obstruction_percent == pytest.approx(12.5)
        assert t.currently_obstructed is True
        assert t.uptime_seconds == 3600.0
        assert t.state == "CONNECTED"
        assert t.snr_above_noise_floor is True
        assert t.gps_valid is True
        assert t.gps_satellites == 11
        assert isinstance(t.gps_satellites, int)
        assert t.boresight_azimuth_degrees == 12.5
        assert t.boresight_elevation_degrees == 71.0
        assert (t.dish_id, t.hardware_version, t.software_version) == (
            "ut01000000-00000000-00abcdef",
            "rev4_prod1",
            "2026.06.22.mr81471",
        )
        assert t.signal_quality_percent is None
        assert t.power_watts is None

    def test_no_status_is_all_none(self):
        """Without a status dict every status field is None, never 0."""
        t, fix = telemetry_from_dish(None, None, None, None, now=NOW, previous_fix=None)
        assert t.latency_ms is None
        assert t.throughput_down_mbps is None
        assert t.packet_loss_percent is None
        assert t.state is None
        assert t.uptime_seconds is None
        assert t.alerts_known is False
        assert t.location_available is None
        assert fix is None

    @pytest.mark.parametrize(
        ("key", "attr"),
        [
            pytest.param("pop_ping_latency_ms", "latency_ms", id="latency"),
            pytest.param("downlink_throughput_bps", "throughput_down_mbps", id="down"),
            pytest.param("uplink_throughput_bps", "throughput_up_mbps", id="up"),
            pytest.param("pop_ping_drop_rate", "packet_loss_percent", id="loss"),
            pytest.param("fraction_obstructed", "obstruction_percent", id="obst"),
            pytest.param("uptime", "uptime_seconds", id="uptime"),
            pytest.param("gps_sats", "gps_satellites", id="sats"),
            pytest.param("gps_ready", "gps_valid", id="gps"),
            pytest.param("is_snr_above_noise_floor", "snr_above_noise_floor", id="snr"),
            pytest.param("id", "dish_id", id="id"),
            pytest.param("direction_azimuth", "boresight_azimuth_degrees", id="az"),
        ],
    )
    @pytest.mark.parametrize("how", ["absent", "none"])
    def test_missing_field_is_none(self, key, attr, how):
        """A field the dish did not send maps to None, never 0."""
        status = dict(STATUS)
        if how == "absent":
            del status[key]
        else:
            status[key] = None
        assert getattr(map_status(status), attr) is None

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(0.0, id="zero"),
            pytest.param(-1.0, id="negative"),
            pytest.param(float("nan"), id="nan"),
            pytest.param(float("inf"), id="inf"),
            pytest.param("fast", id="text"),
            pytest.param(True, id="bool"),
        ],
    )
    def test_unusable_latency_is_none(self, value):
        """0 ms (a firmware glitch), non-finite or non-numeric latency is missing."""
        assert map_status({**STATUS, "pop_ping_latency_ms": value}).latency_ms is None

    def test_empty_id_is_none(self):
        """An empty identity string is missing, not an empty label."""
        assert map_status({**STATUS, "id": ""}).dish_id is None

    @pytest.mark.parametrize(
        ("state", "expected"),
        [
            pytest.param("CONNECTED", "CONNECTED", id="connected"),
            pytest.param("SEARCHING", "SEARCHING", id="searching"),
            pytest.param("NO_SCHEDULE", "SEARCHING", id="no-schedule-alias"),
            pytest.param("OBSTRUCTED", "OBSTRUCTED", id="obstructed"),
            pytest.param("STOWED", "STOWED", id="stowed"),
            pytest.param("ACTUATOR_ACTIVITY", "UNKNOWN", id="not-exported-cause"),
            pytest.param("15", "UNKNOWN", id="number-from-newer-firmware"),
            pytest.param(None, None, id="none"),
        ],
    )
    def test_state(self, state, expected):
        """The state name becomes a DISH_STATES value; unknown names are UNKNOWN."""
        assert map_status({**STATUS, "state": state}).state == expected


class TestAlerts:
    def test_active_names_in_known_order(self):
        """Active alerts come by name: known ones in ALERTS order, new ones after."""
        alerts = {
            "alert_roaming": True,
            "alert_motors_stuck": True,
            "alert_is_heating": False,
            "alert_zz_new_alert": True,
            "alert_aa_new_alert": True,
        }
        t = map_status(alerts=alerts)
        assert t.alerts == ("motors_stuck", "roaming", "aa_new_alert", "zz_new_alert")
        assert t.alerts_known is True

    def test_all_clear(self):
        """All-false alert fields are known and empty."""
        t = map_status(alerts={"alert_roaming": False})
        assert t.alerts == ()
        assert t.alerts_known is True

    @pytest.mark.parametrize(
        "alerts",
        [
            pytest.param(None, id="none"),
            pytest.param({}, id="empty"),
            pytest.param({"other": True}, id="no-alert-keys"),
        ],
    )
    def test_unknown(self, alerts):
        """Without alert_ keys the alerts are unknown, not all clear."""
        t = map_status(alerts=alerts)
        assert (t.alerts, t.alerts_known) == ((), False)


class TestLocationMapping:
    def test_position(self):
        """A fix maps to degrees and metres and marks the location available."""
        t = map_status(location=LOCATION)
        assert (t.latitude_degrees, t.longitude_degrees, t.altitude_meters) == (
            50.0,
            -5.0,
            20.0,
        )
        assert t.location_available is True

    def test_refused_omits_position(self):
        """All-None location (PERMISSION_DENIED) omits the position, never 0/0."""
        refused = {"latitude": None, "longitude": None, "altitude": None}
        t, fix = telemetry_from_dish(
            STATUS, None, None, refused, now=NOW, previous_fix=None
        )
        assert t.latitude_degrees is None
        assert t.longitude_degrees is None
        assert t.altitude_meters is None
        assert t.speed_knots is None
        assert t.heading_degrees is None
        assert t.location_available is False
        assert fix is None

    def test_not_read_leaves_available_unknown(self):
        """No location dict leaves location_available None and the anchor alone."""
        anchor = Fix(lat=1.0, lon=2.0, t=NOW - 5, heading_degrees=45.0)
        t, fix = telemetry_from_dish(
            STATUS, None, None, None, now=NOW, previous_fix=anchor
        )
        assert t.location_available is None
        assert t.heading_degrees is None
        assert fix is anchor

    def test_nan_latitude_is_no_position(self):
        """A NaN coordinate is not a position."""
        t = map_status(location={**LOCATION, "latitude": float("nan")})
        assert t.latitude_degrees is None
        assert t.longitude_degrees is None
        assert t.location_available is True

    def test_missing_altitude(self):
        """A fix without altitude keeps the position and omits the altitude."""
        t = map_status(location={**LOCATION, "altitude": None})
        assert t.latitude_degrees == 50.0
        assert t.altitude_meters is None

    def test_speed_from_horizontal_speed(self):
        """horizontal_speed_mps times 1.943844 is the speed in knots."""
        t = map_status(location={**LOCATION, "horizontal_speed_mps": 5.0})
        assert t.speed_knots == pytest.approx(5.0 * 1.943844)
        assert KNOTS_PER_MPS == 1.943844

    def test_extras_argument_wins(self):
        """raw_location_extra is read instead of the location dict when given."""
        t = map_status(
            location={**LOCATION, "horizontal_speed_mps": 5.0},
            raw_location_extra={"horizontal_speed_mps": 1.0},
        )
        assert t.speed_knots == pytest.approx(KNOTS_PER_MPS)


class TestGeometry:
    def test_distance_and_bearing(self):
        """Haversine distance and initial bearing agree with known values."""
        assert distance_m(0, 0, 0, 1) == pytest.approx(111_195, abs=1)
        assert distance_m(10, 10, 10, 10) == 0.0
        assert bearing_degrees(0, 0, 1, 0) == pytest.approx(0.0)
        assert bearing_degrees(0, 0, 0, 1) == pytest.approx(90.0)
        assert bearing_degrees(1, 0, 0, 0) == pytest.approx(180.0)
        assert bearing_degrees(0, 1, 0, 0) == pytest.approx(270.0)


class TestHeadingAndSpeed:
    def test_first_fix_has_no_heading(self):
        """The first fix gives no heading and no derived speed."""
        t, fix = step(50.0, -5.0, NOW, None)
        assert t.heading_degrees is None
        assert t.speed_knots is None
        assert fix == Fix(lat=50.0, lon=-5.0, t=NOW, sigma_m=0.0)

    def test_move_north_then_east(self):
        """A move past the threshold gives its bearing and distance over time."""
        _, a = step(50.0, -5.0, NOW, None)
        t, b = step(north(50.0, 100.0), -5.0, NOW + 10, a)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)
        assert t.speed_knots == pytest.approx(10.0 * KNOTS_PER_MPS, rel=1e-3)
        assert b is not None
        assert b.t == NOW + 10
        lon_east = -5.0 + 100.0 / (M_PER_DEG_LAT * math.cos(math.radians(b.lat)))
        t2, _ = step(b.lat, lon_east, NOW + 20, b)
        assert t2.heading_degrees == pytest.approx(90.0, abs=0.1)

    def test_small_moves_give_no_heading(self):
        """Fixes closer than 10 m apart never produce a bearing."""
        _, fix = step(50.0, -5.0, NOW, None)
        t, fix2 = step(north(50.0, 9.0), -5.0, NOW + 1, fix)
        assert t.heading_degrees is None
        assert t.speed_knots is None
        assert fix2 is fix

    def test_sigma_raises_threshold(self):
        """A 20 m move with sigma 10 m (threshold 30 m) is no move."""
        _, fix = step(50.0, -5.0, NOW, None, sigma=10.0)
        t, _ = step(north(50.0, 20.0), -5.0, NOW + 2, fix, sigma=10.0)
        assert t.heading_degrees is None
        _, fix = step(50.0, -5.0, NOW, None, sigma=1.0)
        t, _ = step(north(50.0, 20.0), -5.0, NOW + 2, fix, sigma=1.0)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)

    def test_slow_drift_accumulates(self):
        """Sub-threshold steps add up against the anchor until they make a move."""
        _, fix = step(50.0, -5.0, NOW, None)
        lat = 50.0
        heading = None
        for i in range(1, 4):
            lat = north(lat, -4.0)  # 4 m south each second
            t, fix = step(lat, -5.0, NOW + i, fix)
            heading = t.heading_degrees
        assert heading == pytest.approx(180.0, abs=1e-6)

    def test_heading_held_while_stationary(self):
        """After a move the heading is held while the dish stands still."""
        _, a = step(50.0, -5.0, NOW, None)
        _, b = step(north(50.0, 50.0), -5.0, NOW + 5, a)
        assert b is not None
        t, c = step(b.lat, b.lon, NOW + 6, b)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)
        assert t.speed_knots == pytest.approx(10.0 * KNOTS_PER_MPS, rel=1e-3)
        t, d = step(b.lat, b.lon, NOW + 16, c)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)
        assert t.speed_knots == 0.0
        assert d is not None
        assert d.t == b.t  # inside the 30 s window the anchor stays
        t, e = step(b.lat, b.lon, NOW + 40, d)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)
        assert t.speed_knots == 0.0
        assert e is not None
        assert e.t == NOW + 40  # past the window: re-anchored, heading kept

    def test_clock_step_back_keeps_anchor(self):
        """A poll time not after the anchor's changes nothing."""
        _, fix = step(50.0, -5.0, NOW, None)
        t, again = step(north(50.0, 100.0), -5.0, NOW, fix)
        assert again is fix
        assert t.heading_degrees is None

    def test_dish_speed_wins_over_derived(self):
        """With horizontal_speed_mps the dish's speed is used, heading still derived."""
        _, fix = step(50.0, -5.0, NOW, None, speed_mps=3.0)
        t, _ = step(north(50.0, 100.0), -5.0, NOW + 10, fix, speed_mps=3.0)
        assert t.speed_knots == pytest.approx(3.0 * KNOTS_PER_MPS)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)

    def test_refused_fix_keeps_anchor(self):
        """A refused location between fixes keeps the anchor for the next one."""
        _, fix = step(50.0, -5.0, NOW, None)
        refused = {"latitude": None, "longitude": None, "altitude": None}
        t, same = telemetry_from_dish(
            None, None, None, refused, now=NOW + 1, previous_fix=fix
        )
        assert same is fix
        assert t.heading_degrees is None
        t, _ = step(north(50.0, 100.0), -5.0, NOW + 2, same)
        assert t.heading_degrees == pytest.approx(0.0, abs=1e-6)


# --- the client against the fake dish (real loopback, unmodified library) --------
# (conftest.py resets the library's schema cache and timeouts around each test)


def served() -> Telemetry:
    """A provider with alerts and a moving dish."""
    return replace(default_telemetry(), alerts=("roaming", "is_heating"))


async def poll_once(sim: StarlinkDishSimulator, request_timeout: float = 2.0):
    """Poll the fake once with a fresh client."""
    async with LiveDishClient(sim.address, timeout=request_timeout) as client:
        return await client.poll()


class TestClient:
    async def test_normal_round_trip(self):
        """Status and location come back as served, units converted."""
        async with StarlinkDishSimulator(DishSimConfig(port=0), served) as sim:
            status, obstruction, alerts, location = await poll_once(sim)
        assert obstruction is not None
        t, fix = telemetry_from_dish(
            status, obstruction, alerts, location, now=NOW, previous_fix=None
        )
        src = served()
        assert t.latency_ms == pytest.approx(src.latency_ms)
        assert t.throughput_down_mbps == pytest.approx(src.throughput_down_mbps)
        assert t.throughput_up_mbps == pytest.approx(src.throughput_up_mbps)
        assert t.packet_loss_percent == pytest.approx(src.packet_loss_percent)
        assert t.obstruction_percent == pytest.approx(src.obstruction_percent)
        assert t.uptime_seconds == src.uptime_seconds
        assert t.state == "CONNECTED"
        assert t.alerts == ("roaming", "is_heating")
        assert t.alerts_known is True
        assert t.gps_valid is True
        assert t.gps_satellites == src.gps_satellites
        assert t.snr_above_noise_floor is True
        assert t.boresight_elevation_degrees == pytest.approx(72.0)
        assert t.dish_id == src.dish_id
        assert t.latitude_degrees == pytest.approx(src.latitude_degrees)
        assert t.longitude_degrees == pytest.approx(src.longitude_degrees)
        assert t.altitude_meters == pytest.approx(src.altitude_meters)
        assert t.speed_knots == pytest.approx(src.speed_knots)
        assert t.location_available is True
        assert location is not None
        assert location["sigma_m"] == pytest.approx(3.0)
        assert fix is not None

    async def test_status_only_poll_makes_no_location_call(self):
        """poll(read_location=False) reads status, returns no location, no RPC."""
        async with (
            StarlinkDishSimulator(DishSimConfig(port=0)) as sim,
            LiveDishClient(sim.address, timeout=2.0) as client,
        ):
            status, _, _, location = await client.poll(read_location=False)
            assert sim.requests_by_kind == {"get_status": 1}
            *_, location_read = await client.poll()
        assert status is not None
        assert status["state"] == "CONNECTED"
        assert location is None
        assert location_read is not None
        assert location_read["latitude"] == pytest.approx(50.15)
        assert sim.requests_by_kind == {"get_status": 2, "get_location": 1}

    async def test_timeouts_are_set_process_wide(self):
        """Building a client lowers both library timeouts to its own."""
        client = LiveDishClient("127.0.0.1:9", timeout=0.7)
        client.close()
        assert starlink_grpc.REQUEST_TIMEOUT == 0.7
        assert reflector.QUERY_TIMEOUT == 0.7

    def test_rejects_bad_timeout(self):
        """A non-positive timeout is refused."""
        with pytest.raises(ValueError, match="positive"):
            LiveDishClient("127.0.0.1:9", timeout=0)

    async def test_outage_and_state_series(self):
        """An outage cause switched on and off shows as SEARCHING, then CONNECTED."""
        states = []
        async with (
            StarlinkDishSimulator(DishSimConfig(port=0)) as sim,
            LiveDishClient(sim.address, timeout=2.0) as client,
        ):
            for cause in (None, "NO_SCHEDULE", "OBSTRUCTED", "STOWED", None):
                sim.faults.outage_cause = cause
                status, *_ = await client.poll()
                t, _ = telemetry_from_dish(
                    status, None, None, None, now=NOW, previous_fix=None
                )
                states.append(t.state)
        assert states == ["CONNECTED", "SEARCHING", "OBSTRUCTED", "STOWED", "CONNECTED"]

    async def test_refused_location_logged_once(self):
        """Refused location omits the position and is logged once per refusal spell."""
        async with (
            StarlinkDishSimulator(
                DishSimConfig(port=0, faults=DishFaults(refuse_location=True))
            ) as sim,
            LiveDishClient(sim.address, timeout=2.0) as client,
        ):
            with structlog.testing.capture_logs() as logs:
                for _ in range(3):
                    status, _, _, location = await client.poll()
                sim.faults.refuse_location = False
                await client.poll()
                sim.faults.refuse_location = True
                await client.poll()
        assert location == {"latitude": None, "longitude": None, "altitude": None}
        t, fix = telemetry_from_dish(
            status, None, None, location, now=NOW, previous_fix=None
        )
        assert t.latitude_degrees is None
        assert t.longitude_degrees is None
        assert t.location_available is False
        assert fix is None
        events = [e["event"] for e in logs if e["event"].startswith("starlink_loc")]
        assert events == [
            "starlink_location_refused",
            "starlink_location_available",
            "starlink_location_refused",
        ]

    async def test_missing_fields_are_none(self):
        """Fields absent from the dish's schema come back None, never 0."""
        config = DishSimConfig(port=0, faults=DishFaults(missing_fields=True))
        async with StarlinkDishSimulator(config) as sim:
            status, _, alerts, location = await poll_once(sim)
        t, _ = telemetry_from_dish(
            status, None, alerts, location, now=NOW, previous_fix=None
        )
        assert t.latency_ms is None
        assert t.gps_valid is None
        assert t.gps_satellites is None
        assert t.snr_above_noise_floor is None
        assert t.speed_knots is None  # no horizontal_speed_mps, first fix
        assert location is not None
        assert location["sigma_m"] is None
        assert t.throughput_down_mbps == pytest.approx(120.0)  # the rest still maps
        assert t.latitude_degrees == pytest.approx(50.15)

    async def test_schema_change_needs_reset(self):
        """With imports reset, a full schema after a reduced one maps fully again."""
        config = DishSimConfig(port=0, faults=DishFaults(missing_fields=True))
        async with StarlinkDishSimulator(config) as sim:
            status, *_ = await poll_once(sim)
        assert status is not None
        assert status["pop_ping_latency_ms"] is None
        starlink_grpc.imports_pending = True
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as sim:
            status, *_ = await poll_once(sim)
        assert status is not None
        assert status["pop_ping_latency_ms"] == pytest.approx(34.5)

    async def test_no_reflection(self):
        """A peer without reflection fails with reason no_reflection."""
        config = DishSimConfig(port=0, faults=DishFaults(no_reflection=True))
        async with StarlinkDishSimulator(config) as sim:
            with pytest.raises(ConnectionLostError) as info:
                await poll_once(sim)
        assert info.value.reason == "no_reflection"
        assert "Method not found" in str(info.value)

    async def test_closed_port_is_unreachable_quickly(self):
        """Nothing listening fails at once with reason unreachable."""
        started = time.monotonic()
        async with LiveDishClient(f"127.0.0.1:{free_port()}", timeout=2.0) as client:
            with pytest.raises(ConnectionLostError) as info:
                await client.poll()
        assert info.value.reason == "unreachable"
        assert time.monotonic() - started < 1.0

    async def test_silent_port_times_out(self):
        """A peer that accepts and never speaks fails with reason timeout in time."""
        config = DishSimConfig(port=0, faults=DishFaults(silent=True))
        async with StarlinkDishSimulator(config) as sim:
            started = time.monotonic()
            with pytest.raises(ConnectionLostError) as info:
                await poll_once(sim, request_timeout=0.5)
            elapsed = time.monotonic() - started
        assert info.value.reason == "timeout"
        assert 0.4 < elapsed < 0.5 * DEADLINE_FACTOR

    async def test_recovers_when_dish_returns(self):
        """The same client reads again once the dish is back."""
        config = DishSimConfig(port=0)
        sim = StarlinkDishSimulator(config)
        await sim.start()
        config.port = sim.port
        async with LiveDishClient(sim.address, timeout=1.0) as client:
            await client.poll()
            await sim.stop()
            with pytest.raises(ConnectionLostError) as info:
                await client.poll()
            assert info.value.reason == "unreachable"
            await sim.start()
            try:
                status, *_ = await client.poll()
            finally:
                await sim.stop()
        assert status is not None
        assert status["state"] == "CONNECTED"


class TestClientDeadline:
    async def test_stuck_worker_is_not_stacked(self, monkeypatch):
        """A worker past the asyncio deadline times out and blocks no second worker."""
        release = threading.Event()

        def stuck(context):
            release.wait(10)
            return {}, {}, {}

        monkeypatch.setattr(starlink_grpc, "status_data", stuck)
        client = LiveDishClient("127.0.0.1:9", timeout=0.04)
        try:
            with pytest.raises(ConnectionLostError) as first:
                await client.poll()
            assert first.value.reason == "timeout"
            with pytest.raises(ConnectionLostError, match="still running") as second:
                await client.poll()
            assert second.value.reason == "timeout"
        finally:
            release.set()
            client.close()
        inflight = client._inflight
        assert inflight is not None
        await asyncio.wait_for(asyncio.shield(inflight), 5)

    async def test_other_library_error(self, monkeypatch):
        """A library error of no known kind is reason error."""

        def broken(context):
            raise starlink_grpc.GrpcError(ValueError("bad"))

        monkeypatch.setattr(starlink_grpc, "status_data", broken)
        async with LiveDishClient("127.0.0.1:9", timeout=1.0) as client:
            with pytest.raises(ConnectionLostError) as info:
                await client.poll()
        assert info.value.reason == "error"
        assert "Protocol error" in str(info.value)

    @pytest.mark.parametrize(
        ("exc", "reason"),
        [
            pytest.param(
                starlink_grpc.GrpcError("Reflection service error"),
                "no_reflection",
                id="reflection-text",
            ),
            pytest.param(
                reflector.ServiceError("no symbol"), "no_reflection", id="svc"
            ),
            pytest.param(ValueError("x"), "error", id="other"),
        ],
    )
    def test_reason_classification(self, exc, reason):
        """Library failures map onto the fixed reason words."""
        assert client_module._reason(exc) == reason

    def test_reason_follows_cause(self):
        """The reason is found on the wrapped cause."""
        outer = starlink_grpc.GrpcError("wrapped")
        outer.__cause__ = reflector.ServiceError("symbol not found")
        assert client_module._reason(outer) == "no_reflection"
