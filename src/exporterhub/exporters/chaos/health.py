"""Per-login collector health for ``GET /health``, and the per-line login hint.

One ``HealthBook`` per registry (per running hub) holds, for every login being
polled, each enabled collector's last success and last error kind (the §5 class,
never the API's text), the pause after a refused password, and a hint when the
configured login looks like a per-line login. Pure bookkeeping with times passed
in: nothing here talks to the network, logs, or knows metric names.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client import CollectorRegistry

__all__ = ["CollectorHealth", "HealthBook", "LoginHealth", "line_login_hint"]

_LINE_LOGIN: Final = re.compile(r"^(?P<bare>[^@\s]+@[^@\s.]+)\.\d+$")
"""A per-line (PPP/L2TP) login: the control login plus ``.1``, ``.2`` … (§2)."""


def line_login_hint(login: str) -> str | None:
    """Return a hint when ``login`` is a per-line login rather than a control login.

    >>> line_login_hint("abc@a.1")[:45]
    'abc@a.1 looks like a per-line broadband login'
    >>> line_login_hint("abc@a") is None
    True
    """
    match = _LINE_LOGIN.match(login)
    if match is None:
        return None
    return (
        f"{login} looks like a per-line broadband login (PPP/L2TP), not a control "
        f"pages login; CHAOS wants the control login, usually the same without "
        f"the line number: {match['bare']}"
    )


@dataclass(slots=True)
class CollectorHealth:
    """How one collector of one login is doing.

    Attributes:
        ok: outcome of its latest run; None before the first.
        last_success: Unix time of its last successful run.
        last_error: class of its latest failure (``auth``, ``timeout`` …).
        last_error_at: Unix time of that failure.
    """

    ok: bool | None = None
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "ok": self.ok,
            "last_success": self.last_success,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


@dataclass(slots=True)
class LoginHealth:
    """One login (one target) and its enabled collectors."""

    name: str
    login: str
    collectors: dict[str, CollectorHealth]
    hint: str | None = None
    paused_until: float | None = None
    _owner: object = field(default=None, repr=False)

    def succeeded(self, collector: str, now: float) -> None:
        """Note a successful run of ``collector`` at ``now``."""
        entry = self.collectors.setdefault(collector, CollectorHealth())
        entry.ok = True
        entry.last_success = now

    def failed(self, collector: str, error_type: str, now: float) -> None:
        """Note a failed run of ``collector`` at ``now``, by its error class."""
        entry = self.collectors.setdefault(collector, CollectorHealth())
        entry.ok = False
        entry.last_error = error_type
        entry.last_error_at = now

    def as_dict(self, now: float) -> dict[str, Any]:
        """Return the JSON form; ``ok`` is false while any collector's run failed."""
        answer: dict[str, Any] = {
            "login": self.login,
            "ok": all(c.ok is not False for c in self.collectors.values()),
            "paused_until": (
                self.paused_until
                if self.paused_until is not None and self.paused_until > now
                else None
            ),
            "collectors": {k: v.as_dict() for k, v in self.collectors.items()},
        }
        if self.hint is not None:
            answer["hint"] = self.hint
        return answer


_BOOKS: weakref.WeakKeyDictionary[CollectorRegistry, HealthBook] = (
    weakref.WeakKeyDictionary()
)


class HealthBook:
    """The logins of one hub, by target name."""

    def __init__(self) -> None:
        self.logins: dict[str, LoginHealth] = {}

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> HealthBook:
        """Return the registry's book, creating it on first use."""
        found = _BOOKS.get(registry)
        if found is None:
            found = cls()
            _BOOKS[registry] = found
        return found

    def add(
        self, name: str, login: str, collectors: list[str], owner: object
    ) -> LoginHealth:
        """Start the entry of a login, replacing an older one of the same name."""
        entry = LoginHealth(
            name=name,
            login=login,
            collectors={c: CollectorHealth() for c in collectors},
            hint=line_login_hint(login),
            _owner=owner,
        )
        self.logins[name] = entry
        return entry

    def remove(self, name: str, owner: object) -> bool:
        """Drop a login's entry if ``owner`` still holds it; return whether it did.

        A worker replaced by a reload stops after its successor started: the
        successor's entry must survive the old worker's exit.
        """
        entry = self.logins.get(name)
        if entry is None or entry._owner is not owner:
            return False
        del self.logins[name]
        return True

    def fields(self, now: float) -> dict[str, Any]:
        """Return the ``/health`` fields: ``{"chaos": {"logins": {name: …}}}``."""
        return {
            "chaos": {
                "logins": {
                    name: entry.as_dict(now)
                    for name, entry in sorted(self.logins.items())
                }
            }
        }
