"""The targets page and a target's page in a real browser against a real hub.

A PHD2 target is added through the generated form, pointed at a running
phd2-simulator, and watched until it is up; then edited, disabled and deleted
through the pages, each step checked through the REST API and ``/metrics`` too.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import eventually, shot
from .served import running_settings


def add(api, name: str, port: int, **settings) -> dict:
    """Add a PHD2 target through the API; return its answer."""
    answer = api.post(
        "/api/targets",
        json={"kind": "phd2", "name": name, "settings": {"port": port, **settings}},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def series_of(api, name: str) -> bool:
    """Say whether /metrics has series of the PHD2 target ``name``."""
    return f'target="{name}"' in api.get("/metrics").text


class TestLifecycle:
    """Add, watch, edit, disable and delete a target through the pages."""

    def test_add_through_the_form_and_watch_it_come_up(self, hub, api, watched):
        """The form adds a target; its page shows it up against the simulator."""
        page = watched.page
        page.goto(hub.url + "/")
        page.get_by_role("link", name="Add target").click()
        expect(page).to_have_url(re.compile(r"/ui/add$"))
        page.locator("main .kind-card", has_text="PHD2 autoguider").click()
        expect(page).to_have_url(re.compile(r"/ui/add/phd2$"))
        page.fill("#f-name", "rig")
        page.fill('[name="settings.host"]', "127.0.0.1")
        page.fill('[name="settings.port"]', str(hub.phd2_port))
        shot(page, "form-add-phd2")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/ui/targets/phd2/rig$"))
        expect(page.locator("#toast")).to_contain_text("Added rig")
        expect(page.locator('#target [data-f="pill"]')).to_have_text("Up")
        expect(page.locator('#target [data-f="link"]')).to_have_text("connected")
        expect(page.locator('#values tr[data-family="phd2_up"] td.num')).to_have_text(
            "1"
        )
        shot(page, "target-up")
        answer = api.get("/api/targets/phd2/rig").json()
        assert (answer["up"], answer["revision"], answer["source"]) == (
            True,
            1,
            "store",
        )

    def test_edit_changes_the_running_settings(self, hub, api, watched):
        """Saving the edit form bumps the revision and restarts with the values."""
        add(api, "edited", hub.phd2_port)
        page = watched.page
        page.goto(hub.url + "/ui/targets/phd2/edited")
        page.click('#target [data-f="edit"]')
        expect(page).to_have_url(re.compile(r"/ui/edit/phd2/edited$"))
        field = page.locator('[name="settings.rms_samples"]')
        expect(field).to_have_value("10")
        field.fill("25")
        shot(page, "form-edit-phd2")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/ui/targets/phd2/edited$"))
        expect(page.locator("#toast")).to_contain_text("Saved edited")
        answer = api.get("/api/targets/phd2/edited").json()
        assert answer["revision"] == 2
        assert answer["settings"]["rms_samples"] == 25
        eventually(
            lambda: (
                getattr(running_settings(hub, "phd2", "edited"), "rms_samples", 0) == 25
            ),
            what="the target runs with rms_samples 25",
        )
        expect(page.locator('#target [data-f="revision"]')).to_have_text("2")
        expect(page.locator('#target [data-f="pill"]')).to_have_text("Up")

    def test_disable_and_enable_from_the_list(self, hub, api, watched):
        """Disable stops the target (its series leave /metrics); enable restarts it."""
        add(api, "toggled", hub.phd2_port)
        page = watched.page
        page.goto(hub.url + "/")
        row = page.locator('tr.target[data-name="toggled"]')
        expect(row.locator('[data-f="pill"]')).to_have_text("Up")
        row.get_by_role("button", name="Disable").click()
        expect(row.locator('[data-f="pill"]')).to_have_text("Disabled")
        expect(row.locator('[data-f="link"]')).to_have_text("not running")
        expect(page.locator("#toast")).to_contain_text("Disabled toggled")
        eventually(lambda: not series_of(api, "toggled"), what="series leave /metrics")
        assert api.get("/api/targets/phd2/toggled").json()["enabled"] is False
        page.select_option("#f-state", "disabled")
        expect(page.locator("tr.target:visible")).to_have_count(1)
        shot(page, "list-filtered-disabled")
        page.select_option("#f-state", "")
        row.get_by_role("button", name="Enable").click()
        expect(row.locator('[data-f="pill"]')).to_have_text("Up")
        eventually(lambda: series_of(api, "toggled"), what="series back in /metrics")

    def test_delete_asks_first(self, hub, api, watched):
        """Delete opens a confirmation; cancel keeps the target, confirm removes it."""
        add(api, "doomed", hub.phd2_port)
        page = watched.page
        page.goto(hub.url + "/")
        row = page.locator('tr.target[data-name="doomed"]')
        dialog = page.locator("#confirm")
        row.get_by_role("button", name="Delete").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Delete doomed?")
        shot(page, "delete-confirm")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(row).to_have_count(1)
        assert api.get("/api/targets/phd2/doomed").status_code == 200
        row.get_by_role("button", name="Delete").click()
        dialog.get_by_role("button", name="Delete").click()
        expect(row).to_have_count(0)
        assert api.get("/api/targets/phd2/doomed").status_code == 404
        eventually(lambda: not series_of(api, "doomed"), what="series leave /metrics")

    def test_delete_from_the_target_page_returns_to_the_list(self, hub, api, watched):
        """Deleting on a target's page leads back to the list, which says so."""
        add(api, "gone-soon", hub.phd2_port)
        page = watched.page
        page.goto(hub.url + "/ui/targets/phd2/gone-soon")
        page.get_by_role("button", name="Delete").click()
        page.locator("#confirm").get_by_role("button", name="Delete").click()
        expect(page).to_have_url(hub.url + "/")
        expect(page.locator("#toast")).to_contain_text("Deleted gone-soon")
        expect(page.locator('tr.target[data-name="gone-soon"]')).to_have_count(0)


class TestLive:
    """The pages follow changes without a reload."""

    def test_rows_come_and_go_without_reload(self, hub, api, watched):
        """A target added or deleted elsewhere appears and disappears by itself."""
        page = watched.page
        page.goto(hub.url + "/")
        marker = page.evaluate("() => (window.__marker = 1)")
        add(api, "elsewhere", 1)  # nothing listens on port 1: it stays down
        row = page.locator('tr.target[data-name="elsewhere"]')
        expect(row).to_have_count(1)
        expect(row.locator('[data-f="pill"]')).to_have_text(
            re.compile("Down|Connecting")
        )
        api.delete("/api/targets/phd2/elsewhere")
        expect(row).to_have_count(0)
        assert page.evaluate("() => window.__marker") == marker  # never reloaded

    def test_ages_tick_and_search_filters(self, hub, api, watched):
        """'Last success' counts up by itself; the search box hides other names."""
        add(api, "ticking", hub.phd2_port)
        page = watched.page
        page.goto(hub.url + "/")
        age = page.locator('tr.target[data-name="ticking"] [data-f="ago"]')
        expect(age).to_have_text(re.compile(r"\d+ s ago|just now"))
        page.fill("#q", "tick")
        expect(page.locator("tr.target:visible")).to_have_count(1)
        expect(page).to_have_url(re.compile(r"\?q=tick$"))
        page.fill("#q", "no-such-name")
        expect(page.locator("#nomatch")).to_be_visible()
        page.click("#clear-filters")
        expect(page.locator("#nomatch")).to_be_hidden()

    @pytest.mark.timeout(120)
    def test_target_page_charts_key_metrics(self, hub, api, watched):
        """The chart draws the key metrics' recent values as lines (inline SVG)."""
        add(api, "charted", hub.phd2_port)
        page = watched.page
        page.goto(hub.url + "/ui/targets/phd2/charted")
        line = page.locator('figure[data-family="phd2_guide_step_snr"] svg path.line')
        expect(line).to_have_count(1, timeout=60_000)
        assert line.get_attribute("d").startswith("M")
        figure = page.locator('figure[data-family="phd2_guide_step_snr"]')
        readout = figure.locator('[data-f="latest"]')
        expect(readout).to_contain_text("now ")
        for _ in range(3):  # the chart is redrawn every few seconds: point again
            box = figure.locator("svg").bounding_box()
            page.mouse.move(box["x"] + box["width"] - 12, box["y"] + 40)
            if re.search(r"\d:\d\d", readout.text_content() or ""):
                break
        assert re.search(r"\d:\d\d", readout.text_content() or "")
        shot(page, "target-chart")
        history = api.get("/ui/api/history/phd2/charted").json()
        (snr,) = (m for m in history["metrics"] if m["family"].endswith("_snr"))
        assert any(v is not None for v in snr["series"][0]["values"])
