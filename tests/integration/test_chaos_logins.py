"""Several CHAOS logins in one exporter: self-metrics and /health per login.

Runs the real exporter against the CHAOS simulator on loopback; scrapes /metrics
and /health over HTTP.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr

from exporterhub.core.plugin import Target
from exporterhub.core.testing import FakeClock, wait_until
from exporterhub.exporters.chaos.plugin import PLUGIN
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

from .conftest import running_exporter
from .test_chaos_exporter import chaos_target, lines_up

ERRORS = "aaisp_collector_errors_total"
LAST = "aaisp_exporter_last_successful_collection_timestamp"


@pytest.fixture
async def sim() -> AsyncIterator[ChaosSimulator]:
    async with ChaosSimulator(ChaosSimConfig(port=0)) as simulator:
        yield simulator


@pytest.fixture
def exporter_for() -> Callable[[Sequence[Target]], Any]:
    return partial(running_exporter, PLUGIN)


def refused(target: str):
    def check(s) -> bool:
        return (
            s.value(
                ERRORS,
                target=target,
                collector_name="broadband_services",
                error_type="auth",
            )
            == 1.0
        )

    return check


class TestSelfMetricsPerLogin:
    async def test_refused_login_is_not_hidden_by_a_healthy_one(
        self, sim, exporter_for
    ):
        """The refused login's auth error and the healthy login's success carry
        their own target label."""
        bad = chaos_target(
            sim, control_login="second@a", control_password=SecretStr("wrong")
        )
        async with exporter_for([chaos_target(sim), bad]) as exporter:
            # Self-metrics are re-rendered apart from the lines: wait for both.
            s = await exporter.scrape_until(
                lambda s: (
                    refused("second@a")(s)
                    and lines_up(s)
                    and s.value(
                        LAST, target="exmpl@a", collector_name="broadband_quota"
                    )
                    is not None
                )
            )
        assert (
            s.value(
                ERRORS,
                target="exmpl@a",
                collector_name="broadband_services",
                error_type="auth",
            )
            == 0.0
        )
        assert s.value(LAST, target="exmpl@a", collector_name="broadband_info")
        assert s.value(LAST, target="second@a", collector_name="broadband_info") is (
            None
        )
        assert s.value(
            "aaisp_api_requests_total",
            target="second@a",
            subsystem="broadband",
            command="services",
            status_code="200",
        ) == (1.0)
        good_quota = s.value(
            "aaisp_api_requests_total",
            target="exmpl@a",
            subsystem="broadband",
            command="quota",
            status_code="200",
        )
        assert good_quota is not None
        assert good_quota >= 1
        assert s.value(
            "aaisp_api_request_duration_seconds_count",
            target="second@a",
            subsystem="broadband",
            command="services",
        ) == (1.0)
        assert s.value(
            "aaisp_collector_duration_seconds_count",
            target="exmpl@a",
            collector_name="broadband_quota",
            subsystem="broadband",
        )

    async def test_promtool_accepts_the_scrape(self, sim, exporter_for):
        """promtool finds nothing wrong with two logins' self-metrics."""
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail(
                "promtool is missing; install Debian's package: "
                "apt-get install prometheus"
            )
        bad = chaos_target(
            sim, control_login="second@a", control_password=SecretStr("wrong")
        )
        async with exporter_for([chaos_target(sim), bad]) as exporter:
            s = await exporter.scrape_until(
                lambda s: refused("second@a")(s) and lines_up(s)
            )
        result = subprocess.run(  # noqa: S603 - promtool from PATH
            [promtool, "check", "metrics"],
            input=s.text.encode(),
            capture_output=True,
            check=False,
        )
        findings = (result.stdout + result.stderr).decode().strip().splitlines()
        # The one finding the requirements force (a gauge they named ..._total).
        assert findings == [
            'aaisp_login_services_total non-counter metrics should not have "_total" '
            "suffix"
        ]


class TestCollectorDuration:
    async def test_wait_for_the_request_slot_is_not_counted(self, exporter_for):
        """broadband_info waits 50 s for its slot after broadband_services; its
        duration leaves that wait out."""
        clock = FakeClock()
        spacing = 50.0
        async with ChaosSimulator(ChaosSimConfig(port=0)) as api:
            target = chaos_target(
                api,
                min_request_interval=spacing,
                fast_interval=600.0,
                medium_interval=600.0,
                slow_interval=600.0,
                request_timeout=30.0,
            )
            async with exporter_for([target], clock) as exporter:
                registry = exporter.state.exposition.registry

                def runs(collector: str) -> float:
                    return (
                        registry.get_sample_value(
                            "aaisp_collector_duration_seconds_count",
                            {
                                "target": "exmpl@a",
                                "collector_name": collector,
                                "subsystem": "broadband",
                            },
                        )
                        or 0.0
                    )

                await wait_until(lambda: runs("broadband_services") == 1.0)
                # broadband_info now waits for the slot 50 s after services.
                await wait_until(lambda: clock.sleeping >= 1)
                assert [r.command for r in api.requests] == ["services"]
                clock.advance(spacing)
                await wait_until(lambda: runs("broadband_info") == 1.0)
                took = registry.get_sample_value(
                    "aaisp_collector_duration_seconds_sum",
                    {
                        "target": "exmpl@a",
                        "collector_name": "broadband_info",
                        "subsystem": "broadband",
                    },
                )
        # The fake clock stood still from the request to the answer.
        assert took == 0.0


class TestHealth:
    async def test_each_login_reports_its_collectors(self, sim, exporter_for):
        """/health shows the healthy login's last successes and the refused
        login's auth error and pause."""
        bad = chaos_target(
            sim, control_login="second@a", control_password=SecretStr("wrong")
        )
        async with exporter_for([chaos_target(sim), bad]) as exporter:
            await exporter.scrape_until(
                lambda s: refused("second@a")(s) and lines_up(s)
            )
            answer = (await exporter.client.get("/health")).json()
        logins = answer["chaos"]["logins"]
        assert set(logins) == {"exmpl@a", "second@a"}
        good, refused_login = logins["exmpl@a"], logins["second@a"]
        assert good["ok"] is True
        assert set(good["collectors"]) == {
            "broadband_services",
            "broadband_info",
            "broadband_quota",
        }
        services = good["collectors"]["broadband_services"]
        assert services["last_success"] is not None
        assert services["last_error"] is None
        assert refused_login["ok"] is False
        failed = refused_login["collectors"]["broadband_services"]
        assert failed["last_error"] == "auth"
        assert failed["last_success"] is None
        assert refused_login["paused_until"] is not None
        assert "hint" not in refused_login
        assert "wrong" not in str(answer)

    async def test_a_line_login_gets_a_hint(self, sim, exporter_for):
        """A per-line login (exmpl@a.1) is refused and /health says to use exmpl@a."""
        target = chaos_target(sim, control_login="exmpl@a.1")
        async with exporter_for([target]) as exporter:
            await exporter.scrape_until(refused("exmpl@a.1"))
            answer = (await exporter.client.get("/health")).json()
            api = (await exporter.client.get("/api/targets")).json()
        entry = answer["chaos"]["logins"]["exmpl@a.1"]
        assert entry["collectors"]["broadband_services"]["last_error"] == "auth"
        assert "per-line" in entry["hint"]
        assert entry["hint"].endswith(": exmpl@a")
        assert "per-line" in str(api)
