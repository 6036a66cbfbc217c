"""make audit: the offline advisory check, then pip-audit of requirements/lock.txt.

pip-audit asks PyPI's JSON API about each locked version. When it cannot get an
answer for a package (service unreachable, or no per-release JSON, as from this
project's CI machines), pip-audit on its own lists that package as skipped, prints
"No known vulnerabilities found" and exits 0. ``--strict`` makes a skipped package
fatal, so an audit that could not look fails; this wrapper then says so in one
line. It installs nothing (``--disable-pip``: the lock is hashed and complete).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from scripts.supply_chain import advisories
from scripts.supply_chain.lockfile import LOCK

PIP_AUDIT_ARGS = (
    "--strict",
    "--require-hashes",
    "--disable-pip",
    "--progress-spinner",
    "off",
)
FAILED = (
    "make audit: FAILED: pip-audit reported a vulnerability or could not ask its "
    "service about every locked package (see above); nothing is passed unchecked"
)


def pip_audit(
    lock: Path = LOCK,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> int:
    """Run pip-audit on a hashed lock; non-zero, with a loud line, unless all clear."""
    command = [sys.executable, "-m", "pip_audit", *PIP_AUDIT_ARGS, *extra]
    result = subprocess.run(
        [*command, "-r", str(lock)], env=dict(env or os.environ), check=False
    )
    if result.returncode != 0:
        print(FAILED, file=sys.stderr)
    return result.returncode


def main() -> int:
    offline = advisories.check()
    online = pip_audit()
    return 1 if offline or online else 0


if __name__ == "__main__":
    raise SystemExit(main())
