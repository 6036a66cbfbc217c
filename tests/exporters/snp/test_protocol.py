"""Tests of the SNP frame, item and value-string parsing (protocol.py)."""

from __future__ import annotations

import orjson
import pytest

from exporterhub.exporters.snp.protocol import (
    MsgType,
    as_bool,
    as_count,
    as_index,
    as_number,
    decode_frame,
    decode_items,
    microseconds,
    ok_string,
    parse_quantity,
    personality_from_config,
    rate_bytes_per_second,
    seconds,
    subscription_frame,
    text,
    token_from_body,
)

from .conftest import FIXTURES, frame, rest


class TestValueStrings:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("44.0 °C", (44.0, "°C"), id="utf8-degree"),
            pytest.param("44.0 \u00b0C", (44.0, "°C"), id="escaped-degree"),
            pytest.param("44.0 Â°C", (44.0, "Â°C"), id="mis-decoded-degree"),
            pytest.param("-2.1 dBm", (-2.1, "dBm"), id="negative"),
            pytest.param("+3 ms", (3.0, "ms"), id="plus-sign"),
            pytest.param(" 12024 RPM", (12024.0, "RPM"), id="leading-space"),
            pytest.param("19.9909 Gbps", (19.9909, "Gbps"), id="gbps"),
            pytest.param(".5 us", (0.5, "us"), id="no-integer-part"),
            pytest.param("23", (23.0, ""), id="bare-count"),
            pytest.param(7, (7.0, ""), id="json-number"),
        ],
    )
    def test_numbers_with_units(self, value, expected):
        """The leading decimal number and the unit token after it are read."""
        assert parse_quantity(value) == expected

    @pytest.mark.parametrize(
        "value",
        ["N/A", "---", "", "Not Present", "nan", "inf C", None, True, [], {}],
    )
    def test_no_value(self, value):
        """Anything without a leading number is no value, never 0 or NaN."""
        assert parse_quantity(value) is None
        assert as_number(value) is None

    def test_temperature_ignores_the_unit_text(self):
        """Temperatures are Celsius whatever the degree sign arrived as."""
        assert as_number("46.0 Â°C") == as_number("46.0 °C") == 46.0

    @pytest.mark.parametrize(
        ("value", "micro", "secs"),
        [
            ("0.132 us", 0.132, 0.132e-6),
            ("-0.087 us", -0.087, -0.087e-6),
            ("87 ns", 0.087, 87e-9),
            ("1.5 ms", 1500.0, 1.5e-3),
            ("2 s", 2e6, 2.0),
            ("0.000 us", 0.0, 0.0),
        ],
    )
    def test_times_convert_by_unit(self, value, micro, secs):
        """PTP times are microseconds as printed (§6.1) and seconds (§6.3)."""
        assert microseconds(value) == pytest.approx(micro)
        assert seconds(value) == pytest.approx(secs)

    def test_unknown_time_unit_is_no_value(self):
        """A time in a unit the exporter does not know is not guessed."""
        assert seconds("3 fortnights") is None
        assert microseconds("3 fortnights") is None

    def test_bare_time_takes_the_default_unit(self):
        """Jitter strings are ms, PTP strings us when the unit is missing."""
        assert seconds("5", default_unit="ms") == pytest.approx(0.005)
        assert microseconds("5") == 5.0

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("1319.14 Mbps", 1319.14e6 / 8),
            ("19.9909 Gbps", 19.9909e9 / 8),
            ("800 kbps", 1e5),
            ("8 bps", 1.0),
            ("2429.1", 2429.1e6 / 8),
        ],
    )
    def test_rates_mix_units(self, value, expected):
        """Rates convert by their own unit; a bare number is Mbps (lanes)."""
        assert rate_bytes_per_second(value) == pytest.approx(expected)

    def test_unknown_rate_unit_is_no_value(self):
        assert rate_bytes_per_second("3 furlongs") is None
        assert rate_bytes_per_second("N/A") is None

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("23", 23), (" 23 ", 23), (4, 4), ("1.5", None), ("-1", None), (True, None)],
    )
    def test_counts(self, value, expected):
        assert as_count(value) == expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (True, True),
            (False, False),
            (1, True),
            (0, False),
            ("true", True),
            ("False", False),
            ("1", True),
            ("yes", None),
            (2, None),
            (None, None),
        ],
    )
    def test_flags(self, value, expected):
        """JSON booleans (C), and 0/1 and "true"/"false" (G)."""
        assert as_bool(value) is expected

    def test_status_strings(self):
        """Only "OK" is OK; failure strings are unknown, so anything else is not."""
        assert ok_string("OK") is True
        assert ok_string(" OK ") is True
        assert ok_string("FAIL") is False
        assert ok_string("") is False
        assert ok_string(None) is None

    def test_index_and_labels(self):
        assert as_index(3) == "3"
        assert as_index("12") == "12"
        assert as_index(None) is None
        assert text("XPK2122331      ") == "XPK2122331"
        assert text(None) is None


class TestFrames:
    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            ("server_statusState_initial.json", MsgType.STATUS_STATE),
            ("server_allStatuses.json", MsgType.ALL_STATUSES),
            ("server_fmmStatus.json", MsgType.FMM_STATUS),
            ("server_permissionsMsg.json", MsgType.PERMISSIONS),
            ("server_logsState.json", MsgType.LOGS_STATE),
            ("server_activeAlarmStatus.json", MsgType.ACTIVE_ALARMS),
            ("server_objectsState_processorC.json", MsgType.OBJECTS_STATE),
            ("server_elementStatus.json", MsgType.ELEMENT_STATUS),
            ("server_alarmConfigure.json", MsgType.ALARM_CONFIGURE),
            ("malformed/unknown_msgType.json", "someFutureMessage"),
        ],
    )
    def test_every_server_frame_decodes(self, name, kind):
        """Every §4.3 frame is one JSON object with its msgType."""
        decoded = decode_frame(frame(name))
        assert decoded is not None
        assert decoded[0] == kind

    @pytest.mark.parametrize(
        "name",
        [
            "malformed/not_json.txt",
            "malformed/truncated_statusState.txt",
            "malformed/no_msgType.json",
        ],
    )
    def test_malformed_frames(self, name):
        """Not JSON, truncated, or without a msgType: malformed."""
        assert decode_frame(frame(name)) is None

    @pytest.mark.parametrize(
        "data", [b"[1, 2]", b'"text"', b'{"msgType": 5}', b"\xff\xfe", b""]
    )
    def test_other_shapes_are_malformed(self, data):
        assert decode_frame(data) is None

    def test_text_frames_decode_too(self):
        """A frame read as text (str) decodes like bytes."""
        assert decode_frame('{"msgType":"fmmStatus"}') == (
            "fmmStatus",
            {"msgType": "fmmStatus"},
        )


class TestItems:
    def test_initial_statuses(self):
        """Each item of the first statusState is one object, decoded on its own."""
        _, message = decode_frame(frame("server_statusState_initial.json"))  # type: ignore[misc]
        items = decode_items(message["statuses"])
        assert items.errors == 0
        assert [o["type"] for o in items.objects] == [
            "ptp",
            "system",
            "ipVidRx",
            "procChannelHD",
            "procChannelHD",
        ]

    def test_a_broken_item_costs_only_itself(self):
        """One item that is not JSON: one error, the good item kept."""
        _, message = decode_frame(frame("malformed/status_item_bad_json.json"))  # type: ignore[misc]
        items = decode_items(message["statuses"])
        assert items.errors == 1
        assert [o["object_ID"] for o in items.objects] == ["ptp"]

    def test_an_item_that_is_an_object_is_accepted(self):
        _, message = decode_frame(frame("malformed/status_item_is_object.json"))  # type: ignore[misc]
        items = decode_items(message["statuses"])
        assert (items.errors, len(items.objects)) == (0, 1)

    def test_an_item_without_type_is_an_error(self):
        _, message = decode_frame(frame("malformed/status_item_no_type.json"))  # type: ignore[misc]
        items = decode_items(message["statuses"])
        assert (items.errors, items.objects) == (1, [])

    def test_statuses_not_a_list_is_one_error(self):
        _, message = decode_frame(frame("malformed/statuses_not_a_list.json"))  # type: ignore[misc]
        items = decode_items(message["statuses"])
        assert (items.errors, items.objects) == (1, [])

    @pytest.mark.parametrize("item", ["[1]", "5", 5, None, '{"type": 3}'])
    def test_items_of_other_shapes(self, item):
        assert decode_items([item]).errors == 1


class TestRest:
    def test_token_is_the_body_verbatim(self):
        """The login answer is the Authorization value, scheme included (§2)."""
        token = token_from_body(rest("auth_response_ok.txt").decode())
        assert token is not None
        assert token.startswith("Bearer eyJ")
        assert token == (FIXTURES / "ws" / "client_token.txt").read_text().strip()

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ('"Bearer x"', "Bearer x"),
            ("Bearer x\r\n", "Bearer x"),
            ('""', None),
            ("", None),
            ('"', '"'),
        ],
    )
    def test_token_trimming(self, body, expected):
        assert token_from_body(body) == expected

    @pytest.mark.parametrize(
        ("name", "personality"),
        [
            ("config_processorA.json", "Sync"),
            ("config_processorB.json", "Conv"),
            ("config_processorC.json", "Multiviewer"),
            ("config_processorD.json", "JPEG-XS Encoder (TR-07)"),
        ],
    )
    def test_personality_from_the_stringified_config(self, name, personality):
        """``config`` is a string of JSON holding general.personality (§3.1)."""
        assert personality_from_config(orjson.loads(rest(name))) == personality

    @pytest.mark.parametrize(
        "envelope",
        [
            {"config": "{not json"},
            {"config": "[]"},
            {"config": '{"general": []}'},
            {"config": '{"general": {"personality": ""}}'},
            {"config": '{"general": {"personality": 5}}'},
            {"config": '{"general": {}}'},
            "text",
        ],
    )
    def test_personality_missing(self, envelope):
        assert personality_from_config(envelope) is None

    def test_system_config_has_no_personality(self):
        assert personality_from_config(orjson.loads(rest("config_system.json"))) is None

    def test_subscription_matches_the_fixture(self):
        """The subscription carries objects_ids as stored, with elementIP (§4.2)."""
        expected = orjson.loads(frame("client_statusListSubscribe.json"))
        sent = orjson.loads(subscription_frame(expected["objectIds"], 1000))
        assert sent == expected
