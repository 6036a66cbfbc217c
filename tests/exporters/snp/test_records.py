"""The original's connection records to and from this project's settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from exporterhub.exporters.snp.records import (
    enabled_of,
    export_record,
    record_answer,
    settings_from_record,
    sqlite_time,
    status_of,
)

RECORD = {
    "id": 4,
    "name": "SNP-1",
    "restapi": "https://192.0.2.1:9089/api/auth",
    "websocket": "wss://192.0.2.1/smm",
    "username": "admin",
    "password": "pw",
    "objects_ids": [{"elementIP": "127.0.0.1", "objectType": "ptp"}],
    "enabled": 1,
    "status": "connected",
    "created_at": "2026-02-03 20:31:19",
}


class TestSettingsFromRecord:
    def test_an_original_record_is_legacy_tls(self):
        """A record without TLS keys, from the original, does not verify."""
        settings = settings_from_record(RECORD, interval=5.0, legacy=True)
        assert settings == {
            "restapi": RECORD["restapi"],
            "websocket": RECORD["websocket"],
            "username": "admin",
            "password": "pw",
            "objects_ids": RECORD["objects_ids"],
            "interval": 5.0,
            "tls_verify": False,
            "legacy_tls": True,
        }

    def test_a_record_naming_its_tls_keeps_it(self):
        """A record of this project's export keeps its own TLS settings."""
        record = {**RECORD, "tls_verify": True, "interval": 2.0}
        settings = settings_from_record(record, interval=5.0, legacy=True)
        assert settings["tls_verify"] is True
        assert "legacy_tls" not in settings
        assert settings["interval"] == 2.0

    def test_a_new_connection_is_not_legacy(self):
        """A connection added through the API verifies by default (no marker)."""
        settings = settings_from_record(RECORD, interval=5.0, legacy=False)
        assert "legacy_tls" not in settings
        assert "tls_verify" not in settings

    def test_a_long_interval_raises_the_reconnect_cap(self):
        """INTERVAL above the 60 s cap lifts the cap with it (the model's rule)."""
        settings = settings_from_record(RECORD, interval=90.0, legacy=False)
        assert (settings["interval"], settings["reconnect_max"]) == (90.0, 90.0)
        assert "reconnect_max" not in settings_from_record(
            RECORD, interval=60.0, legacy=False
        )


class TestAnswers:
    def test_record_answer_has_the_original_keys_and_no_password(self):
        """A list entry: the original's keys, password null, status words."""
        answer = {
            "name": "SNP-1",
            "enabled": True,
            "invalid": None,
            "link": "connecting",
            "settings": {
                **settings_from_record(RECORD, interval=5.0, legacy=True),
                "password": None,
                "objects_ids": [
                    {"objectType": "ptp", "elementIP": "127.0.0.1", "objectId": None},
                    {"elementIP": "127.0.0.1", "objectType": "x", "objectId": "A-1"},
                    "odd",
                ],
            },
            "created_at": datetime(2026, 2, 3, 20, 31, 19, tzinfo=UTC),
            "updated_at": None,
            "changed_at": 1_700_000_000.0,
        }
        record = record_answer(answer, 4, with_status=True)
        assert list(record) == [
            "id",
            "name",
            "restapi",
            "websocket",
            "username",
            "password",
            "objects_ids",
            "enabled",
            "legacy_tls",
            "created_at",
            "updated_at",
            "status",
            "last_update",
        ]
        assert record["password"] is None
        assert record["objects_ids"] == [
            {"elementIP": "127.0.0.1", "objectType": "ptp"},
            {"elementIP": "127.0.0.1", "objectType": "x", "objectId": "A-1"},
            "odd",
        ]
        assert list(record["objects_ids"][0]) == ["elementIP", "objectType"]
        assert record["legacy_tls"] is True
        assert record["created_at"] == "2026-02-03 20:31:19"
        assert record["updated_at"] is None
        assert (record["status"], record["last_update"]) == (
            "connecting",
            "2023-11-14 22:13:20",
        )
        assert "status" not in record_answer(answer, 4, with_status=False)

    @pytest.mark.parametrize(
        ("enabled", "invalid", "link", "word"),
        [
            pytest.param(True, None, "connected", "connected", id="connected"),
            pytest.param(True, None, "error", "error", id="error"),
            pytest.param(True, None, None, "disconnected", id="not-started"),
            pytest.param(False, None, "connected", "disconnected", id="disabled"),
            pytest.param(True, "restapi: bad", None, "error", id="invalid"),
        ],
    )
    def test_status_words(self, enabled, invalid, link, word):
        """The original's four words, whatever the worker's state."""
        answer = {"enabled": enabled, "invalid": invalid, "link": link}
        assert status_of(answer) == word

    def test_export_record_reveals_passwords_only_when_asked(self):
        """The password leaves only with include_secrets; extras follow."""
        settings = {
            "tls_verify": False,
            "password": SecretStr("pw"),
            "username": "u",
            "nested": {"token": SecretStr("t")},
        }
        hidden = export_record("a", settings, False, include_secrets=False)
        shown = export_record("a", settings, False, include_secrets=True)
        assert hidden == {
            "name": "a",
            "username": "u",
            "enabled": False,
            "tls_verify": False,
            "nested": {},
        }
        assert shown["password"] == "pw"
        assert shown["nested"] == {"token": "t"}
        assert list(shown)[:4] == ["name", "username", "password", "enabled"]


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        pytest.param(True, True, id="true"),
        pytest.param(1, True, id="one"),
        pytest.param(0, False, id="zero"),
        pytest.param(2, None, id="two"),
        pytest.param("true", None, id="text"),
        pytest.param(None, None, id="null"),
    ],
)
def test_enabled_takes_bools_and_zero_or_one(value, wanted):
    """The original stored 0/1 and took either; nothing else is a flag."""
    assert enabled_of(value) is wanted


def test_sqlite_time_of_a_datetime_is_utc():
    """An aware datetime in another zone is written in UTC."""
    from datetime import timedelta, timezone

    when = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert sqlite_time(when) == "2026-01-01 10:00:00"
