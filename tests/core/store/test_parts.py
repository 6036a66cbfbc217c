"""The store's smaller parts on their own: error translation, key files, the schema."""

from __future__ import annotations

import stat
from datetime import datetime

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy.exc import StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from exporterhub.core.store import StoreError, TargetStatus
from exporterhub.core.store.engine import translate_errors
from exporterhub.core.store.errors import SecretKeyError
from exporterhub.core.store.keys import create_key_file, generate_key
from exporterhub.core.store.migrate import _config


class TestTranslateErrors:
    """Driver failures become one StoreError line; other errors pass untouched."""

    def test_password_blanked(self):
        """A password a driver echoes is replaced before it reaches the message."""
        with (
            pytest.raises(StoreError) as caught,
            translate_errors("postgresql://app:***@db/hub", "s3cret"),
        ):
            raise ConnectionRefusedError("refused for app:s3cret\nsecond line")
        assert str(caught.value) == (
            "store at postgresql://app:***@db/hub: refused for app:***"
        )

    def test_empty_text_named_by_type(self):
        """A driver error without text is named by its class."""
        with (
            pytest.raises(StoreError, match="hub: TimeoutError"),
            translate_errors("hub"),
        ):
            raise TimeoutError

    def test_pool_timeout_is_a_store_error(self):
        """No connection free in time (the database down under load) is the
        store's failure (the API answers 503), not an unexpected error (500)."""
        with (
            pytest.raises(StoreError, match="hub: QueuePool limit"),
            translate_errors("hub"),
        ):
            raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    def test_other_errors_untouched(self):
        """Errors that are not the driver's pass through as they are."""
        with pytest.raises(KeyError), translate_errors("hub"):
            raise KeyError("x")


class TestKeyFile:
    """Key files appear whole, private, and never replace another process's key."""

    def test_created_private(self, tmp_path):
        """A new key file holds a Fernet key, mode 0600, and nothing is left aside."""
        path = tmp_path / "store.key"
        key = create_key_file(path)
        Fernet(key)
        assert path.read_bytes().strip() == key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in tmp_path.iterdir()] == ["store.key"]

    def test_another_process_was_first(self, tmp_path):
        """If the file appeared meanwhile, its key is used and kept."""
        path = tmp_path / "store.key"
        theirs = generate_key()
        path.write_bytes(theirs + b"\n")
        assert create_key_file(path) == theirs
        assert path.read_bytes().strip() == theirs
        assert [p.name for p in tmp_path.iterdir()] == ["store.key"]

    def test_cannot_create(self, tmp_path):
        """A key file in a missing directory is a SecretKeyError naming it."""
        with pytest.raises(SecretKeyError, match="cannot create"):
            create_key_file(tmp_path / "missing" / "store.key")


class TestSchemaGuards:
    """The schema refuses what it could not store faithfully."""

    async def test_naive_datetime_refused(self, store):
        """A timestamp without a time zone is refused, not guessed."""
        naive = TargetStatus(
            kind="phd2", name="rig", link="up", up=True, changed_at=datetime(2024, 1, 1)
        )
        with pytest.raises(StatementError, match="timezone-aware"):
            await store.set_status(naive)

    def test_migrations_only_through_the_store(self):
        """Alembic run without the store's connection refuses to connect by itself."""
        with pytest.raises(RuntimeError, match=r"TargetStore\.open"):
            command.upgrade(_config(), "head")
