"""The Starlink service over HTTP: simulation, REST API, live mode vs the fake dish."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pytest
import starlink_grpc  # type: ignore[import-untyped]

from exporterhub.core.plugin import Target
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.starlink.plugin import (
    PLUGIN,
    StarlinkTargetSettings,
    to_target,
)
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.simulators.starlink import (
    DishFaults,
    DishSimConfig,
    StarlinkDishSimulator,
)

from .conftest import Scrape, running_exporter

FIXED = (
    "starlink_dish_latitude_degrees",
    "starlink_dish_longitude_degrees",
    "starlink_dish_altitude_meters",
    "starlink_network_latency_ms",
    "starlink_network_throughput_down_mbps",
    "starlink_network_throughput_up_mbps",
    "starlink_dish_obstruction_percent",
    "starlink_dish_speed_knots",
    "starlink_dish_heading_degrees",
)


def dish_target(**config: Any) -> Target:
    values: dict[str, Any] = {"update_interval_seconds": 0.1, "seed": 11}
    values.update(config)
    return to_target(
        StarlinkTargetSettings(config=StarlinkConfig.model_validate(values))
    )


@pytest.fixture
def exporter_for() -> Callable[[Sequence[Target]], Any]:
    return partial(running_exporter, PLUGIN)


def has_fixed(scrape: Scrape) -> bool:
    return all(scrape.value(name) is not None for name in FIXED)


class TestSimulationService:
    async def test_fixed_metrics_and_content_type(self, exporter_for):
        """All nine fixed gauges are present and label-free, in text format 0.0.4."""
        async with exporter_for([dish_target()]) as exporter:
            s = await exporter.scrape_until(has_fixed)
            response = await exporter.client.get("/metrics")
        assert response.headers["content-type"] == "text/plain; version=0.0.4"
        for name in FIXED:
            (sample,) = s.series(name)
            assert sample.labels == {}
        assert 20 <= s.value("starlink_network_latency_ms") <= 300
        assert s.value("starlink_exporter_mode", mode="simulation") == 1.0
        assert s.value("starlink_up") == 1.0

    async def test_health_status_and_docs(self, exporter_for):
        """/health gives the mode, /api/status an ISO 8601 timestamp; /docs serves."""
        async with exporter_for([dish_target()]) as exporter:
            await exporter.scrape_until(has_fixed)
            health = await exporter.client.get("/health")
            status = await exporter.client.get("/api/status")
            docs = await exporter.client.get("/docs")
            openapi = (await exporter.client.get("/openapi.json")).json()
        assert health.status_code == 200
        assert health.json()["mode"] == "simulation"
        assert health.json()["status"] == "ok"
        assert isinstance(health.json()["uptime"], float)
        # The original backend's names, for checks written against it.
        assert health.json()["uptime_seconds"] == pytest.approx(
            health.json()["uptime"], abs=0.5
        )
        assert health.json()["timestamp"].endswith("+00:00")
        body = status.json()
        assert body["timestamp"].endswith("+00:00")
        assert body["network"]["latency_ms"] > 0
        assert status.headers["cache-control"] == "no-store"
        assert docs.status_code == 200
        assert "/api/config" in openapi["paths"]

    async def test_config_round_trip_and_change_seen_in_metrics(self, exporter_for):
        """GET returns what PUT accepts; a new range reaches /metrics and the API."""
        async with exporter_for([dish_target()]) as exporter:
            await exporter.scrape_until(has_fixed)
            current = (await exporter.client.get("/api/config")).json()
            current["network"].update(
                latency_min_ms=200.0,
                latency_typical_ms=210.0,
                latency_max_ms=220.0,
                latency_spike_max_ms=230.0,
            )
            put = await exporter.client.put("/api/config", json=current)
            assert put.status_code == 200
            assert put.json()["network"]["latency_min_ms"] == 200.0
            s = await exporter.scrape_until(
                lambda s: (s.value("starlink_network_latency_ms") or 0) >= 150
            )
            status = (await exporter.client.get("/api/status")).json()
        assert s.value("starlink_network_latency_ms") >= 150
        assert status["network"]["latency_ms"] >= 150

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"network": {"latency_min_ms": -1}}, "network.latency_min_ms",
                         id="negative-latency"),
            pytest.param({"mode": "warp"}, "mode", id="bad-mode"),
            pytest.param({"route": {"waypoints": [{"latitude": 95, "longitude": 0}]}},
                         "route.waypoints", id="bad-waypoints"),
            pytest.param({"unknown_key": 1}, "unknown_key", id="unknown-key"),
            pytest.param({"update_interval_seconds": 0}, "update_interval_seconds",
                         id="zero-interval"),
        ],
    )  # fmt: skip
    async def test_invalid_update_is_400_and_changes_nothing(
        self, exporter_for, body, field
    ):
        """An invalid body gets 400 naming the field; the config stays as it was."""
        async with exporter_for([dish_target()]) as exporter:
            before = (await exporter.client.get("/api/config")).json()
            reply = await exporter.client.post("/api/config", json=body)
            after = (await exporter.client.get("/api/config")).json()
        assert reply.status_code == 400
        assert reply.json()["error"] == "invalid_body"
        assert isinstance(reply.json()["detail"], str)
        fields = [d["field"] for d in reply.json()["fields"]]
        assert any(f.startswith(field) for f in fields), fields
        assert after == before

    async def test_malformed_json_is_400(self, exporter_for):
        """Malformed JSON is 400 (not FastAPI's 422)."""
        async with exporter_for([dish_target()]) as exporter:
            reply = await exporter.client.post(
                "/api/config",
                content=b'{"network": ',
                headers={"content-type": "application/json"},
            )
        assert reply.status_code == 400
        assert reply.json()["error"] == "malformed_json"
        assert reply.json()["fields"] == []


@pytest.fixture(autouse=True)
def fresh_schema():
    """The client caches the first schema per process; fakes differ between tests."""
    starlink_grpc.imports_pending = True
    yield
    starlink_grpc.imports_pending = True


class TestLiveMode:
    async def test_live_mode_reads_the_fake_dish(self, exporter_for):
        """Live mode maps the fake dish's answers onto the same metric names."""
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as dish:
            target = dish_target(
                mode="live", live={"dish_address": dish.address, "timeout_seconds": 1.0}
            )
            async with exporter_for([target]) as exporter:
                s = await exporter.scrape_until(
                    lambda s: s.value("starlink_network_latency_ms") is not None
                )
                health = (await exporter.client.get("/health")).json()
        assert s.value("starlink_exporter_mode", mode="live") == 1.0
        assert s.value("starlink_dish_latitude_degrees") is not None
        assert s.value("starlink_dish_state", state="CONNECTED") == 1.0
        assert health["mode"] == "live"
        assert health["dish_connected"] is True

    async def test_location_read_once_per_location_interval(self, exporter_for):
        """Status is read every pass, location once per interval; position stays."""
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as dish:
            live = {
                "dish_address": dish.address,
                "timeout_seconds": 1.0,
                "location_interval_seconds": 3600,
            }
            async with exporter_for([dish_target(mode="live", live=live)]) as exporter:
                await exporter.scrape_until(
                    lambda _: dish.requests_by_kind["get_status"] >= 5
                )
                # Five status reads = at least four finished passes, three of them
                # without a location read.
                s = await exporter.scrape()
        assert dish.requests_by_kind["get_location"] == 1
        assert s.value("starlink_dish_latitude_degrees") == pytest.approx(50.15)
        assert s.value("starlink_dish_longitude_degrees") == pytest.approx(-5.05)
        assert s.value("starlink_dish_speed_knots") == pytest.approx(6.5, rel=1e-6)
        assert s.value("starlink_dish_location_available") == 1.0

    async def test_outage_and_refused_location(self, exporter_for):
        """An outage shows as SEARCHING; a refused location omits the position."""
        faults = DishFaults(outage_cause="NO_SCHEDULE", refuse_location=True)
        async with StarlinkDishSimulator(DishSimConfig(port=0, faults=faults)) as dish:
            target = dish_target(
                mode="live", live={"dish_address": dish.address, "timeout_seconds": 1.0}
            )
            async with exporter_for([target]) as exporter:
                s = await exporter.scrape_until(
                    lambda s: s.value("starlink_dish_state", state="SEARCHING") == 1.0
                )
        assert s.value("starlink_dish_latitude_degrees") is None
        assert s.value("starlink_dish_longitude_degrees") is None
        assert s.value("starlink_dish_location_available") == 0.0

    async def test_missing_fields_are_omitted(self, exporter_for):
        """Fields the dish's schema lacks produce no series, never zeros."""
        faults = DishFaults(missing_fields=True)
        async with StarlinkDishSimulator(DishSimConfig(port=0, faults=faults)) as dish:
            target = dish_target(
                mode="live", live={"dish_address": dish.address, "timeout_seconds": 1.0}
            )
            async with exporter_for([target]) as exporter:
                s = await exporter.scrape_until(
                    lambda s: (
                        s.value("starlink_network_throughput_down_mbps") is not None
                    )
                )
        assert s.value("starlink_network_latency_ms") is None
        assert s.value("starlink_dish_gps_satellites") is None

    async def test_silent_dish_counts_timeouts_and_goes_down(self, exporter_for):
        """A dish that accepts and never answers is a timeout; starlink_up goes 0."""
        faults = DishFaults(silent=True)
        async with StarlinkDishSimulator(DishSimConfig(port=0, faults=faults)) as dish:
            target = dish_target(
                mode="live", live={"dish_address": dish.address, "timeout_seconds": 0.3}
            )
            async with exporter_for([target]) as exporter:
                s = await exporter.scrape_until(
                    lambda s: (s.value("starlink_exporter_poll_errors_total",
                        error="timeout") or 0) >= 1
                )  # fmt: skip
        assert s.value("starlink_up") == 0.0
        assert s.value("starlink_network_latency_ms") is None

    async def test_switching_mode_through_the_api(self, exporter_for):
        """POST {"mode": "live"} switches to the dish on the next pass."""
        async with (
            StarlinkDishSimulator(DishSimConfig(port=0)) as dish,
            exporter_for([dish_target()]) as exporter,
        ):
            await exporter.scrape_until(has_fixed)
            reply = await exporter.client.post(
                "/api/config",
                json={"mode": "live", "live": {"dish_address": dish.address}},
            )
            assert reply.status_code == 200
            s = await exporter.scrape_until(
                lambda s: (
                    s.value("starlink_exporter_mode", mode="live") == 1.0
                    and s.value("starlink_network_latency_ms") is not None
                )
            )
        assert s.value("starlink_up") == 1.0


LIVE_VALUES = (
    "starlink_network_latency_ms",
    "starlink_network_throughput_down_mbps",
    "starlink_dish_latitude_degrees",
    "starlink_dish_obstruction_percent",
)
"""Values one pass against the fake dish gives (heading needs two positions)."""


def has_live(scrape: Scrape) -> bool:
    return all(scrape.value(name) is not None for name in LIVE_VALUES)


class TestSilentDish:
    """A dish that accepts and never answers: values go at the max age.

    The exporter runs on a fake clock; the gRPC call waits on real time, with a
    timeout far longer than this test, so the worker sits in its call and
    publishes nothing. What leaves the scrape leaves because the clock passed the
    max age (max(3 x the update interval, 2 x the call timeout)).
    """

    async def test_values_go_at_max_age_and_come_back(self, exporter_for):
        """Past max age: no values, starlink_up 0, dish info and last success stay."""
        clock = FakeClock()
        max_age = 60.0  # max(3 * 5, 2 * 30)
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as dish:
            port = dish.address.rsplit(":", 1)[1]
            live = {"dish_address": dish.address, "timeout_seconds": 30.0}
            target = dish_target(mode="live", live=live, update_interval_seconds=5.0)
            async with exporter_for([target], clock) as exporter:
                s = await exporter.scrape_until(
                    lambda s: has_live(s) and s.value("starlink_up") == 1.0
                )
                taken = clock.time()
                assert s.value("starlink_last_success_timestamp_seconds") == taken
                await exporter.until_prepared(clock, step=0.5)
                await dish.stop()  # the same address now accepts and never answers
                silent = DishSimConfig(port=int(port), faults=DishFaults(silent=True))
                async with StarlinkDishSimulator(silent):
                    clock.advance(max_age - 0.5)  # the next pass is due: it hangs
                    s = await exporter.scrape()  # exactly at the max age: kept
                    assert has_live(s)
                    assert s.value("starlink_up") == 1.0

                    clock.advance(0.25)
                    s = await exporter.scrape()
                    for name in (*LIVE_VALUES, *FIXED):
                        assert s.series(name) == [], name
                    assert s.value("starlink_up") == 0.0
                    assert s.value("starlink_last_success_timestamp_seconds") == taken
                    assert s.series("starlink_dish_info")
                    # The worker has not given up on its call: this is the scrape.
                    errors = s.series("starlink_exporter_poll_errors_total")
                    assert not [x for x in errors if x.value > 0]
                # The dish comes back: the hung call ends, the next pass answers.
                async with StarlinkDishSimulator(DishSimConfig(port=int(port))):
                    s = await exporter.scrape_advancing(
                        clock,
                        lambda s: has_live(s) and s.value("starlink_up") == 1.0,
                        step=1.0,
                    )
        assert (s.value("starlink_last_success_timestamp_seconds") or 0) > taken


class TestHardening:
    async def test_oversized_body_is_refused_unread(self, exporter_for):
        """A body over 1 MiB gets 413 and the configuration stays as it was."""
        async with exporter_for([dish_target()]) as exporter:
            before = (await exporter.client.get("/api/config")).json()
            reply = await exporter.client.post(
                "/api/config",
                content=b'{"seed": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                headers={"content-type": "application/json"},
            )
            after = (await exporter.client.get("/api/config")).json()
        assert reply.status_code == 413
        assert reply.json()["error"] == "body_too_large"
        assert after == before

    async def test_longer_interval_keeps_values_fresh_and_shorter_applies_at_once(
        self, exporter_for
    ):
        """Raising the interval does not hide the values; lowering it wakes the loop."""
        async with exporter_for([dish_target()]) as exporter:
            await exporter.scrape_until(has_fixed)
            slow = await exporter.client.post(
                "/api/config", json={"update_interval_seconds": 600}
            )
            assert slow.status_code == 200
            record = exporter.state.exposition.section("starlink").records()[0]
            await exporter.scrape_until(
                lambda _: (
                    exporter.state.exposition.section("starlink").records()[0].max_age
                    >= 600
                )
            )
            s = await exporter.scrape()
            assert has_fixed(s)
            first = (await exporter.client.get("/api/status")).json()["timestamp"]
            fast = await exporter.client.post(
                "/api/config", json={"update_interval_seconds": 0.1}
            )
            assert fast.status_code == 200
            await exporter.scrape_until(
                lambda _: (
                    exporter.state.exposition.section("starlink").records()[0].taken_at
                    != record.taken_at
                )
            )
            later = (await exporter.client.get("/api/status")).json()["timestamp"]
        assert later != first


def test_environment_overrides_the_config_file(tmp_path, monkeypatch):
    """STARLINK_EXPORTER_* variables sit between the YAML file and the API."""
    from exporterhub.core.errors import ConfigError
    from exporterhub.exporters.starlink.__main__ import load_with_env

    path = tmp_path / "config.yaml"
    path.write_text("network:\n  latency_min_ms: 21\n")
    monkeypatch.setenv("STARLINK_EXPORTER_NETWORK__LATENCY_MAX_MS", "90")
    monkeypatch.setenv("STARLINK_EXPORTER_MODE", "live")
    config, existed = load_with_env(path)
    assert existed
    assert config.network.latency_min_ms == 21
    assert config.network.latency_max_ms == 90
    assert config.mode == "live"
    monkeypatch.setenv("STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS", "-3")
    with pytest.raises(ConfigError, match="environment"):
        load_with_env(path)


async def test_failing_step_is_counted_shown_and_survived(exporter_for):
    """A failing simulation step counts an error, shows up 0, and the loop goes on."""
    async with exporter_for([dish_target()]) as exporter:
        await exporter.scrape_until(has_fixed)
        worker = PLUGIN.worker()
        assert worker is not None
        worker.engine.inject_fault("step")
        s = await exporter.scrape_until(
            lambda s: (
                (s.value("starlink_exporter_poll_errors_total", error="step") or 0) >= 1
            )
        )
        assert has_fixed(s)  # the last good values are kept
        s = await exporter.scrape_until(lambda s: s.value("starlink_up") == 1.0)
    assert (s.value("starlink_exporter_poll_errors_total", error="step") or 0) >= 1
