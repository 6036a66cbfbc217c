"""Tests of store_url and redact_url: paths, SQLite and PostgreSQL URLs, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.core.store import redact_url, store_url
from exporterhub.core.store.url import sqlite_path


class TestStoreUrl:
    """A path or URL becomes the async SQLAlchemy URL; anything else is refused."""

    def test_relative_path_made_absolute(self, tmp_path, monkeypatch):
        """A plain relative path is a SQLite file under the working directory."""
        monkeypatch.chdir(tmp_path)
        assert store_url("hub.db") == f"sqlite+aiosqlite:///{tmp_path}/hub.db"

    def test_home_expanded(self, tmp_path, monkeypatch):
        """A leading ~ is the user's home."""
        monkeypatch.setenv("HOME", str(tmp_path))
        assert sqlite_path(store_url("~/hub.db")) == tmp_path / "hub.db"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("/srv/hub.db", "/srv/hub.db", id="absolute-path"),
            pytest.param("sqlite:////srv/hub.db", "/srv/hub.db", id="sqlite-absolute"),
            pytest.param(
                "sqlite+aiosqlite:////srv/hub.db", "/srv/hub.db", id="already-async"
            ),
            pytest.param("  /srv/hub.db\n", "/srv/hub.db", id="whitespace"),
        ],
    )
    def test_sqlite(self, value, expected):
        """SQLite paths and URLs become sqlite+aiosqlite with an absolute path."""
        url = store_url(value)
        assert url == f"sqlite+aiosqlite:///{expected}"
        assert sqlite_path(url) == Path(expected)

    def test_sqlite_relative_url(self, tmp_path, monkeypatch):
        """sqlite:///relative.db is relative to the working directory."""
        monkeypatch.chdir(tmp_path)
        assert sqlite_path(store_url("sqlite:///rel.db")) == tmp_path / "rel.db"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(
                "postgresql://app:pw@db:5432/hub",
                "postgresql+asyncpg://app:pw@db:5432/hub",
                id="postgresql",
            ),
            pytest.param(
                "postgres://app@db/hub",
                "postgresql+asyncpg://app@db/hub",
                id="postgres",
            ),
            pytest.param(
                "postgresql+asyncpg://db/hub",
                "postgresql+asyncpg://db/hub",
                id="already-async",
            ),
            pytest.param(
                "postgresql://db/hub?sslmode=verify-full",
                "postgresql+asyncpg://db/hub?ssl=verify-full",
                id="libpq-sslmode",
            ),
            pytest.param(
                "postgresql://app:p%40ss@db/hub",
                "postgresql+asyncpg://app:p%40ss@db/hub",
                id="quoted-password",
            ),
        ],
    )
    def test_postgres(self, value, expected):
        """PostgreSQL URLs get the asyncpg driver and keep everything else."""
        assert store_url(value) == expected
        assert sqlite_path(store_url(value)) is None

    @pytest.mark.parametrize(
        ("value", "words"),
        [
            pytest.param("", "empty", id="empty"),
            pytest.param("sqlite://", "in-memory", id="sqlite-memory"),
            pytest.param("sqlite:///:memory:", "in-memory", id="sqlite-memory-name"),
            pytest.param("sqlite:///hub.db?mode=ro", "query", id="sqlite-query"),
            pytest.param("mysql://app:hunter2@db/hub", "neither", id="mysql"),
            pytest.param("https://app:hunter2@db/hub", "neither", id="https"),
            pytest.param(
                "postgresql+psycopg2://app:hunter2@db/hub", "neither", id="other-driver"
            ),
            pytest.param(
                "postgresql://app:hunter2@db:port/hub", "parse", id="bad-port"
            ),
        ],
    )
    def test_refused(self, value, words):
        """Anything else is one ConfigError naming the value, its password hidden."""
        with pytest.raises(ConfigError, match=words) as caught:
            store_url(value)
        assert "hunter2" not in str(caught.value)
        if "://app" in value:
            assert "app:***@" in str(caught.value)


class TestRedactUrl:
    """Passwords never reach a message; when in doubt more is hidden, never less."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(
                "postgresql://app:hunter2@db/hub",
                "postgresql://app:***@db/hub",
                id="password",
            ),
            pytest.param(
                "postgresql://app:hun@ter/2@db/hub",
                "postgresql://app:***@db/hub",
                id="password-with-at-and-slash",
            ),
            pytest.param(
                "postgresql://db/hub?user=app&password=hunter2&ssl=require",
                "postgresql://db/hub?user=app&password=***&ssl=require",
                id="query-password",
            ),
            pytest.param(
                "postgresql://app@db/hub", "postgresql://app@db/hub", id="user-only"
            ),
            pytest.param("postgresql://db/hub", "postgresql://db/hub", id="no-user"),
            pytest.param("/srv/a:b@c.db", "/srv/a:b@c.db", id="plain-path"),
        ],
    )
    def test_redact(self, value, expected):
        """The password part is replaced by *** and the rest kept."""
        assert redact_url(value) == expected
        assert "hunter2" not in redact_url(value)
