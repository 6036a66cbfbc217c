"""The offline audit: the locked set against the vendored PyPA advisories."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess

import pytest
from packaging.version import Version
from scripts.supply_chain.advisories import (
    ADVISORIES,
    INDEX,
    applies,
    audit,
    check,
    in_range,
    load,
    locked_versions,
    not_looked_up,
    parse,
    refresh,
)

VENDORED = load()
BY_ID = {advisory.id: advisory for advisory in VENDORED}


def test_no_vendored_advisory_applies_to_the_locked_set():
    """make test's audit: every locked package looked up, none affected."""
    out = io.StringIO()
    assert check(out=out) == 0, out.getvalue()
    lock = locked_versions()
    assert not_looked_up(lock) == []
    assert audit(lock, VENDORED) == []
    assert len(VENDORED) >= 80  # the copy is there, not an empty folder


def test_a_known_vulnerable_version_in_the_lock_is_reported(tmp_path):
    """The same check on the real lock with starlette moved back to 0.24.0 fails."""
    lock = (ADVISORIES.parent / "lock.txt").read_text()
    current = locked_versions()["starlette"]
    assert f"starlette=={current} " in lock
    bad = tmp_path / "lock.txt"
    bad.write_text(lock.replace(f"starlette=={current} ", "starlette==0.24.0 "))
    out = io.StringIO()
    assert check(bad, ADVISORIES, out) == 1
    report = out.getvalue()
    assert "VULNERABLE starlette==0.24.0: PYSEC-2023-48 " in report
    assert "VULNERABLE starlette==0.24.0: PYSEC-2023-83 " in report
    assert "2 advisories apply" in report


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.13.4", {"PYSEC-2023-48"}),  # before 2023-83 was introduced
        ("0.13.5", {"PYSEC-2023-48", "PYSEC-2023-83"}),
        ("0.25.0", {"PYSEC-2023-83"}),  # 2023-48 fixed here
        ("0.27.0", set()),
    ],
)
def test_ranges_open_and_close_where_the_advisories_say(version, expected):
    found = audit({"starlette": Version(version)}, VENDORED)
    assert {f.advisory.id for f in found} == expected


def test_withdrawn_advisories_are_ignored():
    """aiohttp's PYSEC-2022-43059 is withdrawn; the same data not withdrawn applies."""
    withdrawn = BY_ID["PYSEC-2022-43059"]
    assert withdrawn.withdrawn
    assert not applies(withdrawn, "aiohttp", Version("3.8.1"))
    assert applies(dataclasses.replace(withdrawn, withdrawn=False), "aiohttp", "3.8.1")


def test_an_advisory_applies_to_its_own_package_only():
    starlette = BY_ID["PYSEC-2023-48"]
    assert applies(starlette, "Starlette", Version("0.24.0"))
    assert not applies(starlette, "fastapi", Version("0.24.0"))


def test_listed_versions_count_without_a_range():
    advisory = parse(
        {
            "id": "TEST-1",
            "affected": [
                {
                    "package": {"name": "Foo_Bar", "ecosystem": "PyPI"},
                    "versions": ["1.0"],
                },
                {
                    "package": {"name": "foo-bar", "ecosystem": "npm"},
                    "versions": ["2.0"],
                },
            ],
        }
    )
    assert applies(advisory, "foo-bar", Version("1.0.0"))
    assert not applies(advisory, "foo-bar", Version("1.0.1"))
    assert not applies(advisory, "foo-bar", Version("2.0"))  # another ecosystem


@pytest.mark.parametrize(
    ("events", "version", "expected"),
    [
        ([{"introduced": "1.2"}, {"last_affected": "1.4"}], "1.4", True),
        ([{"introduced": "1.2"}, {"last_affected": "1.4"}], "1.4.1", False),
        ([{"introduced": "1.2"}, {"last_affected": "1.4"}], "1.1", False),
        # two windows, given out of order: [0, 1.0) and [2.0, 2.1)
        (
            [
                {"fixed": "2.1"},
                {"introduced": "2.0"},
                {"fixed": "1.0"},
                {"introduced": "0"},
            ],
            "2.0.5",
            True,
        ),
        (
            [
                {"fixed": "2.1"},
                {"introduced": "2.0"},
                {"fixed": "1.0"},
                {"introduced": "0"},
            ],
            "1.5",
            False,
        ),
        ([{"introduced": "0"}, {"fixed": "1.0"}], "1.0rc1", True),
        ([{"introduced": "0"}, {"fixed": "not-a-version"}], "9.0", True),
    ],
)
def test_osv_range_events(events, version, expected):
    assert in_range(Version(version), events) is expected


def test_an_accepted_advisory_is_reported_but_passes(tmp_path):
    """exceptions.toml turns a finding into an accepted line with its reason."""
    for source in ADVISORIES.glob("starlette/*"):
        (tmp_path / "starlette").mkdir(exist_ok=True)
        (tmp_path / "starlette" / source.name).write_bytes(source.read_bytes())
    (tmp_path / INDEX).write_text(json.dumps({"looked_up": {"starlette": "starlette"}}))
    lock = tmp_path / "lock.txt"
    lock.write_text("starlette==0.26.0 \\\n    --hash=sha256:00\n")
    out = io.StringIO()
    assert check(lock, tmp_path, out) == 1
    (tmp_path / "exceptions.toml").write_text(
        '[accepted.PYSEC-2023-83]\nreason = "multipart forms are not served"\n'
    )
    out = io.StringIO()
    assert check(lock, tmp_path, out) == 0
    assert "accepted starlette==0.26.0: PYSEC-2023-83" in out.getvalue()
    assert "(multipart forms are not served)" in out.getvalue()
    lock.write_text(lock.read_text() + "httpx==0.28.1 \\\n    --hash=sha256:00\n")
    out = io.StringIO()
    assert check(lock, tmp_path, out) == 1
    assert "httpx: not looked up (run make advisories)" in out.getvalue()


def test_the_readme_names_the_commit_and_the_licence():
    index = json.loads((ADVISORIES / INDEX).read_text())
    readme = (ADVISORIES / "README.md").read_text()
    assert index["commit"] in readme
    assert "CC-BY-4.0" in readme
    assert (
        (ADVISORIES / "LICENSE").read_text().startswith("Attribution 4.0 International")
    )
    folders = {p.name for p in ADVISORIES.iterdir() if p.is_dir()}
    assert folders == {k for k, v in index["looked_up"].items() if v is not None}


def _git(cwd, *args):
    subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],  # noqa: S607
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_refresh_copies_the_locked_packages_advisories_from_a_checkout(tmp_path):
    """A real git repository laid out like the database; files copied byte for byte."""
    upstream = tmp_path / "db"
    (upstream / "vulns" / "Foo_Bar").mkdir(parents=True)
    (upstream / "vulns" / "unlocked").mkdir()
    body = b"id: PYSEC-1\r\naffected: []\r\n"
    (upstream / "vulns" / "Foo_Bar" / "PYSEC-1.yaml").write_bytes(body)
    (upstream / "vulns" / "unlocked" / "PYSEC-2.yaml").write_bytes(b"id: PYSEC-2\n")
    (upstream / "LICENSE").write_text("Attribution 4.0 International\n")
    _git(upstream, "init", "-q")
    _git(upstream, "add", ".")
    _git(upstream, "commit", "-qm", "advisories")
    dest = tmp_path / "vendored"
    (dest / "stale").mkdir(parents=True)
    (dest / "stale" / "OLD.yaml").write_text("id: OLD\n")
    assert refresh(upstream, ["foo.bar", "Other"], dest) == 1
    assert (dest / "foo-bar" / "PYSEC-1.yaml").read_bytes() == body
    assert not (dest / "stale").exists()
    assert not (dest / "unlocked").exists()
    index = json.loads((dest / INDEX).read_text())
    assert index["looked_up"] == {"foo-bar": "Foo_Bar", "other": None}
    assert len(index["commit"]) == 40
    assert index["commit"] in (dest / "README.md").read_text()
