"""Minimal HTTP/1.1 of the CHAOS simulator: read one request, write one response.

The simulator speaks HTTP on asyncio streams rather than through an ASGI app,
because a dropped connection and a request that never gets an answer must be real
socket behaviour. :func:`read_request` reads one request head and its
``Content-Length`` body (chunked bodies are refused), :func:`write_response`
writes one answer.

This module must not interpret CHAOS paths or attributes (``wire`` and ``model``
do), open, close or abort connections (``server`` does) or log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MAX_BODY",
    "MAX_HEAD",
    "REASONS",
    "BadRequestError",
    "Request",
    "read_request",
    "write_response",
]

MAX_BODY: Final = 1 << 20  # bytes; CHAOS requests are a few hundred
MAX_HEAD: Final = 64 * 1024
REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(slots=True)
class Request:
    """One request: method (upper case), target, lower-case headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class BadRequestError(Exception):
    """The request cannot be read; the message says why (answered with 400)."""


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one HTTP/1.1 request; None on a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequestError("truncated request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequestError("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ")
    except ValueError:
        raise BadRequestError("bad request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequestError("chunked bodies are not supported")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequestError("bad content-length") from None
    if not 0 <= length <= MAX_BODY:
        raise BadRequestError("bad content-length")
    body = await reader.readexactly(length) if length else b""
    return Request(method.upper(), target, headers, body)


async def write_response(
    writer: asyncio.StreamWriter,
    status: int,
    content_type: str,
    body: bytes,
    headers: dict[str, str],
    keep: bool,
) -> None:
    """Write one response with ``Content-Length`` and ``Connection`` headers."""
    head = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        f"Connection: {'keep-alive' if keep else 'close'}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
