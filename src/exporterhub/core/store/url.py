"""Store locations: turn a path or URL into the async SQLAlchemy URL; redact URLs.

A plain path (or ``sqlite:///…``) is a SQLite file, made absolute;
``postgresql://…`` or ``postgres://…`` is PostgreSQL through asyncpg. Every message
and log line that names a store goes through ``redact_url``, so a password in a URL
is never printed. No I/O: paths are made absolute, never opened.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from exporterhub.core.errors import ConfigError

__all__ = ["redact_url", "sqlite_path", "store_url"]

_SCHEME: Final = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")
_QUERY_PASSWORD: Final = re.compile(r"(?i)([?&]password=)[^&#]*")
_SQLITE: Final = frozenset({"sqlite", "sqlite+aiosqlite"})
_POSTGRES: Final = frozenset({"postgresql", "postgres", "postgresql+asyncpg"})
SQLITE_DRIVER: Final = "sqlite+aiosqlite"
POSTGRES_DRIVER: Final = "postgresql+asyncpg"


def redact_url(value: str) -> str:
    """Return ``value`` with any password replaced by ``***``.

    Plain paths come back unchanged. The user information runs to the last ``@``,
    so a password holding ``@`` or ``/`` is hidden whole; when in doubt this hides
    too much, never too little.

    >>> redact_url("postgresql://app:s3cret@db:5432/hub")
    'postgresql://app:***@db:5432/hub'
    >>> redact_url("postgres://db/hub?user=app&password=s3cret")
    'postgres://db/hub?user=app&password=***'
    >>> redact_url("/var/lib/exporterhub/store.db")
    '/var/lib/exporterhub/store.db'
    """
    match = _SCHEME.match(value)
    if match is None:
        return value
    head, rest = value[: match.end()], value[match.end() :]
    at = rest.rfind("@")
    if at != -1:
        user, colon, _ = rest[:at].partition(":")
        if colon:
            rest = f"{user}:***{rest[at:]}"
    return _QUERY_PASSWORD.sub(r"\1***", head + rest)


def _parse(text: str) -> URL:
    try:
        return make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"store: cannot parse {redact_url(text)!r} as a URL") from exc


def _sqlite(path: Path) -> str:
    absolute = path.expanduser().absolute()
    return URL.create(SQLITE_DRIVER, database=str(absolute)).render_as_string()


def store_url(value: str) -> str:
    """Return the SQLAlchemy async URL for a store path or URL.

    Args:
        value: a file path, ``sqlite:///relative.db``, ``sqlite:////abs.db``,
            ``postgresql://user:password@host:port/db`` or ``postgres://…``.
            Values already in the returned form pass through unchanged; libpq's
            ``sslmode`` becomes asyncpg's ``ssl``.

    Returns:
        ``sqlite+aiosqlite:////absolute/path`` or ``postgresql+asyncpg://…``.

    Raises:
        ConfigError: empty, in-memory SQLite, SQLite with query options, or any
            other scheme; the message shows the value with its password redacted.

    >>> store_url("postgres://app:pw@db/hub")
    'postgresql+asyncpg://app:pw@db/hub'
    >>> store_url("postgresql://db/hub?sslmode=require")
    'postgresql+asyncpg://db/hub?ssl=require'
    >>> store_url("/srv/hub/store.db")
    'sqlite+aiosqlite:////srv/hub/store.db'
    """
    text = value.strip()
    if not text:
        raise ConfigError("store: empty; give a file path or a postgresql:// URL")
    match = _SCHEME.match(text)
    if match is None:
        return _sqlite(Path(text))
    scheme = match.group("scheme").lower()
    if scheme in _SQLITE:
        url = _parse(text)
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                f"store: {redact_url(text)!r} is an in-memory SQLite database; "
                "give a file path so targets survive a restart"
            )
        if url.query:
            raise ConfigError(
                f"store: {redact_url(text)!r}: SQLite URLs take no query options"
            )
        return _sqlite(Path(url.database))
    if scheme in _POSTGRES:
        url = _parse(text).set(drivername=POSTGRES_DRIVER)
        if "sslmode" in url.query and "ssl" not in url.query:
            # libpq spells it sslmode; asyncpg takes the same values as ``ssl``.
            url = url.update_query_dict(
                {"ssl": url.query["sslmode"]}
            ).difference_update_query(["sslmode"])
        return url.render_as_string(hide_password=False)
    raise ConfigError(
        f"store: {redact_url(text)!r} is neither a file path nor a sqlite:// or "
        "postgresql:// URL"
    )


def sqlite_path(url: str) -> Path | None:
    """Return the file of a ``store_url`` result, or None for PostgreSQL.

    >>> sqlite_path("sqlite+aiosqlite:////srv/hub/store.db")
    PosixPath('/srv/hub/store.db')
    >>> sqlite_path("postgresql+asyncpg://db/hub") is None
    True
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)
