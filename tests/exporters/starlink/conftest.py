"""Fixtures shared by the Starlink live-mode tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import starlink_grpc
from yagrc import reflector


@pytest.fixture(autouse=True)
def fresh_client_library(monkeypatch) -> Iterator[None]:
    """Each test resolves the schema anew and gets the library timeouts back."""
    monkeypatch.setattr(starlink_grpc, "REQUEST_TIMEOUT", starlink_grpc.REQUEST_TIMEOUT)
    monkeypatch.setattr(reflector, "QUERY_TIMEOUT", reflector.QUERY_TIMEOUT)
    starlink_grpc.imports_pending = True
    yield
    starlink_grpc.imports_pending = True
