"""Tests of a section's row reuse: lines kept while the part a row reads is the same."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import pytest

from exporterhub.core.metrics import Kind, MetricSpec, Sample, one
from exporterhub.core.section import RecordView, Section
from exporterhub.core.snapshot import LinkState, TargetRecord


@dataclass(frozen=True, slots=True)
class Clock:
    """The part a PTP-like row reads."""

    offset: float


@dataclass(frozen=True, slots=True)
class Board:
    """The part the board rows read."""

    temperature: float
    serial: str = "S1"


@dataclass(frozen=True, slots=True)
class Device:
    """A snapshot made of parts that are replaced one at a time."""

    clock: Clock | None
    board: Board | None
    frames: float = 0.0


@dataclass
class Table:
    """A metric table whose value functions note every call by row."""

    calls: list[str] = field(default_factory=list)
    broken: bool = False

    def _offset(self, device: Device) -> Iterable[Sample]:
        self.calls.append("offset")
        return () if device.clock is None else one(device.clock.offset)

    def _temperature(self, device: Device) -> Iterable[Sample]:
        self.calls.append("temperature")
        if self.broken:
            raise ValueError("cannot read the board")
        return () if device.board is None else one(device.board.temperature)

    def _serial(self, device: Device) -> Iterable[Sample]:
        self.calls.append("serial")
        return () if device.board is None else [((device.board.serial,), 1.0)]

    def _frames(self, device: Device) -> Iterable[Sample]:
        self.calls.append("frames")
        return one(device.frames)

    def specs(self) -> list[MetricSpec[Any]]:
        return [
            MetricSpec(
                name="dev_clock_offset_seconds",
                help="Offset.",
                kind=Kind.GAUGE,
                value_fn=self._offset,
                part=attrgetter("clock"),
            ),
            MetricSpec(
                name="dev_board_temperature_celsius",
                help="Temperature.",
                kind=Kind.GAUGE,
                value_fn=self._temperature,
                part=attrgetter("board"),
            ),
            MetricSpec(
                name="dev_board_info",
                help="Serial; always 1.",
                kind=Kind.INFO,
                value_fn=self._serial,
                labels=("serial",),
                keep_when_stale=True,
                part=attrgetter("board"),
            ),
            MetricSpec(
                name="dev_frames_total",
                help="Frames.",
                kind=Kind.COUNTER,
                value_fn=self._frames,
            ),
        ]


NOW = 1_700_000_000.0
IDENTITY = (("target", "a"),)


def record(
    device: Device,
    at: float = NOW,
    identity: tuple[tuple[str, str], ...] = IDENTITY,
) -> TargetRecord[Device]:
    return TargetRecord(name="a", identity=identity, max_age=10.0).with_data(device, at)


def text(section: Section, now: float = NOW) -> str:
    return b"".join(section.render(now, openmetrics=False)).decode()


@pytest.fixture
def table() -> Table:
    return Table()


@pytest.fixture
def section(table: Table) -> Section:
    return Section("dev", "dev", table.specs())


class TestReuse:
    def test_unchanged_part_keeps_its_lines(self, table, section):
        """A new snapshot sharing the board object renders only the other rows."""
        board = Board(40.0)
        section.publish(record(Device(Clock(1.0), board, frames=1.0)))
        text(section)
        table.calls.clear()
        section.publish(record(Device(Clock(2.0), board, frames=2.0), NOW + 1))
        body = text(section, NOW + 1)
        assert sorted(table.calls) == ["frames", "offset"]
        assert 'dev_board_temperature_celsius{target="a"} 40.0\n' in body
        assert 'dev_board_info{target="a",serial="S1"} 1.0\n' in body
        assert 'dev_clock_offset_seconds{target="a"} 2.0\n' in body
        assert 'dev_frames_total{target="a"} 2.0\n' in body

    def test_changed_part_is_rendered_again(self, table, section):
        """A new board object is rendered, even one equal to the last."""
        section.publish(record(Device(Clock(1.0), Board(40.0))))
        text(section)
        table.calls.clear()
        section.publish(record(Device(Clock(1.0), Board(40.0)), NOW + 1))
        text(section, NOW + 1)
        assert table.calls.count("temperature") == 1
        section.publish(record(Device(Clock(1.0), Board(41.5, "S2")), NOW + 2))
        body = text(section, NOW + 2)
        assert 'dev_board_temperature_celsius{target="a"} 41.5\n' in body
        assert 'dev_board_info{target="a",serial="S2"} 1.0\n' in body
        assert "40.0" not in body
        assert 'serial="S1"' not in body

    def test_changed_identity_is_rendered_again(self, table, section):
        """The same data under new identity labels renders every row again."""
        device = Device(Clock(1.0), Board(40.0))
        section.publish(record(device))
        text(section)
        table.calls.clear()
        moved = (("target", "a"), ("site", "lab"))
        section.publish(record(device, NOW + 1, identity=moved))
        body = text(section, NOW + 1)
        assert sorted(table.calls) == ["frames", "offset", "serial", "temperature"]
        assert 'dev_board_temperature_celsius{target="a",site="lab"} 40.0\n' in body
        assert 'dev_board_temperature_celsius{target="a"} ' not in body

    def test_part_arriving_later_is_rendered(self, section):
        """A row whose part was missing shows up once the part arrives."""
        section.publish(record(Device(Clock(1.0), None)))
        assert "dev_board_temperature_celsius{" not in text(section)
        section.publish(record(Device(Clock(1.0), Board(39.0)), NOW + 1))
        assert 'dev_board_temperature_celsius{target="a"} 39.0\n' in text(
            section, NOW + 1
        )

    def test_part_leaving_removes_its_rows(self, section):
        """A part that goes away (None) takes its rows with it."""
        section.publish(record(Device(Clock(1.0), Board(39.0))))
        text(section)
        section.publish(record(Device(Clock(1.0), None), NOW + 1))
        body = text(section, NOW + 1)
        assert "dev_board_temperature_celsius{" not in body
        assert "dev_board_info{" not in body


class TestFreshness:
    def test_stale_rows_return_with_the_same_part(self, table, section):
        """Past max age a row is omitted; fresh data with the same part shows it."""
        board = Board(40.0)
        section.publish(record(Device(Clock(1.0), board)))
        text(section)
        stale = text(section, NOW + 11)
        assert "dev_board_temperature_celsius{" not in stale
        assert "dev_clock_offset_seconds{" not in stale
        assert 'dev_board_info{target="a",serial="S1"} 1.0\n' in stale
        table.calls.clear()
        section.publish(record(Device(Clock(1.0), board), NOW + 12))
        body = text(section, NOW + 12)
        assert 'dev_board_temperature_celsius{target="a"} 40.0\n' in body
        assert 'dev_clock_offset_seconds{target="a"} 1.0\n' in body
        assert "temperature" in table.calls
        assert "serial" not in table.calls  # kept while stale: still the same lines

    def test_kept_row_is_reused_across_going_stale(self, table, section):
        """Crossing max age re-renders the block but keeps the kept row's line."""
        section.publish(record(Device(Clock(1.0), Board(40.0))))
        text(section)
        table.calls.clear()
        body = text(section, NOW + 11)
        assert 'dev_board_info{target="a",serial="S1"} 1.0\n' in body
        assert table.calls == []

    def test_removed_target_is_rendered_afresh(self, table, section):
        """After a removal nothing of the target's old lines is reused."""
        device = Device(Clock(1.0), Board(40.0))
        section.publish(record(device))
        text(section)
        section.remove("a")
        assert text(section) == ""
        table.calls.clear()
        section.publish(record(device, NOW + 1))
        body = text(section, NOW + 1)
        assert "temperature" in table.calls
        assert 'dev_board_temperature_celsius{target="a"} 40.0\n' in body


class TestFailures:
    def test_failed_row_is_not_reused(self, table, section):
        """A row that raised is tried (and counted) again with the same part."""
        board = Board(40.0)
        table.broken = True
        section.publish(record(Device(Clock(1.0), board)))
        assert "dev_board_temperature_celsius{" not in text(section)
        table.broken = False
        section.publish(record(Device(Clock(2.0), board), NOW + 1))
        body = text(section, NOW + 1)
        assert section.render_errors == 1
        assert 'dev_board_temperature_celsius{target="a"} 40.0\n' in body


class TestHealthRows:
    def test_record_rows_are_rendered_when_their_part_changes(self):
        """A record row with a part is rendered again only when its value moves."""
        calls: list[LinkState] = []

        def link(view: RecordView) -> Iterable[Sample]:
            calls.append(view.record.link)
            return one(1.0 if view.record.link is LinkState.CONNECTED else 0.0)

        section = Section(
            "dev",
            "dev",
            [
                MetricSpec(
                    name="dev_connected",
                    help="Connected.",
                    kind=Kind.GAUGE,
                    value_fn=link,
                    on_record=True,
                    part=attrgetter("record.link"),
                )
            ],
        )
        base = record(Device(Clock(1.0), None)).with_link(LinkState.CONNECTED)
        section.publish(base)
        text(section)
        for second in (1, 2):  # new data, the same link: the line is kept
            section.publish(base.with_data(Device(Clock(2.0), None), NOW + second))
            assert 'dev_connected{target="a"} 1.0\n' in text(section, NOW + second)
        assert calls == [LinkState.CONNECTED]
        section.publish(base.with_link(LinkState.DISCONNECTED))
        assert 'dev_connected{target="a"} 0.0\n' in text(section, NOW + 3)
        assert calls == [LinkState.CONNECTED, LinkState.DISCONNECTED]

    def test_health_rows_follow_every_record(self, section):
        """The core's health rows change with the record even when no part did."""
        device = Device(Clock(1.0), Board(40.0))
        section.publish(record(device))
        assert 'dev_up{target="a"} 1.0\n' in text(section)
        section.publish(record(device).with_link(section.get("a").link, healthy=False))
        assert 'dev_up{target="a"} 0.0\n' in text(section)


class TestEmptyRows:
    def test_empty_row_with_the_same_part_is_not_rendered_again(self, table, section):
        """A row that had no value from a part keeps having none: not re-read."""
        section.publish(record(Device(Clock(1.0), None, frames=1.0)))
        text(section)
        table.calls.clear()
        section.publish(record(Device(Clock(2.0), None, frames=2.0), NOW + 1))
        body = text(section, NOW + 1)
        assert sorted(table.calls) == ["frames", "offset"]
        assert "dev_board_temperature_celsius{" not in body
        section.publish(record(Device(Clock(2.0), Board(39.0)), NOW + 2))
        assert 'dev_board_temperature_celsius{target="a"} 39.0\n' in text(
            section, NOW + 2
        )


def _chunks(section: Section, now: float, openmetrics: bool = False) -> dict[str, Any]:
    """Return each family's chunk by family name (first line of its header)."""
    chunks, _ = section.render_window(now, openmetrics)
    return {
        chunk.text.split(b"\n", 1)[0].split(b" ")[2].decode(): chunk for chunk in chunks
    }


def beta(device: Device, at: float = NOW) -> TargetRecord[Device]:
    return TargetRecord(name="b", identity=(("target", "b"),), max_age=10.0).with_data(
        device, at
    )


class TestFamilies:
    """A family is joined again only when one of its lines changed."""

    def test_unchanged_families_are_the_same_chunks(self, section):
        board = Board(40.0)
        section.publish(record(Device(Clock(1.0), board, frames=1.0)))
        section.publish(beta(Device(Clock(5.0), Board(30.0), frames=1.0)))
        before = _chunks(section, NOW)
        section.publish(record(Device(Clock(2.0), board, frames=1.0), NOW + 1))
        after = _chunks(section, NOW + 1)
        same = {name for name in after if after[name] is before[name]}
        assert same == {
            "dev_exporter_reconnects_total",
            "dev_exporter_link_state",
            "dev_up",
            "dev_board_temperature_celsius",
            "dev_board_info",
            "dev_frames_total",
        }
        offsets = after["dev_clock_offset_seconds"].text.decode()
        assert 'dev_clock_offset_seconds{target="a"} 2.0\n' in offsets
        assert 'dev_clock_offset_seconds{target="b"} 5.0\n' in offsets

    def test_a_target_coming_or_going_joins_every_family(self, section):
        section.publish(record(Device(Clock(1.0), Board(40.0))))
        before = _chunks(section, NOW)
        section.publish(beta(Device(Clock(5.0), Board(30.0))))
        both = _chunks(section, NOW)
        assert not any(both[name] is before[name] for name in both)
        assert b'target="b"' in both["dev_board_info"].text
        section.remove("b")
        alone = _chunks(section, NOW)
        assert not any(alone[name] is both[name] for name in alone)
        assert b'target="b"' not in b"".join(c.text for c in alone.values())

    def test_formats_have_their_own_chunks(self, section):
        section.publish(record(Device(Clock(1.0), Board(40.0))))
        text_chunks = _chunks(section, NOW, openmetrics=False)
        om_chunks = _chunks(section, NOW, openmetrics=True)
        assert b"# TYPE dev_board_info gauge\n" in text_chunks["dev_board_info"].text
        assert b"# TYPE dev_board info\n" in om_chunks["dev_board"].text
        assert _chunks(section, NOW, openmetrics=True)["dev_up"] is om_chunks["dev_up"]

    def test_going_stale_rejoins_the_families_it_empties(self, section):
        section.publish(record(Device(Clock(1.0), Board(40.0))))
        before = _chunks(section, NOW)
        after = _chunks(section, NOW + 11)
        assert "dev_board_temperature_celsius" not in after
        assert after["dev_board_info"] is before["dev_board_info"]
        assert after["dev_up"] is not before["dev_up"]
