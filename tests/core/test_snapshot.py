"""Tests of the immutable per-target record and its freshness."""

from __future__ import annotations

import dataclasses

import pytest

from exporterhub.core.snapshot import LinkState, TargetRecord, is_fresh


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


def test_link_state_values():
    """Link states render as their lowercase names."""
    assert [s.value for s in LinkState] == [
        "connecting",
        "connected",
        "disconnected",
        "error",
    ]
