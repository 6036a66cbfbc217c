"""The Starlink ``/api/config`` writes over real HTTP: atomic merges and error shape."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pytest

from exporterhub.core.plugin import Target
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.starlink.geo import haversine_m
from exporterhub.exporters.starlink.plugin import PLUGIN

from .conftest import Scrape, running_exporter
from .test_starlink_exporter import dish_target, has_fixed

JSON = {"content-type": "application/json"}

# One partial update per key; no two touch the same key and none breaks a
# cross-field rule whatever the others do.
KEYS: tuple[tuple[str, str, float], ...] = (
    ("network", "spike_probability", 0.01),
    ("network", "handover_interval_seconds", 10.0),
    ("network", "latency_spike_max_ms", 300.0),
    ("network", "throughput_down_max_mbps", 250.0),
    ("network", "throughput_up_max_mbps", 60.0),
    ("network", "packet_loss_max_percent", 6.0),
    ("obstruction", "sway_period_seconds", 30.0),
    ("obstruction", "sway_amplitude_percent", 1.0),
    ("obstruction", "wind_level", 0.1),
    ("obstruction", "event_rate_per_second", 0.01),
    ("route", "speed_knots", 20.0),
    ("route", "altitude_meters", 100.0),
    ("weather", "rain_extra_latency_ms", 1.0),
    ("live", "timeout_seconds", 1.0),
    ("live", "location_interval_seconds", 10.0),
)


@pytest.fixture
def exporter_for() -> Callable[[Sequence[Target]], Any]:
    return partial(running_exporter, PLUGIN)


class TestConcurrentUpdates:
    async def test_concurrent_partial_updates_all_survive(self, exporter_for):
        """Partial updates sent at once to different keys are all merged, none lost."""
        async with exporter_for([dish_target()]) as exporter:
            for round_ in range(1, 6):
                wanted = {
                    (section, key): base * (1 + round_ / 10)
                    for section, key, base in KEYS
                }
                replies = await asyncio.gather(
                    *(
                        exporter.client.post(
                            "/api/config", json={section: {key: value}}
                        )
                        for (section, key), value in wanted.items()
                    )
                )
                assert [r.status_code for r in replies] == [200] * len(replies)
                config = (await exporter.client.get("/api/config")).json()
                got = {
                    (section, key): (config[section] or {}).get(key)
                    for section, key in wanted
                }
                lost = {
                    f"{section}.{key}": (got[section, key], value)
                    for (section, key), value in wanted.items()
                    if got[section, key] != value
                }
                assert lost == {}, f"round {round_}: lost updates {lost}"


async def _config(exporter) -> dict[str, Any]:
    reply = await exporter.client.get("/api/config")
    assert reply.status_code == 200
    return reply.json()


class TestErrorShape:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param(
                {
                    "scenario": {
                        "events": [{"event": "obstruction", "intensity": False}]
                    }
                },
                "scenario.events.0.intensity",
                id="intensity-false",
            ),
            pytest.param(
                {"obstruction": {"sway_period_seconds": 5e-324}},
                "obstruction.sway_period_seconds",
                id="sway-period-tiny",
            ),
            pytest.param(
                {"live": {"dish_address": "dish\x00:9200"}},
                "live.dish_address",
                id="address-nul",
            ),
            pytest.param(
                {"live": {"dish_address": "http://dish:9200"}},
                "live.dish_address",
                id="address-url",
            ),
            pytest.param({"route": {"loop": 1}}, "route.loop", id="loop-1"),
        ],
    )
    async def test_fuzzed_values_are_invalid_body(self, exporter_for, body, field):
        """Values the fuzzer got accepted are 400 invalid_body naming the field."""
        async with exporter_for([dish_target()]) as exporter:
            before = await _config(exporter)
            reply = await exporter.client.post("/api/config", json=body)
            after = await _config(exporter)
        assert reply.status_code == 400
        answer = reply.json()
        assert answer["error"] == "invalid_body"
        assert [p["field"] for p in answer["fields"]] == [field]
        assert after == before

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"[1, 2]", id="array"),
            pytest.param(b'"text"', id="string"),
            pytest.param(b"null", id="null"),
        ],
    )
    async def test_body_must_be_an_object(self, exporter_for, content):
        """A JSON value that is not an object is 400 invalid_body on ``(body)``."""
        async with exporter_for([dish_target()]) as exporter:
            reply = await exporter.client.put(
                "/api/config", content=content, headers=JSON
            )
        assert reply.status_code == 400
        assert reply.json() == {
            "error": "invalid_body",
            "detail": "The body must be a JSON object.",
            "fields": [{"field": "(body)", "message": "expected a JSON object"}],
        }

    async def test_chunked_oversized_body_is_413_unread(self, exporter_for):
        """A chunked body without a length is cut off at the limit: 413, no change."""

        async def chunks():
            yield b'{"seed": 1, "pad": "'
            for _ in range(64):
                yield b"x" * 65_536
            yield b'"}'

        async with exporter_for([dish_target()]) as exporter:
            before = await _config(exporter)
            reply = await exporter.client.post(
                "/api/config", content=chunks(), headers=JSON
            )
            after = await _config(exporter)
        assert reply.status_code == 413
        assert reply.json()["error"] == "body_too_large"
        assert after == before

    async def test_no_dish_is_503_unavailable(self, exporter_for):
        """With the exporter disabled every Starlink route answers 503 unavailable."""
        async with exporter_for([]) as exporter:
            replies = [
                await exporter.client.get("/api/status"),
                await exporter.client.get("/api/config"),
                await exporter.client.post("/api/config", json={"seed": 1}),
                await exporter.client.put("/api/config", json={"seed": 1}),
            ]
        for reply in replies:
            assert reply.status_code == 503
            assert reply.json() == {
                "error": "unavailable",
                "detail": "No dish is configured.",
                "fields": [],
            }

    async def test_whole_float_seed_and_integer_latency_accepted(self, exporter_for):
        """5.0 is an integer and 30 a number, as the served schema says."""
        async with exporter_for([dish_target()]) as exporter:
            reply = await exporter.client.post(
                "/api/config",
                json={"seed": 5.0, "network": {"latency_typical_ms": 30}},
            )
        assert reply.status_code == 200
        assert reply.json()["seed"] == 5
        assert reply.json()["network"]["latency_typical_ms"] == 30.0


SYDNEY = (-33.8688, 151.2093)


def _near_sydney(scrape: Scrape) -> bool:
    lat = scrape.value("starlink_dish_latitude_degrees")
    lon = scrape.value("starlink_dish_longitude_degrees")
    return lat is not None and lon is not None and haversine_m(*SYDNEY, lat, lon) < 100


class TestRouteChange:
    async def test_moved_waypoints_take_effect_on_the_next_step(self):
        """Waypoints moved 16,000 km put the vehicle on them at the next step."""
        clock = FakeClock()
        async with running_exporter(PLUGIN, [dish_target()], clock=clock) as exporter:
            first = await exporter.scrape_advancing(clock, has_fixed, step=0.1)
            uptime = first.value("starlink_dish_uptime_seconds")
            reply = await exporter.client.put(
                "/api/config",
                json={
                    "route": {
                        "waypoints": [
                            {"latitude": SYDNEY[0], "longitude": SYDNEY[1]},
                            {"latitude": -33.9, "longitude": 151.3},
                        ]
                    }
                },
            )
            assert reply.status_code == 200
            # Each scrape moves the clock by 0.1 s: a vehicle driving there at
            # 45 kn would need days, not the few steps allowed here.
            moved = await exporter.scrape_advancing(
                clock, _near_sydney, step=0.1, within=10
            )
            status = (await exporter.client.get("/api/status")).json()
        assert moved.value("starlink_dish_uptime_seconds") >= uptime
        position = status["position"]
        assert (
            haversine_m(
                *SYDNEY, position["latitude_degrees"], position["longitude_degrees"]
            )
            < 100
        )


class TestOriginalBody:
    async def test_original_shape_is_accepted_and_applied(self, exporter_for):
        """A POST in the original backend's shape is 200 and moves the vehicle."""
        body = {
            "mode": "simulation",
            "update_interval_seconds": 0.1,
            "route": {
                "pattern": "circular",
                "latitude_start": 51.5,
                "longitude_start": -0.12,
                "radius_km": 2.0,
                "distance_km": 500.0,
            },
            "obstruction": {"min_percent": 0.0, "max_percent": 30.0,
                            "variation_rate": 0.5},
            "position": {"speed_min_knots": 0.0, "speed_max_knots": 100.0,
                         "altitude_min_meters": 100.0,
                         "altitude_max_meters": 10000.0,
                         "heading_variation_rate": 5.0},
        }  # fmt: skip
        async with exporter_for([dish_target()]) as exporter:
            reply = await exporter.client.post("/api/config", json=body)
            assert reply.status_code == 200, reply.text
            config = reply.json()
            s = await exporter.scrape_until(
                lambda s: (s.value("starlink_dish_latitude_degrees") or 0) > 51
            )
        assert config["route"]["pattern"] == "circle"
        assert config["route"]["radius_meters"] == 2000.0
        assert config["route"]["speed_knots"] == 50.0
        lat = s.value("starlink_dish_latitude_degrees")
        lon = s.value("starlink_dish_longitude_degrees")
        assert lat is not None
        assert lon is not None
        assert abs(haversine_m(51.5, -0.12, lat, lon) - 2000.0) < 50.0
