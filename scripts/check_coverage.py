"""Fail unless the core, every exporter and every simulator each reach the floor.

Reads the JSON report written by ``pytest --cov-report=json`` and groups files by
package: ``core``, each ``exporters/<name>/`` and each ``simulators/<name>/``
sub-package. The package roots and the modules beside the sub-packages (such as
``simulators/_serve.py``, the run loop every simulator shares) count as ``core``.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import PurePosixPath

FLOOR = 90.0


def group_of(path: str) -> str | None:
    parts = PurePosixPath(path).parts
    if "exporterhub" not in parts:
        return None
    rest = parts[parts.index("exporterhub") + 1 :]
    if not rest:
        return None
    if rest[0] in ("exporters", "simulators") and len(rest) >= 3:
        return f"{rest[0]}/{rest[1]}"  # exporters/<name>/..., simulators/<name>/...
    # core/ plus the wiring every exporter shares: hub, cli, demo, __main__, the
    # plugin registry, the package roots and simulators/_serve.py
    return "core"


def main(report: str) -> int:
    with open(report, encoding="utf-8") as handle:
        data = json.load(handle)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, info in data["files"].items():
        group = group_of(path)
        if group is None:
            continue
        summary = info["summary"]
        covered = summary["covered_lines"] + summary.get("covered_branches", 0)
        totals[group][0] += covered
        totals[group][1] += summary["num_statements"] + summary.get("num_branches", 0)
    failed = False
    for group in sorted(totals):
        covered, total = totals[group]
        percent = 100.0 * covered / total if total else 100.0
        mark = "ok" if percent >= FLOOR else "BELOW FLOOR"
        print(f"coverage {group:24s} {percent:6.2f}%  {mark}")
        failed |= percent < FLOOR
    if failed:
        print(f"coverage: every package must reach {FLOOR:.0f}% (lines + branches)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".coverage.json"))
