r"""Split PHD2's byte stream into lines. Pure, no I/O.

PHD2 ends every message with ``\r\n`` (``shared/protocols/phd2.md`` §2); a line
ends at ``\n``. ``LineBuffer`` keeps an unfinished line across reads, never decodes
bytes (a multi-byte character split across reads is safe), skips empty lines and
drops overlong ones, counting them. It must not parse what the lines say (that is
``protocol``).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_MAX_LINE", "LineBuffer"]

DEFAULT_MAX_LINE: Final = 64 * 1024
"""Longest accepted line in bytes (a GuideStep is ~400 bytes)."""


class LineBuffer:
    r"""Split a byte stream into lines, keeping a partial line across reads.

    Lines end in ``\n``; a trailing ``\r`` is dropped (or kept, with
    ``strip_cr=False``) and empty lines are skipped. Bytes are never decoded here,
    so a multi-byte character split across reads is safe. A line longer than
    ``max_line`` bytes (not counting a trailing ``\r``) is dropped up to its newline
    and counted in ``overlong``.

    Args:
        max_line: longest accepted line in bytes, without the line ending.
        strip_cr: drop a trailing ``\r`` from each line. Pass False when the lines
            go to a JSON parser, for which the ``\r`` is whitespace: then a read's
            lines are the slices ``bytes.split`` made, with no copy per line.

    >>> buffer = LineBuffer(max_line=4)
    >>> buffer.feed(b"ab\r\nc")
    [b'ab']
    >>> buffer.feed(b"d\n\n0123456789\nok\n"), buffer.overlong
    ([b'cd', b'ok'], 1)
    >>> LineBuffer(strip_cr=False).feed(b"ab\r\n\r\ncd\n")
    [b'ab\r', b'cd']
    """

    __slots__ = (
        "_discarding",
        "_pending",
        "_strip_cr",
        "_tail",
        "max_line",
        "overlong",
    )

    def __init__(
        self, max_line: int = DEFAULT_MAX_LINE, *, strip_cr: bool = True
    ) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self.max_line = max_line
        self.overlong = 0
        self._strip_cr = strip_cr
        # The unfinished line, kept as the reads that brought it: a peer trickling
        # a long line in tiny pieces costs linear, not quadratic, work.
        self._tail: list[bytes] = []
        self._pending = 0
        self._discarding = False

    @property
    def pending(self) -> int:
        """Return how many bytes of an unfinished line are held."""
        return self._pending

    def clear(self) -> None:
        """Forget a partial line (call when the connection is replaced)."""
        self._tail = []
        self._pending = 0
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from one read and return the lines completed by them.

        Args:
            data: the bytes just read, any length.

        Returns:
            Complete lines without their line ending, in order.
        """
        if self._discarding:
            newline = data.find(b"\n")
            if newline < 0:
                return []
            self._discarding = False
            data = data[newline + 1 :]
        limit = self.max_line
        if b"\n" not in data:
            self._pending += len(data)
            # One byte of slack: the tail may still lose a trailing "\r".
            if self._pending > limit + 1:
                self.overlong += 1
                self.clear()
                self._discarding = True
            elif data:
                self._tail.append(data)
            return []
        if self._tail:
            self._tail.append(data)
            buffer = b"".join(self._tail)
        else:
            buffer = data
        lines = buffer.split(b"\n")
        tail = lines.pop()
        if self._strip_cr:
            lines = [line[:-1] if line[-1:] == b"\r" else line for line in lines]
        # Every line but the first lies within this read, so when the read is no
        # longer than the limit only the first can be overlong: a check in C
        # instead of one per line, and the exact filter only when it is needed.
        longest = max(map(len, lines)) if len(data) > limit else len(lines[0])
        if longest > limit or b"" in lines or (not self._strip_cr and b"\r" in lines):
            lines = self._usable(lines)
        # One byte of slack: the tail may still lose a trailing "\r".
        if len(tail) > limit + 1:
            self.overlong += 1
            self._discarding = True
            tail = b""
        self._tail = [tail] if tail else []
        self._pending = len(tail)
        return lines

    def _usable(self, lines: list[bytes]) -> list[bytes]:
        """Drop empty lines, and overlong ones with a count."""
        limit = self.max_line
        usable: list[bytes] = []
        for line in lines:
            length = len(line)
            if not self._strip_cr and line[-1:] == b"\r":
                length -= 1
            if not length:
                continue
            if length > limit:
                self.overlong += 1
                continue
            usable.append(line)
        return usable
