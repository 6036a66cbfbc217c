"""Tests of the structlog set-up."""

from __future__ import annotations

import json
import logging
import os
import sys

import pytest
import structlog

from exporterhub.core.logging import LEVELS, configure_logging

pytestmark = pytest.mark.usefixtures("restore_logging")


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class TestJson:
    """The JSON format writes one object per event to stderr."""

    def test_one_object_per_event(self, capsys):
        """Two events give two JSON lines with event, level, time and context."""
        configure_logging("info", "json")
        log = structlog.get_logger("t")
        log.info("thing_happened", target="a", count=2)
        log.warning("other_thing", target="b")
        captured = capsys.readouterr()
        assert captured.out == ""
        first, second = _json_lines(captured.err)
        assert first["event"] == "thing_happened"
        assert first["level"] == "info"
        assert (first["target"], first["count"]) == ("a", 2)
        assert first["timestamp"].endswith("Z")
        assert (second["event"], second["level"]) == ("other_thing", "warning")

    def test_exception_is_rendered_in_the_object(self, capsys):
        """log.exception puts the traceback into the same JSON object."""
        configure_logging("info", "json")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            structlog.get_logger("t").exception("it_failed")
        (record,) = _json_lines(capsys.readouterr().err)
        assert record["event"] == "it_failed"
        assert record["level"] == "error"
        assert "RuntimeError: boom" in record["exception"]

    def test_context_variables_are_merged(self, capsys):
        """Bound context variables appear in every event."""
        configure_logging("info", "json")
        structlog.contextvars.bind_contextvars(request_id="r1")
        structlog.get_logger("t").info("with_context")
        (record,) = _json_lines(capsys.readouterr().err)
        assert record["request_id"] == "r1"

    def test_auto_without_tty_is_json(self, capsys):
        """'auto' writes JSON when stderr is not a terminal."""
        configure_logging("info", "auto")
        structlog.get_logger("t").info("auto_event")
        (record,) = _json_lines(capsys.readouterr().err)
        assert record["event"] == "auto_event"


class TestStandardLibrary:
    def test_stdlib_records_are_json_too(self, capsys):
        """uvicorn-style stdlib log records come out as the same JSON objects."""
        configure_logging("info", "json")
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
        logging.getLogger("uvicorn.error").debug("hidden below the level")
        (record,) = _json_lines(capsys.readouterr().err)
        assert record["event"] == "Started server process [7]"
        assert record["logger"] == "uvicorn.error"
        assert record["level"] == "info"

    def test_reconfiguring_keeps_one_handler(self):
        """Calling configure_logging twice leaves one project handler on the root."""
        configure_logging("info", "json")
        configure_logging("debug", "json")
        ours = [
            h for h in logging.getLogger().handlers if getattr(h, "_exporterhub", False)
        ]
        assert len(ours) == 1


class TestConsole:
    """The console format is for humans on a terminal."""

    def test_console_is_not_json(self, capsys):
        """'console' writes a readable line containing the event and context."""
        configure_logging("info", "console")
        structlog.get_logger("t").info("console_event", target="a")
        err = capsys.readouterr().err
        assert "console_event" in err
        assert "target" in err
        with pytest.raises(json.JSONDecodeError):
            json.loads(err.splitlines()[0])

    def test_auto_on_tty_is_console(self, monkeypatch):
        """'auto' picks the console renderer when stderr is a terminal."""
        master, replica = os.openpty()
        with os.fdopen(replica, "w") as terminal:
            monkeypatch.setattr(sys, "stderr", terminal)
            configure_logging("info", "auto")
            structlog.get_logger("t").info("tty_event")
            terminal.flush()
            output = os.read(master, 65536).decode(errors="replace")
        os.close(master)
        assert "tty_event" in output
        assert not output.lstrip().startswith("{")


class TestLevels:
    """The level filters events and sets the stdlib root logger."""

    @pytest.mark.parametrize(
        ("level", "shown"),
        [
            pytest.param("debug", ["d", "i", "w", "e"], id="debug"),
            pytest.param("info", ["i", "w", "e"], id="info"),
            pytest.param("warning", ["w", "e"], id="warning"),
            pytest.param("error", ["e"], id="error"),
            pytest.param("critical", [], id="critical"),
            pytest.param("WARNING", ["w", "e"], id="upper-case"),
        ],
    )
    def test_filtering(self, capsys, level, shown):
        """Only events at or above the configured level are written."""
        configure_logging(level, "json")
        log = structlog.get_logger("t")
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")
        assert [r["event"] for r in _json_lines(capsys.readouterr().err)] == shown

    def test_root_logger_level(self):
        """The stdlib root logger gets the same level."""
        configure_logging("error", "json")
        assert logging.getLogger().level == logging.ERROR

    @pytest.mark.parametrize(
        ("level", "fmt", "message"),
        [
            pytest.param("loud", "json", "unknown log level 'loud'", id="bad-level"),
            pytest.param("trace", "json", "unknown log level", id="trace-level"),
            pytest.param("info", "xml", "unknown log format 'xml'", id="bad-format"),
        ],
    )
    def test_invalid(self, level, fmt, message):
        """Unknown levels and formats raise ValueError naming the value."""
        with pytest.raises(ValueError, match=message):
            configure_logging(level, fmt)

    def test_levels_constant(self):
        """LEVELS lists the five levels, lowest first."""
        assert LEVELS == ("debug", "info", "warning", "error", "critical")
