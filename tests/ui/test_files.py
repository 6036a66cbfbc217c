"""Export to a file and import it back, through the targets page."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from .conftest import shot


class TestRoundTrip:
    """An export file imports back: a dry-run report first, then the import."""

    def test_export_then_import_brings_a_target_back(self, hub, api, watched, tmp_path):
        """The downloaded export, imported after a delete, restores the target."""
        created = api.post(
            "/api/targets",
            json={
                "kind": "phd2",
                "name": "round-trip",
                "settings": {"port": hub.phd2_port, "rms_samples": 42},
            },
        )
        assert created.status_code == 201
        page = watched.page
        page.goto(hub.url + "/")
        with page.expect_download() as download:
            page.get_by_role("link", name="Export", exact=True).click()
        saved = tmp_path / "export.json"
        download.value.save_as(saved)
        document = json.loads(saved.read_text())
        names = [t["name"] for t in document["targets"]]
        assert "round-trip" in names
        assert api.delete("/api/targets/phd2/round-trip").status_code == 204
        row = page.locator('tr.target[data-name="round-trip"]')
        expect(row).to_have_count(0)

        page.set_input_files("#import-file", str(saved))
        dialog = page.locator("#import-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Nothing is imported until you confirm.")
        expect(dialog).to_contain_text("Would add 1 target:")
        expect(dialog).to_contain_text("phd2/round-trip")
        shot(page, "import-dry-run")
        assert api.get("/api/targets/phd2/round-trip").status_code == 404
        dialog.get_by_role("button", name="Import 1 target").click()
        expect(dialog).to_contain_text("Imported 1 target.")
        shot(page, "import-done")
        dialog.get_by_role("button", name="Close").click()
        expect(row).to_have_count(1)
        answer = api.get("/api/targets/phd2/round-trip").json()
        assert answer["settings"]["rms_samples"] == 42

    def test_a_file_that_is_not_json_is_explained(self, hub, watched, tmp_path):
        """Picking a file that is not JSON says so; nothing is sent."""
        junk = tmp_path / "notes.json"
        junk.write_text("this is not json")
        page = watched.page
        page.goto(hub.url + "/")
        page.set_input_files("#import-file", str(junk))
        dialog = page.locator("#import-dialog")
        expect(dialog).to_contain_text("notes.json is not a JSON export file")
        expect(dialog.get_by_role("button", name="Import")).to_be_hidden()

    def test_invalid_entries_are_listed_and_skipped(self, hub, watched, tmp_path):
        """Entries that do not validate are listed with their field and reason."""
        watched.allow("status of 400")
        document = {
            "targets": [
                {"kind": "phd2", "name": "fine-one", "settings": {"port": 1}},
                {"kind": "phd2", "name": "broken", "settings": {"port": 99999}},
            ]
        }
        path = tmp_path / "mixed.json"
        path.write_text(json.dumps(document))
        page = watched.page
        page.goto(hub.url + "/")
        page.set_input_files("#import-file", str(path))
        dialog = page.locator("#import-dialog")
        expect(dialog).to_contain_text("Invalid, not imported (1):")
        expect(dialog).to_contain_text("#2 phd2/broken: settings.port:")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(page.locator('tr.target[data-name="fine-one"]')).to_have_count(0)
