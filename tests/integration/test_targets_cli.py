"""``exporterhub targets …`` on a real SQLite store, in-process and as a command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exporterhub import targets_cli
from exporterhub.cli import build_parser

BIN = Path(sys.executable).parent
SECRET = "cli-secret-7b1f"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("EXPORTERHUB_SECRET_KEY", raising=False)
    (tmp_path / "hub.yaml").write_text(
        "exporters:\n  phd2:\n    targets:\n      - {name: filerig, host: 192.0.2.1}\n"
    )
    return tmp_path


async def targets(workdir: Path, *argv: str, **extra: object) -> tuple[int, str]:
    """Run one ``targets`` action in-process; return exit status and output."""
    args = build_parser().parse_args(
        ["targets", "--config", str(workdir / "hub.yaml"), *argv]
    )
    for key, value in extra.items():
        setattr(args, key, value)
    out = io.StringIO()
    code = await targets_cli.run(args, out)
    return code, out.getvalue()


class TestTargetsCommand:
    async def test_add_list_disable_remove(self, workdir):
        """A target added with --set is listed, disabled, enabled and removed."""
        code, _ = await targets(
            workdir, "add", "phd2", "rig2", "--set", "host=192.0.2.2",
            "--set", "port=4401", settings_data={"host": "192.0.2.2", "port": 4401},
        )  # fmt: skip
        assert code == 0
        code, listing = await targets(workdir, "list")
        assert "phd2/filerig\tnever seen\tfile" in listing
        assert "phd2/rig2\tnever seen\tstore" in listing
        assert (await targets(workdir, "disable", "phd2", "rig2"))[0] == 0
        assert "store, disabled" in (await targets(workdir, "list"))[1]
        assert (await targets(workdir, "enable", "phd2", "rig2"))[0] == 0
        assert "disabled" not in (await targets(workdir, "list"))[1]
        assert (await targets(workdir, "remove", "phd2", "rig2"))[0] == 0
        assert "rig2" not in (await targets(workdir, "list"))[1]

    async def test_file_targets_are_read_only(self, workdir):
        """A name the config file declares cannot be added (exit 1, why)."""
        code, out = await targets(workdir, "add", "phd2", "filerig", settings_data={})
        assert code == 1
        assert "comes from the configuration file" in out

    async def test_bad_setting_names_the_field(self, workdir):
        """An invalid value exits 2 naming the dotted field."""
        code, out = await targets(
            workdir, "add", "phd2", "x", settings_data={"port": 70000}
        )
        assert code == 2
        assert out == "settings.port: Input should be less than or equal to 65535\n"

    async def test_export_leaves_secrets_out_unless_asked(self, workdir):
        """Exports hold no secret; --include-secrets puts them in."""
        settings = {"control_login": "me@a", "control_password": SECRET}
        assert (await targets(workdir, "add", "chaos", "me@a", settings_data=settings))[
            0
        ] == 0
        _, plain = await targets(workdir, "export")
        assert SECRET not in plain
        assert json.loads(plain)["targets"][0]["name"] == "me@a"
        _, full = await targets(workdir, "export", "--include-secrets")
        entry = json.loads(full)["targets"][0]
        assert entry["settings"]["control_password"] == SECRET
        _, listing = await targets(workdir, "list", "--json")
        assert SECRET not in listing
        assert json.loads(listing)[1]["secrets"] == {
            "account_password": False,
            "control_password": True,
        }
        assert SECRET.encode() not in (workdir / "exporterhub.db").read_bytes()

    async def test_import_dry_run_then_real(self, workdir):
        """A dry run changes nothing; the import adds, skips and reports errors."""
        document = json.dumps(
            {
                "targets": [
                    {"kind": "phd2", "name": "a", "settings": {"host": "192.0.2.3"}},
                    {"kind": "phd2", "name": "filerig", "settings": {}},
                    {"kind": "phd2", "name": "b", "settings": {"port": "x"}},
                ]
            }
        )
        code, out = await targets(
            workdir, "import", "-", "--dry-run", document=document
        )
        assert code == 1
        assert out.splitlines()[0] == "would import 1, skipped 1, 1 error(s)"
        assert "phd2/a" not in (await targets(workdir, "list"))[1]
        code, out = await targets(workdir, "import", "-", document=document)
        assert out.splitlines()[0] == "imported 1, skipped 1, 1 error(s)"
        assert "  ! #2 phd2/b: settings.port: Input should be a valid integer" in out
        assert "phd2/a\tnever seen\tstore" in (await targets(workdir, "list"))[1]

    async def test_rotate_key_keeps_secrets_readable(self, workdir):
        """After a rotation the key file holds a new key and secrets still decrypt."""
        settings = {"control_login": "me@a", "control_password": SECRET}
        await targets(workdir, "add", "chaos", "me@a", settings_data=settings)
        before = (workdir / "exporterhub.db.key").read_bytes()
        code, out = await targets(workdir, "rotate-key")
        assert code == 0
        assert "re-encrypted the secrets of 1 target(s)" in out
        assert (workdir / "exporterhub.db.key").read_bytes() != before
        _, full = await targets(workdir, "export", "--include-secrets")
        assert json.loads(full)["targets"][0]["settings"]["control_password"] == SECRET


def test_console_command_takes_secrets_on_stdin(workdir):
    """The real command reads settings from stdin; stdout holds only the answer."""
    env = {**os.environ}
    env.pop("EXPORTERHUB_SECRET_KEY", None)
    settings = json.dumps({"control_login": "me@a", "control_password": SECRET})
    command = [str(BIN / "exporterhub"), "targets", "--config", "hub.yaml"]
    added = subprocess.run(  # noqa: S603 - our own console script
        [*command, "add", "chaos", "me@a", "--settings", "-"],
        input=settings,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=60,
        check=False,
    )
    assert (added.returncode, added.stdout) == (0, "added chaos/me@a\n")
    exported = subprocess.run(  # noqa: S603 - our own console script
        [*command, "export"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0
    assert json.loads(exported.stdout)["targets"][0]["kind"] == "chaos"
    assert SECRET not in exported.stdout + exported.stderr + added.stderr
