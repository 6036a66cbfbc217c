"""Tests for the PHD2 simulator: wire format, session model, RPC, server, CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import struct
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from exporterhub.simulators.phd2 import (
    Phd2Faults,
    Phd2SimConfig,
    Phd2Simulator,
    build_parser,
    config_from_args,
    serve,
)
from exporterhub.simulators.phd2.rpc import Phd2Rpc
from exporterhub.simulators.phd2.session import Phd2Session
from exporterhub.simulators.phd2.wire import (
    MAX_REQUEST,
    Num,
    RequestBuffer,
    encode,
    features_for,
    malformed,
    number,
)

TIMEOUT = 10.0
SRC = Path(__file__).resolve().parents[3] / "src"
EVENT_HEAD = re.compile(
    rb'^\{"Event":"(\w+)","Timestamp":\d+\.\d{3},"Host":"SIMULATOR","Inst":1[,}]'
)
DOC_GUIDESTEP_TAIL = (
    '"Frame":57,"Time":171.064,"Mount":"On-camera","dx":-0.412,"dy":0.295,'
    '"RADistanceRaw":-0.498,"DECDistanceRaw":0.101,"RADistanceGuide":-0.349,'
    '"DECDistanceGuide":0.000,"RADuration":112,"RADirection":"East",'
    '"StarMass":15873,"SNR":31.08,"HFD":2.46,"AvgDist":0.47}\r\n'
)
SETTLE = {"pixels": 1.5, "time": 1, "timeout": 30}


# ----------------------------------------------------------------- helpers


class Peer:
    """A plain asyncio-streams client of the simulator."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    async def line(self) -> bytes:
        return await asyncio.wait_for(self.reader.readline(), TIMEOUT)

    async def obj(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(await self.line())
        return parsed

    async def catch_up(self) -> list[dict[str, Any]]:
        block = [await self.obj()]
        while block[-1]["Event"] != "AppState":
            block.append(await self.obj())
        return block

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def call(
        self, method: str, rid: int, params: object = None
    ) -> dict[str, Any]:
        req: dict[str, object] = {"method": method, "id": rid}
        if params is not None:
            req["params"] = params
        await self.send(json.dumps(req).encode() + b"\r\n")
        return await self.until(lambda o: o.get("id") == rid and "jsonrpc" in o)

    async def until(
        self,
        pred: Callable[[dict[str, Any]], bool],
        seen: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        while True:
            o = await self.obj()
            if seen is not None:
                seen.append(o)
            if pred(o):
                return o

    async def eof(self) -> bytes:
        """Read everything until the server closes the connection."""
        data = b""
        try:
            while chunk := await asyncio.wait_for(self.reader.read(65536), TIMEOUT):
                data += chunk
        except ConnectionResetError:
            pass
        return data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


Connect = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    peers: list[Peer] = []

    async def _connect(sim: Phd2Simulator, *, limit: int = 1 << 16) -> Peer:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", sim.port, limit=limit
        )
        peers.append(Peer(reader, writer))
        return peers[-1]

    yield _connect
    for peer in peers:
        await peer.close()


@pytest.fixture
async def sim() -> AsyncIterator[Phd2Simulator]:
    async with Phd2Simulator(Phd2SimConfig(port=0, scripted=True, seed=1)) as s:
        yield s


def make_session(**kw: Any) -> tuple[Phd2Session, Phd2Rpc]:
    args: dict[str, Any] = {
        "host": "SIMULATOR",
        "instance": 1,
        "version": "2.6.14",
        "exposure": 1.0,
        "pixel_scale": 1.93,
        "seed": 5,
        "autopilot": False,
        "faults": Phd2Faults(),
        "clock": lambda: 1735689600.12,
    }
    args.update(kw)
    session = Phd2Session(**args)
    return session, Phd2Rpc(session)


def rpc(
    r: Phd2Rpc, method: str, params: object = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    req: dict[str, object] = {"method": method, "id": 1}
    if params is not None:
        req["params"] = params
    response, events = r.handle_line(json.dumps(req).encode())
    assert response is not None
    return json.loads(response), [json.loads(e) for e in events]


def names(lines: list[bytes] | list[dict[str, Any]]) -> list[str]:
    return [(json.loads(x) if isinstance(x, bytes) else x)["Event"] for x in lines]


def run_ticks(session: Phd2Session, n: int) -> list[dict[str, Any]]:
    return [json.loads(line) for _ in range(n) for line in session.tick()]


def tick_until(
    session: Phd2Session, event: str, limit: int = 200
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        seen += [json.loads(line) for line in session.tick()]
        if any(o["Event"] == event for o in seen):
            return seen
    pytest.fail(f"no {event} within {limit} ticks")


def check_pulse_signs(step: dict[str, Any]) -> None:
    """Assert PHD2's sign conventions on one GuideStep (§6)."""
    ra, dec = step["RADistanceGuide"], step["DECDistanceGuide"]
    if "RADirection" in step:
        assert step["RADuration"] > 0
        assert step["RADirection"] == ("West" if ra > 0 else "East")
    else:
        assert abs(ra) < 0.01
    if "DECDirection" in step:
        assert step["DECDuration"] > 0
        assert step["DECDirection"] == ("South" if dec > 0 else "North")
    else:
        assert abs(dec) < 0.01


# -------------------------------------------------------------- wire format


class TestWire:
    def test_encode_formats_numbers_like_phd2(self):
        """Floats use %g, %.2f inside arrays, Num its spec, and NaN stays bare nan."""
        text = encode({"a": 1.93, "b": [640.125, 1], "c": Num(-0.0004, ".3f")})
        assert text == '{"a":1.93,"b":[640.12,1],"c":-0.000}'
        assert encode(float("nan")) == "nan"
        assert encode(1e-05) == "1e-05"

    def test_encode_escapes_only_what_phd2_escapes(self):
        """Backslash, quote, CR and LF are escaped; a tab stays raw."""
        assert encode('a\\"\r\n\tü') == '"a\\\\\\"\\r\\n\tü"'

    def test_encode_rejects_unknown_types(self):
        """Objects without a JSON form raise TypeError."""
        with pytest.raises(TypeError, match="cannot encode"):
            encode(object())

    @pytest.mark.parametrize(
        ("version", "overlap", "calibrating", "loop_data", "v2614"),
        [
            pytest.param("2.6.5", False, False, False, False, id="2.6.5"),
            pytest.param("2.6.6", False, True, False, False, id="2.6.6"),
            pytest.param("2.6.9", True, True, False, False, id="2.6.9"),
            pytest.param("2.6.14dev8", True, True, True, True, id="dev"),
            pytest.param("3", True, True, True, True, id="major-only"),
        ],
    )
    def test_features_follow_version(
        self, version, overlap, calibrating, loop_data, v2614
    ):
        """Version strings map to the features of protocol doc §11."""
        f = features_for(version)
        assert (f.overlap, f.calibrating_events, f.loop_star_data, f.v2614) == (
            overlap,
            calibrating,
            loop_data,
            v2614,
        )

    def test_number_accepts_only_json_numbers(self):
        """Ints, floats and Num are numbers; bools and strings are not."""
        assert (number(2), number(Num(1.5, ".3f"))) == (2.0, 1.5)
        assert number(True) is None
        assert number("1") is None

    def test_malformed_variants_are_not_json(self):
        """Both malformed variants of a valid line fail to parse."""
        line = b'{"Event":"GuideStep","Frame":1}\r\n'
        for variant in range(2):
            bad = malformed(line, variant)
            assert bad.endswith(b"\r\n")
            with pytest.raises(json.JSONDecodeError):
                json.loads(bad)

    def test_request_buffer_splits_and_rejects_long_lines(self):
        """Complete lines come out, partial ones wait, over-long ones become None."""
        buf = RequestBuffer()
        assert buf.feed(b'{"id":1}\n{"id"') == [b'{"id":1}']
        assert buf.feed(b":2}\n") == [b'{"id":2}']
        assert buf.feed(b"x" * (MAX_REQUEST + 1) + b"\n") == [None]
        assert buf.feed(b"y" * (MAX_REQUEST + 5)) == [None]
        assert buf.feed(b"still the long line") == []
        assert buf.feed(b'end\n{"id":3}\n') == [b'{"id":3}']

    def test_request_buffer_first_only_discards_rest_of_read(self):
        """In 2.6.5 mode only the first line of a read survives."""
        buf = RequestBuffer()
        assert buf.feed(b"a\nb\nc", first_only=True) == [b"a"]
        assert buf.feed(b"d\n", first_only=True) == [b"d"]


# ------------------------------------------------------------ session model


class TestSessionModel:
    def test_event_line_has_phd2_member_order_and_crlf(self):
        """An event line starts with Event, Timestamp (3 decimals), Host, Inst."""
        session, _ = make_session()
        line = session.line("StartGuiding", [])
        assert line == (
            b'{"Event":"StartGuiding","Timestamp":1735689600.120,'
            b'"Host":"SIMULATOR","Inst":1}\r\n'
        )

    def test_external_guidestep_matches_protocol_example(self):
        """A GuideStep pushed with plain floats is byte-identical to the doc example."""
        session, _ = make_session()
        line = session.emit_external(
            "GuideStep",
            {
                "Frame": 57,
                "Time": 171.064,
                "Mount": "On-camera",
                "dx": -0.412,
                "dy": 0.295,
                "RADistanceRaw": -0.498,
                "DECDistanceRaw": 0.101,
                "RADistanceGuide": -0.349,
                "DECDistanceGuide": 0.0,
                "RADuration": 112,
                "RADirection": "East",
                "StarMass": 15873.0,
                "SNR": 31.08,
                "HFD": 2.46,
                "AvgDist": 0.47,
            },
        )
        assert line.decode().endswith("," + DOC_GUIDESTEP_TAIL)
        assert session.app_state == "Guiding"
        assert session.guide_frame == 57

    @pytest.mark.parametrize(
        ("events", "state"),
        [
            pytest.param([("LoopingExposures", {"Frame": 3})], "Looping", id="looping"),
            pytest.param(
                [("LoopingExposures", {}), ("StarSelected", {"X": 1.0, "Y": 2.0})],
                "Selected",
                id="selected",
            ),
            pytest.param(
                [
                    ("LoopingExposures", {}),
                    ("StarSelected", {"X": 1.0, "Y": 2.0}),
                    ("StarLost", {"Frame": 4}),
                ],
                "Looping",
                id="star-lost-while-looping",
            ),
            pytest.param([("StartCalibration", {})], "Calibrating", id="calibrating"),
            pytest.param(
                [("StartGuiding", {}), ("StarLost", {})], "LostLock", id="lost"
            ),
            pytest.param([("StartGuiding", {}), ("Paused", {})], "Paused", id="paused"),
            pytest.param(
                [("StartGuiding", {}), ("Paused", {}), ("Resumed", {})],
                "Guiding",
                id="resumed",
            ),
            pytest.param(
                [("StartGuiding", {}), ("GuidingStopped", {})], "Stopped", id="gs"
            ),
            pytest.param(
                [("LoopingExposures", {}), ("LoopingExposuresStopped", {})],
                "Stopped",
                id="loop-stopped",
            ),
            pytest.param([("AppState", {"State": "Paused"})], "Paused", id="appstate"),
        ],
    )
    def test_pushed_events_fold_into_app_state(self, events, state):
        """Events pushed by tests move the state as protocol doc §7 describes."""
        session, _ = make_session()
        for name, fields in events:
            session.emit_external(name, fields)
        assert session.app_state == state

    def test_pushed_lock_settle_and_calibration_fold(self):
        """Lock, settle and calibration events update what RPC answers report."""
        session, r = make_session()
        session.emit_external("LockPositionSet", {"X": 10.0, "Y": 20.5})
        session.emit_external("CalibrationComplete", {"Mount": "On-camera"})
        session.emit_external("SettleBegin", {})
        assert rpc(r, "get_lock_position")[0]["result"] == [10.0, 20.5]
        assert rpc(r, "get_calibrated")[0]["result"] is True
        assert rpc(r, "get_settling")[0]["result"] is True
        session.emit_external("SettleDone", {"Status": 0})
        session.emit_external("LockPositionLost", {})
        assert rpc(r, "get_settling")[0]["result"] is False
        assert rpc(r, "get_lock_position")[0]["result"] is None

    def test_set_state_rejects_unknown_state(self):
        """An unknown state name raises ValueError."""
        session, _ = make_session()
        with pytest.raises(ValueError, match="Sleeping"):
            session.set_state("Sleeping")

    def test_calibrating_state_continues_into_guiding(self):
        """A session set to Calibrating finishes calibration and starts guiding."""
        session, _ = make_session()
        session.set_state("Calibrating", star=(100.0, 100.0))
        seen = tick_until(session, "StartGuiding")
        assert names(seen)[-3:] == [
            "CalibrationComplete",
            "LockPositionSet",
            "StartGuiding",
        ]
        assert [o["dir"] for o in seen if o["Event"] == "Calibrating"][:2] == [
            "West",
            "West",
        ]

    def test_autopilot_plays_every_phase(self):
        """A long autopilot run covers every phase from looping to stopping."""
        session, _ = make_session(autopilot=True, exposure=5.0, seed=11)
        seen = run_ticks(session, 5000)
        counts = Counter(names(seen))
        for event in (
            "LoopingExposures",
            "StarSelected",
            "StartCalibration",
            "Calibrating",
            "CalibrationComplete",
            "StartGuiding",
            "GuideStep",
            "GuidingDithered",
            "SettleBegin",
            "Settling",
            "SettleDone",
            "StarLost",
            "Paused",
            "Resumed",
            "GuidingStopped",
            "LoopingExposuresStopped",
            "Alert",
            "GuideParamChange",
            "ConfigurationChange",
        ):
            assert counts[event] > 0, event
        # every settle ends with one SettleDone; the last may still be running
        assert counts["SettleBegin"] - counts["SettleDone"] in (0, 1)
        done = [o for o in seen if o["Event"] == "SettleDone"]
        assert {o["Status"] for o in done} == {0, 1}
        failed = next(o for o in done if o["Status"] == 1)
        assert failed["Error"] == "timed-out waiting for guider to settle"
        assert counts["StartCalibration"] > 1  # recalibrates in some cycles
        assert any(o["AvgDist"] == 100.0 for o in seen if o["Event"] == "StarLost")
        for step in (o for o in seen if o["Event"] == "GuideStep"):
            check_pulse_signs(step)

    def test_legacy_autopilot_omits_newer_events(self):
        """An autopilot playing 2.6.5 never sends Calibrating or ConfigurationChange."""
        session, _ = make_session(
            autopilot=True, exposure=5.0, seed=11, faults=Phd2Faults(legacy_265=True)
        )
        counts = Counter(names(run_ticks(session, 5000)))
        assert counts["GuideParamChange"] > 0
        assert counts["StartCalibration"] > 0
        assert counts["Calibrating"] == counts["ConfigurationChange"] == 0

    @pytest.mark.parametrize("state", ["Selected", "Calibrating"])
    def test_pause_outside_guiding_is_silent(self, state):
        """Paused while looping or calibrating sends nothing until resumed."""
        session, r = make_session()
        session.set_state(state)
        assert names(rpc(r, "set_paused", [True])[1]) == ["Paused"]
        assert run_ticks(session, 3) == []
        assert session.app_state == "Paused"
        assert names(rpc(r, "set_paused", [False])[1]) == ["Resumed"]
        assert run_ticks(session, 1) != []

    def test_dither_recenter_step_guides_the_raw_error(self):
        """The first GuideStep after a dither corrects the full raw error (§6)."""
        session, r = make_session()
        session.set_state("Guiding", star=(500.0, 400.0))
        response, events = rpc(r, "dither", [4, False, SETTLE])
        assert response["result"] == 0
        assert names(events) == ["LockPositionSet", "GuidingDithered", "SettleBegin"]
        step = next(o for o in run_ticks(session, 1) if o["Event"] == "GuideStep")
        assert step["RADistanceRaw"] == step["RADistanceGuide"]
        assert step["DECDistanceRaw"] == step["DECDistanceGuide"]
        assert step["AvgDist"] > 0.5

    def test_big_errors_are_clipped_with_limit_flags(self):
        """Over-long pulses are clipped and flagged RALimited/DecLimited."""
        session, _ = make_session()
        session.set_state("Guiding")
        session._err = [60.0, -60.0]  # a mount that ran away
        step = next(o for o in run_ticks(session, 1) if o["Event"] == "GuideStep")
        assert step["RADuration"] == step["DECDuration"] == 2500
        assert step["RALimited"] is True
        assert step["DecLimited"] is True
        check_pulse_signs(step)

    @pytest.mark.parametrize(
        ("mode", "allowed"),
        [
            pytest.param("Off", set(), id="off"),
            pytest.param("North", {"North"}, id="north"),
            pytest.param("south", {"South"}, id="south"),
        ],
    )
    def test_dec_guide_mode_limits_dec_pulses(self, mode, allowed):
        """Dec pulses only go in the directions the Dec guide mode allows."""
        session, r = make_session()
        session.set_state("Guiding")
        response, events = rpc(r, "set_dec_guide_mode", [mode])
        assert response["result"] == 0
        assert events[0]["Event"] == "GuideParamChange"
        steps = [o for o in run_ticks(session, 300) if o["Event"] == "GuideStep"]
        assert {s["DECDirection"] for s in steps if "DECDirection" in s} <= allowed

    def test_legacy_265_events_lack_newer_fields(self):
        """As 2.6.5: no Calibrating events, no HFD, LoopingExposures with Frame only."""
        session, r = make_session(faults=Phd2Faults(legacy_265=True))
        assert rpc(r, "loop")[0]["result"] == 0
        assert rpc(r, "guide", [SETTLE])[0]["result"] == 0
        seen = tick_until(session, "GuideStep", limit=40)
        assert "Calibrating" not in names(seen)
        loops = [o for o in seen if o["Event"] == "LoopingExposures"]
        assert all(
            set(o) == {"Event", "Timestamp", "Host", "Inst", "Frame"} for o in loops
        )
        assert "HFD" not in next(o for o in seen if o["Event"] == "GuideStep")
        session._lost_left = 1  # the next frame loses the star
        lost = next(o for o in run_ticks(session, 1) if o["Event"] == "StarLost")
        assert "HFD" not in lost
        assert lost["ErrorCode"] == 2


# -------------------------------------------------------------- RPC methods


class TestRpcMethods:
    @pytest.fixture
    def guiding(self) -> tuple[Phd2Session, Phd2Rpc]:
        session, r = make_session()
        session.set_state("Guiding", star=(100.0, 200.25))
        return session, r

    @pytest.mark.parametrize(
        ("method", "params", "expected"),
        [
            pytest.param("get_app_state", None, "Guiding", id="app-state"),
            pytest.param("get_pixel_scale", None, 1.93, id="pixel-scale"),
            pytest.param("get_connected", None, True, id="connected"),
            pytest.param(
                "get_current_equipment",
                None,
                {
                    "camera": {"name": "Simulator", "connected": True},
                    "mount": {"name": "On-camera", "connected": True},
                },
                id="equipment",
            ),
            pytest.param("get_exposure", None, 1000, id="exposure"),
            pytest.param("get_calibrated", None, True, id="calibrated"),
            pytest.param("get_paused", None, False, id="paused"),
            pytest.param("get_settling", None, False, id="settling"),
            pytest.param(
                "get_profile", None, {"id": 1, "name": "Simulator"}, id="profile"
            ),
            pytest.param("get_lock_position", None, [100.0, 200.25], id="lock"),
            pytest.param("get_dec_guide_mode", None, "Auto", id="dec-mode"),
            pytest.param("get_guide_output_enabled", None, True, id="output"),
            pytest.param("get_camera_binning", None, 1, id="binning"),
            pytest.param("get_camera_frame_size", None, [1280, 960], id="frame-size"),
            pytest.param("get_search_region", None, 15, id="search-region"),
            pytest.param("get_use_subframes", None, False, id="subframes"),
            pytest.param("get_lock_shift_enabled", None, False, id="lock-shift"),
            pytest.param(
                "get_algo_param", {"axis": "ra", "name": "minMove"}, 0.15, id="algo"
            ),
            pytest.param(
                "get_algo_param", ["dec", "algorithmName"], "Hysteresis", id="algo-name"
            ),
            pytest.param("get_ccd_temperature", None, {"temperature": -10.0}, id="ccd"),
            pytest.param("get_limit_frame", None, {"roi": None}, id="limit-frame"),
            pytest.param(
                "get_algo_param_names",
                {"axis": "RA"},
                ["algorithmName", "minMove", "hysteresis", "aggression"],
                id="algo-names",
            ),
            pytest.param("set_profile", [1], 0, id="ack"),
            pytest.param("shutdown", None, 0, id="shutdown"),
            pytest.param("guide_pulse", [100, "N"], None, id="pulse-while-guiding"),
        ],
    )
    def test_methods_answer_from_state(self, guiding, method, params, expected):
        """Read-only and acknowledged methods answer consistently with the state."""
        _, r = guiding
        response, _ = rpc(r, method, params)
        if expected is None:
            assert response["error"]["code"] == 1
        else:
            assert response["result"] == expected

    def test_number_formats_of_results(self, guiding):
        """Lock positions use %.2f, calibration data its fixed decimals (§9)."""
        _, r = guiding
        text, _ = r.handle_line(b'{"method":"get_lock_position","id":3}')
        assert text == b'{"jsonrpc":"2.0","result":[100.00,200.25],"id":3}\r\n'
        data = rpc(r, "get_calibration_data", {"which": "Mount"})[0]["result"]
        assert data["calibrated"] is True
        assert data["xRate"] == 7.512
        assert data["yParity"] == "-"

    @pytest.mark.parametrize(
        ("method", "params", "code"),
        [
            pytest.param("get_calibration_data", ["AO"], 1, id="ao-absent"),
            pytest.param("get_calibration_data", ["both"], 1, id="bad-which"),
            pytest.param("get_algo_param_names", ["z"], 1, id="bad-axis"),
            pytest.param("get_algo_param", ["ra"], 1, id="no-name"),
            pytest.param("get_algo_param", ["ra", "nonsense"], 1, id="unknown-name"),
            pytest.param("set_paused", ["yes"], -32602, id="bad-paused"),
            pytest.param("guide", None, -32602, id="no-settle"),
            pytest.param("guide", [{"pixels": 1}], -32602, id="partial-settle"),
            pytest.param("guide", [SETTLE, "x"], -32602, id="bad-recalibrate"),
            pytest.param("guide", [SETTLE], 1, id="guide-while-settling"),
            pytest.param("dither", ["x"], -32602, id="bad-amount"),
            pytest.param("dither", [3, "x", SETTLE], -32602, id="bad-ra-only"),
            pytest.param("dither", [3, False, SETTLE], 1, id="dither-while-settling"),
            pytest.param("set_lock_position", [1], -32602, id="bad-lock"),
            pytest.param("set_dec_guide_mode", ["Sideways"], 1, id="bad-dec-mode"),
            pytest.param("set_exposure", [True], -32602, id="bad-exposure"),
            pytest.param("capture_single_frame", None, 1, id="single-while-capturing"),
        ],
    )
    def test_invalid_requests_get_phd2_error_codes(self, guiding, method, params, code):
        """Bad params and impossible requests get PHD2's error codes."""
        _, r = guiding
        assert rpc(r, "dither", [1, True, SETTLE])[0]["result"] == 0  # now settling
        response, _ = rpc(r, method, params)
        assert response["error"]["code"] == code

    def test_extreme_numbers_do_not_break_the_model(self, guiding):
        """Infinite settle values are refused; a huge dither is capped at 100 px."""
        session, r = guiding
        response, _ = r.handle_line(
            b'{"method":"guide","params":[{"pixels":1,"time":1e400,"timeout":9}],"id":1}'
        )
        assert json.loads(response or b"")["error"]["code"] == -32602
        response, _ = r.handle_line(
            b'{"method":"dither","params":[1e400,false,{"pixels":1,"time":1,'
            b'"timeout":9}],"id":2}'
        )
        assert json.loads(response or b"")["result"] == 0
        assert session.lock is not None
        assert max(abs(session.lock[0] - 100.0), abs(session.lock[1] - 200.25)) <= 142
        steps = [o for o in run_ticks(session, 20) if o["Event"] == "GuideStep"]
        assert len(steps) == 20

    def test_version_gated_methods_are_not_found(self):
        """Methods newer than the simulated version answer -32601."""
        _, r = make_session(version="2.6.4")
        assert rpc(r, "get_variable_delay_settings")[0]["error"]["code"] == -32601
        assert rpc(r, "get_cooler_status")[0]["error"]["code"] == -32601
        _, r = make_session()
        assert rpc(r, "get_cooler_status")[0]["result"]["coolerOn"] is True
        delay = rpc(r, "get_variable_delay_settings")[0]["result"]
        assert delay == {
            "Enabled": False,
            "ShortDelaySeconds": 0,
            "LongDelaySeconds": 0,
        }

    def test_stopped_session_errors_and_answers(self):
        """A stopped PHD2 has no star or saved image but takes single frames."""
        _, r = make_session()
        assert rpc(r, "get_star_image")[0]["error"]["code"] == 2
        assert rpc(r, "save_image")[0]["error"]["code"] == 2
        assert rpc(r, "find_star")[0]["error"]["code"] == 1
        assert rpc(r, "flip_calibration")[0]["error"]["code"] == 1
        assert rpc(r, "guide_pulse", [100, "N"])[0]["result"] == 0
        assert rpc(r, "dither", [3, False, SETTLE])[0]["error"]["code"] == 1
        response, events = rpc(r, "capture_single_frame")
        assert response["result"] == 0
        assert names(events) == ["SingleFrameComplete"]
        response, events = rpc(r, "stop_capture")
        assert (response["result"], events) == (0, [])
        assert rpc(r, "deselect_star")[1] == []
        assert rpc(r, "loop")[1] == rpc(r, "loop")[1] == []
        assert rpc(r, "get_app_state")[0]["result"] == "Looping"
        assert rpc(r, "get_calibration_data")[0]["result"] == {"calibrated": False}

    def test_looping_session_star_and_calibration_methods(self):
        """find_star, set_lock_position, flip and clear calibration act on the state."""
        session, r = make_session()
        rpc(r, "loop")
        response, events = rpc(r, "find_star")
        assert names(events) == ["LockPositionSet", "StarSelected"]
        assert response["result"] == [round(v, 2) for v in session.lock or ()]
        assert rpc(r, "get_app_state")[0]["result"] == "Selected"
        assert rpc(r, "get_star_image")[0]["result"]["width"] == 15
        assert "filename" in rpc(r, "save_image")[0]["result"]
        response, events = rpc(r, "set_lock_position", {"x": 12.3456, "y": 7})
        assert events[0]["X"] == 12.346
        session.calibrated = True
        assert names(rpc(r, "flip_calibration")[1]) == ["CalibrationDataFlipped"]
        rpc(r, "clear_calibration")
        assert rpc(r, "get_calibrated")[0]["result"] is False
        response, events = rpc(r, "set_exposure", [1500])
        assert rpc(r, "get_exposure")[0]["result"] == 1500
        assert events[0]["Value"] == "1500 ms"
        response, events = rpc(r, "deselect_star")
        assert names(events) == ["LockPositionLost"]
        assert rpc(r, "get_app_state")[0]["result"] == "Looping"

    def test_guide_and_control_sequence(self):
        """guide calibrates, guides and settles; loop, deselect and stop end it (§8)."""
        session, r = make_session(autopilot=True)
        assert (
            rpc(r, "guide", {"settle": SETTLE, "recalibrate": False})[0]["result"] == 0
        )
        assert session.autopilot is False
        seen = tick_until(session, "SettleDone", limit=60)
        order = [
            n for n in names(seen) if n != "Calibrating" and n != "LoopingExposures"
        ]
        assert order[:6] == [
            "LockPositionSet",
            "StarSelected",
            "StartCalibration",
            "CalibrationComplete",
            "LockPositionSet",
            "StartGuiding",
        ]
        done = next(o for o in seen if o["Event"] == "SettleDone")
        assert (done["Status"], done["DroppedFrames"]) == (0, 0)
        assert names(seen)[-2:] == ["SettleDone", "GuideStep"]  # §8 order
        # guide while guiding only settles; recalibrate restarts calibration
        assert names(rpc(r, "guide", [SETTLE])[1]) == ["SettleBegin"]
        tick_until(session, "SettleDone")
        events = rpc(r, "guide", [SETTLE, True])[1]
        assert names(events) == ["GuidingStopped"]
        seen = tick_until(session, "StartCalibration")
        assert session.app_state == "Calibrating"
        # stop while calibrating fails the calibration and the pending settle
        events = rpc(r, "stop_capture")[1]
        assert names(events) == [
            "CalibrationFailed",
            "GuidingStopped",
            "SettleDone",
            "LoopingExposuresStopped",
        ]
        assert events[2]["Status"] == 1
        # a guide request on a stopped PHD2 that is then stopped still settles once
        rpc(r, "guide", [SETTLE])
        events = rpc(r, "stop_capture")[1]
        assert names(events) == ["SettleDone", "LoopingExposuresStopped"]
        # loop while guiding keeps looping with the star selected
        session.set_state("Guiding")
        assert names(rpc(r, "loop")[1]) == ["GuidingStopped"]
        loops = [o for o in run_ticks(session, 2) if o["Event"] == "LoopingExposures"]
        assert "StarMass" in loops[0]
        assert session.app_state == "Selected"
        # deselect while guiding stops guiding and drops the lock
        session.set_state("Guiding")
        events = rpc(r, "deselect_star")[1]
        assert names(events) == ["GuidingStopped", "LockPositionLost"]

    def test_pause_then_stop_sends_resumed_first(self):
        """Stop while paused: Resumed, GuidingStopped, LoopingExposuresStopped."""
        session, r = make_session()
        session.set_state("Guiding")
        assert names(rpc(r, "set_paused", [True, "full"])[1]) == ["Paused"]
        assert rpc(r, "set_paused", {"paused": True})[1] == []
        frame = session.guide_frame
        assert run_ticks(session, 3) == []  # silence while paused
        assert session.guide_frame == frame + 3  # frame numbers still advance
        events = rpc(r, "stop_capture")[1]
        assert names(events) == ["Resumed", "GuidingStopped", "LoopingExposuresStopped"]
        assert session.app_state == "Stopped"

    def test_request_framing_errors(self):
        """Parse errors, invalid requests, batches and notifications follow §9."""
        _, r = make_session()
        response, _ = r.handle_line(b'{"method": nope}')
        assert response is not None
        parsed = json.loads(response)
        assert parsed["error"]["code"] == -32700
        assert parsed["id"] is None
        assert (
            json.loads(r.handle_line(b"\xff\xfe")[0] or b"")["error"]["code"] == -32700
        )
        bad_nan = r.handle_line(b'{"method":"get_app_state","id":NaN}')[0]
        assert json.loads(bad_nan or b"")["error"]["code"] == -32700
        for raw in (b'{"id":3}', b"42", b'{"method":"x","params":3,"id":1}'):
            parsed = json.loads(r.handle_line(raw)[0] or b"")
            assert (parsed["error"]["code"], parsed["id"]) == (-32600, None)
        assert r.handle_line(b"   \r") == (None, [])
        assert r.handle_line(b'{"method":"nope"}') == (None, [])
        assert r.handle_line(b'{"method":"set_paused","params":["x"]}') == (None, [])
        batch = r.handle_line(
            b'[{"method":"get_exposure","id":1},{"method":"get_app_state"},'
            b'{"method":"get_connected","id":"c"}]'
        )[0]
        assert batch == (
            b'[{"jsonrpc":"2.0","result":1000,"id":1},'
            b'{"jsonrpc":"2.0","result":true,"id":"c"}]\r\n'
        )
        assert r.handle_line(b'[{"method":"get_app_state"}]') == (None, [])
        float_id = r.handle_line(b'{"method":"get_connected","id":2.50}')[0]
        assert float_id == b'{"jsonrpc":"2.0","result":true,"id":2.5}\r\n'


# ------------------------------------------------------------------- server


class TestCatchUp:
    async def test_guiding_block_order_and_fields(self, sim, connect):
        """A client joining a guiding PHD2 gets the §3 block in order."""
        sim.set_guiding(star=(640.31, 480.377), lock=(640.125, 480.5))
        peer = await connect(sim)
        lines = [await peer.line() for _ in range(6)]
        assert all(line.endswith(b"}\r\n") and EVENT_HEAD.match(line) for line in lines)
        block = [json.loads(line) for line in lines]
        assert names(block) == [
            "Version",
            "LockPositionSet",
            "StarSelected",
            "CalibrationComplete",
            "StartGuiding",
            "AppState",
        ]
        assert list(block[0])[:4] == ["Event", "Timestamp", "Host", "Inst"]
        assert lines[0].endswith(
            b'"PHDVersion":"2.6.14","PHDSubver":"","OverlapSupport":true,"MsgVersion":1}\r\n'
        )
        assert lines[1].endswith(b'"X":640.125,"Y":480.500}\r\n')
        assert lines[2].endswith(b'"X":640.310,"Y":480.377}\r\n')
        assert block[3]["Mount"] == "On-camera"
        assert block[5]["State"] == "Guiding" == sim.state

    @pytest.mark.parametrize(
        ("state", "events"),
        [
            pytest.param("Stopped", ["Version", "AppState"], id="stopped"),
            pytest.param(
                "Selected", ["Version", "StarSelected", "AppState"], id="selected"
            ),
            pytest.param(
                "Calibrating",
                [
                    "Version",
                    "LockPositionSet",
                    "StarSelected",
                    "StartCalibration",
                    "AppState",
                ],
                id="calibrating",
            ),
            pytest.param(
                "LostLock",
                [
                    "Version",
                    "LockPositionSet",
                    "StarSelected",
                    "CalibrationComplete",
                    "AppState",
                ],
                id="lost-lock",
            ),
            pytest.param(
                "Paused",
                [
                    "Version",
                    "LockPositionSet",
                    "StarSelected",
                    "CalibrationComplete",
                    "Paused",
                    "AppState",
                ],
                id="paused",
            ),
        ],
    )
    async def test_block_depends_on_state(self, sim, connect, state, events):
        """Version comes first, AppState last, and the middle matches the state."""
        sim.set_state(state)
        peer = await connect(sim)
        block = await peer.catch_up()
        assert names(block) == events
        assert block[-1]["State"] == state

    async def test_catch_up_reflects_pushed_events(self, sim, connect):
        """Events pushed with send_event change what later clients are told."""
        first = await connect(sim)
        await first.catch_up()
        await sim.send_event("LockPositionSet", X=1.5, Y=2.25)
        await sim.send_event("StarSelected", X=1.5, Y=2.25)
        await sim.send_event("CalibrationComplete", Mount="On-camera")
        await sim.send_event("StartGuiding")
        await sim.send_event("Paused")
        assert names([await first.obj() for _ in range(5)])[-1] == "Paused"
        second = await connect(sim)
        block = await second.catch_up()
        assert names(block)[-2:] == ["Paused", "AppState"]
        assert block[1] == {**block[1], "X": 1.5, "Y": 2.25}
        assert (await second.call("get_app_state", 4))["result"] == "Paused"


class TestServer:
    async def test_clients_share_events_but_not_answers(self, sim, connect):
        """Every client gets every event; an RPC answer goes only to the asker."""
        a, b = await connect(sim), await connect(sim)
        await sim.wait_for_clients(2)
        assert sim.client_count == 2
        await a.catch_up()
        await b.catch_up()
        assert (await a.call("get_app_state", 1))["result"] == "Stopped"
        await sim.send_event("Alert", Msg='Zwölf "Sterne"\n', Type="info")
        for peer in (a, b):
            alert = await peer.obj()
            assert alert["Event"] == "Alert"
            assert alert["Msg"] == 'Zwölf "Sterne"\n'

    async def test_events_sent_counts_per_client(self, sim, connect):
        """events_sent counts each event line once per client that got it."""
        a, b = await connect(sim), await connect(sim)
        await sim.wait_for_clients(2)
        await sim.send_event("StartGuiding")
        await sim.send_raw(b"raw\r\n")
        await sim.flush()
        assert sim.events_sent == 2 * 3  # two catch-up lines and one event each
        assert (await a.catch_up())[-1]["Event"] == "AppState"
        assert (await a.obj())["Event"] == "StartGuiding"
        assert await a.line() == b"raw\r\n"
        await b.close()

    async def test_rpc_over_socket(self, sim, connect):
        """Responses have PHD2's member order and honour the null pixel-scale fault."""
        peer = await connect(sim)
        await peer.send(b'{"method":"get_pixel_scale","id":7}\n')
        await peer.catch_up()
        assert await peer.line() == b'{"jsonrpc":"2.0","result":1.93,"id":7}\r\n'
        sim.faults.null_pixel_scale = True
        await peer.send(b'  {"method":"get_pixel_scale","id":8}\r\n')
        assert await peer.line() == b'{"jsonrpc":"2.0","result":null,"id":8}\r\n'
        unknown = await peer.call("get_weather", 9)
        assert unknown["error"] == {"code": -32601, "message": "method not found"}
        await peer.send(b"{oops\n")
        parse = await peer.obj()
        assert (parse["error"]["code"], parse["id"]) == (-32700, None)

    async def test_notification_gets_no_answer(self, sim, connect):
        """A request without id is executed silently; the next answer is the next id."""
        peer = await connect(sim)
        await peer.catch_up()
        await peer.send(
            b'{"method":"get_app_state"}\n{"method":"get_exposure","id":5}\n'
        )
        assert await peer.obj() == {"jsonrpc": "2.0", "result": 2000, "id": 5}

    async def test_too_big_request(self, sim, connect):
        """A request over 1023 bytes gets "too big" with id null; later ones work."""
        peer = await connect(sim)
        await peer.catch_up()
        pad = b"x" * 2000
        await peer.send(b'{"method":"get_app_state","id":1,"pad":"' + pad + b'"}\n')
        assert await peer.obj() == {
            "jsonrpc": "2.0",
            "error": {"code": -32603, "message": "too big"},
            "id": None,
        }
        assert (await peer.call("get_app_state", 2))["result"] == "Stopped"

    async def test_legacy_265_handles_first_request_per_read(self, sim, connect):
        """As 2.6.5 only a read's first request is answered; no OverlapSupport."""
        sim.faults.legacy_265 = True
        peer = await connect(sim)
        version = (await peer.catch_up())[0]
        assert version["PHDVersion"] == "2.6.5"
        assert "OverlapSupport" not in version
        await peer.send(
            b'{"method":"get_app_state","id":1}\n{"method":"get_app_state","id":2}\n'
        )
        assert (await peer.obj())["id"] == 1
        await peer.send(b'{"method":"get_app_state","id":3}\n')
        assert (await peer.obj())["id"] == 3  # id 2 was discarded with its read

    async def test_split_lines_reassemble_to_the_same_lines(self, sim, connect):
        """Lines written in small chunks straddle reads but reassemble unchanged."""
        sim.faults.split_lines = True
        peer = await connect(sim)
        await sim.wait_for_clients(1)
        for frame in range(1, 6):
            await sim.send_event("LoopingExposures", Frame=frame)
        chunks: list[bytes] = []
        while b"".join(chunks).count(b"\n") < 7:
            chunks.append(await asyncio.wait_for(peer.reader.read(4096), TIMEOUT))
        data = b"".join(chunks)
        assert any(not c.endswith(b"\n") for c in chunks)
        lines = data.split(b"\r\n")[:-1]
        assert all(EVENT_HEAD.match(line) for line in lines)
        objs = [json.loads(line) for line in lines]
        assert names(objs) == ["Version", "AppState"] + ["LoopingExposures"] * 5
        assert [o["Frame"] for o in objs[2:]] == [1, 2, 3, 4, 5]

    async def test_malformed_every_breaks_every_nth_line(self, sim, connect):
        """With malformed_every=2 every second event line fails to parse."""
        peer = await connect(sim)
        await peer.catch_up()
        sim.faults.malformed_every = 2
        for frame in range(1, 5):
            await sim.send_event("LoopingExposures", Frame=frame)
        lines = [await peer.line() for _ in range(4)]
        assert json.loads(lines[0])["Frame"] == 1
        assert json.loads(lines[2])["Frame"] == 3
        for bad in (lines[1], lines[3]):
            assert bad.endswith(b"\r\n")
            with pytest.raises(json.JSONDecodeError):
                json.loads(bad)
        sim.faults.malformed_every = 0
        await sim.send_event("LoopingExposures", Frame=5)
        assert (await peer.obj())["Frame"] == 5

    async def test_overlong_every_sends_a_huge_line(self, sim, connect):
        """With overlong_every=1 each event is followed by a line over 1 MiB."""
        peer = await connect(sim, limit=4 << 20)
        await peer.catch_up()
        sim.faults.overlong_every = 1
        await sim.send_event("StartGuiding")
        assert (await peer.obj())["Event"] == "StartGuiding"
        junk = await peer.line()
        assert len(junk) > 1 << 20
        assert junk.endswith(b"\r\n")
        assert junk.count(b"\n") == 1

    async def test_stall_sends_and_answers_nothing(self, sim, connect):
        """A stalled PHD2 keeps the connection but is silent until the stall ends."""
        sim.faults.stall = True
        peer = await connect(sim)
        await sim.wait_for_clients(1)
        await peer.send(b'{"method":"get_app_state","id":1}\n')
        await sim.send_event("StartGuiding")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(peer.reader.read(1), 0.3)
        sim.faults.stall = False
        await sim.send_event("GuidingStopped")
        assert (await peer.obj())["Event"] == "GuidingStopped"
        assert (await peer.call("get_app_state", 2))["result"] == "Stopped"

    async def test_drop_clients_gives_eof_and_reconnect_gets_catch_up(
        self, sim, connect
    ):
        """drop_clients closes every socket; a reconnect starts with Version."""
        a, b = await connect(sim), await connect(sim)
        await sim.wait_for_clients(2)
        await sim.drop_clients()
        assert sim.client_count == 0
        for peer in (a, b):
            await peer.eof()
        c = await connect(sim)
        assert (await c.obj())["Event"] == "Version"

    async def test_garbage_and_aborted_clients_do_not_disturb_others(
        self, sim, connect
    ):
        """Garbage gets a parse error; an aborting client leaves others working."""
        good, rude = await connect(sim), await connect(sim)
        await good.catch_up()
        await rude.send(b"\x00\xffgarbage\n")
        await rude.catch_up()
        assert (await rude.obj())["error"]["code"] == -32700
        # SO_LINGER 0 turns the close into a TCP reset the server must survive
        sock = rude.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.writer.transport.abort()
        await sim.send_event("StartGuiding")
        assert (await good.obj())["Event"] == "StartGuiding"
        assert (await good.call("get_connected", 1))["result"] is True

    async def test_client_far_behind_is_dropped(self, sim, connect):
        """A client over 10,000 lines behind is disconnected, not buffered."""
        slow = await connect(sim)
        await slow.catch_up()
        for _ in range(10_001):  # no await yields here, so nothing is written
            await sim.send_raw(b"x\r\n")
        assert await slow.eof() == b""
        fresh = await connect(sim)
        assert (await fresh.obj())["Event"] == "Version"


class TestAutonomous:
    async def test_fast_session_guides_and_settles(self, connect):
        """At speed 200 the session guides with correct pulse signs and settles."""
        config = Phd2SimConfig(port=0, speed=200, exposure=1.0, seed=7)
        async with Phd2Simulator(config) as sim:
            peer = await connect(sim)
            seen: list[dict[str, Any]] = []
            steps: list[dict[str, Any]] = []
            while len(steps) < 30 or "SettleDone" not in names(seen):
                seen.append(await peer.obj())
                if seen[-1]["Event"] == "GuideStep":
                    steps.append(seen[-1])
            order = names(seen)
            assert order.index("StartGuiding") < order.index("GuideStep")
            for step in steps:
                check_pulse_signs(step)
                assert step["Mount"] == "On-camera"
                assert "HFD" in step

    async def test_rpc_takes_control_from_autopilot(self, connect):
        """A client drives the session by RPC; a dither's events precede its answer."""
        config = Phd2SimConfig(port=0, speed=200, exposure=1.0, seed=3)
        async with Phd2Simulator(config) as sim:
            peer = await connect(sim)
            await peer.catch_up()
            assert (await peer.call("stop_capture", 1))["result"] == 0
            assert (await peer.call("get_app_state", 2))["result"] == "Stopped"
            assert (await peer.call("guide", 3, [SETTLE]))["result"] == 0
            await peer.until(lambda o: o.get("Event") == "SettleDone")
            seen: list[dict[str, Any]] = []
            await peer.send(
                b'{"method":"dither","params":{"amount":3,"settle":'
                + json.dumps(SETTLE).encode()
                + b'},"id":4}\n'
            )
            answer = await peer.until(lambda o: o.get("id") == 4, seen)
            assert answer["result"] == 0
            events = names([o for o in seen if "Event" in o])
            assert events[-3:] == ["LockPositionSet", "GuidingDithered", "SettleBegin"]
            await peer.until(lambda o: o.get("Event") == "SettleDone")
            assert (await peer.call("set_paused", 5, [True]))["result"] == 0
            assert sim.state == "Paused"
            seen = []
            await peer.send(b'{"method":"stop_capture","id":6}\n')
            await peer.until(lambda o: o.get("id") == 6, seen)
            assert names([o for o in seen if "Event" in o])[-3:] == [
                "Resumed",
                "GuidingStopped",
                "LoopingExposuresStopped",
            ]
            assert (await peer.call("get_app_state", 7))["result"] == "Stopped"


# ---------------------------------------------------------------------- CLI


class TestCli:
    def test_parser_builds_config(self):
        """CLI flags map onto the config and its fault switches."""
        args = build_parser().parse_args(
            [
                "--port",
                "4500",
                "--hostname",
                "obs",
                "--seed",
                "9",
                "--legacy-265",
                "--null-pixel-scale",
                "--split-lines",
                "--malformed-every",
                "5",
                "--overlong-every",
                "7",
                "--exposure",
                "1.5",
            ]
        )
        config = config_from_args(args)
        assert (config.port, config.hostname, config.seed, config.exposure) == (
            4500,
            "obs",
            9,
            1.5,
        )
        assert config.faults == Phd2Faults(
            split_lines=True,
            malformed_every=5,
            overlong_every=7,
            null_pixel_scale=True,
            legacy_265=True,
        )

    def test_parser_rejects_non_positive_speed(self, capsys):
        """A speed of zero is a usage error."""
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--speed", "0"])
        assert "must be > 0" in capsys.readouterr().err

    def test_invalid_config_is_rejected(self):
        """A simulator with a non-positive speed cannot be built."""
        with pytest.raises(ValueError, match="positive"):
            Phd2Simulator(Phd2SimConfig(speed=0))

    async def test_start_twice_fails_and_stop_is_idempotent(self):
        """start() refuses a second start; stop() may be called repeatedly."""
        simulator = Phd2Simulator(Phd2SimConfig(port=0, scripted=True))
        await simulator.stop()
        await simulator.start()
        with pytest.raises(RuntimeError):
            await simulator.start()
        await simulator.stop()
        await simulator.stop()

    async def test_serve_returns_when_stop_is_set(self):
        """serve() runs a simulator until its stop event is set."""
        stop = asyncio.Event()
        stop.set()
        await asyncio.wait_for(
            serve(Phd2SimConfig(port=0, scripted=True), stop), TIMEOUT
        )

    async def test_cli_serves_until_sigterm(self):
        """The phd2-simulator command serves clients and exits 0 on SIGTERM."""
        env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "exporterhub.simulators.phd2",
            "--port",
            "0",
            "--speed",
            "50",
            "--legacy-265",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert proc.stdout is not None
        try:
            port = None
            while port is None:
                raw = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
                assert raw, "simulator exited before listening"
                text = re.sub(rb"\x1b\[[0-9;]*m", b"", raw)
                if b"phd2_simulator_started" in text:
                    port = int(re.search(rb"port=(\d+)", text).group(1))  # type: ignore[union-attr]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            version = json.loads(await asyncio.wait_for(reader.readline(), TIMEOUT))
            assert version["PHDVersion"] == "2.6.5"
            writer.close()
            await writer.wait_closed()
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
            assert b"phd2_simulator_stopped" in await proc.stdout.read()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
