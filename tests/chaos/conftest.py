"""Fixtures of the fault matrix: the loopback resolver and the ``chaos_full`` marker.

``make chaos`` runs the whole matrix (``EXPORTERHUB_CHAOS=full``); ``make test``
runs the rows marked short. The resolver is installed for every test here and
each test ends by checking that no lookup would have left the machine.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from .resolver import RESOLVER


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos_full: a fault-matrix row run only by make chaos"
    )


@pytest.fixture(autouse=True)
def loopback_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Resolve through ``RESOLVER``; fail the test if a lookup would have left."""
    RESOLVER.reset()
    monkeypatch.setattr(socket, "getaddrinfo", RESOLVER.getaddrinfo)
    yield
    assert not RESOLVER.leaks, (
        f"lookups that would have left loopback: {RESOLVER.leaks}"
    )
