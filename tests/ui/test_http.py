"""The UI's answers over plain HTTP: static files, caching, gzip, JSON, not-found."""

from __future__ import annotations

import re

import pytest


def asset_urls(html: str) -> list[str]:
    """Return the fingerprinted stylesheet and script URLs a page links."""
    return re.findall(r"(/ui/static/app\.(?:css|js)\?v=[0-9a-f]{16})", html)


class TestStatic:
    """One stylesheet and one script, cached for good under their fingerprint."""

    def test_fingerprinted_files_are_immutable(self, api):
        """The URLs a page links are cacheable for a year and revalidate by ETag."""
        urls = asset_urls(api.get("/").text)
        assert len(urls) == 2
        for url in urls:
            answer = api.get(url, headers={"Accept-Encoding": "identity"})
            assert answer.status_code == 200
            assert (
                answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            )
            again = api.get(url, headers={"If-None-Match": answer.headers["etag"]})
            assert again.status_code == 304
            assert again.content == b""

    def test_other_urls_revalidate(self, api):
        """Without (or with an old) fingerprint a file must be revalidated."""
        answer = api.get("/ui/static/app.css?v=old")
        assert answer.headers["cache-control"] == "no-cache"
        assert answer.headers["content-type"] == "text/css; charset=utf-8"

    def test_gzip_when_accepted(self, api):
        """The script is sent gzipped to a client that takes gzip, plain otherwise."""
        plain = api.get("/ui/static/app.js", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        raw = api.get("/ui/static/app.js", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.content == plain.content  # httpx decodes; the bytes agree
        refused = api.get("/ui/static/app.js", headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers

    def test_unknown_file_is_404(self, api):
        """A name that is not one of the files is a JSON 404."""
        answer = api.get("/ui/static/nope.js")
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"


class TestPages:
    """Pages are HTML, never cached, compressed when it pays."""

    @pytest.mark.parametrize("path", ["/", "/ui/add", "/ui/add/phd2"])
    def test_pages_are_not_stored(self, api, path):
        """A page is fresh state: no-store."""
        answer = api.get(path)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["content-type"] == "text/html; charset=utf-8"

    def test_page_gzip(self, api):
        """The list page is gzipped when asked, and the same page."""
        answer = api.get("/", headers={"Accept-Encoding": "gzip"})
        assert answer.headers["content-encoding"] == "gzip"
        assert "<h1>Targets</h1>" in answer.text

    @pytest.mark.parametrize(
        ("path", "sentence"),
        [
            ("/ui/targets/phd2/nobody", "There is no target phd2/nobody (any more)."),
            ("/ui/edit/phd2/nobody", "There is no target phd2/nobody (any more)."),
            (
                "/ui/add/no-such-kind",
                "There is no exporter kind named &#39;no-such-kind&#39; (any more).",
            ),
            (
                "/ui/edit/no-such-kind/nobody",
                "There is no target no-such-kind/nobody (any more).",
            ),
        ],
    )
    def test_unknown_things_are_a_friendly_404(self, api, path, sentence):
        """Unknown targets and kinds get a page that leads back, with status 404."""
        answer = api.get(path)
        assert answer.status_code == 404
        assert "Not found" in answer.text
        assert sentence in answer.text
        assert '<a href="/">targets page</a>' in answer.text


class TestJson:
    """The target page's JSON: values and history, empty while not running."""

    def test_values_and_history_of_a_running_target(self, hub, api):
        """A running target's series are listed with words for people."""
        created = api.post(
            "/api/targets",
            json={"kind": "phd2", "name": "json", "settings": {"port": hub.phd2_port}},
        )
        assert created.status_code == 201
        rows = api.get("/ui/api/values/phd2/json").json()
        up = next(r for r in rows if r["family"] == "phd2_up")
        assert up["labels"] == ""  # identity labels are left out
        assert up["help"].startswith("1 when")
        history = api.get("/ui/api/history/phd2/json").json()
        assert history["interval"] == 5.0
        assert history["tracked"] is True
        assert {m["family"] for m in history["metrics"]} <= {
            "phd2_rms",
            "phd2_guide_step_snr",
        }

    def test_disabled_target_has_nothing_yet(self, api):
        """A known target that is not running answers empty, not 404."""
        created = api.post(
            "/api/targets",
            json={"kind": "phd2", "name": "asleep", "enabled": False, "settings": {}},
        )
        assert created.status_code == 201
        assert api.get("/ui/api/values/phd2/asleep").json() == []
        assert api.get("/ui/api/history/phd2/asleep").json()["times"] == []

    @pytest.mark.parametrize("what", ["values", "history"])
    def test_unknown_target_is_404(self, api, what):
        """An unknown target is a JSON 404 in the API's error shape."""
        answer = api.get(f"/ui/api/{what}/phd2/nobody")
        assert answer.status_code == 404
        assert set(answer.json()) == {"error", "detail", "fields"}
