"""requirements/lock.txt satisfies every requirement pyproject.toml declares."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name
from scripts.supply_chain.lockfile import (
    LOCK,
    PYPROJECT,
    declared,
    read_lock,
    unhashed,
    unmet,
)

PYPROJECT_SAMPLE = """
[project]
name = "exporterhub"
dependencies = ["fastapi>=0.110,<1", "uvloop>=0.21; sys_platform == 'win32'"]
[project.optional-dependencies]
chaos = ["httpx>=0.29"]
kasa = ["python-kasa>=0.12,<0.13"]
all = ["exporterhub[chaos,kasa]"]
dev = ["pytest==9.2.0"]
"""
LOCK_SAMPLE = """# a comment
fastapi==0.165.0 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via exporterhub
httpx==0.28.1 \\
    --hash=sha256:cc
pytest==9.2.0
"""


def test_the_lock_satisfies_pyproject():
    """Each declared requirement (markers for Linux, 3.11) holds when locked."""
    lock = read_lock(LOCK.read_text())
    problems = unmet(declared(PYPROJECT.read_text()), lock)
    assert problems == [], "requirements/lock.txt is stale: run make lock"


def test_every_locked_package_is_hashed_and_the_runtime_is_there():
    lock = read_lock(LOCK.read_text())
    assert unhashed(lock) == []
    for name in ("fastapi", "sqlalchemy", "python-kasa", "picows", "pip-audit", "uv"):
        assert canonicalize_name(name) in lock


def test_a_stale_lock_is_reported():
    """A bound the locked version misses, a missing package and a missing hash."""
    lock = read_lock(LOCK_SAMPLE)
    assert str(lock["fastapi"].version) == "0.165.0"
    assert lock["fastapi"].hashes == ("sha256:aa", "sha256:bb")
    problems = unmet(declared(PYPROJECT_SAMPLE), lock)
    assert problems == [
        "httpx>=0.29 (extra chaos): the lock has httpx==0.28.1",
        "python-kasa<0.13,>=0.12 (extra kasa) is not in the lock",
    ]
    assert unhashed(lock) == ["pytest"]


def test_declared_expands_the_extras_make_install_asks_for():
    where = {str(r): w for w, r in declared(PYPROJECT_SAMPLE)}
    assert where == {
        "fastapi<1,>=0.110": "dependencies",
        'uvloop>=0.21; sys_platform == "win32"': "dependencies",
        "httpx>=0.29": "extra chaos",
        "python-kasa<0.13,>=0.12": "extra kasa",
        "pytest==9.2.0": "extra dev",
    }
    with pytest.raises(ValueError, match="no extra 'gpu'"):
        declared(PYPROJECT_SAMPLE, ("gpu",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("httpx>=0.28 \\\n    --hash=sha256:aa\n", "not name==version"),
        ("httpx==0.28.1\nHTTPX==0.28.1\n", "locked twice"),
    ],
)
def test_a_malformed_lock_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        read_lock(text)
