"""Tests of the HTTP rules in front of the app, over real HTTP on 127.0.0.1.

HEAD and OPTIONS, JSON-only writes, request smuggling, the trailing-slash redirect,
/metrics negotiation and the one JSON error shape for 404, 405 and crashes.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from fastapi import APIRouter, Request
from structlog.testing import capture_logs

from exporterhub.core.testing import running_server

from .helpers import settle
from .test_app import Hub

TEXT = "text/plain; version=0.0.4"


def _test_routes() -> APIRouter:
    """Routes a real exporter would add: a JSON write and one that crashes."""
    router = APIRouter()

    @router.post("/api/echo")
    async def echo(request: Request) -> dict[str, object]:
        return {"got": await request.json()}

    @router.get("/api/crash")
    async def crash() -> dict[str, str]:
        raise RuntimeError("secret-internal-detail")

    return router


@contextlib.asynccontextmanager
async def serving(hub: Hub, http: str = "httptools"):
    hub.state.routers.append(_test_routes())
    from exporterhub.core.app import create_app

    async with (
        running_server(create_app(hub.state), http=http) as url,
        httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client,
    ):
        await settle(lambda: all(hub.plugin.started(t.name) for t in hub.wanted))
        yield client


@pytest.fixture
async def client(plugin, clock):
    async with serving(Hub(plugin, clock)) as client:
        yield client


class TestHead:
    """HEAD answers every GET route with its headers and no body."""

    @pytest.mark.parametrize(
        "path", ["/metrics", "/health", "/-/healthy", "/-/ready", "/api/targets", "/"]
    )
    async def test_head_is_get_without_body(self, client, path):
        """Same status and Content-Type as GET, an empty body."""
        get = await client.get(path, headers={"Accept-Encoding": "identity"})
        head = await client.head(path, headers={"Accept-Encoding": "identity"})
        assert head.status_code == get.status_code == 200
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.content == b""
        assert int(head.headers["content-length"]) > 0

    async def test_head_of_a_post_route_is_405(self, client):
        """HEAD where only POST exists is refused and names what is allowed."""
        reply = await client.head("/-/reload")
        assert reply.status_code == 405
        assert reply.headers["allow"] == "OPTIONS, POST"


class TestOptions:
    """OPTIONS names every method a path answers."""

    @pytest.mark.parametrize(
        ("path", "allow"),
        [
            pytest.param("/metrics", "GET, HEAD, OPTIONS", id="metrics"),
            pytest.param("/health", "GET, HEAD, OPTIONS", id="health"),
            pytest.param("/-/reload", "OPTIONS, POST", id="reload"),
            pytest.param("/api/echo", "OPTIONS, POST", id="api-write"),
        ],
    )
    async def test_allow(self, client, path, allow):
        """204 with the Allow header."""
        reply = await client.options(path)
        assert reply.status_code == 204
        assert reply.headers["allow"] == allow

    async def test_unknown_path_is_404(self, client):
        """OPTIONS of a path nobody serves is the JSON 404."""
        reply = await client.options("/nowhere")
        assert reply.status_code == 404
        assert reply.json()["error"] == "not_found"


class TestJsonOnlyWrites:
    """Writes under /api/ must be JSON; forms and text/plain get 415."""

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({"Content-Type": "text/plain"}, id="text-plain"),
            pytest.param(
                {"Content-Type": "application/x-www-form-urlencoded"}, id="form"
            ),
            pytest.param({"Content-Type": "multipart/form-data; b=x"}, id="multipart"),
            pytest.param({}, id="none"),
        ],
    )
    async def test_non_json_write_is_415(self, client, headers):
        """The request is refused before any route sees it."""
        reply = await client.post("/api/echo", content=b'{"a": 1}', headers=headers)
        assert reply.status_code == 415
        assert reply.json() == {
            "error": "unsupported_media_type",
            "detail": "Send the body as JSON with Content-Type: application/json.",
            "fields": [],
        }

    @pytest.mark.parametrize(
        "content_type",
        ["application/json", "application/json; charset=utf-8", "application/x+json"],
    )
    async def test_json_write_passes(self, client, content_type):
        """JSON content types reach the route."""
        reply = await client.post(
            "/api/echo", content=b'{"a": 1}', headers={"Content-Type": content_type}
        )
        assert reply.status_code == 200
        assert reply.json() == {"got": {"a": 1}}

    async def test_reload_needs_no_body(self, client):
        """/-/reload keeps the Prometheus convention: a bare POST works."""
        assert (await client.post("/-/reload")).status_code == 200


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_content_length_with_transfer_encoding_is_refused(plugin, clock, http):
    """Both framing headers in one request: 400 and the connection is closed."""
    async with serving(Hub(plugin, clock), http=http) as client:
        host, port = str(client.base_url).removeprefix("http://").rstrip("/").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'8\r\n{"a": 1}\r\n0\r\n\r\n'
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        async with asyncio.timeout(5):
            answer = await reader.read()  # until the server closes
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"error":"bad_request"' in answer
    assert answer.count(b"HTTP/1.1 ") == 1  # the smuggled request is never answered


class TestTrailingSlash:
    """A known path with a trailing slash redirects without trusting Host."""

    async def test_redirect_location_is_the_path_only(self, client):
        """/metrics/ → 308 to /metrics; an evil Host header changes nothing."""
        reply = await client.get(
            "/metrics/?x=1", headers={"Host": "evil.example"}, follow_redirects=False
        )
        assert reply.status_code == 308
        assert reply.headers["location"] == "/metrics?x=1"

    async def test_unknown_path_with_slash_is_404(self, client):
        """A path nobody serves stays a JSON 404."""
        reply = await client.get("/nowhere/", follow_redirects=False)
        assert reply.status_code == 404
        assert reply.json() == {
            "error": "not_found",
            "detail": "Not Found",
            "fields": [],
        }


class TestErrorShape:
    """404, 405 and crashes all answer the one JSON error shape."""

    async def test_405_names_allowed_methods(self, client):
        """A wrong method gets 405 JSON with the full Allow header."""
        reply = await client.delete("/health")
        assert reply.status_code == 405
        assert reply.json()["error"] == "method_not_allowed"
        assert reply.headers["allow"] == "GET, HEAD, OPTIONS"

    async def test_post_to_metrics_is_405(self, client):
        """/metrics is read-only."""
        reply = await client.post("/metrics")
        assert reply.status_code == 405
        assert reply.headers["allow"] == "GET, HEAD, OPTIONS"
        assert reply.json()["error"] == "method_not_allowed"

    async def test_crash_is_json_500_without_traceback(self, client):
        """An unexpected error is a JSON 500; the detail stays in the log."""
        with capture_logs() as logs:
            reply = await client.get("/api/crash")
        assert reply.status_code == 500
        assert reply.json() == {
            "error": "internal_error",
            "detail": "The server failed; see its log.",
            "fields": [],
        }
        assert "secret-internal-detail" not in reply.text
        assert any(e["event"] == "request_failed" for e in logs)


class TestMetricsNegotiation:
    """/metrics honours relative q-values and OpenMetrics versions end to end."""

    @pytest.mark.parametrize(
        ("accept", "content_type"),
        [
            pytest.param(
                "application/openmetrics-text;q=0.1, text/plain;q=1.0",
                TEXT,
                id="text-preferred",
            ),
            pytest.param(
                "application/openmetrics-text;version=0.0.1",
                "application/openmetrics-text; version=0.0.1; charset=utf-8",
                id="om-0.0.1",
            ),
            pytest.param(
                "application/openmetrics-text;version=9.9.9", TEXT, id="unknown"
            ),
        ],
    )
    async def test_format(self, client, accept, content_type):
        """The Content-Type follows the best acceptable offer."""
        reply = await client.get("/metrics", headers={"Accept": accept})
        assert reply.headers["content-type"] == content_type
        assert reply.text.endswith("# EOF\n") == content_type.startswith("application")


async def test_encoded_slash_at_the_end_is_no_trailing_slash(client):
    """A name ending in %2F is addressed, not redirected away (raw path decides)."""
    reply = await client.get("/api/targets/demo/ends%2F", follow_redirects=False)
    assert reply.status_code == 404
    assert reply.json()["error"] == "not_found"


class _BrokenData:
    """Snapshot data of a plugin with a bug: asking when it expires raises."""

    def expiries(self):
        raise RuntimeError("secret-render-detail")

    def at(self, now):
        return self

    def current(self, now):
        return True


@pytest.mark.parametrize("path", ["/metrics", "/probe?target=demo/a"])
async def test_failing_scrape_answer_is_json_500(plugin, clock, path):
    """A failure while making /metrics or /probe is the one JSON 500, logged."""
    hub = Hub(plugin, clock)
    async with serving(hub) as client:
        publisher = hub.state.runner.publisher("demo", "a")
        assert publisher is not None
        publisher.data(_BrokenData())
        with capture_logs() as logs:
            reply = await client.get(path)
            head = await client.head(path)
            after = await client.get("/health")
    assert reply.status_code == 500
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {
        "error": "internal_error",
        "detail": "The server failed; see its log.",
        "fields": [],
    }
    assert "secret-render-detail" not in reply.text
    assert head.status_code == 500
    assert head.content == b""
    assert after.status_code == 200
    failures = [e for e in logs if e["event"] == "request_failed"]
    assert failures[0]["path"] == path.split("?")[0]


class TestScrapeHooks:
    """Hooks run before /metrics answers: a device read for the scrape shows in it."""

    async def test_what_a_hook_publishes_is_in_that_scrape(self, plugin, clock):
        """A hook's publish shows in the very scrape that ran it, on every scrape."""
        from .helpers import DemoSnapshot

        hub = Hub(plugin, clock)
        exposition = hub.state.exposition
        reads = []

        async def read_for_scrape() -> bool:
            section = exposition.section("demo")
            record = section.get("a")
            assert record is not None
            reads.append(record)
            value = DemoSnapshot(40.0 + len(reads))
            section.publish(record.with_data(value, clock.time()))
            return True

        exposition.add_scrape_hook(read_for_scrape)
        async with serving(hub) as client:
            first = (await client.get("/metrics")).text
            second = (await client.get("/metrics")).text
        assert 'demo_value{target="a"} 41.0' in first
        assert 'demo_value{target="a"} 42.0' in second
        assert len(reads) == 2

    async def test_a_failing_hook_does_not_fail_the_scrape(self, plugin, clock):
        """A hook that raises is logged; the scrape is answered as without it."""
        hub = Hub(plugin, clock)

        async def broken() -> bool:
            raise RuntimeError("device gone")

        hub.state.exposition.add_scrape_hook(broken)
        async with serving(hub) as client:
            with capture_logs() as logs:
                reply = await client.get("/metrics")
        assert reply.status_code == 200
        assert 'demo_value{target="a"} 1.0' in reply.text
        assert [e["event"] for e in logs if e["log_level"] == "error"] == [
            "scrape_hook_failed"
        ]

    async def test_several_hooks_run_and_one_failing_spoils_nothing(
        self, plugin, clock
    ):
        """Two hooks: both run; one raising is logged, the other's change counts."""
        hub = Hub(plugin, clock)
        ran = []

        async def broken() -> bool:
            ran.append("broken")
            raise RuntimeError("device gone")

        async def changed() -> bool:
            ran.append("changed")
            return True

        exposition = hub.state.exposition
        exposition.add_scrape_hook(broken)
        exposition.add_scrape_hook(changed)
        with capture_logs() as logs:
            assert await exposition.before_scrape() is True
        assert sorted(ran) == ["broken", "changed"]
        assert [e["event"] for e in logs] == ["scrape_hook_failed"]

    async def test_without_hooks_nothing_runs(self, plugin, clock):
        """No hook: before_scrape is False at once (the prepared bytes are served)."""
        hub = Hub(plugin, clock)
        assert await hub.state.exposition.before_scrape() is False
        hub.state.exposition.add_scrape_hook(self._unchanged)
        assert await hub.state.exposition.before_scrape() is False

    @staticmethod
    async def _unchanged() -> bool:
        return False
