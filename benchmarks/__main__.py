"""``python -m benchmarks [ingest] [scrape] [startup] [chaos] [starlink] [kasa]
[prometheus] [controlplane] [snp]``
(``make bench``: all).

Prints a Markdown table of medians and same-run ratios. A run of all suites
overwrites ``benchmarks/RESULTS.md`` with it; a run of some replaces only their own
lines there and keeps the other suites' lines from earlier runs. Exit status 1 when
a benchmark crashed or the ingest burst lost an event; a missed performance target
is reported, not fatal.
"""

from __future__ import annotations

import sys
import time
import traceback


def main(argv: list[str]) -> int:
    from benchmarks import (
        chaos,
        controlplane,
        ingest,
        kasa,
        prometheus,
        scrape,
        snp,
        starlink,
        startup,
    )
    from benchmarks.report import Report
    from exporterhub.core.logging import configure_logging

    configure_logging("warning", "json")
    suites = {
        "ingest": ingest.run,
        "scrape": scrape.run,
        "startup": startup.run,
        "chaos": chaos.run,
        "starlink": starlink.run,
        "kasa": kasa.run,
        "prometheus": prometheus.run,
        "controlplane": controlplane.run,
        "snp": snp.run,
    }
    chosen = argv or list(suites)
    unknown = [name for name in chosen if name not in suites]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(suites)}")
        return 2
    report = Report()
    started = time.perf_counter()
    crashed = False
    for name in chosen:
        report.begin(name)
        try:
            suites[name](report)
        except Exception:
            crashed = True
            traceback.print_exc()
            report.note(f"{name}: CRASHED: {traceback.format_exc(limit=3)!r}")
    text = report.write(time.perf_counter() - started, chosen, list(suites))
    print()
    print(text)
    lost = any(r.bench.endswith("burst") and r.ok is False for r in report.rows)
    return 1 if crashed or lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
