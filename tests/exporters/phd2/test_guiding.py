"""Tests for folding one read at once: Phd2State.apply_batch and GuideStep runs."""

from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pytest

from exporterhub.exporters.phd2.protocol import (
    Event,
    EventFields,
    GuiderState,
    parse_line,
    parse_message,
)
from exporterhub.exporters.phd2.state import Phd2Snapshot, Phd2State

NOW = 1_735_690_000.0


def obj(name: str, **fields: Any) -> EventFields:
    """An event as the read loop hands it over: parse_message of PHD2's line."""
    data = {"Event": name, "Timestamp": 1735690000.5, "Host": "OBSERVATORY", "Inst": 1}
    data.update(fields)
    parsed = parse_message(orjson.dumps(data))
    assert isinstance(parsed, dict)
    return parsed


def step(frame: int, ra: float = 0.1, dec: float = -0.2, **fields: Any) -> EventFields:
    values: dict[str, Any] = {
        "Frame": frame,
        "dx": 0.3,
        "dy": -0.1,
        "RADistanceRaw": ra,
        "DECDistanceRaw": dec,
        "RADistanceGuide": ra / 2,
        "DECDistanceGuide": dec / 2,
        "RADuration": 20,
        "RADirection": "West",
        "SNR": 31.08,
    }
    values.update(fields)
    return obj("GuideStep", **values)


def guiding(rms_samples: int = 10) -> Phd2State:
    state = Phd2State(rms_samples)
    state.apply_batch([obj("StartGuiding"), obj("AppState", State="Guiding")], NOW)
    return state


def px_rms(snap: Phd2Snapshot) -> dict[str, float]:
    return {source: value for scale, source, value in snap.rms if scale == "px"}


def one_at_a_time(state: Phd2State, batch: list[EventFields]) -> None:
    for fields in batch:
        event = parse_line(orjson.dumps(fields))
        assert isinstance(event, Event)
        state.apply(event, NOW)


def random_batch(rng: random.Random, frame: int) -> list[EventFields]:
    names = ["GuideStep"] * 10 + [
        "StarLost", "GuidingDithered", "SettleBegin", "SettleDone", "StartGuiding",
        "Paused", "Resumed", "AppState", "LoopingExposures", "GuidingStopped", "Other",
    ]  # fmt: skip
    odd: list[Any] = [None, True, 0, 7, "x", 1e7, 2.5, [], -0.0]
    batch = []
    for _ in range(rng.choice([1, 3, 40, 200])):
        frame += 1
        name = rng.choice(names)
        if name == "GuideStep":
            extra: dict[str, Any] = {}
            if rng.random() < 0.1:
                extra[rng.choice(["RADistanceRaw", "dx", "RADuration", "Frame"])] = (
                    rng.choice(odd)
                )
            if rng.random() < 0.1:
                extra["dx"] = extra["dy"] = 0.0
            if rng.random() < 0.05:
                extra["Pos"] = [1, 2]
            if rng.random() < 0.05:
                extra["DecLimited"] = True
            if rng.random() < 0.3:
                extra["DECDuration"] = rng.randint(1, 300)
                extra["DECDirection"] = rng.choice(["North", "South", "Up", "Sky"])
            if rng.random() < 0.1:
                extra["RADirection"] = rng.choice(["East", "Left", None, "Sky"])
            batch.append(step(frame, rng.uniform(-1, 1), rng.uniform(-1, 1), **extra))
        elif name == "StarLost":
            batch.append(obj(name, Frame=frame + 1, ErrorCode=rng.choice([1, 2, 9])))
        elif name == "AppState":
            batch.append(obj(name, State=rng.choice(["Guiding", "Paused", "Looping"])))
        elif name == "SettleDone":
            batch.append(obj(name, Status=rng.choice([0, 1])))
        else:
            batch.append(obj(name, Host=rng.choice(["OBSERVATORY", "Pier-2"])))
    return batch


class TestApplyBatch:
    @pytest.mark.parametrize("seed", range(8))
    def test_same_as_one_event_at_a_time(self, seed):
        """Folding each read at once gives the snapshots of folding event by event."""
        rng = random.Random(seed)
        window = rng.choice([1, 3, 10, 50])
        batched, single = Phd2State(window), Phd2State(window)
        frame = 0
        for read in range(30):
            if rng.random() < 0.1:
                batched.begin_connection()
                single.begin_connection()
            batch = random_batch(rng, frame)
            frame += len(batch)
            batched.apply_batch(batch, NOW)
            one_at_a_time(single, batch)
            if rng.random() < 0.5:
                assert batched.snapshot() == single.snapshot(), read
        assert batched.snapshot() == single.snapshot()
        assert batched.snapshot().guide_steps > 0

    def test_empty_batch_changes_nothing(self):
        """A read without events keeps the cached snapshot."""
        state = guiding()
        before = state.snapshot()
        state.apply_batch([], NOW + 1)
        assert state.snapshot() is before

    def test_dither_skips_only_the_first_step_of_a_run(self):
        """After GuidingDithered, the next step in the same read is not measured."""
        state = guiding()
        state.apply_batch([obj("GuidingDithered"), step(1), step(2), step(3)], NOW)
        snap = state.snapshot()
        assert snap.rms_count == 2
        assert snap.guide_steps == 3
        assert snap.last_step is not None
        assert snap.last_step.measured

    def test_dead_reckoning_step_then_a_real_one(self):
        """In one read, a dead-reckoning step keeps LostLock; the next step ends it."""
        state = guiding()
        state.apply_batch([obj("StarLost", Frame=7, ErrorCode=2)], NOW)
        state.apply_batch([step(7, dx=0.0, dy=0.0)], NOW)
        snap = state.snapshot()
        assert snap.state is GuiderState.LOST_LOCK
        assert snap.rms_count == 0
        state.apply_batch([obj("StarLost", Frame=9, ErrorCode=2)], NOW)
        state.apply_batch([step(9, dx=0.0, dy=0.0), step(10)], NOW)
        snap = state.snapshot()
        assert snap.state is GuiderState.GUIDING
        assert snap.rms_count == 1

    def test_settling_excludes_a_whole_run(self):
        """Steps between SettleBegin and SettleDone in one read stay out of the RMS."""
        state = guiding()
        batch = [obj("SettleBegin"), step(1), step(2), obj("SettleDone", Status=0)]
        state.apply_batch([*batch, step(3)], NOW)
        assert state.snapshot().rms_count == 1

    def test_ao_step_inside_a_run_excludes_later_mount_steps(self):
        """Once a step with Pos arrives, the mount's steps after it are not measured."""
        state = guiding()
        state.apply_batch([step(1), step(2, Pos=[1, 2]), step(3), step(4)], NOW)
        snap = state.snapshot()
        assert snap.rms_count == 2
        assert snap.last_step is not None
        assert not snap.last_step.measured

    def test_start_guiding_mid_read_starts_a_new_window(self):
        """Steps before a live StartGuiding in the same read leave no RMS behind."""
        state = guiding()
        state.apply_batch([step(1, 5.0, 5.0), obj("StartGuiding"), step(2)], NOW)
        snap = state.snapshot()
        assert snap.rms_count == 1
        assert px_rms(snap)["RADistanceRaw"] == pytest.approx(0.1)

    def test_last_host_and_instance_of_a_run_win(self):
        """The last Host and Inst a run's steps carry become the identity."""
        batch = [
            step(1, Host="Pier-1"),
            step(2, Host="Pier-2", Inst=3),
            step(3, Host=None, Inst=None),
        ]
        batched, single = guiding(), guiding()
        batched.apply_batch(batch, NOW)
        one_at_a_time(single, batch)
        snap = batched.snapshot()
        assert (snap.host, snap.inst) == ("pier-2", 3)
        assert snap == single.snapshot()
        batched.apply_batch([step(4, Host=None, Inst=None)], NOW)
        assert (batched.snapshot().host, batched.snapshot().inst) == ("pier-2", 3)

    def test_pulses_of_a_run_add_up_in_order(self):
        """Mount, AO and unknown directions of one read sum like one step at a time."""
        batch = [
            step(1, RADuration=112, RADirection="East"),
            step(2, RADuration=88, RADirection="East", DECDuration=7,
                 DECDirection="South"),
            step(3, RADuration=40, RADirection="Left", DECDuration=10,
                 DECDirection="Up"),
            step(4, RADuration=5, RADirection="Sideways"),
            step(5, RADuration=12.5, RADirection="West"),
            step(6, RADuration=True, RADirection="West", DECDuration="x"),
        ]  # fmt: skip
        batched, single = guiding(), guiding()
        batched.apply_batch(batch, NOW)
        one_at_a_time(single, batch)
        totals = dict(batched.snapshot().pulse_seconds)
        assert totals == dict(single.snapshot().pulse_seconds)
        assert totals["East"] == 0.112 + 0.088
        assert totals["West"] == 0.0125
        assert totals["other"] == 0.005


class TestRmsFold:
    @pytest.mark.parametrize("window", [1, 7, 100, 1000])
    def test_long_read_keeps_only_the_last_window(self, window):
        """Thousands of steps between snapshots give the RMS of the last window."""
        rng = random.Random(window)
        values = [(rng.gauss(0, 1), rng.gauss(0, 1)) for _ in range(3000)]
        state = guiding(window)
        for start in range(0, len(values), 1000):
            chunk = values[start : start + 1000]
            state.apply_batch(
                [step(start + i, ra, dec) for i, (ra, dec) in enumerate(chunk)], NOW
            )
        snap = state.snapshot()
        recent = values[-window:]
        assert snap.rms_count == window
        expected = math.sqrt(math.fsum(ra * ra for ra, _ in recent) / window)
        assert px_rms(snap)["RADistanceRaw"] == pytest.approx(expected, rel=1e-12)

    def test_unmeasurable_newest_steps_do_not_shrink_the_window(self):
        """Steps with bad distances at the end leave the window of good ones full."""
        state = guiding(3)
        good = [step(i, 1.0, 1.0) for i in range(1, 6)]
        bad = [step(6, RADistanceRaw="x"), step(7, 2e6), step(8, DECDistanceGuide=None)]
        state.apply_batch([*good, *bad], NOW)
        snap = state.snapshot()
        assert snap.rms_count == 3
        assert px_rms(snap)["RADistanceRaw"] == pytest.approx(1.0)
        assert snap.last_step is not None
        assert not snap.last_step.measured

    def test_no_snapshot_for_a_long_while(self):
        """Steps folded without a snapshot in between still give the right window."""
        state = guiding(4)
        for frame in range(1, 2001):
            state.apply_batch([step(frame, float(frame % 5), 0.0)], NOW)
        snap = state.snapshot()
        assert snap.rms_count == 4
        expected = math.sqrt((4.0 + 9.0 + 16.0 + 0.0) / 4)  # frames 1997 to 2000
        assert px_rms(snap)["RADistanceRaw"] == pytest.approx(expected)
