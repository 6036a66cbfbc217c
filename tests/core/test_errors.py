"""Tests of the exception tree and the modules' doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

from exporterhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionLostError,
    ExporterError,
    ProtocolError,
)


class TestErrorTree:
    """Workers decide what to retry from the class, never from the message."""

    @pytest.mark.parametrize(
        ("cls", "retryable"),
        [
            pytest.param(ExporterError, True, id="base"),
            pytest.param(ConfigError, False, id="config"),
            pytest.param(ConnectionLostError, True, id="connection-lost"),
            pytest.param(ProtocolError, True, id="protocol"),
            pytest.param(AuthError, False, id="auth"),
        ],
    )
    def test_retryable(self, cls, retryable):
        """Each class says whether it may be retried in a loop."""
        assert cls.retryable is retryable
        assert cls("x").retryable is retryable

    @pytest.mark.parametrize(
        "cls",
        [
            pytest.param(ConfigError, id="config"),
            pytest.param(ConnectionLostError, id="connection-lost"),
            pytest.param(ProtocolError, id="protocol"),
            pytest.param(AuthError, id="auth"),
        ],
    )
    def test_all_derive_from_exporter_error(self, cls):
        """Every project error is an ExporterError and an Exception."""
        assert issubclass(cls, ExporterError)
        assert issubclass(cls, Exception)

    def test_message_kept(self):
        """The message is the exception's text."""
        assert str(ConfigError("a.yaml: web.port: bad")) == "a.yaml: web.port: bad"


@pytest.mark.parametrize(
    ("module", "minimum"),
    [
        pytest.param("exporterhub.core.snapshot", 2, id="snapshot"),
        pytest.param("exporterhub.core.metrics", 2, id="metrics"),
        pytest.param("exporterhub.core.negotiation", 3, id="negotiation"),
        pytest.param("exporterhub.core.api.errors", 2, id="api-errors"),
        pytest.param("exporterhub.core.server", 1, id="server"),
        pytest.param("exporterhub.core.config", 3, id="config"),
        pytest.param("exporterhub.core.testing", 3, id="testing"),
    ],
)
def test_doctests(module, minimum):
    """The module's doctest examples run and pass."""
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted >= minimum
    assert result.failed == 0
