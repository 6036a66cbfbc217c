"""Tests for the PHD2 line framing, message parser and request encoder."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from exporterhub.exporters.phd2.protocol import (
    KNOWN_EVENTS,
    MAX_REQUEST_BYTES,
    Event,
    LineBuffer,
    Malformed,
    MalformedReason,
    RpcError,
    RpcResponse,
    encode_request,
    event_from_fields,
    parse_line,
    parse_message,
)

# Every event line printed in shared/protocols/phd2.md (§3, §6, §8), verbatim.
DOC_EVENTS = [
    b'{"Event":"Version","Timestamp":1735689600.120,"Host":"OBSERVATORY","Inst":1,'
    b'"PHDVersion":"2.6.14","PHDSubver":"","OverlapSupport":true,"MsgVersion":1}',
    b'{"Event":"LockPositionSet","Timestamp":1735689600.120,"Host":"OBSERVATORY",'
    b'"Inst":1,"X":640.125,"Y":480.500}',
    b'{"Event":"StarSelected","Timestamp":1735689600.121,"Host":"OBSERVATORY",'
    b'"Inst":1,"X":640.310,"Y":480.377}',
    b'{"Event":"CalibrationComplete","Timestamp":1735689600.121,'
    b'"Host":"OBSERVATORY","Inst":1,"Mount":"On-camera"}',
    b'{"Event":"StartGuiding","Timestamp":1735689600.122,"Host":"OBSERVATORY",'
    b'"Inst":1}',
    b'{"Event":"AppState","Timestamp":1735689600.122,"Host":"OBSERVATORY","Inst":1,'
    b'"State":"Guiding"}',
    b'{"Event":"GuideStep","Timestamp":1735690012.537,"Host":"OBSERVATORY","Inst":1,'
    b'"Frame":57,"Time":171.064,"Mount":"On-camera","dx":-0.412,"dy":0.295,'
    b'"RADistanceRaw":-0.498,"DECDistanceRaw":0.101,"RADistanceGuide":-0.349,'
    b'"DECDistanceGuide":0.000,"RADuration":112,"RADirection":"East",'
    b'"StarMass":15873,"SNR":31.08,"HFD":2.46,"AvgDist":0.47}',
    b'{"Event":"SettleBegin","Timestamp":1735690300.004,"Host":"OBSERVATORY","Inst":1}',
    b'{"Event":"Settling","Timestamp":1735690302.210,"Host":"OBSERVATORY","Inst":1,'
    b'"Distance":1.87,"Time":0.0,"SettleTime":10.0,"StarLocked":true}',
    b'{"Event":"SettleDone","Timestamp":1735690316.950,"Host":"OBSERVATORY",'
    b'"Inst":1,"Status":0,"TotalFrames":7,"DroppedFrames":0}',
    b'{"Event":"SettleDone","Timestamp":1735690418.002,"Host":"OBSERVATORY",'
    b'"Inst":1,"Status":1,"Error":"timed-out waiting for guider to settle",'
    b'"TotalFrames":21,"DroppedFrames":2}',
    b'{"Event":"LockPositionSet","Timestamp":1735690299.998,"Host":"OBSERVATORY",'
    b'"Inst":1,"X":643.907,"Y":478.011}',
    b'{"Event":"GuidingDithered","Timestamp":1735690299.999,"Host":"OBSERVATORY",'
    b'"Inst":1,"dx":-2.604,"dy":1.118}',
    b'{"Event":"StarLost","Timestamp":1735690777.440,"Host":"OBSERVATORY","Inst":1,'
    b'"Frame":233,"Time":712.618,"StarMass":0,"SNR":0.00,"HFD":0.00,'
    b'"AvgDist":0.52,"ErrorCode":2,"Status":"Star lost - low SNR"}',
]

LINE_A = b'{"Event":"Paused","Timestamp":1.0,"Host":"h","Inst":1}'
LINE_B = b'{"jsonrpc":"2.0","result":"Guiding","id":3}'


def feed_all(buffer: LineBuffer, chunks: list[bytes]) -> list[bytes]:
    lines: list[bytes] = []
    for chunk in chunks:
        lines.extend(buffer.feed(chunk))
    return lines


class TestLineBuffer:
    def test_every_split_point_of_two_lines(self):
        """Two CRLF lines split at any byte position come out whole and in order."""
        data = LINE_A + b"\r\n" + LINE_B + b"\r\n"
        for cut in range(len(data) + 1):
            buffer = LineBuffer()
            lines = feed_all(buffer, [data[:cut], data[cut:]])
            assert lines == [LINE_A, LINE_B], cut
            assert buffer.pending == 0

    def test_every_pair_of_split_points(self):
        """Three pieces cut at any two positions still give the two lines."""
        data = LINE_A + b"\r\n" + LINE_B + b"\r\n"
        for first in range(0, len(data) + 1, 3):
            for second in range(first, len(data) + 1, 5):
                buffer = LineBuffer()
                pieces = [data[:first], data[first:second], data[second:]]
                assert feed_all(buffer, pieces) == [LINE_A, LINE_B]

    def test_many_lines_in_one_feed(self):
        """One read holding a thousand lines returns all of them in order."""
        lines = [b'{"n":%d}' % i for i in range(1000)]
        buffer = LineBuffer()
        assert buffer.feed(b"\r\n".join(lines) + b"\r\n") == lines

    def test_partial_tail_is_kept_until_newline(self):
        """A line without its newline is held back and released by the next read."""
        buffer = LineBuffer()
        assert buffer.feed(LINE_A) == []
        assert buffer.pending == len(LINE_A)
        assert buffer.feed(b"\r") == []
        assert buffer.feed(b"\n") == [LINE_A]
        assert buffer.pending == 0

    def test_bare_lf_and_crlf_both_end_lines(self):
        """Lines ending in LF or CRLF both lose their line ending."""
        buffer = LineBuffer()
        assert buffer.feed(b"a\nb\r\nc\n") == [b"a", b"b", b"c"]

    def test_empty_lines_are_skipped(self):
        """Blank lines, with or without CR, produce nothing."""
        buffer = LineBuffer()
        assert buffer.feed(b"\r\n\n\r\nx\r\n\r\n") == [b"x"]

    def test_inner_carriage_return_is_kept(self):
        """Only a trailing CR is dropped; one inside a line is data."""
        buffer = LineBuffer()
        assert buffer.feed(b"a\rb\r\n") == [b"a\rb"]

    def test_overlong_line_in_one_read_is_dropped_and_counted(self):
        """A complete line over the limit is dropped, counted, and the next kept."""
        buffer = LineBuffer(max_line=10)
        assert buffer.feed(b"x" * 11 + b"\r\n" + b"ok\r\n") == [b"ok"]
        assert buffer.overlong == 1

    def test_line_at_the_limit_is_kept(self):
        """A line exactly max_line bytes long (plus CRLF) is accepted."""
        buffer = LineBuffer(max_line=10)
        data = b"y" * 10 + b"\r\n"
        assert feed_all(buffer, [data[:5], data[5:11], data[11:]]) == [b"y" * 10]
        assert buffer.overlong == 0

    def test_overlong_line_across_reads_is_discarded_to_newline(self):
        """An endless line is dropped while it streams in; the line after it is kept."""
        buffer = LineBuffer(max_line=16)
        assert buffer.feed(b"z" * 10) == []
        assert buffer.feed(b"z" * 10) == []
        assert buffer.overlong == 1
        assert buffer.pending == 0
        assert buffer.feed(b"z" * 1000) == []
        assert buffer.feed(b"zz\r\n" + LINE_A[:5]) == []
        assert buffer.feed(LINE_A[5:] + b"\r\n") == []  # LINE_A is over 16 bytes
        assert buffer.overlong == 2
        assert buffer.feed(b"good\r\n") == [b"good"]
        assert buffer.overlong == 2

    def test_overlong_then_good_line_in_same_read(self):
        """The good line after a discarded overlong tail comes out of the same read."""
        buffer = LineBuffer(max_line=8)
        assert buffer.feed(b"q" * 20) == []
        assert buffer.feed(b"qq\nfine\n") == [b"fine"]
        assert buffer.overlong == 1

    def test_clear_forgets_partial_line(self):
        """After clear() a half line from the old connection does not leak."""
        buffer = LineBuffer(max_line=4)
        buffer.feed(b"half")
        buffer.clear()
        assert buffer.feed(b"new\n") == [b"new"]
        buffer.feed(b"x" * 10)
        buffer.clear()
        assert buffer.feed(b"ok\n") == [b"ok"]

    def test_multibyte_utf8_split_across_reads(self):
        """A UTF-8 character cut between reads is rejoined and parses intact."""
        line = '{"Event":"Alert","Host":"Stérnwarte","Msg":"ñ ✓ 🌌","Type":"info"}'
        data = line.encode() + b"\r\n"
        for cut in range(len(data) + 1):
            buffer = LineBuffer()
            (raw,) = feed_all(buffer, [data[:cut], data[cut:]])
            event = parse_line(raw)
            assert isinstance(event, Event)
            assert event.host == "Stérnwarte"
            assert event.fields["Msg"] == "ñ ✓ 🌌"

    def test_rejects_non_positive_limit(self):
        """A max_line below 1 is a programming error."""
        with pytest.raises(ValueError, match="max_line"):
            LineBuffer(max_line=0)

    def test_random_chunking_matches_reference_split(self):
        """Random chunk sizes give the same lines as splitting the whole stream."""
        rng = random.Random(7)
        lines = [
            bytes(rng.choice(b"abc{}:,") for _ in range(rng.randint(1, 60)))
            for _ in range(300)
        ]
        data = b"".join(line + rng.choice([b"\n", b"\r\n"]) for line in lines)
        for _ in range(20):
            buffer = LineBuffer(max_line=40)
            chunks: list[bytes] = []
            position = 0
            while position < len(data):
                size = rng.randint(1, 97)
                chunks.append(data[position : position + size])
                position += size
            expected = [line for line in lines if len(line) <= 40]
            assert feed_all(buffer, chunks) == expected
            assert buffer.overlong == len(lines) - len(expected)


class TestParseEvents:
    @pytest.mark.parametrize("line", DOC_EVENTS)
    def test_documented_examples_parse_as_events(self, line):
        """Every event example of the protocol document parses into an Event."""
        event = parse_line(line)
        assert isinstance(event, Event)
        assert event.name == json.loads(line)["Event"]
        assert event.name in KNOWN_EVENTS
        assert event.host == "OBSERVATORY"
        assert event.inst == 1
        assert event.timestamp == json.loads(line)["Timestamp"]
        assert event.fields == json.loads(line)

    def test_guide_step_fields_keep_json_types(self):
        """GuideStep numbers and strings arrive as parsed JSON values."""
        event = parse_line(DOC_EVENTS[6])
        assert isinstance(event, Event)
        assert event.fields["RADuration"] == 112
        assert event.fields["DECDistanceGuide"] == 0.0
        assert event.fields["RADirection"] == "East"
        assert "DECDuration" not in event.fields

    def test_common_fields_may_be_missing(self):
        """An event with only its name has None for timestamp, host and instance."""
        event = parse_line(b'{"Event":"MultiStarReport"}')
        assert event == Event(
            name="MultiStarReport",
            timestamp=None,
            host=None,
            inst=None,
            fields={"Event": "MultiStarReport"},
        )

    def test_integer_timestamp_becomes_float(self):
        """An integral Timestamp is returned as a float."""
        event = parse_line(b'{"Event":"Resumed","Timestamp":17,"Host":"h","Inst":2}')
        assert isinstance(event, Event)
        assert event.timestamp == 17.0
        assert isinstance(event.timestamp, float)

    def test_raw_tab_inside_string_is_accepted(self):
        """A raw control character in a string (PHD2 does not escape tabs) parses."""
        event = parse_line(b'{"Event":"Alert","Host":"my\thost","Inst":1,"Msg":"a\tb"}')
        assert isinstance(event, Event)
        assert event.host == "my\thost"
        assert event.fields["Msg"] == "a\tb"

    def test_raw_control_character_with_nan_is_still_malformed(self):
        """The lenient path still rejects nan, inf and overflowing numbers."""
        for line in (
            b'{"Event":"GuideStep","Host":"a\tb","SNR":NaN}',
            b'{"Event":"GuideStep","Host":"a\tb","SNR":1e999}',
            b'{"Event":"GuideStep","Host":"a\tb","SNR":-Infinity}',
        ):
            assert parse_line(line) == Malformed(MalformedReason.JSON), line

    def test_raw_control_character_with_lone_surrogate_is_malformed(self):
        """The lenient path rejects strings that are not valid Unicode."""
        assert parse_line(b'{"Event":"Alert","Msg":"\t\\ud800"}') == Malformed(
            MalformedReason.JSON
        )

    def test_raw_control_character_with_bad_utf8_is_malformed(self):
        """The lenient path rejects bytes that are not UTF-8."""
        assert parse_line(b'{"Event":"Alert","Msg":"\t\xff"}') == Malformed(
            MalformedReason.JSON
        )

    def test_raw_control_character_with_huge_integer_is_malformed(self):
        """Integers beyond 64 bits on the lenient path are rejected, not kept."""
        line = b'{"Event":"Alert","Msg":"\t","Inst":' + b"9" * 40 + b"}"
        assert parse_line(line) == Malformed(MalformedReason.JSON)

    def test_lenient_path_deep_nesting_is_malformed(self):
        """Deep nesting with a raw control character does not raise."""
        line = b'{"Event":"X","Msg":"\t","deep":' + b"[" * 100_000 + b"]" * 100_000
        assert parse_line(line + b"}") == Malformed(MalformedReason.JSON)


class TestParseMessage:
    @pytest.mark.parametrize("line", DOC_EVENTS)
    def test_event_is_its_parsed_object(self, line):
        """An event comes back as the parsed dict, which parse_line wraps."""
        fields = parse_message(line)
        assert fields == json.loads(line)
        assert isinstance(fields, dict)
        assert event_from_fields(fields) == parse_line(line)

    @pytest.mark.parametrize(
        "line",
        [
            pytest.param(b'{"Event":"MultiStarReport"}', id="bare-event"),
            pytest.param(b'{"Event":"X","Timestamp":17,"Host":null}', id="int-ts"),
            pytest.param(b'{"Event":"Alert","Host":"a\tb","Msg":"x"}', id="escape"),
            pytest.param(b'{"Event":"Alert","Host":"a\tb","Msg":"x	y"}', id="raw"),
        ],
    )
    def test_event_off_the_fast_path(self, line):
        """Events with missing, null or integral common members are still events."""
        fields = parse_message(line)
        assert isinstance(fields, dict)
        assert event_from_fields(fields) == parse_line(line)

    @pytest.mark.parametrize(
        "line",
        [
            LINE_B,
            b'{"jsonrpc":"2.0","error":{"code":1,"message":"no"},"id":2}',
            b'{"Event":"X","Inst":"1","Timestamp":1.0,"Host":"h"}',
            b'{"Event":5,"Timestamp":1.0,"Host":"h","Inst":1}',
            b"[]",
            b"42",
            b"{",
        ],
    )
    def test_anything_else_is_what_parse_line_says(self, line):
        """Responses and malformed lines come back exactly as from parse_line."""
        assert parse_message(line) == parse_line(line)


class TestParseResponses:
    def test_result(self):
        """A success response carries id and result and no error."""
        assert parse_line(b'{"jsonrpc":"2.0","result":1.93,"id":7}') == RpcResponse(
            7, 1.93, None
        )

    def test_null_result(self):
        """A null result (unknown pixel scale) is a success with result None."""
        response = parse_line(b'{"jsonrpc":"2.0","result":null,"id":4}')
        assert response == RpcResponse(4, None, None)

    def test_error(self):
        """An error response carries the code and message."""
        response = parse_line(
            b'{"jsonrpc":"2.0","error":{"code":-32601,"message":"method not found"},'
            b'"id":8}'
        )
        assert response == RpcResponse(8, None, RpcError(-32601, "method not found"))

    def test_error_with_null_id(self):
        """A parse-error response has id None."""
        response = parse_line(
            b'{"jsonrpc":"2.0","error":{"code":-32603,"message":"too big"},"id":null}'
        )
        assert response == RpcResponse(None, None, RpcError(-32603, "too big"))

    def test_response_without_jsonrpc_member(self):
        """An object with id and result but no jsonrpc member is a response."""
        assert parse_line(b'{"result":true,"id":2}') == RpcResponse(2, True, None)

    def test_integral_float_id_becomes_int(self):
        """An id echoed as 7.0 matches request 7."""
        response = parse_line(b'{"jsonrpc":"2.0","result":0,"id":7.0}')
        assert isinstance(response, RpcResponse)
        assert response.id == 7
        assert isinstance(response.id, int)

    def test_string_and_fractional_ids_are_kept(self):
        """Non-integer ids are passed through unchanged."""
        assert parse_line(b'{"result":1,"id":"a"}') == RpcResponse("a", 1, None)
        assert parse_line(b'{"result":1,"id":2.5}') == RpcResponse(2.5, 1, None)

    def test_error_message_not_a_string_becomes_empty(self):
        """A non-string error message is replaced by an empty string."""
        response = parse_line(
            b'{"jsonrpc":"2.0","error":{"code":1,"message":5},"id":1}'
        )
        assert response == RpcResponse(1, None, RpcError(1, ""))

    def test_error_without_message(self):
        """A missing error message is an empty string."""
        response = parse_line(b'{"jsonrpc":"2.0","error":{"code":2},"id":1}')
        assert response == RpcResponse(1, None, RpcError(2, ""))

    def test_result_and_null_error_is_success(self):
        """An explicit null error next to a result is a success."""
        response = parse_line(b'{"jsonrpc":"2.0","result":3,"error":null,"id":1}')
        assert response == RpcResponse(1, 3, None)


class TestMalformed:
    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            pytest.param(b"{", MalformedReason.JSON, id="truncated"),
            pytest.param(b"not json", MalformedReason.JSON, id="text"),
            pytest.param(
                b'{"Event":"GuideStep","SNR":nan}', MalformedReason.JSON, id="nan"
            ),
            pytest.param(
                b'{"Event":"GuideStep","SNR":inf}', MalformedReason.JSON, id="inf"
            ),
            pytest.param(
                b'{"Event":"GuideStep","SNR":1e999}',
                MalformedReason.JSON,
                id="overflow",
            ),
            pytest.param(b"\xff\xfe{}", MalformedReason.JSON, id="bad-utf8"),
            pytest.param(b"\xef\xbb\xbf{}", MalformedReason.JSON, id="bom"),
            pytest.param(b"[" * 5000, MalformedReason.JSON, id="deep"),
            pytest.param(b"[]", MalformedReason.BATCH, id="empty-batch"),
            pytest.param(b'[{"result":1,"id":1}]', MalformedReason.BATCH, id="batch"),
            pytest.param(b'"Guiding"', MalformedReason.SHAPE, id="string"),
            pytest.param(b"42", MalformedReason.SHAPE, id="number"),
            pytest.param(b"null", MalformedReason.SHAPE, id="null"),
            pytest.param(b"{}", MalformedReason.SHAPE, id="empty-object"),
            pytest.param(b'{"method":"x","id":1}', MalformedReason.SHAPE, id="request"),
            pytest.param(b'{"Event":5}', MalformedReason.SHAPE, id="event-number"),
            pytest.param(b'{"Event":null}', MalformedReason.SHAPE, id="event-null"),
            pytest.param(
                b'{"Event":"X","Timestamp":"1"}', MalformedReason.SHAPE, id="ts-str"
            ),
            pytest.param(
                b'{"Event":"X","Timestamp":true}', MalformedReason.SHAPE, id="ts-bool"
            ),
            pytest.param(
                b'{"Event":"X","Host":1}', MalformedReason.SHAPE, id="host-int"
            ),
            pytest.param(
                b'{"Event":"X","Inst":"1"}', MalformedReason.SHAPE, id="inst-str"
            ),
            pytest.param(
                b'{"Event":"X","Inst":true}', MalformedReason.SHAPE, id="inst-bool"
            ),
            pytest.param(
                b'{"Event":"X","Inst":1.5}', MalformedReason.SHAPE, id="inst-float"
            ),
            pytest.param(
                b'{"jsonrpc":"2.0","id":1}', MalformedReason.SHAPE, id="no-result"
            ),
            pytest.param(
                b'{"jsonrpc":"2.0","result":1,"id":[1]}',
                MalformedReason.SHAPE,
                id="id-list",
            ),
            pytest.param(
                b'{"jsonrpc":"2.0","result":1,"id":true}',
                MalformedReason.SHAPE,
                id="id-bool",
            ),
            pytest.param(
                b'{"jsonrpc":"2.0","error":"bad","id":1}',
                MalformedReason.SHAPE,
                id="error-str",
            ),
            pytest.param(
                b'{"jsonrpc":"2.0","error":{"code":"1"},"id":1}',
                MalformedReason.SHAPE,
                id="code-str",
            ),
            pytest.param(
                b'{"jsonrpc":"2.0","error":{"code":true},"id":1}',
                MalformedReason.SHAPE,
                id="code-bool",
            ),
        ],
    )
    def test_malformed_line(self, line, reason):
        """Lines that are not usable messages give Malformed with a fixed reason."""
        assert parse_line(line) == Malformed(reason)

    def test_random_bytes_never_raise(self):
        """Thousands of random byte strings parse to some message without raising."""
        rng = random.Random(20250101)
        alphabet = b'{}[]":,0123456789.-+eEtrufalsnNI\\\t\r \xc3\xa9\xff'
        for _ in range(4000):
            size = rng.randint(0, 64)
            if rng.random() < 0.5:
                data = bytes(rng.getrandbits(8) for _ in range(size))
            else:
                data = bytes(rng.choice(alphabet) for _ in range(size))
            assert isinstance(parse_line(data), Event | RpcResponse | Malformed)

    def test_mutated_documented_lines_never_raise(self):
        """Documented lines with random bytes flipped, cut or duplicated never raise."""
        rng = random.Random(99)
        kinds: set[type] = set()
        for _ in range(3000):
            data = bytearray(rng.choice(DOC_EVENTS))
            for _ in range(rng.randint(1, 4)):
                position = rng.randrange(len(data))
                action = rng.randrange(3)
                if action == 0:
                    data[position] = rng.getrandbits(8)
                elif action == 1:
                    del data[position:]
                    if not data:
                        break
                else:
                    data[position:position] = data[position : position + 5]
            kinds.add(type(parse_line(bytes(data))))
        assert kinds >= {Event, Malformed}


class TestEncodeRequest:
    def test_without_params(self):
        """A request without params is compact and has method then id."""
        line = encode_request("get_pixel_scale", 7)
        assert line == b'{"method":"get_pixel_scale","id":7}\n'

    def test_with_params(self):
        """Named params sit between method and id."""
        line = encode_request("get_algo_param", 3, {"axis": "ra", "name": "x"})
        assert line == (
            b'{"method":"get_algo_param","params":{"axis":"ra","name":"x"},"id":3}\n'
        )
        assert orjson.loads(line) == {
            "method": "get_algo_param",
            "params": {"axis": "ra", "name": "x"},
            "id": 3,
        }

    def test_positional_params(self):
        """A list of params is encoded as a JSON array."""
        assert (
            encode_request("m", 1, ["Mount"])
            == b'{"method":"m","params":["Mount"],"id":1}\n'
        )

    def test_size_limit(self):
        """A request of exactly 1023 bytes passes; one byte more raises ValueError."""
        base = len(encode_request("m", 1, [""]))
        fits = encode_request("m", 1, ["x" * (MAX_REQUEST_BYTES - base)])
        assert len(fits) == MAX_REQUEST_BYTES
        with pytest.raises(ValueError, match="exceeds"):
            encode_request("m", 1, ["x" * (MAX_REQUEST_BYTES - base + 1)])

    def test_bad_id_rejected(self):
        """Ids must be ints; bools and strings raise ValueError."""
        for bad in (True, "1", 1.0):
            with pytest.raises(ValueError, match="request_id"):
                encode_request("m", bad)  # type: ignore[arg-type]

    def test_round_trip_through_parser_shape(self):
        """An encoded request is one line that the parser does not take for a reply."""
        line = encode_request("get_app_state", 12)
        assert line.count(b"\n") == 1
        assert line.endswith(b"\n")
        assert parse_line(line.rstrip(b"\n")) == Malformed(MalformedReason.SHAPE)


class TestTrickledLines:
    def test_line_fed_byte_by_byte_is_whole(self):
        """A line arriving one byte per read comes out once, whole."""
        from exporterhub.exporters.phd2.protocol import LineBuffer

        buffer = LineBuffer(max_line=2000)
        line = b'{"Event":"Alert","Msg":"' + b"x" * 1500 + b'"}'
        out: list[bytes] = []
        for byte in line + b"\r\n":
            out += buffer.feed(bytes([byte]))
        assert out == [line]
        assert buffer.pending == 0
        assert buffer.overlong == 0

    def test_overlong_trickle_is_counted_once_and_next_line_kept(self):
        """A trickled over-long line is counted once; the next line survives."""
        from exporterhub.exporters.phd2.protocol import LineBuffer

        buffer = LineBuffer(max_line=100)
        out: list[bytes] = []
        for _ in range(50):
            out += buffer.feed(b"y" * 7)
        assert buffer.pending == 0
        out += buffer.feed(b"yyy\r\nok\n")
        assert out == [b"ok"]
        assert buffer.overlong == 1
