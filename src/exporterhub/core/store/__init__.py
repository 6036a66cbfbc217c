"""The target store: targets, their statuses and their secrets, in SQLite or PostgreSQL.

One SQLite file (WAL, mode 0600) by default, PostgreSQL through a URL for several
replicas; the same schema and code path for both, through SQLAlchemy Core (async)
with Alembic migrations shipped in ``migrations/``. Every ``SecretStr`` in a target's
settings is encrypted at rest with Fernet. Nothing here serves HTTP or knows an
exporter: the API, the reconcile loop and the CLI build on ``TargetStore``.

Modules: ``targets`` (the repository, ``TargetStore``), ``records`` (what it
returns), ``errors``, ``url`` (paths and URLs, redaction), ``engine`` (connections,
SQLite pragmas), ``migrate`` and ``migrations/`` (schema revisions), ``schema``
(tables), ``rows`` and ``status`` (the SQL), ``sealing`` (secrets in JSON),
``keys`` (where the key lives), ``canary`` (proving and rotating the key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exporterhub.core.store.errors import (
    SecretKeyError,
    StaleRevisionError,
    StoreError,
    StoreVersionError,
    TargetExistsError,
    TargetNotFoundError,
)
from exporterhub.core.store.records import StoredTarget, TargetStatus

if TYPE_CHECKING:
    from exporterhub.core.store.keys import KEY_ENV, generate_key
    from exporterhub.core.store.targets import TargetStore
    from exporterhub.core.store.url import redact_url, store_url

_LAZY = {
    "KEY_ENV": "keys",
    "generate_key": "keys",
    "TargetStore": "targets",
    "redact_url": "url",
    "store_url": "url",
}
"""Loaded on first use: SQLAlchemy, Alembic and the drivers cost ~0.4 s to import,
which a standalone exporter without a store should never pay."""


def __getattr__(name: str) -> Any:  # noqa: ANN401 - module attribute protocol
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "KEY_ENV",
    "SecretKeyError",
    "StaleRevisionError",
    "StoreError",
    "StoreVersionError",
    "StoredTarget",
    "TargetExistsError",
    "TargetNotFoundError",
    "TargetStatus",
    "TargetStore",
    "generate_key",
    "redact_url",
    "store_url",
]
