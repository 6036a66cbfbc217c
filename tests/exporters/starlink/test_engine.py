"""Simulation engine: long seeded runs checked as properties (protocol notes §3)."""

from __future__ import annotations

import itertools
import json
import math
import random
import statistics

import pytest
from structlog.testing import capture_logs

from exporterhub.core.logging import configure_logging
from exporterhub.exporters.starlink._network import congestion
from exporterhub.exporters.starlink._route import (
    MAX_PHASES,
    WALK_LEGS,
    RouteModel,
    build_legs,
)
from exporterhub.exporters.starlink.engine import SimulationEngine
from exporterhub.exporters.starlink.geo import (
    MPS_TO_KNOTS,
    haversine_m,
    initial_bearing_deg,
    knots_to_mps,
)
from exporterhub.exporters.starlink.settings import StarlinkConfig, merge_update
from exporterhub.exporters.starlink.telemetry import ALERTS, DISH_STATES

# 2026-01-15 00:00 UTC; at 74W local solar time is ~19:04 the previous evening.
WALL0 = 1_768_435_200.0
TWO_HOURS = 7200.0


def _config(**update):
    return merge_update(StarlinkConfig(), update)


def _run(engine, dt, duration, wall0=WALL0):
    samples = []
    elapsed = 0.0
    for _ in range(round(duration / dt)):
        elapsed += dt
        samples.append(engine.step(dt, wall0 + elapsed))
    return samples


def _angle(a, b):
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _engine(seed=11, **update):
    return SimulationEngine(_config(**update), seed=seed, start_wall=WALL0)


DTS = [
    pytest.param(1.0, id="dt=1"),
    pytest.param(0.1, id="dt=0.1"),
    pytest.param(7.3, id="dt=7.3"),
]


@pytest.fixture(scope="module", params=DTS)
def normal_run(request):
    dt = request.param
    duration = TWO_HOURS if dt >= 1 else 1800.0
    engine = _engine()
    return dt, engine, _run(engine, dt, duration)


class TestRangesAndSmoothness:
    def test_every_value_in_range(self, normal_run):
        """Over a long run every value stays inside its configured range."""
        _dt, engine, samples = normal_run
        net = engine.config.network
        obs = engine.config.obstruction
        for s in samples:
            assert s.mode == "simulation"
            assert net.latency_min_ms <= s.latency_ms <= net.latency_spike_max_ms
            assert 0.0 <= s.throughput_down_mbps <= net.throughput_down_max_mbps
            assert 0.0 <= s.throughput_up_mbps <= net.throughput_up_max_mbps
            assert 0.0 <= s.packet_loss_percent <= 100.0
            assert obs.min_percent <= s.obstruction_percent <= obs.max_percent
            assert 0.0 <= s.signal_quality_percent <= 100.0
            assert 0.0 <= s.heading_degrees < 360.0
            assert s.speed_knots <= 45.0 * 1.0101
            assert abs(s.altitude_meters - 120.0) <= 3.0 + 1e-9
            assert -90.0 <= s.latitude_degrees <= 90.0
            assert -180.0 <= s.longitude_degrees < 180.0
            assert 8 <= s.gps_satellites <= 16
            assert 60.0 <= s.boresight_elevation_degrees <= 90.0
            assert 0.0 <= s.boresight_azimuth_degrees < 360.0
            assert 50.0 <= s.power_watts <= 75.0
            assert s.state == "CONNECTED"
            assert set(s.alerts) <= set(ALERTS)
            assert s.alerts_known
            assert s.gps_valid
            assert s.location_available
            assert s.dish_id
            assert s.hardware_version
            assert s.software_version
        latencies = [s.latency_ms for s in samples]
        losses = [s.packet_loss_percent for s in samples]
        # Spikes and bursts are rare events on top of the typical range.
        assert sum(v <= net.latency_max_ms for v in latencies) / len(samples) > 0.9
        assert (
            sum(v <= net.packet_loss_max_percent for v in losses) / len(samples) > 0.9
        )
        assert (
            statistics.median(latencies) < 60.0
        )  # evening run: congestion adds ~15 ms
        assert statistics.mean(s.throughput_down_mbps for s in samples) > 60.0

    def test_bounded_change_per_second(self, normal_run):
        """Position and obstruction move smoothly, latency and throughput mostly so."""
        dt, _, samples = normal_run
        max_mps = knots_to_mps(45.0 * 1.0101)
        for a, b in itertools.pairwise(samples):
            moved = haversine_m(
                a.latitude_degrees,
                a.longitude_degrees,
                b.latitude_degrees,
                b.longitude_degrees,
            )
            assert moved <= max_mps * dt + 1e-6
            assert abs(b.obstruction_percent - a.obstruction_percent) <= (
                0.5 * dt + 0.6 * math.sqrt(dt)
            )
            assert abs(b.speed_knots - a.speed_knots) <= 0.5 * MPS_TO_KNOTS * dt + 1e-9
            assert abs(b.uptime_seconds - a.uptime_seconds - dt) < 1e-6
        if dt == 1.0:
            d_lat = [
                abs(b.latency_ms - a.latency_ms) for a, b in itertools.pairwise(samples)
            ]
            d_down = [
                abs(b.throughput_down_mbps - a.throughput_down_mbps)
                for a, b in itertools.pairwise(samples)
            ]
            assert statistics.median(d_lat) < 8.0  # i.i.d. over 20-80 would be ~20
            assert statistics.median(d_down) < 25.0  # i.i.d. over 50-200 would be ~50

    def test_speed_matches_distance(self, normal_run):
        """Distance moved / elapsed time = reported speed, away from turnarounds."""
        dt, _, samples = normal_run
        good = 0
        for a, b in itertools.pairwise(samples):
            moved = haversine_m(
                a.latitude_degrees,
                a.longitude_degrees,
                b.latitude_degrees,
                b.longitude_degrees,
            )
            speed = knots_to_mps((a.speed_knots + b.speed_knots) / 2)
            good += abs(moved / dt - speed) <= 0.01 * speed + 0.01
        assert good / (len(samples) - 1) > 0.99

    def test_heading_matches_bearing(self, normal_run):
        """The bearing between consecutive positions is the reported heading."""
        _dt, _, samples = normal_run
        good = 0
        for a, b in itertools.pairwise(samples):
            bearing = initial_bearing_deg(
                a.latitude_degrees,
                a.longitude_degrees,
                b.latitude_degrees,
                b.longitude_degrees,
            )
            good += _angle(bearing, a.heading_degrees) < 1.0
        assert good / (len(samples) - 1) > 0.99


class TestMotion:
    @pytest.mark.parametrize("dt", [0.1, 1.0, 7.3])
    def test_straight_leg_is_exact(self, dt):
        """On one long leg speed and heading agree with every single step."""
        engine = _engine(
            route={
                "pattern": "straight",
                "length_meters": 500_000,
                "bearing_degrees": 70,
            }
        )
        samples = _run(engine, dt, 600.0)
        for a, b in itertools.pairwise(samples):
            moved = haversine_m(
                a.latitude_degrees,
                a.longitude_degrees,
                b.latitude_degrees,
                b.longitude_degrees,
            )
            # Speed changes monotonically within a step: the mean lies between.
            low = knots_to_mps(min(a.speed_knots, b.speed_knots))
            high = knots_to_mps(max(a.speed_knots, b.speed_knots))
            assert low * (1 - 1e-6) <= moved / dt <= high * (1 + 1e-6)
            bearing = initial_bearing_deg(
                a.latitude_degrees,
                a.longitude_degrees,
                b.latitude_degrees,
                b.longitude_degrees,
            )
            assert _angle(bearing, a.heading_degrees) < 0.05
        assert samples[0].heading_degrees == pytest.approx(70.0, abs=0.5)

    def test_straight_turns_round(self):
        """The straight pattern turns round at its end instead of jumping back."""
        engine = _engine(route={"pattern": "straight", "length_meters": 2000})
        samples = _run(engine, 1.0, 400.0)
        start = (40.7128, -74.0060)
        assert (
            max(
                haversine_m(*start, s.latitude_degrees, s.longitude_degrees)
                for s in samples
            )
            <= 2001
        )
        headings = {round(s.heading_degrees) for s in samples}
        assert any(_angle(h, 90) < 2 for h in headings)
        assert any(_angle(h, 270) < 2 for h in headings)

    @pytest.mark.parametrize(
        ("direction", "sign"), [("clockwise", 1), ("anticlockwise", -1)]
    )
    def test_circle(self, direction, sign):
        """A circle keeps its radius and heads tangentially in its direction."""
        centre = (10.0, 20.0)
        engine = _engine(
            route={
                "pattern": "circle",
                "center_latitude": centre[0],
                "center_longitude": centre[1],
                "radius_meters": 1000,
                "direction": direction,
                "speed_knots": 20,
            }
        )
        for s in _run(engine, 1.0, 900.0):
            here = (s.latitude_degrees, s.longitude_degrees)
            assert haversine_m(*centre, *here) == pytest.approx(1000, abs=5)
            radial = initial_bearing_deg(*centre, *here)
            assert _angle(s.heading_degrees, radial + sign * 90) < 6

    def test_out_and_back_and_waypoint_speed(self):
        """Out-and-back retraces the list; a waypoint's own speed applies on its leg."""
        points = [
            {"latitude": 0.0, "longitude": 0.0, "speed_knots": 20},
            {"latitude": 0.0, "longitude": 0.01},
            {"latitude": 0.01, "longitude": 0.01},
        ]
        engine = _engine(route={"waypoints": points, "loop": False, "speed_knots": 40})
        samples = _run(engine, 1.0, 600.0)
        assert samples[0].speed_knots == pytest.approx(20, rel=0.02)
        assert max(s.speed_knots for s in samples) == pytest.approx(40, rel=0.02)
        assert min(s.longitude_degrees for s in samples[300:]) < 0.005  # came back west

    def test_stationary_holds_heading(self):
        """Identical waypoints mean no movement, speed 0 and a steady heading."""
        point = {"latitude": 5.0, "longitude": 5.0}
        engine = _engine(route={"waypoints": [point, point]})
        samples = _run(engine, 1.0, 60.0)
        assert {(s.latitude_degrees, s.longitude_degrees) for s in samples} == {
            (5.0, 5.0)
        }
        assert {s.speed_knots for s in samples} == {0.0}
        assert len({s.heading_degrees for s in samples}) == 1

    def test_aircraft_climbs_and_descends(self):
        """An aircraft climbs at <= 7.5 m/s to cruise and is down by the route end."""
        points = [
            {"latitude": 0.0, "longitude": 0.0},
            {"latitude": 0.0, "longitude": 10.0},
        ]
        engine = _engine(
            route={
                "waypoints": points,
                "profile": "aircraft",
                "speed_knots": 450,
                "altitude_meters": 0,
            }
        )
        samples = _run(engine, 5.0, 10_000.0)  # one lap is ~9 600 s
        alts = [s.altitude_meters for s in samples]
        assert max(alts) == pytest.approx(10_500)
        assert min(alts) >= 0.0
        for a, b in itertools.pairwise(alts):
            assert abs(b - a) <= 7.5 * 5.0 + 1e-9
        back = min(
            range(1000, len(samples)), key=lambda i: abs(samples[i].longitude_degrees)
        )
        assert abs(samples[back].longitude_degrees) < 0.1
        assert alts[back] < 200.0

    def test_ship_accelerates_slowly(self):
        """A speed change is limited by the profile's acceleration (ship 0.05 m/s²)."""
        engine = _engine(route={"profile": "ship", "speed_knots": 10})
        _run(engine, 1.0, 10.0)
        engine.apply_config(_config(route={"profile": "ship", "speed_knots": 20}))
        samples = _run(engine, 1.0, 60.0)
        gain = knots_to_mps(samples[-1].speed_knots - samples[0].speed_knots)
        assert 0.0 < gain <= 0.05 * 60 + 0.1


class TestReproducibility:
    def test_same_seed_same_trace(self):
        """A fixed seed and clock give an identical trace."""
        assert _run(_engine(seed=5), 1.0, 600) == _run(_engine(seed=5), 1.0, 600)

    def test_seed_from_config(self):
        """config.seed is used when no seed argument is given."""
        first = SimulationEngine(_config(seed=9), start_wall=WALL0)
        second = SimulationEngine(_config(seed=9), start_wall=WALL0)
        assert first.seed == 9
        assert _run(first, 1.0, 60) == _run(second, 1.0, 60)

    def test_different_seed_different_trace(self):
        """Different seeds give different traces; no seed means a random one."""
        assert _run(_engine(seed=5), 1.0, 60) != _run(_engine(seed=6), 1.0, 60)
        drawn = SimulationEngine(StarlinkConfig(), start_wall=WALL0).seed
        # A drawn seed is one the configuration accepts, so a run can be replayed.
        assert merge_update(StarlinkConfig(), {"seed": drawn}).seed == drawn


class TestConfigChange:
    def test_applies_next_step_without_reset(self):
        """A new latency range shows on the next step; position and uptime carry on."""
        engine = _engine()
        before = _run(engine, 1.0, 300)[-1]
        engine.apply_config(
            _config(
                network={
                    "latency_min_ms": 100,
                    "latency_typical_ms": 120,
                    "latency_max_ms": 150,
                    "latency_spike_max_ms": 300,
                }
            )
        )
        after = engine.step(1.0, WALL0 + 301)
        assert 100 <= after.latency_ms <= 300
        assert after.uptime_seconds == pytest.approx(before.uptime_seconds + 1.0)
        moved = haversine_m(
            before.latitude_degrees,
            before.longitude_degrees,
            after.latitude_degrees,
            after.longitude_degrees,
        )
        assert moved <= knots_to_mps(46) * 1.0
        assert all(
            100 <= s.latency_ms <= 300 for s in _run(engine, 1.0, 300, WALL0 + 301)
        )

    @pytest.mark.parametrize(
        "route",
        [
            pytest.param(
                {
                    "waypoints": [
                        {"latitude": -33.8688, "longitude": 151.2093},
                        {"latitude": -33.9000, "longitude": 151.3000},
                    ]
                },
                id="waypoints-moved-16000km",
            ),
            pytest.param(
                {"pattern": "straight", "start_latitude": 51.5, "start_longitude": 0},
                id="new-start-position",
            ),
            pytest.param(
                {"pattern": "circle", "center_latitude": 35.0,
                 "center_longitude": 139.0, "radius_meters": 5000},
                id="new-pattern",
            ),
        ],
    )  # fmt: skip
    def test_new_route_takes_effect_on_the_next_step(self, route):
        """A new route geometry puts the vehicle on it at once; uptime carries on."""
        engine = _engine()
        before = _run(engine, 1.0, 100)[-1]
        config = _config(route=route)
        with capture_logs() as logs:
            engine.apply_config(config)
        after = engine.step(1.0, WALL0 + 101)
        legs, start = build_legs(config.route)
        (changed,) = [e for e in logs if e["event"] == "simulation_route_changed"]
        assert (changed["latitude"], changed["longitude"]) == pytest.approx(start)
        assert haversine_m(*start, after.latitude_degrees, after.longitude_degrees) <= (
            knots_to_mps(46) * 1.0
        )
        assert after.uptime_seconds == pytest.approx(before.uptime_seconds + 1.0)
        leg = legs[0]
        assert (
            _angle(
                after.heading_degrees,
                initial_bearing_deg(
                    after.latitude_degrees, after.longitude_degrees, leg.lat2, leg.lon2
                ),
            )
            < 1.0
        )

    def test_same_geometry_keeps_place(self):
        """Changing only the speed keeps the place on the route."""
        engine = _engine()
        before = _run(engine, 1.0, 100)[-1]
        with capture_logs() as logs:
            engine.apply_config(_config(route={"speed_knots": 30}))
        after = engine.step(0.0, WALL0 + 100)
        assert not [e for e in logs if e["event"] == "simulation_route_changed"]
        assert (after.latitude_degrees, after.longitude_degrees) == pytest.approx(
            (before.latitude_degrees, before.longitude_degrees)
        )

    def test_switch_to_stationary_route(self):
        """A route of one repeated point holds the vehicle there from the next step."""
        engine = _engine()
        _run(engine, 1.0, 10)
        point = {"latitude": 10.0, "longitude": 20.0}
        engine.apply_config(_config(route={"waypoints": [point, point]}))
        samples = _run(engine, 1.0, 5, WALL0 + 10)
        for sample in samples:
            assert sample.speed_knots == 0.0
            lat, lon = sample.latitude_degrees, sample.longitude_degrees
            assert haversine_m(10.0, 20.0, lat, lon) < 1


class TestCauseAndEffect:
    def test_degraded_scenario_moves_everything_together(self):
        """Degraded: more obstruction, more latency and loss, less throughput."""
        normal = _run(_engine(seed=3), 1.0, 3600)
        degraded = _run(_engine(seed=3, scenario={"name": "degraded"}), 1.0, 3600)

        def mean(samples, key):
            return statistics.mean(getattr(s, key) for s in samples[60:])

        assert (
            mean(degraded, "obstruction_percent")
            > mean(normal, "obstruction_percent") + 30
        )
        assert mean(degraded, "latency_ms") > mean(normal, "latency_ms") + 5
        assert (
            mean(degraded, "packet_loss_percent")
            > mean(normal, "packet_loss_percent") + 2
        )
        assert mean(degraded, "throughput_down_mbps") < 0.7 * mean(
            normal, "throughput_down_mbps"
        )
        assert mean(degraded, "signal_quality_percent") < mean(
            normal, "signal_quality_percent"
        )
        assert sum(s.currently_obstructed for s in degraded) > 5 * sum(
            s.currently_obstructed for s in normal
        )

    def test_obstruction_burst_within_one_run(self):
        """A timed obstruction burst raises latency and loss while it lasts."""
        event = {
            "event": "obstruction",
            "at_seconds": 1800,
            "duration_seconds": 1800,
            "intensity": 0.8,
        }
        engine = _engine(seed=4, scenario={"name": "custom", "events": [event]})
        samples = _run(engine, 1.0, 3600)
        quiet, burst = samples[:1800], samples[1900:]
        for key in ("latency_ms", "packet_loss_percent", "obstruction_percent"):
            assert statistics.mean(getattr(s, key) for s in burst) > statistics.mean(
                getattr(s, key) for s in quiet
            )
        assert "lower_signal_than_predicted" in {a for s in burst for a in s.alerts}

    def test_full_obstruction_takes_the_link_down(self):
        """At ~100 % obstruction the dish reports OBSTRUCTED part of the time."""
        event = {"event": "obstruction", "intensity": 1.0}
        samples = _run(
            _engine(seed=2, scenario={"name": "custom", "events": [event]}), 1.0, 1800
        )
        states = [s.state for s in samples]
        assert "OBSTRUCTED" in states
        assert statistics.mean(s.throughput_down_mbps for s in samples[300:]) < 30

    def test_evening_congestion(self):
        """Local evening has more latency and less throughput than 04:00."""
        # At 74W, 21:00 local solar time is 01:56 UTC; 04:00 local is 08:56 UTC.
        evening = WALL0 + 1 * 3600 + 56 * 60 - 1800
        morning = WALL0 + 8 * 3600 + 56 * 60 - 1800
        e_run = _run(_engine(seed=8), 1.0, 3600, evening)
        m_run = _run(_engine(seed=8), 1.0, 3600, morning)
        assert (
            statistics.mean(s.latency_ms for s in e_run)
            > statistics.mean(s.latency_ms for s in m_run) + 8
        )
        assert statistics.mean(
            s.throughput_down_mbps for s in e_run
        ) < 0.75 * statistics.mean(s.throughput_down_mbps for s in m_run)

    def test_congestion_curve(self):
        """Congestion peaks at 21:00 local, is ~0 at 04:00 and follows longitude."""
        assert congestion(21.0, 0.0) == pytest.approx(1.0, abs=0.01)
        assert congestion(4.0, 0.0) < 0.01
        assert congestion(6.0, 225.0) == pytest.approx(congestion(21.0, 0.0))
        assert 0.2 < congestion(12.5, 0.0) < 0.4

    def test_diurnal_can_be_disabled(self):
        """With diurnal_congestion off, evening and morning look alike."""
        off = {"diurnal_congestion": False}
        a = _run(_engine(seed=8, network=off), 1.0, 60, WALL0 + 7000)
        b = _run(_engine(seed=8, network=off), 1.0, 60, WALL0 + 30_000)
        assert [s.latency_ms for s in a] == [s.latency_ms for s in b]


class TestScenarios:
    def test_outage_scenario(self):
        """Outages show their state, 100 % loss, no throughput, and hold latency."""
        samples = _run(_engine(seed=1, scenario={"name": "outage"}), 1.0, 400)
        # samples[i] is at t = i + 1 s; the outage covers 30 <= t < 50.
        assert samples[28].state == "CONNECTED"
        assert samples[50].state == "CONNECTED"
        out = samples[29:48]
        assert {s.state for s in out} == {"SEARCHING"}
        assert {s.packet_loss_percent for s in out} == {100.0}
        assert {s.throughput_down_mbps for s in out} == {0.0}
        assert {s.latency_ms for s in out} == {samples[28].latency_ms}
        assert not any(s.snr_above_noise_floor for s in out)
        assert {s.signal_quality_percent for s in out} == {0.0}
        assert samples[100].state == "OBSTRUCTED"
        assert samples[210].state == "SEARCHING"  # repeats every 180 s
        assert set(DISH_STATES) >= {s.state for s in samples}

    def test_reboot_scenario(self):
        """A reboot resets uptime and goes BOOTING → SEARCHING → CONNECTED."""
        samples = _run(_engine(seed=1, scenario={"name": "reboot"}), 1.0, 400)
        assert samples[8].uptime_seconds > 86_400
        assert samples[9].uptime_seconds == 0.0
        states = [s.state for s in samples[9:]]
        first_search = states.index("SEARCHING")
        assert 60 <= first_search <= 121
        assert set(states[:first_search]) == {"BOOTING"}
        assert states[-1] == "CONNECTED"
        assert samples[20].power_watts == 35.0
        assert samples[-1].uptime_seconds == pytest.approx(390.0)

    def test_reboot_repeats_once_per_period_even_with_big_steps(self):
        """A repeating reboot fires once per period, whatever dt."""
        scenario = {"name": "reboot", "repeat_seconds": 1000}
        samples = _run(_engine(seed=1, scenario=scenario), 250.0, 3000)
        resets = sum(
            b.uptime_seconds < a.uptime_seconds for a, b in itertools.pairwise(samples)
        )
        assert resets == 2

    def test_rain_fade_and_thermal_throttle(self):
        """Rain lowers throughput; thermal throttle raises its alert, lowers power."""
        clear = _run(_engine(seed=2), 1.0, 300)
        rain = _run(_engine(seed=2, scenario={"name": "rain_fade"}), 1.0, 300)
        hot = _run(_engine(seed=2, scenario={"name": "thermal_throttle"}), 1.0, 300)
        assert statistics.mean(
            s.throughput_down_mbps for s in rain
        ) < 0.8 * statistics.mean(s.throughput_down_mbps for s in clear)
        assert statistics.mean(s.packet_loss_percent for s in rain) > statistics.mean(
            s.packet_loss_percent for s in clear
        )
        assert all("thermal_throttle" in s.alerts for s in hot[:299])
        assert hot[10].power_watts == pytest.approx(clear[10].power_watts - 8)

    def test_weather_snow_and_custom_alert(self):
        """Snow turns the heater on; a custom alert event raises that alert."""
        events = [
            {
                "event": "alert",
                "alert": "roaming",
                "at_seconds": 5,
                "duration_seconds": 5,
            },
            {"event": "snow", "at_seconds": 100},
            {"event": "rain", "at_seconds": 100},
            {"event": "congestion", "intensity": 0.5},
            {"event": "congestion", "intensity": 0.7},
        ]
        samples = _run(
            _engine(
                seed=2,
                weather={"condition": "snow"},
                scenario={"name": "custom", "events": events},
            ),
            1.0,
            120,
        )
        assert all("is_heating" in s.alerts for s in samples)
        assert "roaming" in samples[6].alerts
        assert "roaming" not in samples[12].alerts
        assert samples[0].power_watts > 65.0

    def test_weather_rain_setting(self):
        """A standing rain condition fades throughput."""
        clear = _run(_engine(seed=2), 1.0, 300)
        rain = _run(_engine(seed=2, weather={"condition": "rain"}), 1.0, 300)
        assert statistics.mean(s.throughput_down_mbps for s in rain) < statistics.mean(
            s.throughput_down_mbps for s in clear
        )

    def test_scenario_change_restarts_timeline(self):
        """Switching scenario starts its timeline at 0 from the next step."""
        engine = _engine(seed=1)
        _run(engine, 1.0, 500)
        engine.apply_config(_config(scenario={"name": "outage"}))
        samples = _run(engine, 1.0, 40, WALL0 + 500)
        assert samples[28].state == "CONNECTED"
        assert samples[31].state == "SEARCHING"


class TestRobustness:
    @pytest.mark.parametrize(
        "dt", [0.0, -5.0, 1e6, 1e12, math.inf, math.nan], ids=lambda d: f"dt={d}"
    )
    def test_odd_dt_never_raises(self, dt):
        """Zero, negative, enormous and non-finite dt all give a finite sample."""
        engine = _engine(scenario={"name": "outage"})
        engine.step(1.0, WALL0)
        sample = engine.step(dt, WALL0 + 2)
        for value in (
            sample.latitude_degrees,
            sample.longitude_degrees,
            sample.latency_ms,
            sample.throughput_down_mbps,
            sample.uptime_seconds,
        ):
            assert math.isfinite(value)
        assert engine.errors == 0

    def test_zero_dt_changes_nothing_that_moves(self):
        """dt = 0 keeps position and uptime."""
        engine = _engine()
        a = engine.step(1.0, WALL0 + 1)
        b = engine.step(0.0, WALL0 + 1)
        assert (a.latitude_degrees, a.longitude_degrees, a.uptime_seconds) == (
            b.latitude_degrees,
            b.longitude_degrees,
            b.uptime_seconds,
        )

    def test_nonfinite_wall_clock(self):
        """A non-finite wall time falls back to the previous one."""
        engine = _engine()
        assert engine.step(1.0, math.nan).timestamp == WALL0

    def test_failing_component_keeps_last_values(self):
        """A failing component keeps its last good value, is counted and flagged."""
        engine = _engine()
        good = engine.step(1.0, WALL0 + 1)
        assert not engine.last_step_failed
        engine.inject_fault("latency")
        with capture_logs() as logs:
            sample = engine.step(1.0, WALL0 + 2)
        assert sample.latency_ms == good.latency_ms
        assert engine.errors == 1
        assert engine.last_step_failed
        assert engine.failed_components == ("latency",)
        assert sample.uptime_seconds == pytest.approx(good.uptime_seconds + 1)
        (record,) = logs
        assert record["log_level"] == "warning"
        assert record["component"] == "latency"
        engine.step(1.0, WALL0 + 3)
        assert not engine.last_step_failed
        assert engine.failed_components == ()
        assert engine.errors == 1
        engine.inject_fault("latency")
        with capture_logs() as logs:
            engine.step(1.0, WALL0 + 4)
        assert engine.errors == 2
        assert [(r["log_level"], r["component"]) for r in logs] == [
            ("debug", "latency")
        ]

    def test_component_name_reaches_the_json_log(self, capsys):
        """The JSON log line of a failing component names it, with the traceback."""
        configure_logging("info", "json", stream="stdout")
        engine = _engine()
        engine.inject_fault("throughput")
        engine.step(1.0, WALL0 + 1)
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        (line,) = [x for x in lines if x["event"] == "simulation_component_failed"]
        assert line["component"] == "throughput"
        assert line["level"] == "warning"
        assert "injected fault in throughput" in line["exception"]

    def test_failing_route_and_step(self):
        """A broken route or whole step never raises out of step()."""
        engine = _engine()
        engine.inject_fault("route")
        first = engine.step(1.0, WALL0 + 1)
        assert first.latitude_degrees == engine.config.route.start_latitude
        assert first.speed_knots == 0.0
        engine.inject_fault("step")
        assert engine.step(1.0, WALL0 + 2) is first
        assert engine.errors == 2
        assert engine.last_step_failed
        fresh = _engine()
        fresh.inject_fault("step")
        assert fresh.step(1.0, WALL0).mode == "simulation"
        assert fresh.last is None

    def test_inject_fault_rejects_unknown_component(self):
        """Only the documented component names can be faulted."""
        with pytest.raises(ValueError, match="unknown component"):
            _engine().inject_fault("_latency")


class TestSeed:
    def test_seed_change_replays_deterministically(self):
        """Changing ``seed`` re-seeds: same state + same new seed = same trace."""
        a, b, c = _engine(seed=1), _engine(seed=1), _engine(seed=1)
        for engine in (a, b, c):
            _run(engine, 1.0, 100)
        a.apply_config(merge_update(a.config, {"seed": 5}))
        b.apply_config(merge_update(b.config, {"seed": 5}))
        c.apply_config(merge_update(c.config, {"seed": 6}))
        assert a.seed == b.seed == 5
        trace_a = _run(a, 1.0, 300, WALL0 + 100)
        trace_b = _run(b, 1.0, 300, WALL0 + 100)
        trace_c = _run(c, 1.0, 300, WALL0 + 100)
        assert trace_a == trace_b
        assert [s.latency_ms for s in trace_a] != [s.latency_ms for s in trace_c]

    def test_seed_change_matters_and_keeps_state(self):
        """Re-seeding changes the future but does not reset position or uptime."""
        engine = _engine(seed=1)
        before = _run(engine, 1.0, 100)[-1]
        engine.apply_config(merge_update(engine.config, {"seed": 5}))
        after = engine.step(1.0, WALL0 + 101)
        assert after.uptime_seconds == pytest.approx(before.uptime_seconds + 1)
        moved = haversine_m(
            before.latitude_degrees,
            before.longitude_degrees,
            after.latitude_degrees,
            after.longitude_degrees,
        )
        assert moved < 50.0


DAY = 86_400.0


class TestRealism:
    def test_obstruction_drives_the_link(self):
        """Over a day at 0-60 % obstruction, obstruction visibly degrades the link."""
        engine = _engine(
            seed=1,
            obstruction={"min_percent": 0, "typical_percent": 30, "max_percent": 60},
        )
        samples = _run(engine, 1.0, DAY)
        obstruction = [s.obstruction_percent for s in samples]

        def r(values):
            return statistics.correlation(obstruction, values)

        assert statistics.pstdev(obstruction) > 5.0
        assert r([s.latency_ms for s in samples]) > 0.3
        assert r([s.packet_loss_percent for s in samples]) > 0.3
        assert r([s.throughput_down_mbps for s in samples]) < -0.3

    def test_throughput_is_smooth_outside_events(self):
        """The per-second throughput change stays under 10 % of the range at p99."""
        engine = _engine(seed=2, network={"handover_interval_seconds": 3600})
        samples = _run(engine, 1.0, DAY / 2)
        net = engine.config.network
        span = net.throughput_down_max_mbps - net.throughput_down_min_mbps
        changes = sorted(
            abs(b.throughput_down_mbps - a.throughput_down_mbps) / span
            for a, b in itertools.pairwise(samples)
            if not (a.currently_obstructed or b.currently_obstructed)
        )
        assert changes[int(0.99 * len(changes))] < 0.1
        assert statistics.median(changes) < 0.03


class TestLongRoute:
    @pytest.mark.parametrize("dt", [1.0, 0.1, 300.0, 1e7])
    def test_step_cost_does_not_grow_with_waypoints(self, dt):
        """A 10 000-waypoint route visits a bounded number of legs per step."""
        waypoints = [
            {"latitude": 10.0 + 1e-5 * (i % 2), "longitude": -30.0 + 0.002 * i}
            for i in range(10_000)
        ]
        route = _config(route={"waypoints": waypoints, "speed_knots": 400}).route
        model = RouteModel(route, random.Random(3))
        # Each drive/brake/turn phase walks a few legs or bisects the lot.
        per_phase = WALK_LEGS + math.ceil(math.log2(len(waypoints) + 1)) + 1
        bound = MAX_PHASES * per_phase
        assert bound < len(waypoints) / 20
        visited = []
        for _ in range(200):
            model.step(dt)
            visited.append(model.legs_visited)
        assert max(visited) <= bound
        assert max(visited) >= 1


TURN_ROUTES = [
    pytest.param(
        {
            "waypoints": [
                {"latitude": 40.0, "longitude": -74.0},
                {"latitude": 40.02, "longitude": -74.0},
            ]
        },
        3.0,
        id="loop-2-waypoints",
    ),
    pytest.param({"pattern": "straight", "length_meters": 3000}, 3.0, id="straight"),
    pytest.param(
        {
            "waypoints": [
                {"latitude": 0.0, "longitude": 0.0},
                {"latitude": 0.0, "longitude": 0.01},
                {"latitude": 0.01, "longitude": 0.01},
            ],
            "loop": False,
            "profile": "ship",
            "speed_knots": 20,
        },
        3.0,
        id="ship-out-and-back",
    ),
    pytest.param(
        {"pattern": "circle", "radius_meters": 300, "speed_knots": 45},
        3.0,
        id="tight-circle",
    ),
    pytest.param(
        {
            "waypoints": [
                {"latitude": 0.0, "longitude": 0.0},
                {"latitude": 0.0, "longitude": 0.5},
                {"latitude": 0.5, "longitude": 0.5},
            ],
            "profile": "aircraft",
            "speed_knots": 450,
        },
        1.5,
        id="aircraft-corners",
    ),
]


class TestTurns:
    @pytest.mark.parametrize("dt", [1.0, 7.3])
    @pytest.mark.parametrize(("route", "rate"), TURN_ROUTES)
    def test_turn_rate_is_limited(self, route, rate, dt):
        """The heading never turns faster than the profile allows, even at U-turns."""
        engine = _engine(route=route)
        samples = _run(engine, dt, 3600.0)
        turns = [
            _angle(a.heading_degrees, b.heading_degrees)
            for a, b in itertools.pairwise(samples)
        ]
        # At most dt seconds of turning, plus one gentle (<= rate) vertex.
        assert max(turns) <= rate * (dt + 1.0) + 0.2
        # ...and the route does turn: it is not driving straight on.
        headings = [s.heading_degrees for s in samples]
        assert max(_angle(h, headings[0]) for h in headings) > 80.0

    def test_u_turn_stops_then_turns_on_the_spot(self):
        """An out-and-back end: brake to 0, turn 180 degrees at 3 deg/s, drive back."""
        engine = _engine(route={"pattern": "straight", "length_meters": 3000})
        samples = _run(engine, 1.0, 600.0)
        first = next(i for i, s in enumerate(samples) if s.speed_knots == 0.0)
        end = next(i for i in range(first, 600) if samples[i].speed_knots > 0.0) - 1
        turning = range(first, end + 1)
        assert 58 <= len(turning) <= 61  # 180 deg at 3 deg/s
        assert _angle(samples[first - 1].heading_degrees, 90.0) < 1.0
        assert samples[first - 1].speed_knots < 1.0  # braked smoothly
        assert _angle(samples[end + 1].heading_degrees, 270.0) < 1.0
        positions = {
            (
                round(samples[i].latitude_degrees, 9),
                round(samples[i].longitude_degrees, 9),
            )
            for i in turning
        }
        assert len(positions) == 1  # turning on the spot

    def test_moving_heading_is_bearing_of_travel_through_turns(self):
        """While moving, the bearing to the next position is the reported heading."""
        route = TURN_ROUTES[2].values[0]
        samples = _run(_engine(route=route), 1.0, 1800.0)
        checked = 0
        for a, b in itertools.pairwise(samples):
            if a.speed_knots < 1.0 or b.speed_knots < 1.0:
                continue
            bearing = initial_bearing_deg(
                a.latitude_degrees,
                a.longitude_degrees,
                b.latitude_degrees,
                b.longitude_degrees,
            )
            checked += 1
            assert _angle(bearing, a.heading_degrees) < 1.0
        assert checked > 1000


WALK = {
    "pattern": "random_walk",
    "radius_meters": 3000.0,
    "speed_knots": 20.0,
    "walk_seed": 3,
}


class TestRandomWalk:
    def test_stays_inside_its_circle_and_moves_consistently(self):
        """A random walk stays near its centre; speed matches distance covered."""
        engine = _engine(route=WALK)
        samples = _run(engine, 1.0, 3 * 3600)
        centre = (40.7128, -74.0060)
        for sample in samples:
            away = haversine_m(
                *centre, sample.latitude_degrees, sample.longitude_degrees
            )
            assert away <= 3000.0 * 1.05
        moved = sum(
            haversine_m(
                a.latitude_degrees, a.longitude_degrees,
                b.latitude_degrees, b.longitude_degrees,
            )
            for a, b in itertools.pairwise(samples)
        )  # fmt: skip
        mean_knots = statistics.fmean(s.speed_knots for s in samples[1:])
        assert moved / (len(samples) - 1) == pytest.approx(
            mean_knots * 1852 / 3600, rel=0.02
        )

    def test_same_walk_seed_same_route(self):
        """The walk is part of the configuration: the same walk_seed, the same path."""
        first = [s.latitude_degrees for s in _run(_engine(route=WALK), 1.0, 600)]
        again = [s.latitude_degrees for s in _run(_engine(route=WALK), 1.0, 600)]
        other = _run(_engine(route={**WALK, "walk_seed": 4}), 1.0, 600)
        assert first == again
        assert first != [s.latitude_degrees for s in other]


class TestTransitionLog:
    def test_outage_scenario_logs_its_events_and_state_changes(self):
        """Scenario start, each outage's start and end, and state changes are logged."""
        with capture_logs() as logs:
            engine = _engine(scenario={"name": "outage"})
            _run(engine, 1.0, 120)
        names = [e["event"] for e in logs]
        assert names[0] == "simulation_scenario_started"
        assert logs[0]["scenario"] == "outage"
        started = [e for e in logs if e["event"] == "simulation_event_started"]
        ended = [e for e in logs if e["event"] == "simulation_event_ended"]
        assert [(e["event_name"], e["at_seconds"]) for e in started] == [
            ("outage", 30.0),
            ("outage", 100.0),
        ]
        assert [e["at_seconds"] for e in ended] == [30.0, 100.0]
        changes = [
            (e["previous"], e["state"], e["log_level"])
            for e in logs
            if e["event"] == "simulation_state_changed"
        ]
        assert changes == [
            ("CONNECTED", "SEARCHING", "warning"),
            ("SEARCHING", "CONNECTED", "info"),
            ("CONNECTED", "OBSTRUCTED", "warning"),
            ("OBSTRUCTED", "CONNECTED", "info"),
        ]

    def test_reboot_and_scenario_change_are_logged(self):
        """A reboot, its boot phases, and replacing the scenario are logged."""
        engine = _engine()
        _run(engine, 1.0, 5)
        with capture_logs() as logs:
            engine.apply_config(_config(scenario={"name": "reboot"}))
            _run(engine, 1.0, 300, WALL0 + 5)
            engine.apply_config(_config())
        names = [e["event"] for e in logs]
        assert names[0] == "simulation_scenario_started"
        assert "simulation_reboot" in names
        states = [e["state"] for e in logs if e["event"] == "simulation_state_changed"]
        assert states == ["BOOTING", "SEARCHING", "CONNECTED"]
        assert names[-1] == "simulation_scenario_ended"
        assert logs[-1]["scenario"] == "reboot"
