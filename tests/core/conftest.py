"""Fixtures shared by the core tests."""

from __future__ import annotations

import os

import pytest

from exporterhub.core.testing import FakeClock

from .helpers import DemoPlugin


@pytest.fixture(autouse=True)
def _scrub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's EXPORTERHUB_*/PHD2_EXPORTER_* variables out of tests."""
    for key in list(os.environ):
        if key.upper().startswith(("EXPORTERHUB_", "PHD2_EXPORTER_")):
            monkeypatch.delenv(key)


@pytest.fixture
def clock() -> FakeClock:
    """Return a fake clock at a fixed wall time."""
    return FakeClock(start=1_700_000_000.0)


@pytest.fixture
def plugin() -> DemoPlugin:
    """Return a fresh demo plugin."""
    return DemoPlugin()
