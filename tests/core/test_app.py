"""Tests of the ASGI app over real HTTP on 127.0.0.1 (uvicorn + httpx)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporterhub import __version__
from exporterhub.core.app import HubState, create_app
from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Exposition
from exporterhub.core.plugin import Target
from exporterhub.core.snapshot import TargetRecord
from exporterhub.core.targets import TargetRunner
from exporterhub.core.testing import running_server, wait_until

from .helpers import HIDDEN, DemoPlugin, DemoSnapshot, demo_target, settle

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4"


class Hub:
    """The app's state plus a target list the test edits between reloads."""

    def __init__(self, plugin: DemoPlugin, clock) -> None:
        self.plugin = plugin
        self.wanted: list[Target] = [demo_target("a"), demo_target("b", value=2.0)]
        self.error: Exception | None = None
        registry = CollectorRegistry()
        Gauge("hub_self_ok", "The hub's own metric.", registry=registry).set(1)
        exposition = Exposition(clock, registry)
        self.state = HubState(
            title="Test <hub>",
            exposition=exposition,
            runner=TargetRunner({"demo": plugin}, exposition, clock),
            clock=clock,
            load_targets=self.load,
            extra_links=[("/extra?x=1&y=2", "Extra")],
            render_interval=0,  # render in the scrape; the renderer is tested below
        )

    async def load(self) -> Sequence[Target]:
        if self.error is not None:
            raise self.error
        return list(self.wanted)


@pytest.fixture
def hub(plugin, clock) -> Hub:
    return Hub(plugin, clock)


@contextlib.asynccontextmanager
async def serving(hub: Hub):
    async with (
        running_server(create_app(hub.state)) as url,
        httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client,
    ):
        await settle(lambda: all(hub.plugin.started(t.name) for t in hub.wanted))
        yield client


@pytest.fixture
async def client(hub):
    async with serving(hub) as client:
        yield client


IDENTITY = {"Accept-Encoding": "identity"}


class TestMetrics:
    """/metrics serves the text format, OpenMetrics on request, gzip if accepted."""

    async def test_default_text_format(self, client):
        """Without Accept the body is text 0.0.4 with every target's series."""
        response = await client.get("/metrics", headers=IDENTITY)
        assert response.status_code == 200
        assert response.headers["content-type"] == TEXT
        assert "content-encoding" not in response.headers
        samples = {
            (s.name, s.labels.get("target")): s.value
            for family in parse_text(response.text)
            for s in family.samples
        }
        assert samples[("demo_value", "a")] == 1.0
        assert samples[("demo_value", "b")] == 2.0
        assert samples[("demo_up", "a")] == 1.0
        assert samples[("hub_self_ok", None)] == 1.0

    @pytest.mark.parametrize(
        "accept",
        [
            pytest.param("application/openmetrics-text; version=1.0.0", id="exact"),
            pytest.param(
                "application/openmetrics-text;version=1.0.0,"
                "application/openmetrics-text;version=0.0.1;q=0.75,"
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                id="prometheus-scrape-header",
            ),
        ],
    )
    async def test_openmetrics_on_request(self, client, accept):
        """An OpenMetrics Accept header gets the OpenMetrics type and a # EOF end."""
        response = await client.get("/metrics", headers={"Accept": accept, **IDENTITY})
        assert response.headers["content-type"] == OPENMETRICS
        assert response.text.endswith("# EOF\n")
        assert response.text.count("# EOF") == 1
        families = {f.name: f.type for f in parse_openmetrics(response.text)}
        assert families["demo_value"] == "gauge"
        assert families["demo_exporter_reconnects"] == "counter"

    async def test_openmetrics_refused_with_q_zero(self, client):
        """OpenMetrics with q=0 falls back to the text format."""
        response = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text;q=0"}
        )
        assert response.headers["content-type"] == TEXT

    @pytest.mark.parametrize(
        ("accept", "content_type"),
        [
            pytest.param("", TEXT, id="text"),
            pytest.param(OPENMETRICS, OPENMETRICS, id="om"),
        ],
    )
    async def test_gzip(self, client, hub, accept, content_type):
        """Accept-Encoding gzip gets a gzip body that decodes to the plain body."""
        response = await client.get(
            "/metrics", headers={"Accept-Encoding": "gzip", "Accept": accept}
        )
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept, Accept-Encoding"
        assert response.headers["content-type"] == content_type
        plain = await client.get("/metrics", headers={"Accept": accept, **IDENTITY})
        assert response.text == plain.text
        assert int(response.headers["content-length"]) < len(plain.content)

    @pytest.mark.parametrize(
        "encoding",
        [
            pytest.param("gzip;q=0", id="q-zero"),
            pytest.param("gzip; q=0.0", id="q-zero-point-zero"),
            pytest.param("br, deflate", id="other-codings"),
        ],
    )
    async def test_gzip_refused(self, client, encoding):
        """gzip is not used when refused or not offered."""
        response = await client.get("/metrics", headers={"Accept-Encoding": encoding})
        assert "content-encoding" not in response.headers
        assert "demo_value" in response.text

    async def test_gzip_with_other_codings(self, client):
        """gzip among other codings with a weight is accepted."""
        response = await client.get(
            "/metrics", headers={"Accept-Encoding": "br;q=1.0, GZIP;q=0.5"}
        )
        assert response.headers["content-encoding"] == "gzip"


class TestHealth:
    """The liveness and readiness endpoints."""

    async def test_health_json(self, client, clock):
        """/health reports status, uptime from the clock, version and target counts."""
        first = (await client.get("/health")).json()
        assert first == {
            "status": "ok",
            "uptime": 0.0,
            "version": __version__,
            "targets": 2,
            "targets_up": 2,
        }
        clock.advance(5.25)
        second = (await client.get("/health")).json()
        assert second["uptime"] == 5.25
        assert second["targets_up"] == 2

    async def test_health_counts_stale_targets_down(self, client, clock):
        """Targets past their max age no longer count as up."""
        clock.advance(61)
        body = (await client.get("/health")).json()
        assert (body["targets"], body["targets_up"]) == (2, 0)

    async def test_healthy(self, client):
        """/-/healthy answers 200."""
        response = await client.get("/-/healthy")
        assert (response.status_code, response.text) == (200, "Healthy\n")

    async def test_ready_after_startup(self, client, hub):
        """/-/ready answers 200 once the targets are applied."""
        response = await client.get("/-/ready")
        assert (response.status_code, response.text) == (200, "Ready\n")
        assert hub.state.ready is True

    async def test_not_ready_without_startup(self, hub):
        """Before the lifespan has applied the targets /-/ready answers 503."""
        transport = httpx.ASGITransport(app=create_app(hub.state))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/-/ready")
        assert (response.status_code, response.text) == (503, "Not ready\n")

    async def test_shutdown_stops_targets(self, hub, plugin):
        """Leaving the server's lifespan stops every worker and clears readiness."""
        async with serving(hub):
            tasks = [plugin.current("a"), plugin.current("b")]
            assert hub.state.ready is True
        assert hub.state.ready is False
        assert all(t.cancelled() for t in tasks)
        assert hub.state.runner.targets == []


class TestReload:
    """POST /-/reload re-reads the targets and restarts only what changed."""

    async def test_get_not_allowed(self, client):
        """GET /-/reload answers 405."""
        assert (await client.get("/-/reload")).status_code == 405

    async def test_reload_applies_changes(self, client, hub, plugin):
        """Reload reports started, stopped, restarted and unchanged targets."""
        hub.wanted = [demo_target("a", value=9.0), demo_target("c")]
        old_a = plugin.current("a")
        response = await client.post("/-/reload")
        assert response.status_code == 200
        assert response.json() == {
            "started": ["demo/c"],
            "stopped": ["demo/b"],
            "restarted": ["demo/a"],
            "unchanged": [],
        }
        assert old_a.cancelled()
        await settle(lambda: plugin.started("c") == 1 and plugin.started("a") == 2)
        text = (await client.get("/metrics", headers=IDENTITY)).text
        assert 'demo_value{target="a"} 9.0' in text
        assert 'target="b"' not in text
        assert 'demo_value{target="c"} 1.0' in text
        again = await client.post("/-/reload")
        assert again.json() == {
            "started": [],
            "stopped": [],
            "restarted": [],
            "unchanged": ["demo/a", "demo/c"],
        }
        assert hub.state.reloads == 2

    async def test_load_error_is_400_and_keeps_targets(self, client, hub, plugin):
        """A ConfigError while loading answers 400 and leaves the targets running."""
        hub.wanted = [demo_target("z")]
        hub.error = ConfigError("cfg.yaml: log.level: Input should be 'info'")
        response = await client.post("/-/reload")
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_config",
            "detail": "cfg.yaml: log.level: Input should be 'info'",
            "fields": [],
        }
        assert sorted(t.name for t in hub.state.runner.targets) == ["a", "b"]
        assert not plugin.current("a").done()
        assert plugin.started("z") == 0
        assert hub.state.reloads == 0

    async def test_apply_error_is_400_and_keeps_targets(self, client, hub, plugin):
        """Duplicate target names answer 400 and change nothing."""
        hub.wanted = [demo_target("a"), demo_target("a", value=3.0)]
        response = await client.post("/-/reload")
        assert response.status_code == 400
        assert "duplicate target name demo/a" in response.json()["detail"]
        assert sorted(t.name for t in hub.state.runner.targets) == ["a", "b"]
        assert plugin.started("a") == 1


class TestApiTargets:
    """/api/targets lists targets with their link state, never their settings."""

    async def test_lists_targets(self, client):
        """Each target has kind, name, labels, link, up, last success, reconnects."""
        response = await client.get("/api/targets")
        assert response.status_code == 200
        by_name = {t["name"]: t for t in response.json()}
        assert sorted(by_name) == ["a", "b"]
        a = by_name["a"]
        assert a["kind"] == "demo"
        assert a["labels"] == {"target": "a"}
        assert a["link"] == "connected"
        assert a["up"] is True
        assert a["last_success"] == pytest.approx(1_700_000_000.0)
        assert a["reconnects"] == 0
        assert a["source"] == "file"
        assert a["enabled"] is True
        assert a["revision"] is None
        assert a["settings"] == {}  # a kind the store cannot hold shows none

    async def test_never_reveals_settings(self, client):
        """No settings value (such as a password) appears in the response."""
        response = await client.get("/api/targets")
        assert HIDDEN not in response.text
        assert "password" not in response.text
        assert "127.0.0.1" not in response.text

    async def test_stale_target_is_not_up(self, client, clock):
        """After max age a target is listed as not up."""
        clock.advance(120)
        targets = (await client.get("/api/targets")).json()
        assert [t["up"] for t in targets] == [False, False]


class TestLanding:
    """The landing page links the endpoints."""

    async def test_links(self, client):
        """The page links /metrics and the other endpoints, escaping text."""
        response = await client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert '<a href="/metrics">Metrics</a>' in page
        assert '<a href="/health">Health</a>' in page
        assert '<a href="/api/targets">Targets (JSON)</a>' in page
        assert '<a href="/extra?x=1&amp;y=2">Extra</a>' in page
        assert "<title>Targets · Test &lt;hub&gt;</title>" in page
        assert f"exporterhub {__version__}" in page


class TestBackgroundRenderer:
    """With a render interval, scrapes serve bytes the renderer prepared."""

    async def test_scrape_serves_prepared_bytes_and_follows_changes(
        self, plugin, clock
    ):
        """Scrapes return the renderer's bytes; a change shows after one interval."""
        hub = Hub(plugin, clock)
        hub.state.render_interval = 0.25
        section = hub.state.exposition
        async with serving(hub) as client:
            # gzip runs in a thread: wait on real time, not on loop rounds
            await wait_until(lambda: section.served(False, False) is not None)
            first = section.served(False, False)
            assert first is not None
            text = (await client.get("/metrics", headers=IDENTITY)).text
            assert text.encode() == first
            publisher = hub.state.runner.publisher("demo", "a")
            assert publisher is not None
            publisher.data(DemoSnapshot(41.5))
            assert section.served(False, False) is first  # not yet re-rendered
            clock.advance(0.25)
            await wait_until(lambda: section.served(False, False) is not first)
            text = (await client.get("/metrics", headers=IDENTITY)).text
            assert 'demo_value{target="a"} 41.5' in text
            gz = await client.get("/metrics")
            assert gz.headers["content-encoding"] == "gzip"
            assert 'demo_value{target="a"} 41.5' in gz.text


class TestReadiness:
    async def test_not_ready_until_every_target_tried(self, plugin, clock):
        """/-/ready is 503 while a target has not finished its first attempt."""
        hub = Hub(plugin, clock)
        async with serving(hub) as client:
            section = hub.state.exposition.section("demo")
            section.publish(TargetRecord(name="late", identity=(("target", "late"),)))
            assert (await client.get("/-/ready")).status_code == 503
            section.remove("late")
            assert (await client.get("/-/ready")).status_code == 200

    async def test_targets_added_later_keep_it_ready(self, plugin, clock):
        """A target discovered (or reloaded) after start-up does not flap /-/ready."""
        hub = Hub(plugin, clock)
        async with serving(hub) as client:
            assert (await client.get("/-/ready")).status_code == 200
            section = hub.state.exposition.section("demo")
            section.publish(TargetRecord(name="late", identity=(("target", "late"),)))
            assert (await client.get("/-/ready")).status_code == 200
