"""CHAOS v2 answers fuzzed through classification, extraction, the fold and render.

Invariant: ``parse_answer`` never raises and returns an ``Answer`` holding a JSON
object or a ``Failure`` of a fixed type with a bounded, redacted detail; a
``Retry-After`` is a finite wait within the cap; the extractors never raise and
return typed lines; and the worker's own apply methods fold any payload into a
snapshot whose exposition parses.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Section
from exporterhub.core.plugin import TargetPublisher
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.chaos.collector import CHAOS_SPECS, PREFIX
from exporterhub.exporters.chaos.environ import ChaosExporterSettings, load_env_settings
from exporterhub.exporters.chaos.plugin import _Worker
from exporterhub.exporters.chaos.protocol import (
    Answer,
    ErrorType,
    Failure,
    login_services,
    parse_answer,
    ratecard,
    retry_after_seconds,
    service_choices,
    services_list,
)
from exporterhub.exporters.chaos.settings import ChaosTargetSettings

from .strategies import (
    DEEP,
    ENV_VALUES,
    JSON_VALUES,
    TEXT,
    budget,
    encoded,
    env_names,
    environment,
    objects,
    outcome,
)

LINE_KEYS = [
    "ID", "id", "login", "postcode", "tx_rate", "rx_rate", "tx_rate_adjusted",
    "quota_monthly", "quota_remaining", "quota_timestamp", "value", "service",
]  # fmt: skip
LINE = objects(LINE_KEYS) | JSON_VALUES
RATE = objects(
    ["rate", "name", "peak_ppm", "offpeak_ppm", "weekend_ppm", "min_charge", "prefix"]
)
PAYLOADS = objects(
    ["services", "info", "quota", "rate_card", "options", "error"],
) | st.fixed_dictionaries(
    {},
    optional={
        "services": st.lists(LINE | TEXT, max_size=5),
        "info": st.lists(LINE, max_size=5) | LINE,
        "quota": st.lists(LINE, max_size=5),
        "rate_card": st.fixed_dictionaries(
            {},
            optional={
                "codes": st.fixed_dictionaries({"code": st.lists(RATE, max_size=4)}),
                "rates": st.fixed_dictionaries({"rate": st.lists(RATE, max_size=4)})
                | st.lists(RATE, max_size=4),
            },
        ),
        "options": st.lists(
            st.fixed_dictionaries(
                {"option": st.lists(objects(["name", "choice", "error"]), max_size=3)}
            ),
            max_size=2,
        ),
        "error": JSON_VALUES,
    },
)
BODIES = (
    PAYLOADS.map(encoded)
    | JSON_VALUES.map(encoded)
    | DEEP.map(str.encode)
    | st.binary(max_size=64)
)
STATUSES = st.sampled_from(
    [200, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503]
) | st.integers(100, 599)
DATES = st.sampled_from(
    ["Mon, 10 Mar 2025 14:01:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
     "Thu, 01 Jan 1970 00:00:00 GMT", "Mon, 10 Mar 0001 14:01:00 GMT", "0", "-5",
     "9" * 40, "1e999", "٣", "Sun, 06 Nov 1994 08:49:37 +9999"]
) | TEXT  # fmt: skip
HEADERS = st.fixed_dictionaries({}, optional={"Retry-After": DATES, "Date": DATES})
CONTENT_TYPES = st.none() | st.sampled_from(["application/json", "text/xml"]) | TEXT
NOW = st.none() | st.floats(-1e18, 1e18) | st.sampled_from([0.0, 1.7e9])


class TestParseAnswer:
    @given(status=STATUSES, kind=CONTENT_TYPES, body=BODIES, headers=HEADERS, now=NOW)
    @budget(300)
    @example(status=200, kind=None, body=b'{"error": {"x": 1}}', headers={}, now=None)
    @example(status=503, kind=None, body=b"", headers={"Retry-After": "٣"}, now=None)
    @example(
        status=429,
        kind=None,
        body=b"",
        headers={"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT", "Date": "0"},
        now=-1e18,
    )
    # Found by this test: a parse failure's detail was its content type, unbounded,
    # before the capped body text.
    @example(status=200, kind="text/html", body=b"[" * 300, headers={}, now=None)
    def test_never_raises(
        self,
        status: int,
        kind: str | None,
        body: bytes,
        headers: dict[str, str],
        now: float | None,
    ) -> None:
        """Any answer is an Answer with an object or a Failure of a known type."""
        result = parse_answer(status, kind, body, headers, now=now)
        if isinstance(result, Answer):
            assert isinstance(result.payload, dict)
            assert 200 <= status < 300
        else:
            assert isinstance(result, Failure)
            assert result.error_type in set(ErrorType)
            assert len(result.detail) <= 200
            assert "\n" not in result.detail
            if result.retry_after is not None:
                assert 0 <= result.retry_after <= 3600

    @given(headers=HEADERS, now=NOW)
    @budget(200)
    @example(headers={"Retry-After": "²"}, now=None)
    def test_retry_after_is_a_bounded_wait(
        self, headers: dict[str, str], now: float | None
    ) -> None:
        """Retry-After is None or a finite number of seconds within the cap."""
        wait = retry_after_seconds(headers, now)
        assert wait is None or (math.isfinite(wait) and 0 <= wait <= 3600)


def _worker() -> tuple[_Worker, Section]:
    clock = FakeClock()
    section = Section("chaos", PREFIX, CHAOS_SPECS)
    settings = ChaosTargetSettings(
        name="home", control_login="exmpl@a", control_password=SecretStr("pw-1"),
        enable_telephony_ratecard=True,
    )  # fmt: skip
    publisher: TargetPublisher[Any] = TargetPublisher(
        section, "home", (("target", "home"),), max_age=600, clock=clock
    )
    return _Worker(settings, publisher, clock), section


class TestWorkerFold:
    @given(payloads=st.lists(PAYLOADS, min_size=1, max_size=4))
    @budget(150)
    @example(payloads=[{"info": [{"ID": 1e308, "tx_rate": 1e308}]}])
    @example(
        payloads=[
            {
                "services": [{"ID": True}],
                "quota": {"ID": "x", "quota_monthly": "9" * 5000},
            }
        ]
    )
    def test_any_payload_folds_and_renders(
        self, payloads: list[dict[str, Any]]
    ) -> None:
        """The worker's apply methods take any payload; /metrics still parses."""
        worker, section = _worker()
        for payload in payloads:
            answer = parse_answer(200, "application/json", encoded(payload))
            if not isinstance(answer, Answer):
                continue
            now = worker.clock.time()
            worker.state.apply_services(services_list(answer.payload), now)
            worker.state.apply_choices(service_choices(answer.payload))
            info = worker._apply_info(answer, True)
            quota = worker._apply_quota(answer, False)
            assert all(isinstance(ident, str) and ident for ident in info + quota)
            worker.state.apply_login_services(login_services(answer.payload), now)
            worker.state.apply_ratecard(ratecard(answer.payload), now)
            worker._publish(True)
        body = b"".join(section.render(worker.clock.time(), openmetrics=False))
        families = list(text_string_to_metric_families(body.decode()))
        assert families


def test_parse_failure_detail_is_capped_whatever_the_content_type() -> None:
    """A non-JSON answer's detail stays within 200 characters, content type included.

    Found by ``test_never_raises``: the content type came before the capped body
    text, unbounded, into a detail meant for one log line and the API status.
    """
    answer = parse_answer(200, "text/html; " + "x" * 5000, b"<html>" + b"y" * 5000)
    assert isinstance(answer, Failure)
    assert answer.detail.startswith("not a JSON object (text/html; xxx")
    assert len(answer.detail) <= 200


@pytest.mark.parametrize("value", ["²", "1²", "٣", "\U0001d7d7"])
def test_retry_after_takes_only_ascii_digits(value: str) -> None:
    """A Retry-After of non-ASCII digits is unreadable (None), never an exception.

    Found by ``test_never_raises``: ``"²".isdigit()`` is true and ``int("²")``
    raised ValueError out of ``parse_answer``, which promises never to raise, so
    the poll ended with an uncounted crash instead of a rate-limit failure.
    """
    assert retry_after_seconds({"Retry-After": value}) is None
    answer = parse_answer(429, None, b"", {"Retry-After": value})
    assert isinstance(answer, Failure)
    assert answer.error_type is ErrorType.RATE_LIMITED
    assert answer.retry_after is None


@given(
    values=st.dictionaries(
        st.sampled_from(env_names(ChaosExporterSettings)), ENV_VALUES, max_size=4
    )
)
@budget(100)
@example(values={"AAISP_EXPORTER_SERVER": "{"})
def test_environment_gives_settings_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, values: dict[str, str]
) -> None:
    """AAISP_EXPORTER_* variables give settings or one ConfigError naming them."""
    dotenv = tmp_path_factory.mktemp("chaos") / ".env"  # absent: env only
    with environment(values) as environ:
        _, error = outcome(lambda: load_env_settings({}, environ, dotenv), ConfigError)
    assert (
        error is None or "AAISP_EXPORTER_" in str(error) or "environment" in str(error)
    )
