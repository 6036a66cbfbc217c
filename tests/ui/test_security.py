"""The UI's defences, proven in the browser: escaping, CSP, no cookies, banners.

Names are shown as text whatever they hold; every UI answer carries a restrictive
Content-Security-Policy; no page sets a cookie and writes are JSON only, so a
page elsewhere cannot make the browser change targets; a listener that accepts
changes from other machines without credentials says so on every page; without a
store the UI explains why nothing can be changed.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import file_phd2, shot
from .served import ServedHub

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SCRIPT_NAME = "<script>alert(1)</script>"
ODD_NAME = 'a/b "c" <i>it</i> 100%?#x'


def _path(kind: str, name: str) -> str:
    return f"{kind}/{quote(name, safe='')}"


class TestEscaping:
    """Names are text: markup in them is shown, never run."""

    def test_script_name_is_shown_as_text(self, hub, api, watched):
        """A target named <script>alert(1)</script> is added, listed and shown as
        text on every page, and no dialog ever opens."""
        page = watched.page
        page.goto(hub.url + "/ui/add/phd2")
        page.fill("#f-name", SCRIPT_NAME)
        page.fill('[name="settings.port"]', "1")
        page.click("#save")
        expect(page.locator("h1.name")).to_have_text(SCRIPT_NAME)
        assert page.locator("script").count() == 1  # app.js, nothing injected
        page.goto(hub.url + "/")
        row = page.locator("tr.target", has_text=SCRIPT_NAME)
        expect(row.locator('[data-f="name"]')).to_have_text(SCRIPT_NAME)
        shot(page, "xss-name-as-text")
        row.get_by_role("link", name=SCRIPT_NAME).click()
        expect(page.locator("h1.name")).to_have_text(SCRIPT_NAME)
        page.get_by_role("link", name="Edit").click()
        expect(page.locator("#f-name")).to_have_value(SCRIPT_NAME)
        assert page.locator("script").count() == 2  # app.js and the form's JSON
        assert watched.dialogs == []
        assert api.get(f"/api/targets/{_path('phd2', SCRIPT_NAME)}").status_code == 200

    def test_name_with_slashes_quotes_and_markup(self, hub, api, watched):
        """A name with /, quotes, markup, % and ? works in links, pages and deletes."""
        assert (
            api.post(
                "/api/targets", json={"kind": "phd2", "name": ODD_NAME, "settings": {}}
            ).status_code
            == 201
        )
        page = watched.page
        page.goto(hub.url + "/")
        page.get_by_role("link", name=ODD_NAME).click()
        expect(page.locator("h1.name")).to_have_text(ODD_NAME)
        assert page.locator("main i").count() == 0
        page.get_by_role("button", name="Delete").click()
        page.locator("#confirm").get_by_role("button", name="Delete").click()
        expect(page).to_have_url(hub.url + "/")
        assert api.get(f"/api/targets/{_path('phd2', ODD_NAME)}").status_code == 404


class TestHeaders:
    """Every UI answer is locked down; nothing sets a cookie."""

    def test_every_page_has_the_policy_and_no_console_errors(self, hub, api, watched):
        """Pages, files and UI JSON carry CSP, nosniff and no-referrer; no cookies."""
        watched.allow("status of 404")  # the last page is the not-found page
        assert (
            api.post(
                "/api/targets", json={"kind": "phd2", "name": "headers", "settings": {}}
            ).status_code
            == 201
        )
        page = watched.page
        urls = [
            "/",
            "/ui/add",
            "/ui/add/phd2",
            "/ui/targets/phd2/headers",
            "/ui/edit/phd2/headers",
            "/ui/static/app.css",
            "/ui/static/app.js",
            "/ui/api/values/phd2/headers",
            "/ui/api/history/phd2/headers",
            "/ui/targets/phd2/no-such-target",
        ]
        for url in urls:
            response = page.goto(hub.url + url)
            assert response is not None
            headers = response.headers
            assert headers["content-security-policy"] == CSP, url
            assert headers["x-content-type-options"] == "nosniff", url
            assert headers["referrer-policy"] == "no-referrer", url
            assert "set-cookie" not in headers, url
        expect(page.locator("h1")).to_have_text("Not found")
        assert page.context.cookies() == []

    def test_inline_script_is_refused_by_the_policy(self, hub, watched):
        """Even markup that got in could not run: the CSP blocks inline scripts."""
        watched.allow("Content Security Policy")
        page = watched.page
        page.goto(hub.url + "/")
        page.evaluate(
            """() => { const s = document.createElement('script');
            s.textContent = 'window.__ran = true'; document.body.append(s); }"""
        )
        assert page.evaluate("() => window.__ran === true") is False

    @pytest.mark.parametrize(
        ("headers", "status"),
        [
            pytest.param(
                {"Origin": "http://evil.example", "Content-Type": "application/json"},
                403,
                id="cross-site-origin",
            ),
            pytest.param({"Content-Type": "text/plain"}, 415, id="simple-text"),
            pytest.param(
                {"Content-Type": "application/x-www-form-urlencoded"}, 415, id="form"
            ),
        ],
    )
    def test_writes_a_page_elsewhere_could_send_are_refused(self, api, headers, status):
        """A cross-site or non-JSON write is refused before it reaches the store."""
        answer = api.post(
            "/api/targets",
            content=b'{"kind": "phd2", "name": "csrf", "settings": {}}',
            headers=headers,
        )
        assert answer.status_code == status
        assert api.get("/api/targets/phd2/csrf").status_code == 404


class TestBanners:
    """Danger and limits are said on the page, not only in logs."""

    def test_no_banner_on_loopback(self, hub, watched):
        """A loopback listener shows neither the exposure nor the read-only banner."""
        page = watched.page
        page.goto(hub.url + "/")
        expect(page.locator("#exposed-banner")).to_have_count(0)
        expect(page.locator("#readonly-banner")).to_have_count(0)

    def test_exposed_listener_shows_a_warning(self, tmp_path, watched):
        """A listener that accepts changes without credentials is flagged."""
        with ServedHub(tmp_path, exposed=True) as exposed:
            page = watched.page
            page.goto(exposed.url + "/")
            banner = page.locator("#exposed-banner")
            expect(banner).to_be_visible()
            expect(banner).to_contain_text("Anyone on your network can change targets")
            expect(banner).to_contain_text("basic_auth_users")
            shot(page, "banner-exposed")
            page.goto(exposed.url + "/ui/add/phd2")
            expect(banner).to_be_visible()

    def test_without_a_store_everything_is_read_only(self, watched):
        """No store: a banner says why; file targets show no edit controls."""
        with ServedHub(None, file_targets=file_phd2) as readonly:
            page = watched.page
            page.goto(readonly.url + "/")
            expect(page.locator("#readonly-banner")).to_contain_text("Read-only")
            expect(page.get_by_role("link", name="Add target")).to_have_count(0)
            expect(page.locator("#import")).to_have_count(0)
            row = page.locator('tr.target[data-name="from-file"]')
            expect(row.locator('[data-f="source"]')).to_have_text("file")
            expect(row.locator('[data-f="pill"]')).to_have_text("Up")
            expect(row.get_by_role("button", name="Delete")).to_be_hidden()
            shot(page, "readonly-list")
            page.get_by_role("button", name="Reload config").click()
            expect(page.locator("#toast")).to_contain_text("Configuration reloaded")
            row.get_by_role("link", name="from-file").click()
            expect(page.locator("main")).to_contain_text(
                "Defined in the configuration file"
            )
            expect(page.get_by_role("button", name="Delete")).to_be_hidden()
            page.goto(readonly.url + "/ui/add")
            expect(page.locator("main")).to_contain_text("cannot be added here")
            page.goto(readonly.url + "/ui/edit/phd2/from-file")
            expect(page.locator("main")).to_contain_text("cannot be changed here")
            expect(page.locator("#target-form")).to_have_count(0)
            assert re.search(r"no target store", page.content())


class TestBasicAuth:
    """With users configured, the browser's credentials work and cross-site
    writes stay refused even though the browser would send them by itself."""

    def test_pages_and_writes_with_credentials(self, tmp_path, browser):
        """Logged in, a target is added through the form; secrets can be exported."""
        with ServedHub(tmp_path, users={"admin": "s3cret"}) as guarded:
            assert httpx.get(guarded.url + "/").status_code == 401
            context = browser.new_context(
                http_credentials={"username": "admin", "password": "s3cret"}
            )
            try:
                page = context.new_page()
                page.goto(guarded.url + "/")
                expect(page.locator("#export-secrets")).to_be_visible()
                page.goto(guarded.url + "/ui/add/phd2")
                page.fill("#f-name", "behind-auth")
                page.fill('[name="settings.port"]', str(guarded.phd2_port))
                page.click("#save")
                expect(page.locator("h1.name")).to_have_text("behind-auth")
            finally:
                context.close()
            forged = httpx.post(
                guarded.url + "/api/targets",
                json={"kind": "phd2", "name": "forged", "settings": {}},
                headers={"Origin": "http://evil.example"},
                auth=("admin", "s3cret"),
            )
            assert forged.status_code == 403
