"""The locked dependency set (requirements/lock.txt) against pyproject's requirements.

``make lock`` writes the lock with uv: every package ``pip install -e '.[dev,all]'``
installs, each at one exact version with the hashes of its files, resolved for the
machines CI runs on (CPython 3.11, Linux x86_64). This module reads that file and
pyproject.toml and says which declared requirement the lock does not satisfy. It
reads files only: no network, no installs, no resolving.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"
PYPROJECT = ROOT / "pyproject.toml"
INSTALLED_EXTRAS = ("dev", "all")
"""The extras ``make install`` asks for (``pip install -e '.[dev,all]'``)."""
LOCKED_FOR = {
    "python_version": "3.11",
    "python_full_version": "3.11.7",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
"""The marker environment the lock is resolved for (uv's --python-platform)."""

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


@dataclass(frozen=True, slots=True)
class Locked:
    """One package of the lock: its name as written, its version, its hashes."""

    name: str
    version: Version
    hashes: tuple[str, ...]


def read_lock(text: str) -> dict[NormalizedName, Locked]:
    """Parse a hashed requirements file (``name==version`` then ``--hash=`` lines)."""
    locked: dict[NormalizedName, Locked] = {}
    for entry in _entries(text):
        match = _PIN.match(entry)
        if match is None:
            raise ValueError(f"lock entry is not name==version: {entry[:60]!r}")
        name, version = match.groups()
        hashes = tuple(re.findall(r"--hash=(\S+)", entry))
        key = canonicalize_name(name)
        if key in locked:
            raise ValueError(f"{name} is locked twice")
        locked[key] = Locked(name, Version(version), hashes)
    return locked


def _entries(text: str) -> Iterator[str]:
    """Yield each requirement of the file with its continuation lines joined."""
    entry: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        entry.append(line.removesuffix("\\").strip())
        if not line.endswith("\\"):
            yield " ".join(entry)
            entry = []
    if entry:
        yield " ".join(entry)


def declared(
    pyproject: str, extras: tuple[str, ...] = INSTALLED_EXTRAS
) -> list[tuple[str, Requirement]]:
    """List (where, requirement) for the project and the extras installed with it.

    Self-references (``exporterhub[phd2,...]``) expand into those extras.
    """
    project = tomllib.loads(pyproject)["project"]
    own = canonicalize_name(project["name"])
    optional: Mapping[str, list[str]] = project.get("optional-dependencies", {})
    found = [("dependencies", Requirement(text)) for text in project["dependencies"]]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise ValueError(f"pyproject.toml has no extra {extra!r}")
        for text in optional[extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == own:
                pending.extend(sorted(requirement.extras))
            else:
                found.append((f"extra {extra}", requirement))
    return found


def unmet(
    requirements: list[tuple[str, Requirement]],
    lock: Mapping[NormalizedName, Locked],
    environment: Mapping[str, str] = LOCKED_FOR,
) -> list[str]:
    """Say, one line each, which requirement the lock leaves out or contradicts."""
    env = marker_environment(environment)
    problems = []
    for where, requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate(env):
            continue
        locked = lock.get(canonicalize_name(requirement.name))
        if locked is None:
            problems.append(f"{requirement} ({where}) is not in the lock")
        elif not requirement.specifier.contains(locked.version, prereleases=True):
            problems.append(
                f"{requirement} ({where}): the lock has {locked.name}=={locked.version}"
            )
    return problems


def marker_environment(environment: Mapping[str, str] = LOCKED_FOR) -> dict[str, str]:
    """This interpreter's marker variables, overridden by the lock's platform."""
    env = {str(k): str(v) for k, v in default_environment().items()}
    return {**env, **environment, "extra": ""}


def unhashed(lock: Mapping[NormalizedName, Locked]) -> list[str]:
    """Name the locked packages that carry no hash."""
    return sorted(locked.name for locked in lock.values() if not locked.hashes)


def main() -> int:
    lock = read_lock(LOCK.read_text())
    problems = unmet(declared(PYPROJECT.read_text()), lock)
    problems += [f"{name} has no hash" for name in unhashed(lock)]
    for problem in problems:
        print(f"{LOCK.relative_to(ROOT)}: {problem}", file=sys.stderr)
    if problems:
        print("run: make lock", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
