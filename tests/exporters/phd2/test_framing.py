"""Tests for LineBuffer's keep-CR mode, the read loop's framing."""

from __future__ import annotations

import random

import pytest

from exporterhub.exporters.phd2.framing import LineBuffer
from exporterhub.exporters.phd2.protocol import parse_message


def feed_all(buffer: LineBuffer, chunks: list[bytes]) -> list[bytes]:
    lines: list[bytes] = []
    for chunk in chunks:
        lines.extend(buffer.feed(chunk))
    return lines


def strip_one_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


class TestKeepCarriageReturn:
    def test_trailing_cr_stays_on_the_line(self):
        """With strip_cr=False a CRLF line keeps its CR and an LF line is as sent."""
        buffer = LineBuffer(strip_cr=False)
        assert buffer.feed(b"a\r\nb\nc\r\r\n") == [b"a\r", b"b", b"c\r\r"]

    def test_empty_and_cr_only_lines_are_skipped(self):
        """Blank lines, with or without CR, produce nothing in keep-CR mode."""
        buffer = LineBuffer(strip_cr=False)
        assert buffer.feed(b"\r\n\n\r\nx\r\n\r\n") == [b"x\r"]

    @pytest.mark.parametrize("strip_cr", [True, False])
    def test_limit_does_not_count_the_cr(self, strip_cr):
        """A line of max_line bytes plus CR is kept; one byte more is overlong."""
        buffer = LineBuffer(max_line=4, strip_cr=strip_cr)
        lines = buffer.feed(b"abcd\r\nabcde\r\nok\r\n")
        assert [strip_one_cr(line) for line in lines] == [b"abcd", b"ok"]
        assert buffer.overlong == 1

    @pytest.mark.parametrize("strip_cr", [True, False])
    def test_overlong_line_inside_a_read_longer_than_the_limit(self, strip_cr):
        """A read longer than max_line has every line checked, not just the first."""
        buffer = LineBuffer(max_line=8, strip_cr=strip_cr)
        lines = buffer.feed(b"one\r\n" + b"x" * 30 + b"\r\ntwo\r\nthree\n")
        assert [strip_one_cr(line) for line in lines] == [b"one", b"two", b"three"]
        assert buffer.overlong == 1

    @pytest.mark.parametrize("strip_cr", [True, False])
    def test_overlong_first_line_made_of_earlier_reads(self, strip_cr):
        """A line that grew over several short reads is caught when it ends."""
        buffer = LineBuffer(max_line=8, strip_cr=strip_cr)
        assert buffer.feed(b"12345") == []
        assert buffer.feed(b"6789\r\nok\r\n") in ([b"ok"], [b"ok\r"])
        assert buffer.overlong == 1

    def test_random_streams_match_strip_mode(self):
        """Random lines and chunks give strip mode's lines, each with its CR kept."""
        rng = random.Random(11)
        pieces = [b"", b"\r", b"\r\r", b"ab", b"a\rb", b"x" * 25, b"{}", b"y" * 40]
        for _ in range(40):
            data = b"".join(
                rng.choice(pieces) + rng.choice([b"\n", b"\r\n"]) for _ in range(200)
            )
            chunks: list[bytes] = []
            position = 0
            while position < len(data):
                size = rng.choice([1, 7, 30, 64, 500])
                chunks.append(data[position : position + size])
                position += size
            strip = LineBuffer(max_line=30)
            keep = LineBuffer(max_line=30, strip_cr=False)
            expected = feed_all(strip, chunks)
            got = feed_all(keep, chunks)
            assert [strip_one_cr(line) for line in got] == expected
            assert keep.overlong == strip.overlong
            assert keep.pending == strip.pending

    @pytest.mark.parametrize(
        "line",
        [
            pytest.param(
                b'{"Event":"Paused","Timestamp":1.5,"Host":"h","Inst":1}', id="event"
            ),
            pytest.param(b'{"jsonrpc":"2.0","result":1,"id":3}', id="response"),
            pytest.param(b'{"Event":"Alert","Msg":"a\tb","Host":"h"}', id="raw-tab"),
            pytest.param(b'{"Event":"GuideStep","SNR":nan}', id="nan"),
            pytest.param(b"[]", id="batch"),
            pytest.param(b"{", id="truncated"),
            pytest.param(b"\r", id="only-cr"),
        ],
    )
    def test_kept_cr_parses_like_the_stripped_line(self, line):
        """JSON reads a trailing CR as whitespace: the message is the same."""
        assert parse_message(line + b"\r") == parse_message(line)
