"""Tests for folding CHAOS answers into a ChaosSnapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exporterhub.core.snapshot import AgeingData
from exporterhub.exporters.chaos.protocol import (
    InfoLine,
    QuotaLine,
    RateCard,
    info_lines,
    quota_lines,
    ratecard,
)
from exporterhub.exporters.chaos.state import ChaosState, LineSnapshot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "chaos"
NOW = 1_741_615_300.0
FAST = 120.0
MEDIUM = 600.0
SLOW = 1800.0


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def full_state(now: float = NOW) -> ChaosState:
    state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
    state.apply_services(["40211", "40212", "40213"], now)
    state.apply_info(info_lines(load("broadband_info_all.json")), now, complete=True)
    state.apply_quota(quota_lines(load("broadband_quota_all.json")), now, complete=True)
    return state


def line(state: ChaosState, ident: str, now: float = NOW) -> LineSnapshot | None:
    return next((x for x in state.snapshot(now).lines if x.service_id == ident), None)


class TestServiceList:
    def test_removed_line_vanishes(self):
        """A line that leaves the service list disappears from the snapshot."""
        state = full_state()
        assert line(state, "40213") is not None
        state.apply_services(["40211", "40212"], NOW + 900)
        assert line(state, "40213", NOW + 900) is None
        assert [x.service_id for x in state.snapshot(NOW + 900).lines] == [
            "40211",
            "40212",
        ]

    def test_choice_keeps_line(self):
        """A line still offered as a service choice survives leaving the list."""
        state = full_state()
        state.apply_choices(["40213"])
        state.apply_services(["40211"], NOW)
        assert [x.service_id for x in state.snapshot(NOW).lines] == ["40211", "40213"]
        state.apply_choices([])
        assert [x.service_id for x in state.snapshot(NOW).lines] == ["40211"]

    def test_services_union(self):
        """services() joins the list, the choices and lines seen in info answers."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        assert state.services() == []
        state.apply_services(["1", "2"], NOW)
        state.apply_choices(["2", "3"])
        state.apply_info([InfoLine(service_id="4", login="a@a.4")], NOW, complete=False)
        state.apply_quota([QuotaLine(service_id="5")], NOW, complete=False)
        assert state.services() == ["1", "2", "3", "4"]

    def test_info_before_list_is_shown(self):
        """Before any service list, lines from info answers are shown."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.apply_info([InfoLine(service_id="7", login="a@a.7")], NOW, complete=True)
        state.apply_choices(["7"])
        assert line(state, "7") == LineSnapshot(service_id="7", login="a@a.7", up=True)


class TestMerge:
    def test_info_and_quota_merge_by_id(self):
        """Sync rates from info and quota from quota land on the same line."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.apply_info(
            [InfoLine(service_id="40212", login="exmpl@a.2", tx_rate=5)],
            NOW,
            complete=False,
        )
        state.apply_quota(
            [QuotaLine(service_id="40212", quota_monthly=10, quota_remaining=4)],
            NOW,
            complete=False,
        )
        assert line(state, "40212") == LineSnapshot(
            service_id="40212",
            login="exmpl@a.2",
            up=True,
            tx_rate=5,
            quota_monthly=10,
            quota_remaining=4,
        )

    def test_fixture_fold(self):
        """The fixtures fold into the worked example's per-line values."""
        state = full_state()
        l2tp = line(state, "40213")
        assert l2tp == LineSnapshot(
            service_id="40213",
            login="exmpl@a.3",
            postcode="",
            up=True,
            quota_monthly=100_000_000_000,
            quota_remaining=37_654_120_448,
            quota_timestamp=1741615200.0,
        )
        assert l2tp.has_quota
        fttp = line(state, "40211")
        assert fttp is not None
        assert not fttp.has_quota
        assert fttp.tx_rate == 1_000_000_000

    def test_labels_from_info_only(self):
        """A line known only from quota shows nothing until info gives its login."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.apply_quota(
            [QuotaLine(service_id="9", quota_monthly=10, quota_remaining=1)],
            NOW,
            complete=True,
        )
        assert state.snapshot(NOW).lines == ()
        state.apply_info([InfoLine(service_id="9", login="x@a.1")], NOW, complete=False)
        got = line(state, "9")
        assert got is not None
        assert got.login == "x@a.1"
        # The info answer carried no quota fields: the quota answer's stay.
        assert (got.quota_monthly, got.quota_remaining) == (10, 1)

    def test_info_without_login_gives_empty_label(self):
        """An info line without login is described with an empty login."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.apply_info([InfoLine(service_id="9")], NOW, complete=False)
        assert line(state, "9") == LineSnapshot(service_id="9", login="", up=True)

    def test_later_info_relabels(self):
        """The latest info answer's login and postcode win."""
        state = full_state()
        state.apply_info(
            [InfoLine(service_id="40213", login="exmpl@a.9", postcode="ZZ2 2BB")],
            NOW + 1,
            complete=False,
        )
        got = line(state, "40213", NOW + 1)
        assert got is not None
        assert (got.login, got.postcode) == ("exmpl@a.9", "ZZ2 2BB")


class TestPruning:
    def test_quota_goes_after_fast_max_age(self):
        """Quota values vanish after fast_max_age while sync rates stay."""
        state = full_state()
        later = NOW + FAST + 1
        got = line(state, "40212", later)
        assert got is not None
        assert got.quota_monthly is None
        assert got.quota_remaining is None
        assert got.quota_timestamp is None
        assert got.tx_rate == 67_496_000
        assert got.up is True

    def test_quota_kept_within_fast_max_age(self):
        """At exactly fast_max_age the quota values are still shown."""
        got = line(full_state(), "40212", NOW + FAST)
        assert got is not None
        assert got.quota_monthly == 500_000_000_000

    def test_info_goes_after_medium_max_age(self):
        """Sync rates and service_up vanish after medium_max_age; labels stay."""
        state = full_state()
        got = line(state, "40211", NOW + MEDIUM + 1)
        assert got == LineSnapshot(
            service_id="40211", login="exmpl@a.1", postcode="ZZ1 1AA"
        )

    def test_fresh_quota_keeps_up(self):
        """A recent quota poll keeps service_up although info is old."""
        state = full_state()
        later = NOW + MEDIUM + 1
        state.apply_quota(
            quota_lines(load("broadband_quota_all.json")), later, complete=True
        )
        got = line(state, "40212", later)
        assert got is not None
        assert (got.up, got.tx_rate, got.quota_monthly) == (True, None, 500_000_000_000)


class TestAgeingData:
    """The snapshot carries each value's expiry; ``at`` and ``current`` apply it."""

    def test_is_ageing_data_for_the_core(self):
        """The core recognises the snapshot as data that ages in parts."""
        assert isinstance(full_state().snapshot(NOW), AgeingData)

    def test_at_equals_a_later_snapshot(self):
        """A snapshot viewed later shows what a snapshot taken then would show."""
        state = full_state()
        early = state.snapshot(NOW)
        for later in (NOW + FAST, NOW + FAST + 1, NOW + MEDIUM + 1, NOW + SLOW + 1):
            assert early.at(later) == state.snapshot(later), later

    def test_expiries_list_every_tier(self):
        """The instants are each tier's age after the answers that fed it."""
        assert set(full_state().snapshot(NOW).expiries()) == {
            NOW + FAST,
            NOW + MEDIUM,
            NOW + SLOW,
        }

    def test_current_until_the_quota_expires(self):
        """current() holds up to fast_max_age after the last quota and no longer."""
        snap = full_state().snapshot(NOW)
        assert snap.current(NOW + FAST) is True
        assert snap.current(NOW + FAST + 0.5) is False

    def test_nothing_fetched_is_current(self):
        """A state that fetched nothing yet has no part to be stale."""
        snap = ChaosState(
            fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW
        ).snapshot(NOW)
        assert snap.current(NOW + 1e6) is True
        assert set(snap.expiries()) == set()

    def test_info_with_quota_refreshes_the_quota_part(self):
        """An info answer carrying quota keeps quota current like a quota answer."""
        state = full_state()
        later = NOW + FAST
        info = info_lines(load("broadband_info_all.json"))
        state.apply_info(info, later, complete=False)
        snap = state.snapshot(later)
        assert snap.current(NOW + FAST + 1) is True
        got = next(x for x in snap.at(NOW + FAST + 1).lines if x.service_id == "40212")
        assert got.quota_monthly == 500_000_000_000

    def test_info_without_quota_leaves_the_quota_part(self):
        """Info lines without quota fields do not make old quota current."""
        state = full_state()
        bare = [InfoLine(service_id="40211", login="exmpl@a.1", tx_rate=1)]
        state.apply_info(bare, NOW + FAST, complete=False)
        assert state.snapshot(NOW + FAST).current(NOW + FAST + 1) is False

    def test_slow_extras_expire_on_their_own(self):
        """Rate card, logins and counts go after slow_max_age; lines stay known."""
        state = full_state()
        state.apply_ratecard(ratecard(load("telephony_ratecard.json")), NOW)
        state.apply_login_services(["exmpl@a"], NOW)
        view = state.snapshot(NOW).at(NOW + SLOW + 1)
        assert (view.ratecard, view.control_logins) == (None, None)
        assert view.service_counts == ()
        state.set_telephony_services(2, NOW + SLOW)  # a newer answer: stays
        late = state.snapshot(NOW + SLOW).at(NOW + SLOW + 1)
        assert late.service_counts == (("telephony", 2),)
        assert [x.login for x in late.lines] == ["exmpl@a.1", "exmpl@a.2", "exmpl@a.3"]

    def test_unknown_telephony_count_has_no_age(self):
        """Forgetting the telephony count forgets its part too."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.set_telephony_services(1, NOW)
        assert state.snapshot(NOW).current(NOW + SLOW + 1) is False
        state.set_telephony_services(None, NOW)
        assert state.snapshot(NOW).current(NOW + SLOW + 1) is True


class TestServiceUp:
    def test_failed_then_recovered(self):
        """service_failed sets up to 0 and the next answer restores 1."""
        state = full_state()
        state.service_failed("40212", NOW + 10)
        got = line(state, "40212", NOW + 10)
        assert got is not None
        assert got.up is False
        assert got.tx_rate == 67_496_000
        state.apply_quota(
            [QuotaLine(service_id="40212", quota_monthly=1)], NOW + 20, complete=False
        )
        got = line(state, "40212", NOW + 20)
        assert got is not None
        assert got.up is True

    def test_failure_before_info_is_visible(self):
        """A line that fails before any info answer shows up 0 without a login."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.apply_services(["9"], NOW)
        state.service_failed("9", NOW)
        assert line(state, "9") == LineSnapshot(service_id="9", up=False)
        assert line(state, "9", NOW + MEDIUM + 1) is None

    def test_success_before_info_is_hidden(self):
        """A quota-only line that answered has nothing to show yet."""
        state = ChaosState(fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW)
        state.apply_quota([QuotaLine(service_id="9")], NOW, complete=False)
        assert line(state, "9") is None


class TestComplete:
    def test_complete_info_drops_missing_lines_values(self):
        """A complete info answer drops the values of lines it left out."""
        state = full_state()
        lines = info_lines(load("broadband_info_all.json"))[:2]
        state.apply_info(lines, NOW + 5, complete=True)
        got = line(state, "40213", NOW + 5)
        assert got is not None
        assert (got.login, got.postcode, got.up) == ("exmpl@a.3", "", True)
        fttp = info_lines(load("broadband_info_all.json"))[0]
        state.apply_info([fttp], NOW + 6, complete=True)
        got = line(state, "40212", NOW + 6)
        assert got is not None
        assert got.tx_rate is None
        assert got.login == "exmpl@a.2"

    def test_partial_info_keeps_other_lines(self):
        """A per-service info answer leaves other lines untouched."""
        state = full_state()
        fttp = info_lines(load("broadband_info_all.json"))[0]
        state.apply_info([fttp], NOW + 5, complete=False)
        got = line(state, "40212", NOW + 5)
        assert got is not None
        assert got.tx_rate == 67_496_000

    def test_complete_quota_drops_missing_quota(self):
        """A complete quota answer drops the quota of lines it left out only."""
        state = full_state()
        state.apply_quota(
            [QuotaLine(service_id="40211", quota_monthly=0)], NOW + 5, complete=True
        )
        got = line(state, "40213", NOW + 5)
        assert got is not None
        assert got.quota_monthly is None
        assert got.up is True
        partial = full_state()
        partial.apply_quota([QuotaLine(service_id="40211")], NOW + 5, complete=False)
        got = line(partial, "40213", NOW + 5)
        assert got is not None
        assert got.quota_monthly == 100_000_000_000


class TestSlowTier:
    def test_extras(self):
        """Rate card, logins and service counts reach the snapshot."""
        state = full_state()
        card = ratecard(load("telephony_ratecard.json"))
        state.apply_ratecard(card, NOW)
        state.apply_login_services(["exmpl@a", "exmpl@a"], NOW)
        state.set_telephony_services(0, NOW)
        snap = state.snapshot(NOW)
        assert snap.ratecard is card
        assert snap.control_logins == ("exmpl@a",)
        assert snap.service_counts == (("broadband", 3), ("login", 1), ("telephony", 0))
        state.set_telephony_services(None, NOW)
        assert state.snapshot(NOW).service_counts == (("broadband", 3), ("login", 1))

    def test_empty_state(self):
        """A fresh state has no lines and no extras."""
        snap = ChaosState(
            fast_max_age=FAST, medium_max_age=MEDIUM, slow_max_age=SLOW
        ).snapshot(NOW)
        assert (snap.lines, snap.ratecard, snap.control_logins) == ((), None, None)
        assert snap.service_counts == ()
        assert RateCard().rates == ()
