"""What a new user and a busy user see: the empty state, many rows, narrow windows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from exporterhub.exporters import KINDS

from .conftest import shot
from .served import ServedHub

NARROW = 380


@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> Iterator[ServedHub]:
    """A hub with a store and no targets at all."""
    with ServedHub(tmp_path_factory.mktemp("empty")) as served:
        yield served


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Iterator[ServedHub]:
    """A hub with thirty targets of every kind, most of them failing."""
    with ServedHub(tmp_path_factory.mktemp("crowded")) as served:
        with httpx.Client(base_url=served.url, timeout=10) as api:
            bodies = [
                {
                    "kind": "phd2",
                    "name": "observatory-main",
                    "settings": {"port": served.phd2_port},
                },
                {"kind": "starlink", "name": "roof-dish", "settings": {}},
                *(
                    {"kind": "phd2", "name": f"rig-{i:02}", "settings": {"port": 1}}
                    for i in range(12)
                ),
                *(
                    {
                        "kind": "tapo",
                        "name": f"plug-{i:02}",
                        "settings": {"device": {"host": "127.0.0.1", "port": 1}},
                    }
                    for i in range(14)
                ),
                {
                    "kind": "phd2",
                    "name": "a-rather-long-target-name-that-has-to-wrap-somewhere-nice",
                    "enabled": False,
                    "settings": {"port": 1},
                },
                *(
                    {
                        "kind": "chaos",
                        "name": f"line-{i}",
                        "settings": {
                            "control_login": f"line{i}@a",
                            "control_password": "x",
                            "api_url": "http://127.0.0.1:1",
                        },
                    }
                    for i in range(2)
                ),
            ]
            for body in bodies:
                assert api.post("/api/targets", json=body).status_code == 201
        yield served


def overflow(page) -> int:
    """Return how many pixels the page is wider than the window."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth"
    )


class TestEmptyState:
    """A new user is told what a target is and how to add one."""

    def test_empty_state_leads_to_a_form(self, empty, watched):
        """With no targets the page offers one card per kind, each opening its form."""
        page = watched.page
        page.goto(empty.url + "/")
        panel = page.locator("#empty")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("No targets yet")
        expect(page.locator("#summary")).to_have_text("0 targets")
        expect(panel.locator(".kind-card")).to_have_count(len(KINDS))
        shot(page, "empty-state")
        panel.get_by_role("link", name=re.compile("PHD2 autoguider")).click()
        expect(page).to_have_url(re.compile(r"/ui/add/phd2$"))
        expect(page.locator("h1")).to_have_text("New PHD2 autoguider target")

    def test_empty_state_narrow(self, empty, open_page):
        """The empty state fits a 380 px window."""
        page = open_page(width=NARROW, height=800).page
        page.goto(empty.url + "/")
        expect(page.locator("#empty")).to_be_visible()
        assert overflow(page) <= 0
        shot(page, "empty-state-narrow")


class TestManyRows:
    """Thirty targets, most failing, stay readable and filterable."""

    def test_many_rows_with_errors(self, crowded, watched):
        """Every target is listed by kind with its state and last error."""
        page = watched.page
        page.goto(crowded.url + "/")
        expect(page.locator("#summary")).to_contain_text("31 targets")
        expect(page.locator("tr.target")).to_have_count(31)
        failing = page.locator('tr.target[data-name="rig-00"]')
        expect(failing.locator('[data-f="error_kind"]')).not_to_be_empty()
        expect(failing.locator('[data-f="pill"]')).to_have_text(
            re.compile("Down|Connecting")
        )
        expect(
            page.locator('tr.target[data-name="observatory-main"] [data-f="pill"]')
        ).to_have_text("Up")
        expect(page.locator("#summary")).to_contain_text("1 disabled")
        shot(page, "list-many-rows")
        page.select_option("#f-kind", "tapo")
        expect(page.locator("tr.target:visible")).to_have_count(14)
        page.select_option("#f-kind", "")
        page.select_option("#f-state", "down")
        expect(
            page.locator('tr.target:visible[data-name="observatory-main"]')
        ).to_have_count(0)
        shot(page, "list-filter-down")

    def test_narrow_window(self, crowded, open_page):
        """At 380 px the list becomes cards and no page scrolls sideways."""
        page = open_page(width=NARROW, height=800).page
        page.goto(crowded.url + "/")
        expect(page.locator("tr.target")).to_have_count(31)
        assert overflow(page) <= 0
        row = page.locator('tr.target[data-name="rig-00"]')
        assert row.bounding_box()["width"] <= NARROW
        shot(page, "list-narrow")
        page.goto(crowded.url + "/ui/targets/phd2/observatory-main")
        expect(page.locator('#target [data-f="pill"]')).to_have_text("Up")
        assert overflow(page) <= 0
        shot(page, "target-narrow")
        page.goto(crowded.url + "/ui/add/starlink")
        expect(page.locator('[name="settings.config.mode"]')).to_be_visible()
        assert overflow(page) <= 0
        shot(page, "form-narrow")
