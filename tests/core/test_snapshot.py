"""Tests of the immutable per-target record and its freshness."""

from __future__ import annotations

import dataclasses
import math

import pytest

from exporterhub.core.snapshot import (
    AgeingData,
    LinkState,
    TargetRecord,
    expires_at,
    is_fresh,
    schedule,
    view,
    within_max_age,
)


def _record(**kwargs):
    return TargetRecord(name="rig", identity=(("host", "h"),), **kwargs)


class TestWithData:
    """``with_data`` is a success: data, time and health move together."""

    def test_sets_data_time_and_health(self):
        """The copy holds the data, taken_at/last_success at now, and is healthy."""
        record = _record()
        updated = record.with_data({"v": 1}, 123.5)
        assert updated.data == {"v": 1}
        assert updated.taken_at == 123.5
        assert updated.last_success == 123.5
        assert updated.healthy is True

    def test_original_is_untouched(self):
        """The original record keeps its values (copy on write)."""
        record = _record()
        updated = record.with_data("x", 1.0)
        assert updated is not record
        assert record.data is None
        assert record.taken_at is None
        assert record.healthy is False

    def test_keeps_other_fields(self):
        """Link, reconnects, max_age and identity survive a data update."""
        record = _record(link=LinkState.CONNECTED, reconnects=3, max_age=7.0)
        updated = record.with_data(1, 2.0)
        assert updated.link is LinkState.CONNECTED
        assert updated.reconnects == 3
        assert updated.max_age == 7.0
        assert updated.identity == (("host", "h"),)

    def test_changes_nothing_but_the_success_fields(self):
        """Every field but data, times, health and attempted is the original's
        (a field added to the record later is carried too)."""
        record = _record(
            link=LinkState.ERROR,
            reconnects=2,
            max_age=9.0,
            changed_at=5.0,
            error="auth",
            error_detail="refused",
        )
        updated = record.with_data("d", 8.0)
        success = {"data", "taken_at", "healthy", "last_success", "attempted"}
        for field in dataclasses.fields(TargetRecord):
            if field.name not in success:
                assert getattr(updated, field.name) == getattr(record, field.name)
        assert updated == dataclasses.replace(
            record,
            data="d",
            taken_at=8.0,
            healthy=True,
            last_success=8.0,
            attempted=True,
        )

    def test_records_are_frozen(self):
        """Assigning to a record raises."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            _record().healthy = True


class TestWithLink:
    """``with_link`` moves the link state; leaving CONNECTED drops health."""

    @pytest.mark.parametrize(
        ("link", "healthy"),
        [
            pytest.param(LinkState.CONNECTED, True, id="connected-keeps-health"),
            pytest.param(LinkState.DISCONNECTED, False, id="disconnected-drops"),
            pytest.param(LinkState.ERROR, False, id="error-drops"),
            pytest.param(LinkState.CONNECTING, False, id="connecting-drops"),
        ],
    )
    def test_health_follows_link(self, link, healthy):
        """A healthy record stays healthy only in CONNECTED."""
        record = _record().with_data(1, 10.0)
        updated = record.with_link(link)
        assert updated.link is link
        assert updated.healthy is healthy

    def test_connected_does_not_make_unhealthy_record_healthy(self):
        """Connecting alone is not a success: an unhealthy record stays unhealthy."""
        assert _record().with_link(LinkState.CONNECTED).healthy is False

    @pytest.mark.parametrize(
        "healthy",
        [pytest.param(True, id="force-healthy"), pytest.param(False, id="force-down")],
    )
    def test_explicit_health_wins(self, healthy):
        """An explicit ``healthy`` overrides the derived value."""
        record = _record().with_data(1, 10.0)
        assert record.with_link(LinkState.ERROR, healthy=healthy).healthy is healthy

    def test_keeps_data(self):
        """Changing the link keeps data and timestamps."""
        record = _record().with_data("d", 5.0).with_link(LinkState.DISCONNECTED)
        assert (record.data, record.taken_at, record.last_success) == ("d", 5.0, 5.0)


class TestIsFresh:
    """Data is fresh for exactly ``max_age`` seconds after it was taken."""

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            pytest.param(100.0, True, id="at-taken"),
            pytest.param(110.0, True, id="at-max-age"),
            pytest.param(110.001, False, id="just-past"),
            pytest.param(1e9, False, id="long-past"),
        ],
    )
    def test_age_boundary(self, now, expected):
        """Freshness holds up to and including max_age, not beyond."""
        record = _record(max_age=10.0).with_data(1, 100.0)
        assert is_fresh(record, now) is expected

    def test_no_data_is_never_fresh(self):
        """A record without data is not fresh."""
        assert is_fresh(_record(taken_at=100.0), 100.0) is False

    def test_no_timestamp_is_never_fresh(self):
        """A record with data but no taken_at is not fresh."""
        assert is_fresh(_record(data=1), 100.0) is False

    def test_falsy_data_is_still_data(self):
        """Zero is data: a record holding 0 is fresh."""
        assert is_fresh(_record().with_data(0, 50.0), 50.0) is True

    def test_health_does_not_matter(self):
        """Freshness depends on age only, not on the health flag."""
        record = _record().with_data(1, 50.0).with_link(LinkState.ERROR)
        assert record.healthy is False
        assert is_fresh(record, 55.0) is True


@dataclasses.dataclass(frozen=True)
class Halves:
    """Two values: ``a`` (required) valid until ``a_until``, ``b`` until ``b_until``."""

    a: int | None
    a_until: float
    b: int | None
    b_until: float

    def expiries(self):
        return [self.b_until, self.a_until, self.b_until]

    def at(self, now):
        return dataclasses.replace(
            self,
            a=self.a if now <= self.a_until else None,
            b=self.b if now <= self.b_until else None,
        )

    def current(self, now):
        return now <= self.a_until


class TestAgeingData:
    """Data that ages in parts decides the view and freshness at read time."""

    @pytest.fixture
    def record(self):
        halves = Halves(a=1, a_until=105.0, b=2, b_until=103.0)
        return _record(max_age=10.0).with_data(halves, 100.0)

    def test_is_an_ageing_data(self, record):
        """The test type satisfies the protocol; plain data does not."""
        assert isinstance(record.data, AgeingData)
        assert not isinstance(1, AgeingData)

    @pytest.mark.parametrize(
        ("now", "fresh"),
        [
            pytest.param(105.0, True, id="at-part-deadline"),
            pytest.param(105.5, False, id="required-part-expired"),
            pytest.param(111.0, False, id="record-expired"),
        ],
    )
    def test_fresh_needs_the_required_part(self, record, now, fresh):
        """is_fresh is False once the required part expired, within max age."""
        assert within_max_age(record, now) is (now <= 110.0)
        assert is_fresh(record, now) is fresh

    def test_record_age_wins_over_current_parts(self):
        """Past the record's max age the data is stale whatever its parts say."""
        halves = Halves(a=1, a_until=1e9, b=2, b_until=1e9)
        record = _record(max_age=10.0).with_data(halves, 100.0)
        assert is_fresh(record, 110.5) is False

    def test_view_prunes_at_now(self, record):
        """view() gives the data's pruned view; plain data comes back as is."""
        assert view(record, 104.0) == Halves(a=1, a_until=105.0, b=None, b_until=103.0)
        assert view(_record().with_data(7, 0.0), 1e9) == 7

    def test_schedule_sorted_and_distinct(self, record):
        """The schedule holds every part's instant and the record's, once each,
        after the instant just below taken_at."""
        assert schedule(record) == (math.nextafter(100.0, 0.0), 103.0, 105.0, 110.0)
        assert expires_at(record) == 110.0

    def test_schedule_of_expired_record_keeps_part_instants(self, record):
        """A record whose data was declared stale still lists its parts' instants."""
        expired = dataclasses.replace(record, taken_at=None)
        assert expires_at(expired) is None
        assert schedule(expired) == (103.0, 105.0)
        assert is_fresh(expired, 100.0) is False


def test_link_state_values():
    """Link states render as their lowercase names."""
    assert [s.value for s in LinkState] == [
        "connecting",
        "connected",
        "disconnected",
        "error",
    ]


class TestClockSteppedBack:
    """A wall clock stepped back (NTP, a resumed VM): the data's age is unknown.

    Found by the fault matrix (tests/chaos, clock_jump rows): after a step back
    of an hour, a target whose peer went quiet kept serving its last values as
    current for that hour.
    """

    def test_data_taken_after_now_is_not_current(self):
        """Data stamped later than the reader's clock is neither fresh nor shown."""
        record = _record().with_data(1, 1000.0)
        assert within_max_age(record, 1000.0)
        assert is_fresh(record, 1000.0)
        assert not within_max_age(record, 1000.0 - 3600)
        assert not is_fresh(record, 1000.0 - 3600)

    def test_schedule_changes_phase_when_the_clock_steps_back(self):
        """A rendered block taken at taken_at is re-rendered after a step back."""
        from bisect import bisect_left

        record = _record().with_data(1, 1000.0)
        instants = schedule(record)
        assert bisect_left(instants, 1000.0) != bisect_left(instants, 999.0)
        assert bisect_left(instants, 1000.0) == bisect_left(instants, 1005.0)
