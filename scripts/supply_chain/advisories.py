"""Offline audit: the locked set against vendored PyPA advisories (OSV format).

No vulnerability service answers from CI, so the advisories of the packages in
requirements/lock.txt are kept in requirements/advisories/<package>/, copied from
a checkout of the PyPA advisory database (``refresh``), and matched here against
the locked versions (``check``, also run by tests/supply_chain). An advisory
applies when a version is listed in its ``versions`` or falls in one of its
ECOSYSTEM ranges; GIT ranges and withdrawn advisories are ignored. Accepted
findings (no fixed release usable) go in requirements/advisories/exceptions.toml
with their reason. This module reads files and, for ``refresh``, a local git
checkout; it never touches the network.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version
from scripts.supply_chain.lockfile import LOCK, ROOT, read_lock

ADVISORIES = ROOT / "requirements" / "advisories"
INDEX = "index.json"
EXCEPTIONS = "exceptions.toml"
UPSTREAM = "https://github.com/pypa/advisory-database"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where built in (five times faster), else the pure one."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """What the audit needs of one OSV advisory."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    withdrawn: bool
    affected: tuple[
        tuple[NormalizedName, tuple[frozenset[object], tuple[Any, ...]]], ...
    ]
    """(package, (listed versions, ECOSYSTEM event lists)) per affected entry."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A locked package a (not withdrawn) advisory applies to."""

    package: str
    version: Version
    advisory: Advisory


def parse(data: Mapping[str, Any]) -> Advisory:
    """Build an Advisory from one decoded OSV document."""
    affected = []
    for entry in data.get("affected") or ():
        package = entry.get("package") or {}
        if package.get("ecosystem") != "PyPI":
            continue
        listed = frozenset(_canonical(v) for v in entry.get("versions") or ())
        ranges = tuple(
            tuple(r.get("events") or ())
            for r in entry.get("ranges") or ()
            if r.get("type") == "ECOSYSTEM"
        )
        affected.append((canonicalize_name(package["name"]), (listed, ranges)))
    details = str(data.get("summary") or data.get("details") or "").strip()
    return Advisory(
        id=str(data["id"]),
        aliases=tuple(data.get("aliases") or ()),
        summary=" ".join(details.split())[:160],
        withdrawn=bool(data.get("withdrawn")),
        affected=tuple(affected),
    )


def _canonical(text: object) -> object:
    """A Version where the text is one (1.0 == 1.0.0), else the text itself."""
    try:
        return Version(str(text))
    except InvalidVersion:
        return str(text)


def _event_key(event: Mapping[str, str]) -> tuple[int, Version]:
    """Sort key of a range event: introduced "0" first, then by version."""
    (kind, text), *_ = event.items()
    if kind == "introduced" and text == "0":
        return (0, Version("0"))
    return (1, Version(text))


def in_range(version: Version, events: Sequence[Mapping[str, str]]) -> bool:
    """Say whether an ECOSYSTEM range (OSV events) covers the version.

    Events are walked in version order: ``introduced`` switches on, ``fixed`` (at
    or below the version) and ``last_affected`` (below it) switch off.
    """
    affected = False
    usable = []
    for event in events:
        try:
            usable.append((_event_key(event), event))
        except InvalidVersion:
            continue  # a legacy version string cannot be ordered: leave it out
    for _, event in sorted(usable, key=lambda pair: pair[0]):
        if "introduced" in event:
            text = event["introduced"]
            if text == "0" or version >= Version(text):
                affected = True
        elif "fixed" in event:
            if version >= Version(event["fixed"]):
                affected = False
        elif "last_affected" in event and version > Version(event["last_affected"]):
            affected = False
    return affected


def applies(advisory: Advisory, package: str, version: Version) -> bool:
    """Say whether a not-withdrawn advisory covers this package's version."""
    if advisory.withdrawn:
        return False
    name = canonicalize_name(package)
    for affected_name, (listed, ranges) in advisory.affected:
        if affected_name != name:
            continue
        if version in listed or any(in_range(version, r) for r in ranges):
            return True
    return False


def load(directory: Path = ADVISORIES) -> list[Advisory]:
    """Read every vendored advisory (``<package>/<ID>.yaml`` or ``.json``)."""
    found = []
    for path in sorted(directory.glob("*/*")):
        if path.suffix in (".yaml", ".yml"):
            found.append(parse(yaml.load(path.read_text(), Loader=_LOADER)))  # noqa: S506
        elif path.suffix == ".json":
            found.append(parse(json.loads(path.read_text())))
    return found


def audit(lock: Mapping[str, Version], advisories: Iterable[Advisory]) -> list[Finding]:
    """List every (package, advisory) pair where the locked version is affected."""
    advisories = list(advisories)
    return [
        Finding(package, version, advisory)
        for package, version in sorted(lock.items())
        for advisory in advisories
        if applies(advisory, package, version)
    ]


def exceptions(directory: Path = ADVISORIES) -> dict[str, str]:
    """Accepted advisory ids and their reasons, from exceptions.toml."""
    path = directory / EXCEPTIONS
    if not path.exists():
        return {}
    table = tomllib.loads(path.read_text()).get("accepted", {})
    return {str(key): str(value["reason"]) for key, value in table.items()}


def not_looked_up(lock: Iterable[str], directory: Path = ADVISORIES) -> list[str]:
    """Locked packages the last refresh did not look up (added to the lock since)."""
    index = json.loads((directory / INDEX).read_text())
    looked_up = set(index["looked_up"])
    return sorted(name for name in lock if canonicalize_name(name) not in looked_up)


def locked_versions(lock_path: Path = LOCK) -> dict[str, Version]:
    """The lock as {canonical name: version}."""
    return {name: pkg.version for name, pkg in read_lock(lock_path.read_text()).items()}


def _git(checkout: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(checkout), *args],  # noqa: S607 - git from PATH
        check=True,
        capture_output=True,
    ).stdout


def _git_text(checkout: Path, *args: str) -> str:
    return _git(checkout, *args).decode()


def refresh(checkout: Path, names: Iterable[str], directory: Path = ADVISORIES) -> int:
    """Copy the advisories of ``names`` from HEAD of a database checkout.

    Works on a working copy or a bare clone (reads git objects, not the work
    tree), replaces every ``<package>/`` folder, and rewrites index.json and
    README.md with the commit copied from. Returns the number of files copied.
    """
    commit = _git_text(checkout, "rev-parse", "HEAD").strip()
    date = _git_text(checkout, "show", "-s", "--format=%cI", commit).strip()
    folders = {
        canonicalize_name(Path(p).name): Path(p).name
        for p in _git_text(checkout, "ls-tree", "--name-only", commit, "vulns/").split()
    }
    for old in directory.glob("*/"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    looked_up: dict[str, str | None] = {}
    copied = 0
    for name in sorted({canonicalize_name(n) for n in names}):
        folder = folders.get(name)
        looked_up[name] = folder
        if folder is None:
            continue
        files = _git_text(
            checkout, "ls-tree", "--name-only", commit, f"vulns/{folder}/"
        )
        target = directory / name
        target.mkdir(parents=True)
        for path in files.split():
            blob = _git(checkout, "show", f"{commit}:{path}")
            (target / Path(path).name).write_bytes(blob)
            copied += 1
    (directory / "LICENSE").write_bytes(_git(checkout, "show", f"{commit}:LICENSE"))
    index: dict[str, object] = {"source": UPSTREAM, "commit": commit}
    index |= {"committed": date}
    index |= {"licence": "CC-BY-4.0", "looked_up": looked_up}
    (directory / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    (directory / "README.md").write_text(readme(index, copied))
    return copied


def readme(index: Mapping[str, Any], copied: int) -> str:
    """The README written beside the vendored advisories."""
    with_files = sorted(k for k, v in index["looked_up"].items() if v is not None)
    return f"""# Vendored security advisories (offline audit)

{copied} advisories of the packages in `requirements/lock.txt`, copied unchanged from
the PyPA advisory database ({index["source"]}), commit `{index["commit"]}`
({index["committed"]}), one folder per package (`vulns/<package>/` upstream).

- Licence: Creative Commons Attribution 4.0 International (CC-BY-4.0), the
  database's own; its text is `LICENSE` here. Attribution: the Python Packaging
  Authority and the advisory database's contributors. The files are not modified.
- Used by: `scripts/supply_chain/advisories.py` (`make audit`, and
  `tests/supply_chain/test_advisories.py` in `make test`): an advisory applies to
  a locked version listed in its `versions` or inside an ECOSYSTEM range;
  withdrawn ones are ignored. Accepted findings, with a reason each, go in
  `exceptions.toml`.
- `index.json` names the commit and every locked package looked up then
  ({len(index["looked_up"])}, of which {len(with_files)} have advisories), so a
  package added to the lock since fails the test until the next refresh.
- Refresh (needs a local checkout of the database; no network here):
  `make advisories ADVISORY_DB=/path/to/advisory-database`.
- This is a snapshot: advisories published after that commit are not here. The
  online check is `make audit` (pip-audit), which fails when its service cannot
  be reached.
"""


def check(
    lock_path: Path = LOCK, directory: Path = ADVISORIES, out: TextIO | None = None
) -> int:
    """Audit the lock against the vendored advisories; 1 on a finding or a gap."""
    out = out or sys.stdout
    lock = locked_versions(lock_path)
    accepted = exceptions(directory)
    findings = audit(lock, load(directory))
    failed = False
    for name in not_looked_up(lock, directory):
        print(f"{name}: not looked up (run make advisories)", file=out)
        failed = True
    for finding in findings:
        advisory = finding.advisory
        line = f"{finding.package}=={finding.version}: {advisory.id} {advisory.summary}"
        if advisory.id in accepted:
            print(f"accepted {line} ({accepted[advisory.id]})", file=out)
        else:
            print(f"VULNERABLE {line}", file=out)
            failed = True
    print(f"{len(lock)} locked packages, {len(findings)} advisories apply", file=out)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="audit requirements/lock.txt offline")
    refresh_parser = commands.add_parser("refresh", help="copy from a checkout")
    refresh_parser.add_argument("checkout", type=Path)
    args = parser.parse_args(argv)
    if args.command == "refresh":
        copied = refresh(args.checkout, locked_versions())
        print(f"{copied} advisories copied into {ADVISORIES.relative_to(ROOT)}")
        return check()
    return check()


if __name__ == "__main__":
    raise SystemExit(main())
