"""The target store's errors, under the project's ``ExporterError`` tree.

    ExporterError
    └── StoreError                 the store could not do it (unreachable, unreadable)
        ├── TargetExistsError      create: kind + name already taken
        ├── TargetNotFoundError    update/delete: no such kind + name
        ├── StaleRevisionError     a write named an old revision; carries the current
        ├── StoreVersionError      the schema is newer than this code
        └── SecretKeyError         the secret key is missing, malformed or wrong

Messages name targets as ``kind/name`` and stores by their redacted URL; they never
carry a secret value or a password. Callers branch on the class, never on the text.
"""

from __future__ import annotations

from exporterhub.core.errors import ExporterError

__all__ = [
    "SecretKeyError",
    "StaleRevisionError",
    "StoreError",
    "StoreVersionError",
    "TargetExistsError",
    "TargetNotFoundError",
]


class StoreError(ExporterError):
    """The store failed; a plain ``StoreError`` (database gone) may be retried."""


class TargetExistsError(StoreError):
    """A target with this kind and name already exists (API: 409)."""

    retryable = False


class TargetNotFoundError(StoreError):
    """No target has this kind and name (API: 404)."""

    retryable = False


class StaleRevisionError(StoreError):
    """The caller's revision is not the stored one (API: 409).

    Args:
        message: what happened, naming the target.
        current: the stored revision, so a client can reload and retry.
    """

    retryable = False

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


class StoreVersionError(StoreError):
    """The store's schema revision is unknown to (newer than) this code."""

    retryable = False


class SecretKeyError(StoreError):
    """The secret key is missing, malformed or cannot decrypt the store."""

    retryable = False
