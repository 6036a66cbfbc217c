"""Forms generated from each kind's settings schema, in a real browser.

Field errors from the API are shown next to their field, in words; nested objects,
lists of objects and of values, nullable groups and write-only secrets round-trip
through the REST API; a stale revision is caught and explained.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from .conftest import shot


class TestFieldErrors:
    """What the API refuses is explained next to the field that caused it."""

    def test_port_out_of_range_is_shown_next_to_the_port(self, hub, api, watched):
        """Port 70000 gets the API's message under the port field; nothing is added."""
        watched.allow("status of 400")
        page = watched.page
        page.goto(hub.url + "/ui/add/phd2")
        page.fill("#f-name", "bad-port")
        page.fill('[name="settings.port"]', "70000")
        page.click("#save")
        field = page.locator('.field[data-path="settings.port"]')
        expect(field.locator(".field-error")).to_have_text("Must be at most 65535.")
        expect(field.locator("input")).to_have_attribute("aria-invalid", "true")
        summary = page.locator("#form-error")
        expect(summary).to_contain_text("One field needs attention; nothing was saved.")
        expect(summary).to_contain_text("Port: Must be at most 65535.")
        shot(page, "form-field-error")
        assert api.get("/api/targets/phd2/bad-port").status_code == 404
        page.fill('[name="settings.port"]', "4400")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/ui/targets/phd2/bad-port$"))

    def test_missing_name_and_nested_required_field(self, hub, watched):
        """An empty name, then an empty plug host, are each pointed at in words."""
        watched.allow("status of 400")
        page = watched.page
        page.goto(hub.url + "/ui/add/tapo")
        page.click("#save")
        name = page.locator('.field[data-path="name"] .field-error')
        expect(name).to_have_text("Must not be empty.")
        page.fill("#f-name", "plug-without-host")
        page.click("#save")
        expect(name).to_be_hidden()
        host = page.locator('.field[data-path="settings.device.host"] .field-error')
        expect(host).to_have_text("Must not be empty.")
        device = page.locator("details.group:has(> summary:text-is('Device'))")
        expect(device).to_have_attribute("open", "")


class TestSchemaFeatures:
    """Nested objects, lists, nullable groups and secrets map to the API body."""

    def test_starlink_waypoints_and_weather(self, hub, api, watched):
        """A list of objects gets rows; a nullable group a switch; both are sent."""
        watched.allow("status of 400")
        page = watched.page
        page.goto(hub.url + "/ui/add/starlink")
        page.fill("#f-name", "boat")
        route = page.locator("details.group:has(> summary:text-is('Route'))")
        route.locator("> summary").click()
        expect(
            page.locator('[name="settings.config.route.waypoints.0.latitude"]')
        ).to_have_value("40.7128")
        route.get_by_role("button", name="Add waypoint").click()
        rows = route.locator(".item")
        expect(rows).to_have_count(3)
        expect(rows.nth(2)).to_contain_text("Waypoint 3")
        rows.nth(2).locator('[name$=".latitude"]').fill("100")
        rows.nth(2).locator('[name$=".longitude"]').fill("10")
        weather = page.locator("details.group:has(> summary:text-is('Weather'))")
        weather.locator("> summary").click()
        weather.get_by_label("Set weather").check()
        weather.locator('[name="settings.config.weather.condition"]').select_option(
            "rain"
        )
        page.click("#save")
        third = "settings.config.route.waypoints.2.latitude"
        bad = page.locator(f'.field[data-path="{third}"] .field-error')
        expect(bad).to_have_text("Must be at most 90.")
        shot(page, "form-nested-error")
        rows.nth(0).get_by_role("button", name="Remove").click()
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("Waypoint 2")
        rows.nth(1).locator('[name$=".latitude"]').fill("50.5")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/ui/targets/starlink/boat$"))
        config = api.get("/api/targets/starlink/boat").json()["settings"]["config"]
        assert [w["latitude"] for w in config["route"]["waypoints"]] == [41.2, 50.5]
        assert config["weather"]["condition"] == "rain"
        assert config["scenario"] is None

    def test_list_of_values(self, hub, api, watched):
        """A list of strings gets one input per value, added and removed."""
        page = watched.page
        page.goto(hub.url + "/ui/add/chaos")
        page.fill("#f-name", "rates")
        page.fill('[name="settings.control_login"]', "someone@a")
        page.fill('[name="settings.control_password"]', "pw")
        page.fill('[name="settings.api_url"]', "http://127.0.0.1:1")
        field = page.locator(".field", has_text="Ratecard rates").last
        field.get_by_role("button", name="Add value").click()
        field.get_by_role("button", name="Add value").click()
        inputs = field.locator("input")
        inputs.nth(0).fill("UK")
        inputs.nth(1).fill("Mobile")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/ui/targets/chaos/rates$"))
        answer = api.get("/api/targets/chaos/rates").json()
        assert answer["settings"]["ratecard_rates"] == ["UK", "Mobile"]
        assert answer["secrets"]["control_password"] is True

    def test_secrets_are_write_only(self, hub, api, watched):
        """A set secret shows as set, is left out of the PUT when blank, and kept."""
        created = api.post(
            "/api/targets",
            json={
                "kind": "tapo",
                "name": "socket",
                "settings": {
                    "device": {"host": "127.0.0.1", "port": 1},
                    "username": "u@example.com",
                    "password": "hunter2",
                },
            },
        )
        assert created.status_code == 201
        page = watched.page
        page.goto(hub.url + "/ui/targets/tapo/socket")
        expect(page.locator("table.settings")).to_contain_text("password")
        assert "hunter2" not in page.content()
        page.goto(hub.url + "/ui/edit/tapo/socket")
        password = page.locator('[name="settings.password"]')
        expect(password).to_have_attribute("placeholder", "set — leave blank to keep")
        expect(password).to_have_value("")
        assert "hunter2" not in page.content()
        shot(page, "form-edit-secrets")
        page.fill('[name="settings.refresh_interval"]', "60")
        with page.expect_request(lambda r: r.method == "PUT") as put:
            page.click("#save")
        body = json.loads(put.value.post_data)
        assert "password" not in body["settings"]
        assert "username" not in body["settings"]
        expect(page).to_have_url(re.compile(r"/ui/targets/tapo/socket$"))
        answer = api.get("/api/targets/tapo/socket").json()
        assert answer["secrets"] == {"password": True, "username": True}
        assert answer["settings"]["refresh_interval"] == 60


class TestStaleRevision:
    """A form opened before someone else saved does not overwrite their change."""

    def test_changed_meanwhile_offers_a_reload(self, hub, api, watched):
        """Saving a stale form shows 'changed meanwhile'; reloading fixes it."""
        watched.allow("status of 409")
        created = api.post(
            "/api/targets",
            json={"kind": "phd2", "name": "contested", "settings": {"port": 1}},
        )
        assert created.status_code == 201
        page = watched.page
        page.goto(hub.url + "/ui/edit/phd2/contested")
        changed = api.patch(
            "/api/targets/phd2/contested", json={"settings": {"rms_samples": 50}}
        )
        assert changed.json()["revision"] == 2
        page.fill('[name="settings.rpc_timeout"]', "9")
        page.click("#save")
        stale = page.locator("#stale")
        expect(stale).to_be_visible()
        expect(stale).to_contain_text("Changed meanwhile")
        shot(page, "form-stale-revision")
        assert api.get("/api/targets/phd2/contested").json()["revision"] == 2
        stale.get_by_role("button", name="Reload the form").click()
        expect(page.locator('[name="settings.rms_samples"]')).to_have_value("50")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/ui/targets/phd2/contested$"))
        assert api.get("/api/targets/phd2/contested").json()["revision"] == 3
