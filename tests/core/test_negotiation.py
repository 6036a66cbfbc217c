"""Tests of content negotiation for /metrics (pure functions)."""

from __future__ import annotations

import pytest

from exporterhub.core.negotiation import (
    OPENMETRICS_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    accepts_gzip,
    negotiate,
)


class TestNegotiate:
    """The Accept header decides the format, by q-value, then by order."""

    @pytest.mark.parametrize(
        ("accept", "expected"),
        [
            pytest.param("", False, id="empty"),
            pytest.param("*/*", False, id="anything"),
            pytest.param("text/plain", False, id="text"),
            pytest.param("text/plain;version=0.0.4;q=1,*/*;q=0.1", False, id="text-q"),
            pytest.param("application/openmetrics-text", True, id="bare"),
            pytest.param(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                True,
                id="full",
            ),
            pytest.param("Application/OpenMetrics-Text", True, id="case-insensitive"),
            pytest.param(
                "text/plain;q=0.5, application/openmetrics-text;q=0.9",
                True,
                id="second",
            ),
            pytest.param("application/openmetrics-text;q=0.5", True, id="q-half"),
            pytest.param("application/openmetrics-text;q=0", False, id="q-zero"),
            pytest.param(
                "application/openmetrics-text; q=0.0", False, id="q-zero-zero"
            ),
            pytest.param(
                "application/openmetrics-text;version=1.0.0;q=0,text/plain",
                False,
                id="q-zero-then-text",
            ),
            pytest.param(
                "application/openmetrics-text;q=0.00",
                False,
                id="q-zero-two-decimals",
            ),
            pytest.param("application/json", False, id="other"),
            pytest.param(
                "application/openmetrics-text;q=0.1, text/plain;q=1.0",
                False,
                id="relative-q-text-wins",
            ),
            pytest.param(
                "text/plain;q=0.2, application/openmetrics-text;q=0.3",
                True,
                id="relative-q-openmetrics-wins",
            ),
            pytest.param(
                "application/openmetrics-text;version=2.0.0, text/plain;q=0.1",
                False,
                id="unknown-version",
            ),
            pytest.param(
                "application/openmetrics-text;version=0.0.1", True, id="version-0.0.1"
            ),
            pytest.param(
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;"
                "q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4",
                True,
                id="prometheus-3",
            ),
            pytest.param(
                "application/openmetrics-text;q=abc, text/plain",
                False,
                id="malformed-q-ignored",
            ),
            pytest.param(
                "application/openmetrics-text;q=2", False, id="q-out-of-range"
            ),
            pytest.param(
                "text/plain, application/openmetrics-text", False, id="tie-first-wins"
            ),
            pytest.param(
                "application/openmetrics-text, text/plain", True, id="tie-order"
            ),
        ],
    )
    def test_cases(self, accept, expected):
        """OpenMetrics only when it is the best supported offer with weight > 0."""
        assert negotiate(accept).openmetrics is expected

    @pytest.mark.parametrize(
        ("accept", "content_type"),
        [
            pytest.param("", TEXT_CONTENT_TYPE, id="default-text"),
            pytest.param("text/plain;version=1.0.0", TEXT_CONTENT_TYPE, id="text-1"),
            pytest.param(
                "application/openmetrics-text", OPENMETRICS_CONTENT_TYPE, id="om-1"
            ),
            pytest.param(
                "application/openmetrics-text;version=0.0.1",
                "application/openmetrics-text; version=0.0.1; charset=utf-8",
                id="om-0.0.1",
            ),
        ],
    )
    def test_content_type_names_the_version(self, accept, content_type):
        """The answer's Content-Type names the version that was asked for."""
        assert negotiate(accept).content_type == content_type


class TestAcceptsGzip:
    """gzip is used when Accept-Encoding admits it with weight above zero."""

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            pytest.param("", False, id="empty"),
            pytest.param("gzip", True, id="gzip"),
            pytest.param("GZIP;q=0.5", True, id="case-and-q"),
            pytest.param("x-gzip", True, id="x-gzip"),
            pytest.param("gzip;q=0", False, id="refused"),
            pytest.param("br, deflate", False, id="others"),
            pytest.param("*", True, id="wildcard"),
            pytest.param("*;q=0", False, id="wildcard-refused"),
            pytest.param("gzip;q=0, *", False, id="explicit-refusal-beats-wildcard"),
        ],
    )
    def test_cases(self, header, expected):
        """Each header gives the expected decision."""
        assert accepts_gzip(header) is expected
