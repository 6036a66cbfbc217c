"""Tests for CHAOS answer classification and payload extraction."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from exporterhub.exporters.chaos.protocol import (
    Answer,
    ErrorType,
    Failure,
    InfoLine,
    QuotaLine,
    Rate,
    RateCard,
    info_lines,
    login_services,
    parse_answer,
    parse_uk_timestamp,
    quota_lines,
    ratecard,
    retry_after_seconds,
    service_choices,
    services_list,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "chaos"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
QUOTA_TIME = 1741615200.0


def fixture_answer(name: str) -> Answer | Failure:
    """Parse a fixture with the status, content type and headers of its manifest."""
    entry = next(e for e in MANIFEST["fixtures"] if e["file"] == name)
    status = entry.get("status", MANIFEST["defaults"]["status"])
    content_type = entry.get("content_type", MANIFEST["defaults"]["content_type"])
    body = (FIXTURES / name).read_bytes()
    return parse_answer(status, content_type, body, entry.get("headers"))


def payload(name: str) -> dict[str, Any]:
    answer = fixture_answer(name)
    assert isinstance(answer, Answer), answer
    return answer.payload


SUCCESS = [
    "broadband_services.json",
    "broadband_info_all.json",
    "broadband_info_fttp.json",
    "broadband_info_vdsl.json",
    "broadband_info_l2tp.json",
    "broadband_quota_all.json",
    "broadband_quota_vdsl.json",
    "broadband_usage_placeholder.json",
    "telephony_services.json",
    "telephony_ratecard.json",
    "login_services.json",
    "login_info.json",
]

FAILURES = {
    "error_auth_failed.json": (ErrorType.AUTH, False, None),
    "error_bad_login.json": (ErrorType.AUTH, False, None),
    "error_unknown_service.json": (ErrorType.API_ERROR, False, None),
    "error_unknown_command.json": (ErrorType.API_ERROR, False, None),
    "error_rate_limited.json": (ErrorType.RATE_LIMITED, True, None),
    "http_429_rate_limited.txt": (ErrorType.RATE_LIMITED, True, 60.0),
    "http_500_telephony_services.html": (ErrorType.HTTP_ERROR, True, None),
    "broadband_quota.xml": (ErrorType.PARSE, False, None),
}


class TestFixtures:
    def test_manifest_covers_every_file(self):
        """Every fixture file is listed in the manifest and in one test table."""
        files = {p.name for p in FIXTURES.iterdir()} - {"README.md", "manifest.json"}
        listed = {e["file"] for e in MANIFEST["fixtures"]}
        assert files == listed
        assert files == set(SUCCESS) | set(FAILURES)

    @pytest.mark.parametrize("name", SUCCESS)
    def test_success_fixtures_parse(self, name):
        """Every successful fixture parses to an Answer holding its payload."""
        answer = fixture_answer(name)
        assert isinstance(answer, Answer)
        assert answer.payload["subsystem"] in {"broadband", "telephony", "login"}

    @pytest.mark.parametrize(("name", "expected"), list(FAILURES.items()))
    def test_failure_fixtures_classify(self, name, expected):
        """Every error fixture gets its §5 class, retry flag and Retry-After."""
        answer = fixture_answer(name)
        assert isinstance(answer, Failure)
        assert (answer.error_type, answer.retryable, answer.retry_after) == expected

    def test_detail_is_error_text_without_request_echo(self):
        """A JSON error's detail is its error string, not the echoed request."""
        answer = fixture_answer("error_auth_failed.json")
        assert isinstance(answer, Failure)
        assert answer.detail == "Control authorisation failed"
        assert "redacted" not in answer.detail

    def test_xml_detail_is_short(self):
        """A non-JSON body's detail names the content type and stays short."""
        answer = fixture_answer("broadband_quota.xml")
        assert isinstance(answer, Failure)
        assert answer.detail.startswith("not a JSON object (text/xml): <?xml")
        assert len(answer.detail) <= 240


class TestClassification:
    def test_error_wins_over_status(self):
        """A non-empty error is a failure even on HTTP 500 or with a payload."""
        body = b'{"error": "Unknown service", "info": []}'
        answer = parse_answer(500, "application/json", body)
        assert isinstance(answer, Failure)
        assert answer.error_type is ErrorType.API_ERROR

    def test_empty_error_is_not_failure(self):
        """An empty error string does not mark the answer as failed."""
        answer = parse_answer(200, None, b'{"error": "", "quota": []}')
        assert answer == Answer({"error": "", "quota": []})

    def test_non_string_error_is_failure(self):
        """An error value that is an object still marks a failure."""
        answer = parse_answer(200, None, b'{"error": {"x": 1}, "info": []}')
        assert isinstance(answer, Failure)
        assert answer.detail == "unreadable error value"

    def test_auth_by_option_error(self):
        """An error on an account_* option is auth even with unknown wording."""
        body = orjson.dumps(
            {
                "error": "Something new",
                "options": {
                    "title": "Authentication",
                    "option": {"name": "Account-Password", "error": "nope"},
                },
            }
        )
        answer = parse_answer(200, None, body)
        assert isinstance(answer, Failure)
        assert answer.error_type is ErrorType.AUTH

    def test_service_option_error_is_api_error(self):
        """An error on the service option is not an auth failure."""
        body = (FIXTURES / "error_unknown_service.json").read_bytes()
        answer = parse_answer(200, None, body)
        assert isinstance(answer, Failure)
        assert answer.error_type is ErrorType.API_ERROR

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("Rate limit exceeded", id="rate-limit"),
            pytest.param("TOO MANY REQUESTS", id="upper"),
            pytest.param("request rate too high", id="word"),
        ],
    )
    def test_rate_text_on_200(self, text):
        """An HTTP 200 error mentioning rate or too many requests is rate_limited."""
        body = orjson.dumps({"error": text})
        answer = parse_answer(200, None, body, {"Retry-After": "5"})
        assert answer == Failure(ErrorType.RATE_LIMITED, True, 5.0, text)

    def test_ratecard_word_is_not_rate_limit(self):
        """An error about the ratecard command is an ordinary API error."""
        answer = parse_answer(200, None, b'{"error": "No ratecard here"}')
        assert isinstance(answer, Failure)
        assert answer.error_type is ErrorType.API_ERROR

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            # A plain 503 is maintenance; with Retry-After it is a rate limit.
            pytest.param(503, (ErrorType.HTTP_ERROR, True), id="503"),
            pytest.param(429, (ErrorType.RATE_LIMITED, True), id="429"),
            pytest.param(502, (ErrorType.HTTP_ERROR, True), id="502"),
            pytest.param(500, (ErrorType.HTTP_ERROR, True), id="500"),
            pytest.param(401, (ErrorType.AUTH, False), id="401"),
            pytest.param(403, (ErrorType.AUTH, False), id="403"),
            pytest.param(404, (ErrorType.HTTP_ERROR, False), id="404"),
            pytest.param(302, (ErrorType.HTTP_ERROR, False), id="302"),
        ],
    )
    def test_status_classes(self, status, expected):
        """Statuses without a JSON error map to their §5 class."""
        answer = parse_answer(status, "text/html", b"<html>x</html>")
        assert isinstance(answer, Failure)
        assert (answer.error_type, answer.retryable) == expected
        assert answer.detail == f"HTTP {status}"

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b"", id="empty"),
            pytest.param(b"[1, 2]", id="list"),
            pytest.param(b'"text"', id="string"),
            pytest.param(b"\xff\xfe", id="binary"),
            pytest.param(b'{"subsystem": "broadband", "options": []}', id="no-payload"),
        ],
    )
    def test_parse_failures(self, body):
        """A 200 body that is not a JSON object with a payload is parse, no retry."""
        answer = parse_answer(200, "application/json", body)
        assert isinstance(answer, Failure)
        assert (answer.error_type, answer.retryable) == (ErrorType.PARSE, False)

    def test_parse_detail_redacts_passwords(self):
        """Password-like values in a non-JSON body never reach the detail."""
        body = (
            b"control_login=abc@a&control_password=hunter2&x=1 "
            b'<r control-password="s3cret"/> {"account_password": "pw9"} '
            b"Authorization: Basic dXNlcjpwYXNz" + b"y" * 500
        )
        answer = parse_answer(200, "text/plain", body)
        assert isinstance(answer, Failure)
        for secret in ("hunter2", "s3cret", "pw9", "dXNlcjpwYXNz"):
            assert secret not in answer.detail
        assert "control_password=(redacted)" in answer.detail
        assert len(answer.detail) <= 240


class TestRetryAfter:
    def test_seconds(self):
        """Retry-After in seconds is returned as a float, header name any case."""
        assert retry_after_seconds({"RETRY-AFTER": " 120 "}) == 120.0

    def test_http_date_against_date_header(self):
        """An HTTP-date is measured from the answer's Date header."""
        headers = {
            "Retry-After": "Mon, 10 Mar 2025 14:02:00 GMT",
            "Date": "Mon, 10 Mar 2025 14:00:30 GMT",
        }
        assert retry_after_seconds(headers) == 90.0

    def test_http_date_against_now(self):
        """Without a Date header the HTTP-date is measured from now."""
        headers = {"Retry-After": "Mon, 10 Mar 2025 14:01:00 GMT"}
        assert retry_after_seconds(headers, now=QUOTA_TIME) == 60.0
        assert retry_after_seconds(headers) is None

    def test_past_date_is_zero(self):
        """A date in the past means retry now, never a negative wait."""
        headers = {"Retry-After": "Mon, 10 Mar 2025 13:00:00 GMT"}
        assert retry_after_seconds(headers, now=QUOTA_TIME) == 0.0

    def test_http_date_through_parse_answer(self):
        """parse_answer passes now through to the HTTP-date conversion."""
        headers = {"Retry-After": "Mon, 10 Mar 2025 14:00:10 GMT"}
        answer = parse_answer(503, None, b"", headers, now=QUOTA_TIME)
        assert answer == Failure(ErrorType.RATE_LIMITED, True, 10.0, "HTTP 503")

    @pytest.mark.parametrize(
        "headers",
        [None, {}, {"Retry-After": "soon"}, {"Retry-After": "-5"}],
    )
    def test_unreadable(self, headers):
        """Missing or unreadable Retry-After gives None."""
        assert retry_after_seconds(headers, now=QUOTA_TIME) is None


class TestServices:
    def test_services_fixture(self):
        """broadband/services gives the three IDs as strings."""
        assert services_list(payload("broadband_services.json")) == [
            "40211",
            "40212",
            "40213",
        ]

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("40211", ["40211"], id="single-string"),
            pytest.param(40211, ["40211"], id="number"),
            pytest.param(40211.0, ["40211"], id="float"),
            pytest.param([{"ID": "1"}, {"value": 2}, {"id": " 3 "}], ["1", "2", "3"]),
            pytest.param({"service": [{"ID": "7"}, "8"]}, ["7", "8"], id="nested"),
            pytest.param(["1", "1", "", None, True, 1.5, []], ["1"], id="junk"),
            pytest.param(None, [], id="missing"),
            pytest.param([[[[["deep"]]]]], [], id="too-deep"),
        ],
    )
    def test_tolerant_shapes(self, value, expected):
        """The service list accepts strings, numbers and objects, dropping junk."""
        assert services_list({"services": value}) == expected

    def test_choices_skip_blank(self):
        """Service choices skip the blank first choice."""
        assert service_choices(payload("broadband_info_all.json")) == [
            "40211",
            "40212",
            "40213",
        ]

    def test_choices_absent(self):
        """An answer without a Service group has no choices."""
        assert service_choices(payload("broadband_services.json")) == []

    def test_union_with_choices(self):
        """A line found only in the choices joins the listed ones."""
        listed = services_list({"services": ["40211"]})
        choices = service_choices(
            {
                "options": [
                    {"title": "Service Details"},
                    {
                        "title": "Service",
                        "option": [
                            {
                                "name": "service",
                                "choice": [{"value": ""}, {"value": "40299"}],
                            }
                        ],
                    },
                ]
            }
        )
        assert list(dict.fromkeys([*listed, *choices])) == ["40211", "40299"]

    def test_login_services(self):
        """login/services gives the control login."""
        assert login_services(payload("login_services.json")) == ["exmpl@a"]


class TestLines:
    def test_info_all(self):
        """broadband/info lines carry ints, stripped postcodes and Unix time."""
        lines = info_lines(payload("broadband_info_all.json"))
        assert lines == [
            InfoLine(
                service_id="40211",
                login="exmpl@a.1",
                postcode="ZZ1 1AA",
                tx_rate=1_000_000_000,
                rx_rate=115_000_000,
                tx_rate_adjusted=944_960_000,
                quota_monthly=0,
                quota_remaining=0,
                quota_timestamp=QUOTA_TIME,
            ),
            InfoLine(
                service_id="40212",
                login="exmpl@a.2",
                postcode="ZZ1 1AA",
                tx_rate=67_496_000,
                rx_rate=19_987_000,
                tx_rate_adjusted=64_121_000,
                quota_monthly=500_000_000_000,
                quota_remaining=611_402_873_310,
                quota_timestamp=QUOTA_TIME,
            ),
            InfoLine(
                service_id="40213",
                login="exmpl@a.3",
                postcode="",
                quota_monthly=100_000_000_000,
                quota_remaining=37_654_120_448,
                quota_timestamp=QUOTA_TIME,
            ),
        ]

    @pytest.mark.parametrize(
        "name", ["broadband_info_fttp.json", "broadband_info_vdsl.json"]
    )
    def test_info_single_service(self, name):
        """A one-service info answer is a one-element list."""
        assert len(info_lines(payload(name))) == 1

    def test_info_tolerant(self):
        """Numbers, blanks, junk, hyphens and a single object are all accepted."""
        item = {
            "id": 40214,
            "Login": "",
            "postcode": "  ZZ9 9ZZ \t",
            "tx-rate": 8e7,
            "rx_rate": "",
            "tx_rate_adjusted": "fast",
            "quota_monthly": " -5 ",
            "quota_remaining": "1.5e3",
            "quota_timestamp": "",
        }
        assert info_lines({"info": item}) == [
            InfoLine(
                service_id="40214",
                postcode="ZZ9 9ZZ",
                tx_rate=80_000_000,
                quota_monthly=-5,
                quota_remaining=1500,
            )
        ]

    def test_info_odd_values(self):
        """Non-finite, boolean, underscore and object values read as missing."""
        item = {
            "ID": "1",
            "postcode": 5,
            "tx_rate": float("inf"),
            "rx_rate": True,
            "tx_rate_adjusted": "1_000",
            "quota_monthly": {"x": 1},
            "quota_remaining": "inf",
            "quota_timestamp": 17,
        }
        assert info_lines({"info": [item, "x", {"login": "no-id"}]}) == [
            InfoLine(service_id="1")
        ]

    def test_quota_all(self):
        """broadband/quota lines carry bytes and the converted timestamp."""
        lines = quota_lines(payload("broadband_quota_all.json"))
        assert lines[1] == QuotaLine(
            service_id="40212",
            quota_monthly=500_000_000_000,
            quota_remaining=611_402_873_310,
            quota_timestamp=QUOTA_TIME,
        )
        assert [line.service_id for line in lines] == ["40211", "40212", "40213"]

    def test_quota_single_object_and_missing(self):
        """A single quota object is accepted; lines without ID are dropped."""
        assert quota_lines({"quota": {"ID": "9", "quota_monthly": 10}}) == [
            QuotaLine(service_id="9", quota_monthly=10)
        ]
        assert quota_lines({"quota": [{"quota_monthly": "1"}]}) == []
        assert quota_lines({}) == []


class TestRatecard:
    def test_fixture(self):
        """The rate card has five rates with prices and prefix counts."""
        card = ratecard(payload("telephony_ratecard.json"))
        assert [r.name for r in card.rates] == [
            "UK",
            "UK Mobile",
            "UK Freephone",
            "Ireland",
            "North America",
        ]
        assert card.rates[0] == Rate(
            name="UK",
            peak_ppm=1.0,
            offpeak_ppm=0.5,
            weekend_ppm=0.5,
            min_charge=0.0,
            prefixes=3,
        )

    def test_tolerant(self):
        """Bare lists, duplicates, code-only rates and a list-wrapped card parse."""
        body = {
            "rate_card": [
                {
                    "codes": [{"prefix": "1", "rate": "X"}, {"rate": "Y"}, {}],
                    "rates": {
                        "rate": [
                            {"rate": "X", "peak_ppm": 2, "min_charge": ""},
                            {"rate": "X", "peak_ppm": 9},
                            {"name": "Z", "weekend_ppm": 0.25},
                            {"peak_ppm": "1"},
                            {"rate": "B", "peak_ppm": True, "min_charge": 10**400},
                        ]
                    },
                }
            ]
        }
        assert ratecard(body) == RateCard(
            rates=(
                Rate(name="X", peak_ppm=2.0, prefixes=1),
                Rate(name="Z", weekend_ppm=0.25),
                Rate(name="B"),
                Rate(name="Y", prefixes=1),
            )
        )

    def test_missing(self):
        """Without rate_card the card is empty."""
        assert ratecard({"rate_card": "x"}) == RateCard()

    def test_only(self):
        """only() keeps the named rates."""
        card = ratecard(payload("telephony_ratecard.json")).only(["Ireland", "Q"])
        assert [r.name for r in card.rates] == ["Ireland"]


class TestUkTimestamp:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("2025-03-10 14:00:00", 1741615200.0, id="gmt"),
            pytest.param("2025-07-01 12:00:00", 1751367600.0, id="bst"),
            pytest.param("2025-07-01T12:00", 1751367600.0, id="iso-no-seconds"),
            pytest.param(" 2025-07-01 12:00:00.5 ", 1751367600.0, id="fraction"),
            # 30 March 2025: 01:00 GMT jumps to 02:00 BST; 00:59 GMT is 00:59 UTC.
            pytest.param("2025-03-30 00:59:00", 1743296340.0, id="before-gap"),
            pytest.param("2025-03-30 02:00:00", 1743296400.0, id="after-gap"),
            # Inside the gap: read with the GMT offset, the instant of 02:30 BST.
            pytest.param("2025-03-30 01:30:00", 1743298200.0, id="gap"),
            # 26 October 2025: 01:xx happens twice; fold=0 takes BST (00:xx UTC).
            pytest.param("2025-10-26 01:30:00", 1761438600.0, id="october-fold0"),
            pytest.param("2025-10-26 02:00:00", 1761444000.0, id="october-after"),
        ],
    )
    def test_conversions(self, text, expected):
        """Europe/London wall time converts to the right Unix second."""
        assert parse_uk_timestamp(text) == expected

    def test_gap_equals_later_bst(self):
        """01:30 in the March gap is the same instant as 02:30 BST."""
        assert parse_uk_timestamp("2025-03-30 01:30:00") == parse_uk_timestamp(
            "2025-03-30 02:30:00"
        )

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "yesterday",
            "2025-02-30 00:00:00",
            "2025-01-01 25:00:00",
            "0000-01-01 00:00",
        ],
    )
    def test_invalid(self, text):
        """Unreadable or impossible timestamps give None."""
        assert parse_uk_timestamp(text) is None

    def test_not_a_string(self):
        """A non-string gives None rather than raising."""
        assert parse_uk_timestamp(1741615200) is None  # type: ignore[arg-type]


def _random_value(rng: random.Random, depth: int) -> Any:
    choice = rng.randrange(9 if depth < 4 else 6)
    if choice == 0:
        return rng.choice(
            ["", " ", "40211", "abc", "-1", "1e400", "2025-10-26 01:30:00"]
        )
    if choice == 1:
        return rng.choice([0, -1, 2**70, 1.5, float("1e300"), True, False])
    if choice == 2:
        return None
    if choice == 3:
        return rng.choice(["rate", "Too many requests", "Bad control-login"])
    if choice in (4, 5):
        return "".join(
            chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(5))
        )
    if choice == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [
        "ID",
        "value",
        "services",
        "service",
        "info",
        "quota",
        "options",
        "option",
        "choice",
        "name",
        "error",
        "rate_card",
        "codes",
        "code",
        "rates",
        "rate",
        "peak_ppm",
        "quota_monthly",
        "quota_timestamp",
        "postcode",
        "login",
    ]
    return {
        rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(5))
    }


class TestFuzz:
    def test_random_bytes_never_raise(self):
        """parse_answer returns an Answer or Failure for random bytes and statuses."""
        rng = random.Random(20250310)
        for _ in range(2000):
            body = rng.randbytes(rng.randrange(64))
            status = rng.choice([0, 200, 204, 301, 404, 429, 500, 503, 599, 999])
            headers = rng.choice(
                [None, {"Retry-After": body.decode("latin-1")}, {"Date": "x"}]
            )
            result = parse_answer(status, rng.choice([None, "x"]), body, headers)
            assert isinstance(result, Answer | Failure)

    def test_random_json_shapes_never_raise(self):
        """Random JSON-ish payloads go through parse_answer and every extractor."""
        rng = random.Random(4021)
        extractors = (
            services_list,
            service_choices,
            info_lines,
            quota_lines,
            ratecard,
            login_services,
        )
        answers = 0
        for _ in range(1500):
            value = {"x": 1} if rng.random() < 0.5 else {}
            for _ in range(rng.randrange(4)):
                extra = _random_value(rng, 1)
                if isinstance(extra, dict):
                    value.update(extra)
            body = json.dumps(value, allow_nan=False).encode()
            result = parse_answer(200, "application/json", body)
            assert isinstance(result, Answer | Failure)
            answers += isinstance(result, Answer)
            for extract in extractors:
                extract(value)
        assert answers > 100

    def test_deep_nesting_is_parse(self):
        """Absurdly nested JSON is a parse failure, not a RecursionError."""
        body = b"[" * 100_000 + b"]" * 100_000
        answer = parse_answer(200, None, body)
        assert isinstance(answer, Failure)
        assert answer.error_type is ErrorType.PARSE


class TestHostileNumbers:
    def test_503_with_retry_after_is_a_rate_limit(self):
        """A 503 that says when to come back is treated as rate limiting."""
        answer = parse_answer(503, "text/html", b"busy", {"Retry-After": "30"})
        assert isinstance(answer, Failure)
        assert answer.error_type is ErrorType.RATE_LIMITED
        assert answer.retry_after == 30.0

    def test_retry_after_is_capped_at_an_hour(self):
        """A Retry-After of years, or thousands of digits, waits an hour at most."""
        for value in ("99999999999", "9" * 5000):
            answer = parse_answer(429, None, b"", {"Retry-After": value})
            assert isinstance(answer, Failure)
            assert answer.retry_after == 3600.0

    def test_absurd_quota_is_missing_not_an_overflow(self):
        """A 400-digit quota is treated as missing, so it can never break a render."""
        from exporterhub.exporters.chaos.protocol import info_lines

        payload = {"info": [{"ID": "1", "quota_monthly": "1" + "0" * 400}]}
        (line,) = info_lines(payload)
        assert line.quota_monthly is None
