"""The CHAOS exporter against the CHAOS simulator over loopback, scraped over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr

from exporterhub.core.plugin import Target
from exporterhub.core.testing import FakeClock, wait_until
from exporterhub.exporters.chaos.plugin import PLUGIN, to_target
from exporterhub.exporters.chaos.settings import ChaosTargetSettings
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

from .conftest import Scrape, running_exporter

FAST = {
    "fast_interval": 0.3,
    "medium_interval": 0.6,
    "slow_interval": 1.2,
    "min_request_interval": 0.0,
    "request_timeout": 0.5,
    "retry_initial": 0.05,
    "retry_max": 2.0,
    "max_retries": 2,
}


def chaos_target(sim: ChaosSimulator, **overrides: Any) -> Target:
    values: dict[str, Any] = {
        "control_login": "exmpl@a",
        "control_password": SecretStr("demo-password"),
        "api_url": sim.base_url,
        **FAST,
    }
    values.update(overrides)
    return to_target(ChaosTargetSettings(**values))


@pytest.fixture
async def sim() -> AsyncIterator[ChaosSimulator]:
    async with ChaosSimulator(ChaosSimConfig(port=0)) as simulator:
        yield simulator


@pytest.fixture
def exporter_for() -> Callable[[Sequence[Target]], Any]:
    return partial(running_exporter, PLUGIN)


def lines_up(scrape: Scrape) -> bool:
    ups = scrape.series("aaisp_broadband_service_up")
    quota = scrape.series("aaisp_broadband_quota_remaining_bytes")
    return len(ups) == 3 and all(s.value == 1.0 for s in ups) and len(quota) == 2


def commands(sim: ChaosSimulator) -> list[str]:
    return [f"{r.subsystem}/{r.command}" for r in sim.requests]


class TestWorkedExample:
    async def test_values_match_the_protocol_document(self, sim, exporter_for):
        """The §11 worked example comes out value by value through HTTP."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(lines_up)

        def v(name: str, service: str) -> float | None:
            return s.value(f"aaisp_broadband_{name}", service=service)

        assert v("quota_total_bytes", "40211") is None
        assert v("quota_total_bytes", "40212") == 500_000_000_000
        assert v("quota_remaining_bytes", "40212") == 611_402_873_310
        assert v("quota_used_bytes", "40212") == 0
        assert v("quota_percentage", "40212") == 0
        assert v("quota_total_bytes", "40213") == 100_000_000_000
        assert v("quota_remaining_bytes", "40213") == 37_654_120_448
        assert v("quota_used_bytes", "40213") == 62_345_879_552
        assert v("quota_percentage", "40213") == pytest.approx(62.345879552, rel=1e-9)
        assert v("quota_timestamp_seconds", "40213") == 1_741_615_200
        assert v("line_sync_download_bps", "40211") == 1_000_000_000
        assert v("line_sync_upload_bps", "40212") == 19_987_000
        assert v("line_sync_download_adjusted_bps", "40211") == 944_960_000
        assert v("line_sync_download_bps", "40213") is None
        logins = {x.labels["service"]: x.labels["login"] for x in s.series(
            "aaisp_broadband_service_up")}  # fmt: skip
        assert logins == {
            "40211": "exmpl@a.1",
            "40212": "exmpl@a.2",
            "40213": "exmpl@a.3",
        }
        assert all(
            x.labels["login"] != "exmpl@a" for x in s.samples() if "login" in x.labels
        )
        info = {x.labels["service"]: x.labels["postcode"] for x in s.series(
            "aaisp_broadband_service_info")}  # fmt: skip
        assert info == {"40211": "ZZ1 1AA", "40212": "ZZ1 1AA", "40213": ""}
        assert s.value("aaisp_up", target="exmpl@a") == 1.0
        assert s.value("aaisp_exporter_up") == 1.0

    async def test_start_up_runs_slow_then_medium_then_fast(self, sim, exporter_for):
        """The first requests are services, info, quota, in that order."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            await exporter.scrape_until(lines_up)
        assert commands(sim)[:3] == [
            "broadband/services",
            "broadband/info",
            "broadband/quota",
        ]
        assert "broadband/kill" not in commands(sim)

    async def test_password_never_leaves_in_metrics_or_api(self, sim, exporter_for):
        """Neither /metrics nor /api/targets contains the password."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(lines_up)
            api = (await exporter.client.get("/api/targets")).text
        assert "demo-password" not in s.text
        assert "demo-password" not in api


class TestFailures:
    async def test_auth_failure_is_not_retried_in_a_loop(self, sim, exporter_for):
        """A refused password is counted once and the login is left alone."""
        target = chaos_target(sim, control_password=SecretStr("wrong"))
        async with exporter_for([target]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (
                    s.value(
                        "aaisp_collector_errors_total",
                        collector_name="broadband_services",
                        error_type="auth",
                    )
                    == 1.0
                )
            )
            assert s.value("aaisp_up", target="exmpl@a") == 0.0
            # Several FAST and MEDIUM intervals later, still one request in all.
            # Observe a quiet second on purpose: FAST and MEDIUM come due 3+ times.
            await asyncio.sleep(1.0)
            assert len(sim.requests) == 1
        assert s.series("aaisp_broadband_service_up") == []

    @pytest.mark.parametrize(
        ("fault", "value", "status"),
        [
            pytest.param("status_5xx_every", 2, "502", id="5xx"),
            pytest.param("drop_every", 2, "0", id="dropped"),
        ],
    )
    async def test_retryable_faults_recover(
        self, sim, exporter_for, fault, value, status
    ):
        """5xx and dropped connections are retried; every attempt is counted."""
        sim.faults.status_5xx = 502
        setattr(sim.faults, fault, value)
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (
                    lines_up(s)
                    and (s.value("aaisp_api_requests_total", status_code=status) or 0)
                    >= 1
                )
            )
        assert s.value("aaisp_up", target="exmpl@a") == 1.0

    async def test_rate_limit_429_honours_retry_after(self, sim, exporter_for):
        """A 429 with Retry-After is waited out, then the request succeeds."""
        sim.faults.rate_limit_429_every = 2
        sim.faults.retry_after = 1
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (
                    lines_up(s)
                    and (s.value("aaisp_api_requests_total", status_code="429") or 0)
                    >= 1
                )
            )
        times = [r for r in sim.requests if r.status == 429]
        assert times
        assert s.value("aaisp_up", target="exmpl@a") == 1.0

    async def test_malformed_answer_is_a_parse_error_and_values_stay(
        self, sim, exporter_for
    ):
        """A malformed quota answer counts a parse error; the good values stay."""
        async with exporter_for([chaos_target(sim, fast_interval=1.0)]) as exporter:
            await exporter.scrape_until(lines_up)
            sim.faults.paths = frozenset({"/broadband/quota"})
            sim.faults.malformed_every = 1
            s = await exporter.scrape_until(
                lambda s: (s.value("aaisp_collector_errors_total",
                    collector_name="broadband_quota", error_type="parse") or 0) >= 1
            )  # fmt: skip
            assert s.value("aaisp_broadband_quota_remaining_bytes", service="40213")
            assert s.value("aaisp_broadband_line_sync_download_bps", service="40211")

    async def test_timeouts_are_counted(self, sim, exporter_for):
        """A hung API is a timeout; other tiers keep working."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            await exporter.scrape_until(lines_up)
            sim.faults.paths = frozenset({"/broadband/quota"})
            sim.faults.hang = True
            s = await exporter.scrape_until(
                lambda s: (s.value("aaisp_collector_errors_total",
                    collector_name="broadband_quota", error_type="timeout") or 0) >= 1
            )  # fmt: skip
            sim.faults.hang = False
        assert s.value("aaisp_broadband_line_sync_download_bps", service="40211")

    async def test_missing_fields_are_omitted_not_zero(self, sim, exporter_for):
        """Lines that lose their rate and quota fields lose those series."""
        sim.faults.missing_fields = True
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(
                lambda s: len(s.series("aaisp_broadband_service_up")) == 3
            )
        for sample in s.series("aaisp_broadband_line_sync_download_bps"):
            assert sample.value > 0

    async def test_telephony_500_means_no_telephony(self, sim, exporter_for):
        """telephony/services answering 500 is not retried and counts http_error."""
        target = chaos_target(sim, enable_telephony=True, slow_interval=60)
        async with exporter_for([target]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (s.value("aaisp_collector_errors_total",
                    collector_name="telephony_services", error_type="http_error") or 0)
                >= 1
            )  # fmt: skip
        assert commands(sim).count("telephony/services") == 1
        assert s.value("aaisp_login_services_total", subsystem="telephony") == 0.0


class TestInventory:
    async def test_quota_tick_moves_the_timestamp(self, sim, exporter_for):
        """The simulator's hourly change shows as a timestamp one hour later."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            await exporter.scrape_until(lines_up)
            sim.quota_tick()
            s = await exporter.scrape_until(
                lambda s: s.value("aaisp_broadband_quota_timestamp_seconds",
                    service="40213") == 1_741_615_200 + 3600
            )  # fmt: skip
        assert s.value("aaisp_broadband_quota_remaining_bytes", service="40213") < (
            37_654_120_448
        )

    async def test_per_service_mode_gives_the_same_series(self, sim, exporter_for):
        """Per-service mode asks line by line and shows the same lines."""
        async with exporter_for([chaos_target(sim, mode="per_service")]) as exporter:
            s = await exporter.scrape_until(lines_up)
        assert s.value("aaisp_broadband_quota_used_bytes", service="40213") == (
            62_345_879_552
        )
        assert commands(sim).count("broadband/quota") >= 3

    async def test_two_logins_in_one_process(self, sim, exporter_for):
        """Two control logins give two targets with their own lines."""
        second = chaos_target(
            sim, control_login="second@a", control_password=SecretStr("second-password")
        )
        async with exporter_for([chaos_target(sim), second]) as exporter:
            s = await exporter.scrape_until(
                lambda s: len(s.series("aaisp_broadband_service_up")) == 5
            )
        targets = {x.labels["target"] for x in s.series("aaisp_broadband_service_up")}
        assert targets == {"exmpl@a", "second@a"}


class TestOptionalCollectors:
    async def test_telephony_ratecard_and_login(self, sim, exporter_for):
        """Enabled telephony, rate card and login collectors fill their series."""
        target = chaos_target(
            sim,
            control_login="second@a",
            control_password=SecretStr("second-password"),
            enable_telephony=True,
            enable_telephony_ratecard=True,
            enable_control_login=True,
        )
        async with exporter_for([target]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (
                    bool(s.series("aaisp_telephony_rate_pence_per_minute"))
                    and bool(s.series("aaisp_login_info"))
                    and s.value("aaisp_login_services_total", subsystem="telephony")
                    is not None
                )
            )
        assert s.value("aaisp_login_services_total", subsystem="telephony") == 2.0
        periods = {x.labels["period"] for x in s.series(
            "aaisp_telephony_rate_pence_per_minute")}  # fmt: skip
        assert periods <= {"peak", "offpeak", "weekend"}
        assert periods

    async def test_ratecard_filter_bounds_the_rates(self, sim, exporter_for):
        """ratecard_rates keeps only the named rates."""
        target = chaos_target(
            sim, enable_telephony_ratecard=True, ratecard_rates=("nonexistent",)
        )
        async with exporter_for([target]) as exporter:
            last = "aaisp_exporter_last_successful_collection_timestamp"
            s = await exporter.scrape_until(
                lambda s: (s.value(last, collector_name="telephony_ratecard") or 0) > 0
            )
        assert s.series("aaisp_telephony_rate_pence_per_minute") == []


class TestRequestBudget:
    async def test_bulk_mode_sends_one_request_per_tier_run(self, sim, exporter_for):
        """In bulk mode each tier run is exactly one request, from the request log."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (
                    (
                        s.value(
                            "aaisp_collector_duration_seconds_count",
                            collector_name="broadband_quota",
                        )
                        or 0
                    )
                    >= 4
                )
            )
            log = commands(sim)
        runs = {
            name: s.value("aaisp_collector_duration_seconds_count", collector_name=name)
            for name in ("broadband_services", "broadband_info", "broadband_quota")
        }
        # The request log may be one request ahead of the scrape; never more.
        for name, command in [
            ("broadband_services", "broadband/services"),
            ("broadband_info", "broadband/info"),
            ("broadband_quota", "broadband/quota"),
        ]:
            assert runs[name] <= log.count(command) <= runs[name] + 1, (name, log)
        assert set(log) <= {"broadband/services", "broadband/info", "broadband/quota"}


class TestSlowAndLimitedApi:
    async def test_rate_limit_error_on_200_pauses_the_login(self, sim, exporter_for):
        """A rate-limit error on HTTP 200 is counted and pauses the whole login."""
        async with exporter_for([chaos_target(sim)]) as exporter:
            await exporter.scrape_until(lines_up)
            sim.faults.paths = frozenset({"/broadband/quota"})
            sim.faults.rate_limit_200_every = 1
            s = await exporter.scrape_until(
                lambda s: (s.value("aaisp_collector_errors_total",
                    collector_name="broadband_quota", error_type="rate_limited") or 0)
                >= 1
            )  # fmt: skip
            before = len(sim.requests)
            # Observe a quiet second on purpose: every tier comes due meanwhile.
            await asyncio.sleep(1.0)
            assert len(sim.requests) == before
        assert s.value("aaisp_up", target="exmpl@a") == 0.0

    async def test_latency_is_timed(self, sim, exporter_for):
        """A slow API still answers; the request duration histogram sees the delay."""
        sim.faults.latency = 0.2
        labels = {"subsystem": "broadband", "command": "quota"}
        async with exporter_for([chaos_target(sim, request_timeout=2.0)]) as exporter:
            # Self-metrics are re-rendered once a second: wait for the count.
            s = await exporter.scrape_until(
                lambda s: (
                    lines_up(s)
                    and bool(
                        s.value("aaisp_api_request_duration_seconds_count", **labels)
                    )
                )
            )
        total = s.value(
            "aaisp_api_request_duration_seconds_sum",
            subsystem="broadband",
            command="quota",
        )
        count = s.value(
            "aaisp_api_request_duration_seconds_count",
            subsystem="broadband",
            command="quota",
        )
        assert count
        assert total is not None
        assert total / count >= 0.2


class TestPolitenessUnderFailure:
    async def test_per_service_round_stops_at_the_first_refused_password(
        self, exporter_for
    ):
        """A password changed mid-run costs a couple of requests, not one per line."""
        async with ChaosSimulator(ChaosSimConfig(port=0, lines=20)) as sim:
            target = chaos_target(sim, mode="per_service", concurrency=2)
            async with exporter_for([target]) as exporter:
                await exporter.scrape_until(
                    lambda s: len(s.series("aaisp_broadband_service_up")) == 20
                )
                before = len(sim.requests)
                sim.model.data.logins[0].password = "changed-by-the-customer"
                await exporter.scrape_until(
                    lambda s: (s.value("aaisp_collector_errors_total",
                        error_type="auth", collector_name="broadband_quota") or 0)
                    + (s.value("aaisp_collector_errors_total",
                        error_type="auth", collector_name="broadband_info") or 0)
                    >= 1
                )  # fmt: skip
                # Observe a quiet second on purpose: every tier comes due meanwhile.
                await asyncio.sleep(1.0)
                refused = len(sim.requests) - before
        assert refused <= 3, refused

    async def test_plain_503_is_retried_as_a_server_error(self, sim, exporter_for):
        """A 503 without Retry-After is retried like any 5xx, not a long pause."""
        sim.faults.status_5xx = 503
        sim.faults.status_5xx_every = 2
        async with exporter_for([chaos_target(sim)]) as exporter:
            s = await exporter.scrape_until(
                lambda s: (
                    lines_up(s)
                    and (s.value("aaisp_api_requests_total", status_code="503") or 0)
                    >= 1
                )
            )
        assert s.value("aaisp_up", target="exmpl@a") == 1.0
        limited = s.value(
            "aaisp_collector_errors_total",
            collector_name="broadband_quota",
            error_type="rate_limited",
        )
        assert limited == 0.0


QUOTA_FAMILIES = (
    "aaisp_broadband_quota_total_bytes",
    "aaisp_broadband_quota_remaining_bytes",
    "aaisp_broadband_quota_used_bytes",
    "aaisp_broadband_quota_percentage",
    "aaisp_broadband_quota_timestamp_seconds",
)
SYNC_FAMILIES = (
    "aaisp_broadband_line_sync_download_bps",
    "aaisp_broadband_line_sync_upload_bps",
    "aaisp_broadband_line_sync_download_adjusted_bps",
)


class TestHangingApi:
    """An API that hangs (rather than refusing): values go at their age anyway.

    The exporter runs on a fake clock; its HTTP requests wait on real time, with a
    request timeout far longer than the test, so the worker is stuck in a request
    the whole time and publishes nothing. Whatever leaves the scrape leaves because
    the clock passed its age.
    """

    async def test_values_go_at_their_age_and_come_back(self, exporter_for):
        """Quota at 2 x fast, sync rates at 2 x medium, aaisp_up 0, info stays."""
        clock = FakeClock()
        fast, medium = 10.0, 20.0
        target = {
            "fast_interval": fast,
            "medium_interval": medium,
            "slow_interval": 60.0,
            "request_timeout": 120.0,
            "max_retries": 1,
        }
        async with ChaosSimulator(ChaosSimConfig(port=0)) as sim:
            port = sim.port
            async with exporter_for([chaos_target(sim, **target)], clock) as exporter:
                s = await exporter.scrape_until(lines_up)
                taken = clock.time()
                assert s.value("aaisp_last_success_timestamp_seconds") == taken
                await exporter.until_prepared(clock, step=0.5)
                sim.faults.hang = True

                clock.advance(2 * fast - 0.5)  # the FAST tier is due: it hangs
                await wait_until(lambda: any(r.fault == "hang" for r in sim.requests))
                s = await exporter.scrape()  # exactly at the quota's age: kept
                assert s.value("aaisp_broadband_quota_remaining_bytes",
                               service="40213") == 37_654_120_448  # fmt: skip
                assert s.value("aaisp_up") == 1.0

                clock.advance(0.25)
                s = await exporter.scrape()
                for name in QUOTA_FAMILIES:
                    assert s.series(name) == [], name
                assert s.value("aaisp_broadband_line_sync_download_bps",
                               service="40211") == 1_000_000_000  # fmt: skip
                assert s.value("aaisp_up") == 0.0
                assert s.value("aaisp_last_success_timestamp_seconds") == taken
                assert len(s.series("aaisp_broadband_service_info")) == 3
                # The worker has not given up on its request: this is the scrape.
                assert not [x for x in s.series("aaisp_collector_errors_total")
                            if x.value > 0]  # fmt: skip

                clock.advance(2 * medium - 2 * fast)
                s = await exporter.scrape()
                for name in (*SYNC_FAMILIES, "aaisp_broadband_service_up"):
                    assert s.series(name) == [], name
                assert s.value("aaisp_up") == 0.0
                assert s.value("aaisp_last_success_timestamp_seconds") == taken
                assert len(s.series("aaisp_broadband_service_info")) == 3
                assert not [x for x in s.series("aaisp_collector_errors_total")
                            if x.value > 0]  # fmt: skip

                # The API is restarted: hung requests end, the next ones answer.
                await sim.stop()
                async with ChaosSimulator(ChaosSimConfig(port=port)):
                    s = await exporter.scrape_advancing(
                        clock,
                        lambda s: lines_up(s) and s.value("aaisp_up") == 1.0,
                        step=1.0,
                    )
        assert s.value("aaisp_broadband_line_sync_download_bps", service="40211")
        assert (s.value("aaisp_last_success_timestamp_seconds") or 0) > taken
