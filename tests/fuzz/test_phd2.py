"""PHD2 event lines and JSON-RPC answers, fuzzed through the parser and the fold.

Invariant: ``parse_message`` never raises and returns an event only when its
common members have the promised types; the read loop a target's session runs
(``Phd2Connection.read_loop`` feeding the worker's fold and publisher) ends only
with ``ConnectionLostError`` at the end of the stream, whatever PHD2 sent; and the
exposition rendered from the result parses, with no NaN or infinite value served
as a distance.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.errors import ConfigError, ConnectionLostError
from exporterhub.core.exposition import Section
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.phd2.__main__ import build_parser, settings_from_args
from exporterhub.exporters.phd2.client import Phd2Connection
from exporterhub.exporters.phd2.collector import PHD2_SPECS, PREFIX
from exporterhub.exporters.phd2.plugin import _equipment, _Worker
from exporterhub.exporters.phd2.protocol import (
    KNOWN_EVENTS,
    LineBuffer,
    Malformed,
    RpcResponse,
    parse_message,
)
from exporterhub.exporters.phd2.settings import Phd2ExporterSettings, Phd2TargetSettings
from exporterhub.exporters.phd2.state import Phd2State

from .strategies import (
    DEEP,
    ENV_VALUES,
    JSON_VALUES,
    budget,
    encoded,
    env_names,
    environment,
    objects,
    outcome,
)

FIELDS = [
    "Timestamp", "Host", "Inst", "Frame", "Time", "Mount", "dx", "dy",
    "RADistanceRaw", "DECDistanceRaw", "RADistanceGuide", "DECDistanceGuide",
    "RADuration", "RADirection", "DECDuration", "DECDirection", "Pos", "StarMass",
    "SNR", "HFD", "AvgDist", "ErrorCode", "RALimited", "DecLimited", "Status",
    "State", "X", "Y", "Distance", "SettleTime", "StarLocked", "Type", "Msg",
    "PHDVersion", "PHDSubver", "OverlapSupport", "MsgVersion", "Counts",
    "DroppedFrames", "TotalFrames", "Error", "Direction", "Step",
]  # fmt: skip
EVENT_NAMES = st.sampled_from(sorted(KNOWN_EVENTS)) | st.text(max_size=8)
EVENTS = EVENT_NAMES.flatmap(lambda name: objects(FIELDS, Event=st.just(name)))
RESPONSES = objects(["jsonrpc", "result", "error"], id=JSON_VALUES) | objects(
    ["jsonrpc", "id", "result"],
    error=st.fixed_dictionaries(
        {}, optional={"code": JSON_VALUES, "message": JSON_VALUES}
    ),
)
LINES = (
    EVENTS.map(encoded)
    | RESPONSES.map(encoded)
    | JSON_VALUES.map(encoded)
    | DEEP.map(str.encode)
    | st.binary(max_size=64)
)


class TestParseMessage:
    @given(line=LINES)
    @budget(200)
    @example(line=b'{"Event":"GuideStep","SNR":NaN}')
    @example(line=b'{"Event":"A","Host":"\t\xff"}')
    @example(line=b'{"id":1.0,"result":[1e999]}')
    def test_never_raises_and_checks_types(self, line: bytes) -> None:
        """Any line is an event with typed common members, an answer or Malformed."""
        message = parse_message(line)
        if isinstance(message, dict):
            assert isinstance(message["Event"], str)
            for key, kinds in (("Timestamp", (int, float)), ("Host", str)):
                value = message.get(key)
                assert value is None or (
                    isinstance(value, kinds) and not isinstance(value, bool)
                )
            assert message.get("Inst") is None or type(message["Inst"]) is int
        else:
            assert isinstance(message, RpcResponse | Malformed)
            if isinstance(message, RpcResponse) and message.error is not None:
                assert type(message.error.code) is int
                assert isinstance(message.error.message, str)

    @given(
        name=st.text(),
        host=st.text(),
        inst=st.integers(-(2**63), 2**63 - 1),
        timestamp=st.floats(allow_nan=False, allow_infinity=False),
    )
    @budget(100)
    def test_well_formed_event_is_read_as_sent(
        self, name: str, host: str, inst: int, timestamp: float
    ) -> None:
        """An event PHD2 could send comes back as exactly the object it was."""
        sent = {"Event": name, "Timestamp": timestamp, "Host": host, "Inst": inst}
        assert parse_message(orjson.dumps(sent)) == sent


class TestLineBuffer:
    @given(
        chunks=st.lists(st.binary(max_size=40), max_size=12), limit=st.integers(1, 16)
    )
    @budget(200)
    def test_lines_are_the_stream_split(self, chunks: list[bytes], limit: int) -> None:
        """However the stream is cut into reads, the lines are its short lines."""
        buffer = LineBuffer(max_line=limit)
        lines = [line for chunk in chunks for line in buffer.feed(chunk)]
        *whole, tail = b"".join(chunks).split(b"\n")
        expected = [
            line.removesuffix(b"\r")
            for line in whole
            if line.removesuffix(b"\r") and len(line.removesuffix(b"\r")) <= limit
        ]
        assert lines == expected
        # An unfinished line counts as soon as it cannot fit (one byte of slack
        # for a "\r" still to come).
        assert buffer.overlong == sum(
            1 for line in whole if len(line.removesuffix(b"\r")) > limit
        ) + (len(tail) > limit + 1)


def _run_session(stream: bytes) -> tuple[_Worker, Section, Phd2Connection]:
    """Feed ``stream`` to a target's read loop and fold, as its session does."""
    clock = FakeClock()
    section = Section("phd2", PREFIX, PHD2_SPECS)
    settings = Phd2TargetSettings(name="pier", legacy_metrics=True, max_line_bytes=1024)
    publisher: TargetPublisher[Any] = TargetPublisher(
        section, "pier", (("target", "pier"),), max_age=60, clock=clock
    )
    worker = _Worker(settings, publisher, clock)

    async def read() -> Phd2Connection:
        reader = asyncio.StreamReader()
        reader.feed_data(stream)
        reader.feed_eof()
        conn = Phd2Connection(
            reader,
            None,  # type: ignore[arg-type]  # the read loop never writes
            on_events=worker._on_events,
            on_malformed=worker._on_malformed,
            max_line=settings.max_line_bytes,
            rpc_timeout=1,
        )
        worker._conn = conn
        worker.state.begin_connection()
        with pytest.raises(ConnectionLostError) as lost:
            await conn.read_loop()
        assert lost.value.reason == "eof"
        return conn

    return worker, section, asyncio.run(read())


def _exposition(section: Section, clock_now: float) -> dict[str, list[Any]]:
    body = b"".join(section.render(clock_now, openmetrics=False)).decode()
    return {
        family.name: family.samples for family in text_string_to_metric_families(body)
    }


class TestSession:
    @given(lines=st.lists(LINES, max_size=8))
    @budget(60)
    @example(
        lines=[b'{"Event":"GuideStep","RADistanceRaw":1e308,"DECDistanceRaw":1e308}']
    )
    @example(lines=[b'{"Event":"GuideStep","RADuration":1e308,"RADirection":"East"}'])
    @example(lines=[b'{"Event":"Settling","Distance":1e999}'])
    def test_read_loop_survives_and_renders(self, lines: list[bytes]) -> None:
        """Whatever PHD2 sends, the session ends only at EOF and /metrics parses."""
        sent = [line.replace(b"\n", b" ") for line in lines]
        worker, section, conn = _run_session(b"".join(x + b"\r\n" for x in sent))
        assert conn.lines == sum(1 for x in sent if x and len(x) <= 1024)
        families = _exposition(section, worker.clock.time())
        for sample in families.get("phd2_rms", []):
            assert math.isfinite(sample.value)
            assert sample.value >= 0

    @given(events=st.lists(EVENTS, max_size=8), state=JSON_VALUES, scale=JSON_VALUES)
    @budget(60)
    def test_fold_and_poll_answers(
        self, events: list[Any], state: Any, scale: Any
    ) -> None:
        """Structured but wrong events and RPC answers fold without an exception."""
        fold = Phd2State(rms_samples=3, legacy=True)
        accepted = [
            m for m in map(parse_message, map(encoded, events)) if isinstance(m, dict)
        ]
        fold.apply_batch(accepted, 1_700_000_000.0)
        if isinstance(state, str):
            fold.apply_app_state(state)
        fold.set_equipment(_equipment(scale))
        fold.set_connected(scale if isinstance(scale, bool) else None)
        snapshot = fold.snapshot()
        assert snapshot is fold.snapshot()


@given(
    values=st.dictionaries(
        st.sampled_from(env_names(Phd2ExporterSettings)), ENV_VALUES, max_size=4
    )
)
@budget(100)
def test_environment_gives_settings_or_a_config_error(values: dict[str, str]) -> None:
    """PHD2_EXPORTER_* variables give settings or one ConfigError naming them."""
    with environment(values):
        args = build_parser().parse_args([])
        _, error = outcome(lambda: settings_from_args(args), ConfigError)
    assert error is None or str(error).startswith(("environment", "flags"))
