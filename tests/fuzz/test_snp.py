"""SNP WebSocket frames, status items and REST answers, fuzzed.

Invariant: ``decode_frame`` and ``decode_items`` never raise; the worker's frame
handler (``_Worker._on_message``, called inside the socket read, where an
exception would end the stream) folds any frame and the exposition parses, with
every unusable frame or item counted as a parse error; the REST login and
processor-config calls over loopback end in a token, a config, or an ``SnpError``
of a kind the worker acts on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Section
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.snp.__main__ import build_parser, settings_from_args
from exporterhub.exporters.snp.client import SnpError, SnpRest, tls_context
from exporterhub.exporters.snp.collector import PREFIX, SNP_SPECS
from exporterhub.exporters.snp.command_settings import SnpExporterSettings
from exporterhub.exporters.snp.plugin import _Worker
from exporterhub.exporters.snp.protocol import (
    decode_frame,
    decode_items,
    personality_from_config,
    token_from_body,
)
from exporterhub.exporters.snp.settings import SnpTargetSettings
from tests.exporters.snp.conftest import FIXTURES

from .strategies import (
    DEEP,
    ENV_VALUES,
    JSON_VALUES,
    TEXT,
    budget,
    encoded,
    env_names,
    environment,
    mutated,
    outcome,
)

FRAMES = [
    orjson.loads(p.read_bytes())
    for p in sorted((FIXTURES / "ws").glob("server_*.json"))
]
OBJECTS = [
    orjson.loads(p.read_bytes()) for p in sorted((FIXTURES / "objects").glob("*.json"))
]
CONFIGS = [
    orjson.loads(p.read_bytes())
    for p in sorted((FIXTURES / "rest").glob("config_*.json"))
]
MSG_TYPES = sorted({f["msgType"] for f in FRAMES})


def _status_frame(objects: list[Any], kind: str, as_strings: list[bool]) -> bytes:
    items = [
        encoded(o).decode("utf-8", "surrogatepass") if s else o
        for o, s in zip(objects, as_strings, strict=False)
    ]
    return encoded({"msgType": kind, "statuses": items})


STATUS_FRAMES = st.builds(
    _status_frame,
    st.lists(st.sampled_from(OBJECTS).flatmap(mutated), max_size=4),
    st.sampled_from(["statusState", "allStatuses"]),
    st.lists(st.booleans(), min_size=4, max_size=4),
)
RAW_FRAMES = (
    st.sampled_from(FRAMES).flatmap(mutated).map(encoded)
    | st.builds(
        lambda k, v: encoded({"msgType": k, **v}),
        st.sampled_from(MSG_TYPES) | TEXT,
        st.dictionaries(TEXT, JSON_VALUES, max_size=3),
    )
    | JSON_VALUES.map(encoded)
    | DEEP.map(str.encode)
    | st.binary(max_size=64)
)
ANY_FRAME = STATUS_FRAMES | RAW_FRAMES


class TestDecoders:
    @given(data=ANY_FRAME | st.text(max_size=32))
    @budget(200)
    @example(data="\ud800")
    @example(data='{"msgType":"x","a":"\\ud800"}')
    def test_decode_frame_never_raises(self, data: bytes | str) -> None:
        """A frame decodes to (msgType, object) or None, never an exception."""
        decoded = decode_frame(data)
        if decoded is not None:
            kind, message = decoded
            assert isinstance(kind, str)
            assert message["msgType"] == kind

    @given(items=JSON_VALUES | st.lists(TEXT | JSON_VALUES, max_size=6))
    @budget(200)
    def test_decode_items_counts_every_item(self, items: Any) -> None:
        """Each item is an object with a string type or one error, none lost."""
        result = decode_items(items)
        count = len(items) if isinstance(items, list) else 1
        assert len(result.objects) + result.errors == count
        assert all(isinstance(o.get("type"), str) for o in result.objects)

    @given(envelope=st.sampled_from(CONFIGS).flatmap(mutated) | JSON_VALUES)
    @budget(200)
    def test_personality_is_text_or_none(self, envelope: Any) -> None:
        """A config envelope yields a stripped, non-empty personality or None."""
        personality = personality_from_config(envelope)
        assert personality is None or (
            personality and personality == personality.strip()
        )

    @given(body=st.text())
    @budget(100)
    def test_token_is_trimmed_or_none(self, body: str) -> None:
        """A login body yields a non-empty, trimmed token or None."""
        token = token_from_body(body)
        assert token is None or (token and token == token.strip())


def _settings(base: str = "http://127.0.0.1:9") -> SnpTargetSettings:
    return SnpTargetSettings(
        name="lab",
        restapi=f"{base}/api/auth",
        websocket="ws://127.0.0.1:9/smm",
        username="admin",
        password="pw",
        objects_ids=[{"elementIP": "127.0.0.1", "objectType": "ptp"}],
    )


def _worker() -> tuple[_Worker, Section]:
    clock = FakeClock()
    section = Section("snp", PREFIX, SNP_SPECS)
    publisher: TargetPublisher[Any] = TargetPublisher(
        section, "lab", (("target", "lab"),), max_age=60, clock=clock
    )
    return _Worker(_settings(), publisher, clock), section


class TestWorkerFrames:
    @given(frames=st.lists(ANY_FRAME, min_size=1, max_size=6))
    @budget(120)
    def test_on_message_folds_anything(self, frames: list[bytes]) -> None:
        """The frame handler takes any frame; errors are counted; /metrics parses."""
        worker, section = _worker()
        before = 0
        for data in frames:
            worker._on_message(data)
            snapshot = worker.state.snapshot()
            assert snapshot.parse_errors >= before
            before = snapshot.parse_errors
            if decode_frame(data) is None:
                assert snapshot.parse_errors >= 1
        assert worker.state.snapshot().received == len(frames)
        body = b"".join(section.render(worker.clock.time(), openmetrics=False))
        assert list(text_string_to_metric_families(body.decode()))


class _Answer(BaseHTTPRequestHandler):
    """Answers every request with the class's current status, type and body."""

    status: ClassVar[int] = 200
    content_type: ClassVar[str] = "text/plain"
    body: ClassVar[bytes] = b""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture(scope="module")
def rest_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


STATUS_CODES = st.sampled_from([200, 201, 204, 401, 403, 404, 500, 503])
CHARSETS = st.sampled_from(
    [
        "text/plain",
        "application/json",
        "text/plain; charset=utf-16",
        "text/plain; charset=nope",
    ]
)
REST_BODIES = (
    st.sampled_from(CONFIGS).flatmap(mutated).map(encoded)
    | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.binary(max_size=40)
)


class TestRest:
    @given(status=STATUS_CODES, kind=CHARSETS, body=REST_BODIES)
    @budget(80)
    @example(status=200, kind="text/plain", body=b'""')
    @example(status=200, kind="text/plain; charset=nope", body=b"\xff\xfe")
    @example(status=200, kind="text/plain; charset=utf-16", body=b"null")
    def test_login_and_config_answers(
        self, rest_server: str, status: int, kind: str, body: bytes
    ) -> None:
        """A login gives a token or an SnpError; a config an object or an SnpError."""
        _Answer.status, _Answer.content_type, _Answer.body = status, kind, body
        settings = _settings(rest_server)
        rest = SnpRest(settings, tls_context(settings))

        async def call() -> tuple[object, object]:
            async with rest.client() as http:
                results = []
                for coroutine in (
                    rest.login(http),
                    rest.processor_config(http, "t", "processorA"),
                ):
                    try:
                        results.append(await coroutine)
                    except SnpError as exc:
                        results.append(exc)
                return results[0], results[1]

        token, config = asyncio.run(call())
        if isinstance(token, str):
            assert 200 <= status < 300
            assert token == token.strip()
            assert token
        else:
            assert isinstance(token, SnpError)
        if not isinstance(config, SnpError):
            assert 200 <= status < 300
            assert config == orjson.loads(body)
        with contextlib.suppress(SnpError):
            personality_from_config(config)


def test_login_answer_in_a_broken_charset_is_a_rest_error(rest_server: str) -> None:
    """A login body its own charset cannot decode is an SnpError the worker counts.

    Found by ``test_login_and_config_answers``: ``charset=utf-16`` on a body
    without a BOM made httpx raise UnicodeError out of ``SnpRest.login``; the
    session crashed with a traceback instead of counting a REST error.
    """
    _Answer.status, _Answer.content_type = 200, "text/plain; charset=utf-16"
    _Answer.body = b"Bearer abc"
    worker, _ = _worker()
    settings = _settings(rest_server)
    rest = SnpRest(settings, tls_context(settings))

    async def login() -> None:
        async with rest.client() as http:
            await worker._login(rest, http)

    with pytest.raises(SnpError, match="declared charset"):
        asyncio.run(login())
    assert dict(worker.state.snapshot().rest_errors)["auth"] == 1


@given(
    values=st.dictionaries(
        st.sampled_from(env_names(SnpExporterSettings)), ENV_VALUES, max_size=4
    )
)
@budget(100)
def test_environment_gives_settings_or_a_config_error(values: dict[str, str]) -> None:
    """The original's variables (INTERVAL, LOG_LEVEL, ...) give settings or an error."""
    with environment(values):
        args = build_parser().parse_args([])
        _, error = outcome(lambda: settings_from_args(args), ConfigError)
    assert error is None or str(error)
