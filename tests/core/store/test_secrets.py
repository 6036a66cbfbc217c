"""Secrets at rest: sealing, the key's sources, wrong keys and rotation."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import BaseModel, SecretBytes, SecretStr
from structlog.testing import capture_logs

from exporterhub.core.store import (
    KEY_ENV,
    SecretKeyError,
    TargetStore,
    generate_key,
)
from exporterhub.core.store.keys import pending_path

from ...databases import PASSWORD, raw_query

SECRET = "hunter2-c0ffee"


class Mode(StrEnum):
    FAST = "fast"


class Login(BaseModel):
    user: str
    password: SecretStr


class RigSettings(BaseModel):
    host: str
    password: SecretStr
    login: Login
    tokens: list[SecretStr]
    by_site: dict[str, SecretStr]
    timeout: timedelta
    mode: Mode
    spool: Path
    note: str | None = None


def rig(secret: str = SECRET) -> RigSettings:
    return RigSettings(
        host="scope.local",
        password=SecretStr(secret),
        login=Login(user="astro", password=SecretStr(secret + "-login")),
        tokens=[SecretStr(secret + "-t0"), SecretStr(secret + "-t1")],
        by_site={"north": SecretStr(secret + "-n")},
        timeout=timedelta(seconds=7.5),
        mode=Mode.FAST,
        spool=Path("/var/spool/rig"),
    )


async def settings_text(location: str) -> str:
    rows = await raw_query(location, "SELECT settings FROM targets ORDER BY id")
    return "\n".join(row[0] for row in rows)


class TestSealing:
    """Every SecretStr is encrypted at rest and comes back as a SecretStr."""

    async def test_round_trip_through_the_model(self, store):
        """Stored settings validate back into the same model, secrets included."""
        original = rig()
        await store.create("phd2", "rig", original.model_dump())
        stored = await store.get("phd2", "rig")
        assert isinstance(stored.settings["password"], SecretStr)
        assert isinstance(stored.settings["tokens"][1], SecretStr)
        assert isinstance(stored.settings["by_site"]["north"], SecretStr)
        assert RigSettings.model_validate(stored.settings) == original

    async def test_no_secret_in_the_row(self, store, location):
        """The raw row holds Fernet markers and the plain values, no secret."""
        await store.create("phd2", "rig", rig().model_dump())
        text = await settings_text(location)
        assert SECRET not in text
        assert text.count('"$secret"') == 5
        assert '"host":"scope.local"' in text
        assert '"user":"astro"' in text

    async def test_sqlite_file_has_no_plaintext(self, tmp_path):
        """No byte of the SQLite file or its WAL spells a secret."""
        path = tmp_path / "store.db"
        store = await TargetStore.open(str(path))
        try:
            await store.create("phd2", "rig", rig().model_dump())
            await store.update(
                "phd2", "rig", rig(SECRET + "x").model_dump(), enabled=True, revision=1
            )
            files = sorted(tmp_path.glob("store.db*"))
            assert any(f.name.endswith("-wal") for f in files)  # read while open
            for file in files:
                assert SECRET.encode() not in file.read_bytes()
        finally:
            await store.close()
        assert SECRET.encode() not in path.read_bytes()

    async def test_secrets_never_logged(self, store):
        """No log event of a write, a read or a rotation carries a secret."""
        with capture_logs() as logs:
            await store.create("phd2", "rig", rig().model_dump())
            await store.update(
                "phd2", "rig", rig().model_dump(), enabled=False, revision=1
            )
            await store.list()
            await store.rotate_key(generate_key())
        assert logs
        assert SECRET not in repr(logs)

    async def test_repr_hides_secrets(self, store):
        """A StoredTarget's repr shows stars, not the secret."""
        target = await store.create("phd2", "rig", rig().model_dump())
        assert SECRET not in repr(target)
        assert SECRET not in repr(await store.list())

    async def test_secret_bytes_refused(self, store):
        """SecretBytes are refused rather than stored as stars."""
        with pytest.raises(TypeError, match="SecretStr"):
            await store.create("phd2", "rig", {"key": SecretBytes(b"x")})
        assert await store.list() == []

    async def test_lookalike_marker_refused(self, store):
        """A plain mapping that would read back as a secret is refused."""
        with pytest.raises(ValueError, match="secret"):
            await store.create("phd2", "rig", {"labels": {"$secret": "plain"}})

    async def test_model_instance_sealed(self, store, location):
        """A model instance inside the settings is dumped, its secrets sealed."""
        await store.create(
            "phd2", "rig", {"login": Login(user="u", password=SecretStr(SECRET))}
        )
        assert SECRET not in await settings_text(location)
        stored = await store.get("phd2", "rig")
        assert stored.settings["login"]["password"].get_secret_value() == SECRET


class TestKeySource:
    """The key comes from the environment, else from a key file made 0600."""

    async def test_key_file_created_0600(self, tmp_path):
        """A new SQLite store gets <file>.key with mode 0600 holding a Fernet key."""
        store = await TargetStore.open(str(tmp_path / "store.db"))
        await store.close()
        key_file = tmp_path / "store.db.key"
        assert store.key_file == key_file
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        Fernet(key_file.read_bytes().strip())

    async def test_explicit_key_file(self, location, key_file):
        """An explicit key file is created 0600 on both dialects."""
        store = await TargetStore.open(location, key_file=key_file)
        await store.close()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    async def test_environment_wins(self, location, key_file, monkeypatch):
        """With EXPORTERHUB_SECRET_KEY set no key file is made or read."""
        monkeypatch.setenv(KEY_ENV, generate_key().decode())
        key_file.write_text("not a key at all\n")
        store = await TargetStore.open(location, key_file=key_file)
        try:
            assert store.key_file is None
            await store.create("phd2", "rig", rig().model_dump())
        finally:
            await store.close()
        monkeypatch.delenv(KEY_ENV)
        with pytest.raises(SecretKeyError, match="not a Fernet key"):
            await TargetStore.open(location, key_file=key_file)

    async def test_postgres_needs_a_key(self, postgres_server):
        """PostgreSQL with neither the variable nor a key file is one clear error."""
        url = postgres_server.url(await postgres_server.create_database())
        with pytest.raises(SecretKeyError, match=KEY_ENV) as caught:
            await TargetStore.open(url)
        assert "PostgreSQL" in str(caught.value)
        assert PASSWORD not in str(caught.value)

    @pytest.mark.parametrize(
        "content",
        [pytest.param(b"short\n", id="garbage"), pytest.param(b"", id="empty")],
    )
    async def test_malformed_key_file(self, tmp_path, content):
        """A key file without a Fernet key is refused, naming the file."""
        key_file = tmp_path / "bad.key"
        key_file.write_bytes(content)
        with pytest.raises(SecretKeyError, match=r"bad\.key"):
            await TargetStore.open(str(tmp_path / "store.db"), key_file=key_file)

    async def test_malformed_environment(self, tmp_path, monkeypatch):
        """A malformed EXPORTERHUB_SECRET_KEY is refused before anything is made."""
        monkeypatch.setenv(KEY_ENV, "not-a-key")
        with pytest.raises(SecretKeyError, match=KEY_ENV) as caught:
            await TargetStore.open(str(tmp_path / "store.db"))
        assert "not-a-key" not in str(caught.value)
        assert list(tmp_path.iterdir()) == []

    async def test_unreadable_key_file(self, tmp_path):
        """A key file that cannot be read is one clear error naming it."""
        key_file = tmp_path / "dir.key"
        key_file.mkdir()
        with pytest.raises(SecretKeyError, match=r"dir\.key: cannot read"):
            await TargetStore.open(str(tmp_path / "store.db"), key_file=key_file)


class TestWrongKey:
    """A missing or wrong key fails at open, naming what it cannot decrypt."""

    async def seed(self, location, key_file):
        store = await TargetStore.open(location, key_file=key_file)
        try:
            await store.create("phd2", "rig", rig().model_dump())
            await store.create("kasa", "plug", {"password": SecretStr("x")})
            await store.create("kasa", "plain", {"host": "h"})
        finally:
            await store.close()

    async def test_wrong_key_names_targets(self, location, key_file):
        """A different key is SecretKeyError naming each target with secrets."""
        await self.seed(location, key_file)
        key_file.write_bytes(generate_key())
        with pytest.raises(SecretKeyError) as caught:
            await TargetStore.open(location, key_file=key_file)
        message = str(caught.value)
        assert "does not hold the key" in message
        assert "2 target(s): kasa/plug, phd2/rig" in message
        assert "kasa/plain" not in message
        assert PASSWORD not in message
        assert key_file.read_text() not in message

    async def test_missing_key_file(self, location, key_file):
        """A vanished key file is not silently replaced: the error says restore it."""
        await self.seed(location, key_file)
        key_file.unlink()
        with pytest.raises(SecretKeyError, match="is missing") as caught:
            await TargetStore.open(location, key_file=key_file)
        assert "kasa/plug, phd2/rig" in str(caught.value)
        assert not key_file.exists()

    async def test_wrong_key_without_secrets(self, location, key_file):
        """A wrong key is refused even before any secret was stored."""
        store = await TargetStore.open(location, key_file=key_file)
        await store.close()
        key_file.write_bytes(generate_key())
        with pytest.raises(SecretKeyError, match="no target holds a secret yet"):
            await TargetStore.open(location, key_file=key_file)

    async def test_many_targets_listed_briefly(self, location, key_file):
        """Past twenty targets the message counts the rest."""
        store = await TargetStore.open(location, key_file=key_file)
        try:
            for n in range(23):
                await store.create("kasa", f"p{n:02d}", {"password": SecretStr("x")})
        finally:
            await store.close()
        key_file.write_bytes(generate_key())
        with pytest.raises(SecretKeyError, match=r"23 target.*kasa/p19 and 3 more"):
            await TargetStore.open(location, key_file=key_file)


class TestRotation:
    """rotate_key re-encrypts everything and moves the key file atomically."""

    async def test_rotate_with_key_file(self, location, key_file):
        """Afterwards only the new key opens the store, and every secret reads."""
        store = await TargetStore.open(location, key_file=key_file)
        old = key_file.read_bytes()
        new = generate_key()
        try:
            await store.create("phd2", "rig", rig().model_dump())
            await store.create("kasa", "plug", {"password": SecretStr("x")})
            await store.create("kasa", "plain", {"host": "h"})
            before = await settings_text(location)
            token = await store.change_token()
            assert await store.rotate_key(new) == 2
            assert await store.change_token() == token
            assert (await store.get("phd2", "rig")).revision == 1
            assert (
                RigSettings.model_validate((await store.get("phd2", "rig")).settings)
                == rig()
            )
        finally:
            await store.close()
        assert key_file.read_bytes().strip() == new
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert not pending_path(key_file).exists()
        after = await settings_text(location)
        assert after != before
        assert SECRET not in after
        reopened = await TargetStore.open(location, key_file=key_file)
        try:
            stored = await reopened.get("phd2", "rig")
            assert RigSettings.model_validate(stored.settings) == rig()
        finally:
            await reopened.close()
        key_file.write_bytes(old)
        with pytest.raises(SecretKeyError, match="kasa/plug, phd2/rig"):
            await TargetStore.open(location, key_file=key_file)

    async def test_rotate_with_environment_key(self, location, key_file, monkeypatch):
        """With the key in the environment nothing is written but the database."""
        old = generate_key()
        new = generate_key()
        monkeypatch.setenv(KEY_ENV, old.decode())
        store = await TargetStore.open(location, key_file=key_file)
        try:
            await store.create("phd2", "rig", rig().model_dump())
            assert await store.rotate_key(new) == 1
        finally:
            await store.close()
        assert not key_file.exists()
        with pytest.raises(SecretKeyError, match=rf"\${KEY_ENV} does not hold the key"):
            await TargetStore.open(location, key_file=key_file)
        monkeypatch.setenv(KEY_ENV, new.decode())
        store = await TargetStore.open(location, key_file=key_file)
        try:
            assert (await store.get("phd2", "rig")).settings["password"] == SecretStr(
                SECRET
            )
        finally:
            await store.close()

    async def test_malformed_new_key(self, store, key_file):
        """A malformed new key changes nothing and leaves no pending file."""
        await store.create("phd2", "rig", rig().model_dump())
        old = key_file.read_bytes()
        with pytest.raises(SecretKeyError, match="new key"):
            await store.rotate_key(b"nope")
        assert key_file.read_bytes() == old
        assert not pending_path(key_file).exists()

    async def test_crash_after_commit_finished_on_open(self, location, key_file):
        """Old key file plus a committed rotation's .new: open finishes the rotation."""
        store = await TargetStore.open(location, key_file=key_file)
        old = key_file.read_bytes()
        new = generate_key()
        try:
            await store.create("phd2", "rig", rig().model_dump())
            await store.rotate_key(new)
        finally:
            await store.close()
        # The state a crash between the commit and the rename leaves behind.
        key_file.write_bytes(old)
        pending_path(key_file).write_bytes(new + b"\n")
        with capture_logs() as logs:
            store = await TargetStore.open(location, key_file=key_file)
        try:
            assert (await store.get("phd2", "rig")).settings["password"] == SecretStr(
                SECRET
            )
        finally:
            await store.close()
        assert key_file.read_bytes().strip() == new
        assert not pending_path(key_file).exists()
        assert "store_key_rotation_finished" in [e["event"] for e in logs]

    async def test_crash_before_commit_discarded_on_open(self, location, key_file):
        """A .new the database never committed to is removed and the old key kept."""
        store = await TargetStore.open(location, key_file=key_file)
        try:
            await store.create("phd2", "rig", rig().model_dump())
        finally:
            await store.close()
        old = key_file.read_bytes()
        pending_path(key_file).write_bytes(generate_key())
        store = await TargetStore.open(location, key_file=key_file)
        await store.close()
        assert key_file.read_bytes() == old
        assert not pending_path(key_file).exists()

    async def test_other_process_rotated(self, store, location, key_file):
        """A store still holding the old key names the target it cannot read."""
        await store.create("phd2", "rig", rig().model_dump())
        other = await TargetStore.open(location, key_file=key_file)
        try:
            await other.rotate_key(generate_key())
        finally:
            await other.close()
        with pytest.raises(SecretKeyError, match="phd2/rig") as caught:
            await store.get("phd2", "rig")
        assert SECRET not in str(caught.value)

    async def test_writes_refused_after_another_process_rotated(
        self, store, location, key_file
    ):
        """A store holding a rotated-away key writes no target, so none is lost."""
        await store.create("phd2", "rig", rig().model_dump())
        other = await TargetStore.open(location, key_file=key_file)
        try:
            await other.rotate_key(generate_key())
            token = await other.change_token()
            with pytest.raises(SecretKeyError, match="rotated by another process"):
                await store.create("kasa", "plug", {"password": SecretStr("x")})
            with pytest.raises(SecretKeyError, match="rotated by another process"):
                await store.set_enabled("phd2", "rig", False)
            assert await other.get("kasa", "plug") is None
            assert (await other.get("phd2", "rig")).enabled is True
            assert await other.change_token() == token
            assert (await other.create("kasa", "plug", {})).revision == 1
        finally:
            await other.close()

    async def test_rotation_refuses_undecryptable(self, store, location):
        """A secret the current key cannot read stops the rotation, naming it."""
        await store.create("phd2", "rig", {"password": SecretStr(SECRET)})
        foreign = Fernet(generate_key()).encrypt(b"x").decode()
        settings = f'{{"password":{{"$secret":"{foreign}"}}}}'
        await raw_query(location, f"UPDATE targets SET settings = '{settings}'")  # noqa: S608 - our own literal
        key = store.key_file.read_bytes()
        with pytest.raises(SecretKeyError, match="phd2/rig"):
            await store.rotate_key(generate_key())
        assert store.key_file.read_bytes() == key
        assert not pending_path(store.key_file).exists()
        assert os.listdir(store.key_file.parent).count(store.key_file.name) == 1
