"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, real hubs.

The browser is the system's ``chromium`` (Playwright's own download is not
available): a missing browser fails with the install hint, never skips. Every
page a test opens records its console errors and native dialogs; a test ends
with none unless it allowed the ones it provoked (a 400 from a bad form).
Screenshots go to ``test-artifacts/screenshots/`` and survive the run.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from exporterhub.exporters.phd2.plugin import to_target
from exporterhub.exporters.phd2.settings import Phd2TargetSettings

from .served import ServedHub

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000
"""Longest wait for something the page shows (a target coming up, a row)."""


def chromium_path() -> str:
    """Return Debian's Chromium, or fail with how to install it."""
    for candidate in (
        os.environ.get("EXPORTERHUB_CHROMIUM", ""),
        "/usr/bin/chromium",
        shutil.which("chromium") or "",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium is missing: apt-get install chromium (scripts/system-deps.sh "
        "installs it when run as root)",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium for this module's tests."""
    path = chromium_path()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page, what its console said and which native dialogs it opened."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, fragment: str) -> None:
        """Accept console errors containing ``fragment`` (ones the test provokes)."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        """Return the console errors no test allowed."""
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


def _watch(page: Page) -> Watched:
    watched = Watched(page)

    def on_console(message) -> None:
        if message.type in ("error", "warning"):
            watched.errors.append(f"{message.type}: {message.text} @ {page.url}")

    def on_dialog(dialog) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"pageerror: {exc}"))
    page.on("dialog", on_dialog)
    page.set_default_timeout(WAIT_MS)
    return watched


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Watched]]:
    """Open fresh pages (own context: no shared storage); check them at the end."""
    opened: list[Watched] = []
    contexts = []

    def open_(width: int = 1280, height: int = 900) -> Watched:
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        contexts.append(context)
        watched = _watch(context.new_page())
        opened.append(watched)
        return watched

    yield open_
    for context in contexts:
        context.close()
    for watched in opened:
        assert watched.dialogs == [], "a native dialog opened (alert, confirm …)"
        assert watched.unexpected() == [], "the console reported errors"


@pytest.fixture
def watched(open_page) -> Watched:
    """One fresh desktop-sized page."""
    return open_page()


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact; return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def eventually(
    condition: Callable[[], bool], within: float = 20.0, what: str = "condition"
) -> None:
    """Poll ``condition`` (an HTTP check) until it holds, at most ``within`` s."""
    deadline = time.monotonic() + within
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {within} s")
        pause.wait(0.05)


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[ServedHub]:
    """A hub with a store (editable targets) and a PHD2 simulator."""
    with ServedHub(tmp_path_factory.mktemp("store")) as served:
        yield served


@pytest.fixture(scope="module")
def api(hub: ServedHub) -> Iterator[httpx.Client]:
    """An HTTP client on the hub's listener."""
    with httpx.Client(base_url=hub.url, timeout=10) as client:
        yield client


def file_phd2(port: int) -> list:
    """One PHD2 target as if read from the configuration file."""
    return [to_target(Phd2TargetSettings(name="from-file", port=port))]
