"""The exception tree every exporter extends.

    ExporterError                  base of everything the project raises on purpose
    ├── ConfigError                bad configuration; names the file and the key
    ├── ConnectionLostError        the peer went away or never answered; retryable
    ├── ProtocolError              the peer sent something we cannot use; retryable
    ├── AuthError                  credentials refused; not retried in a loop
    └── StoreError                 the target store failed (core/store/errors.py)
        ├── TargetExistsError      create: kind + name already taken
        ├── TargetNotFoundError    no such kind + name
        ├── StaleRevisionError     a write named an old revision (carries .current)
        ├── StoreVersionError      the store's schema is newer than this code
        └── SecretKeyError         secret key missing, malformed or wrong

Workers decide what to retry from this tree, never from message text.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConnectionLostError",
    "ExporterError",
    "MissingExtraError",
    "ProtocolError",
]


class ExporterError(Exception):
    """Base class of the project's own errors."""

    retryable: bool = True


class ConfigError(ExporterError):
    """The configuration is invalid; the message names the file and key."""

    retryable = False
    exit_status = 2
    """What a command exits with when this error stops it (2: bad configuration)."""


class MissingExtraError(ConfigError):
    """An exporter's optional dependencies are not installed.

    The message says which extra to install. Commands exit 1 (not 2: nothing the
    user wrote is wrong).
    """

    exit_status = 1


class ConnectionLostError(ExporterError):
    """The peer closed the connection, refused it or stopped answering.

    Args:
        message: what happened, for logs.
        reason: a short fixed word for logs and labels (``refused``, ``timeout``,
            ``eof``, ``reset``, ``stalled``, ``unreachable``).
    """

    def __init__(self, message: str, reason: str = "lost") -> None:
        super().__init__(message)
        self.reason = reason


class ProtocolError(ExporterError):
    """The peer broke the protocol in a way that ends the session."""


class AuthError(ExporterError):
    """The peer refused our credentials."""

    retryable = False
