"""Tests of the chunked gzip: streams compressed apart, read back as one member."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporterhub.core.chunks import Chunk, deflate, gzip_join, join


def _single_member(packed: bytes) -> bytes:
    """Inflate ``packed`` as exactly one gzip member (as Go's reader with
    multistream off would), failing on anything after its trailer."""
    reader = zlib.decompressobj(wbits=31)
    text = reader.decompress(packed) + reader.flush()
    assert reader.eof
    assert reader.unused_data == b""
    return text


class TestGzipJoin:
    def test_one_member_holding_every_chunk(self):
        texts = [b"# TYPE a gauge\na 1.0\n", b"", b"b_total 2.0\n" * 500, b"c 3\n"]
        chunks = [Chunk(text) for text in texts]
        body = b"".join(texts)
        assert _single_member(gzip_join(chunks, body)) == body

    def test_no_chunks_is_an_empty_member(self):
        assert _single_member(gzip_join([], b"")) == b""
        assert gzip.decompress(gzip_join([], b"")) == b""

    def test_trailer_checks_the_body(self):
        """The CRC and length are the body's: a wrong body is caught on reading."""
        chunks = [Chunk(b"a 1.0\n")]
        with pytest.raises(zlib.error):
            _single_member(gzip_join(chunks, b"a 2.0\n"))

    def test_stream_is_compressed_once_and_kept(self):
        chunk = Chunk(b"a 1.0\n" * 100)
        first = chunk.packed()
        assert chunk.packed() is first
        assert len(first) < len(chunk.text)

    @given(st.lists(st.binary(max_size=3000), max_size=12))
    def test_any_sequence_round_trips(self, texts):
        body = b"".join(texts)
        assert _single_member(gzip_join([Chunk(t) for t in texts], body)) == body

    def test_streams_do_not_end_the_deflate_stream(self):
        """A chunk's stream has no final block: another may follow it."""
        reader = zlib.decompressobj(wbits=-15)
        assert reader.decompress(deflate(b"a 1\n")) == b"a 1\n"
        assert not reader.eof


class TestJoin:
    def test_texts_become_views_of_the_body(self):
        """After a join each chunk's text is its run of the body, not a copy."""
        chunks = [Chunk(b"a 1\n"), Chunk(b""), Chunk(b"b 2\nc 3\n")]
        body = join(chunks)
        assert body == b"a 1\nb 2\nc 3\n"
        assert [bytes(c.text) for c in chunks] == [b"a 1\n", b"", b"b 2\nc 3\n"]
        assert all(isinstance(c.text, memoryview) for c in chunks)
        assert all(c.text.obj is body for c in chunks)

    def test_a_second_join_moves_the_views_to_the_new_body(self):
        """Chunks kept from the last body and new ones join into a new body."""
        kept = Chunk(b"a 1\n")
        first = join([kept, Chunk(b"b 2\n")])
        second = join([kept, Chunk(b"b 3\n")])
        assert second == b"a 1\nb 3\n"
        assert kept.text.obj is second
        assert first == b"a 1\nb 2\n"  # the old body is untouched

    @given(st.lists(st.binary(max_size=200), max_size=8))
    def test_views_gzip_like_bytes(self, texts):
        chunks = [Chunk(t) for t in texts]
        body = join(chunks)
        assert body == b"".join(texts)
        assert _single_member(gzip_join(chunks, body)) == body
