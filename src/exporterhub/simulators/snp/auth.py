"""Tokens the simulated SMM has issued: issue, check, revoke, expire.

``POST /api/auth`` issues a fresh JWT-like token per call (``snp.md`` §2); REST
calls send it as ``Authorization`` and a WebSocket as its first frame. A token is
valid until its lifetime ends, ``DELETE /api/auth`` revokes it, or a fault expires
every token at once. Old entries are pruned so a reconnecting client cannot grow
the book without bound.

No I/O; time comes from the injected clock. Tokens are never logged.
"""

from __future__ import annotations

import secrets
from typing import Final

from exporterhub.simulators.snp.timers import Clock
from exporterhub.simulators.snp.wire import issue_token, normalise_token

__all__ = ["TokenBook"]

MAX_TOKENS: Final = 256


class TokenBook:
    """The tokens one device has issued and which of them still work."""

    def __init__(self, clock: Clock, lifetime: float) -> None:
        self._clock = clock
        self._lifetime = lifetime
        self._key = secrets.token_bytes(32)
        self._expiry: dict[str, float] = {}
        self.issued = 0

    def issue(self, username: str) -> str:
        """Return a new token (with its ``Bearer`` scheme) for ``username``."""
        if len(self._expiry) >= MAX_TOKENS:
            now = self._clock.time()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            while len(self._expiry) >= MAX_TOKENS:
                del self._expiry[next(iter(self._expiry))]
        now = self._clock.time()
        token = issue_token(username, now=now, lifetime=self._lifetime, key=self._key)
        self._expiry[token] = now + self._lifetime
        self.issued += 1
        return token

    def valid(self, text: str | None) -> bool:
        """Whether ``text`` (a header value or a first frame) is a working token."""
        if not text:
            return False
        expiry = self._expiry.get(normalise_token(text))
        return expiry is not None and expiry > self._clock.time()

    def revoke(self, text: str) -> bool:
        """Revoke one token; return whether it was valid."""
        valid = self.valid(text)
        self._expiry.pop(normalise_token(text), None)
        return valid

    def expire_all(self) -> int:
        """Expire every token issued so far; return how many were valid."""
        now = self._clock.time()
        valid = sum(1 for e in self._expiry.values() if e > now)
        self._expiry.clear()
        return valid
