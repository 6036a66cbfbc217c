"""The UI's static files and page headers: read once, served from memory.

Static files (one stylesheet, one script, their licence notes) ship inside the
package under ``static/``; they are read at start, fingerprinted and gzipped once.
Pages link them as ``/ui/static/NAME?v=FINGERPRINT``: such a URL never changes
content, so browsers may keep it for a year; any other URL is revalidated by its
``ETag``. Every UI answer carries the security headers below (``SECURITY_HEADERS``):
no script or style but these files, no frames, no referrer. No I/O after start.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["SECURITY_HEADERS", "Asset", "Assets", "accepts_gzip_body", "compressed"]

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
"""Headers of every page, file and JSON answer of the UI."""
_TYPES: Final = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "txt": "text/plain; charset=utf-8",
}
_FOREVER: Final = "public, max-age=31536000, immutable"
_GZIP_MIN: Final = 512
"""Smaller bodies are sent as they are: gzip would save nothing worth a header."""


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file: its bytes, gzipped bytes, type and fingerprint."""

    body: bytes
    packed: bytes | None
    media_type: str
    version: str


def accepts_gzip_body(request: Request) -> bool:
    """Say whether the client takes gzip (``Accept-Encoding``, q > 0)."""
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00")
    return False


def _pack(body: bytes) -> bytes | None:
    if len(body) < _GZIP_MIN:
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return packed if len(packed) < len(body) else None


def compressed(request: Request, body: bytes, media_type: str) -> Response:
    """Return a response with ``body``, gzipped when it pays and is accepted."""
    packed = _pack(body) if accepts_gzip_body(request) else None
    response = Response(packed or body, media_type=media_type)
    response.headers["Vary"] = "Accept-Encoding"
    if packed is not None:
        response.headers["Content-Encoding"] = "gzip"
    return response


class Assets:
    """The files of ``static/``, by name."""

    def __init__(self, package: str = "exporterhub.core.ui") -> None:
        self.files: dict[str, Asset] = {}
        for item in resources.files(package).joinpath("static").iterdir():
            suffix = item.name.rsplit(".", 1)[-1]
            if not item.is_file() or suffix not in _TYPES:
                continue
            body = item.read_bytes()
            self.files[item.name] = Asset(
                body=body,
                packed=_pack(body),
                media_type=_TYPES[suffix],
                version=hashlib.sha256(body).hexdigest()[:16],
            )

    def url(self, name: str) -> str:
        """Return the fingerprinted URL of a file (KeyError when it is not one)."""
        return f"/ui/static/{name}?v={self.files[name].version}"

    def response(self, request: Request, name: str) -> Response:
        """Answer a request for one file: 304, gzip or plain; 404 when unknown."""
        asset = self.files.get(name)
        if asset is None:
            return Response(
                b'{"error":"not_found","detail":"No such file.","fields":[]}',
                status_code=404,
                media_type="application/json",
            )
        etag = f'"{asset.version}"'
        fixed = request.query_params.get("v") == asset.version
        headers = {
            "ETag": etag,
            "Cache-Control": _FOREVER if fixed else "no-cache",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if asset.packed is not None and accepts_gzip_body(request):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.packed, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
