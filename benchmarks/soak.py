"""The soak: ``python -m benchmarks.soak [--minutes 30] [--warmup MIN] [--out DIR]``
(``make soak``; a 3-minute form runs in ``make test``, tests/soak/).

Runs 100 targets (40 SNPs, 20 plugs, 15 PHD2 rigs, 15 dishes, 10 CHAOS logins, see
``soak_rig.MIX``) in one ``exporterhub serve`` with a SQLite store, against the
five simulators at accelerated rates (PHD2 ``--speed 10``, SNP PTP every 0.5 s,
plugs polled every 5 s, CHAOS quota every 2 s, dishes every 1 s), scraped every
second by a real Prometheus, while an API write lands every ``WRITE_SECONDS``: a
target of each kind in turn is created, updated (PUT), disabled, enabled and
deleted, then one quiet slot. Every slot it reads the hub's RSS, CPU time and
open descriptors from ``/proc``; in the quiet slot it also scrapes ``/metrics``
(series, ``exporterhub_asyncio_tasks``, any series left of the churned target)
and counts the targets up. At the end it
asks Prometheus how many scrapes failed (``up``) and judges the run
(``soak_figures.Bounds``: RSS slope after warm-up within 1 % of RSS per 10
minutes, no growth of descriptors, tasks or series beyond a few, no failed
scrape or API write, every target up, no process exited). Figures, a Markdown
summary and an SVG plot of RSS and CPU go to ``benchmarks/soak/`` (``--out``).
Exit status 1 when a check failed. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.soak_figures import Bounds, Sample, judge, write
from benchmarks.soak_rig import MIX, Rig, cpu_seconds, open_fds, rss_kib

OUT = Path(__file__).resolve().parent / "soak"
WRITE_SECONDS = 2.0
CYCLE = ("create", "update", "disable", "enable", "delete", "quiet")
UP_WITHIN = 120.0
"""Seconds all 100 targets get to come up before the clock starts."""

_UPDATES = {
    "phd2": lambda s: s.update(rms_samples=50),
    "starlink": lambda s: s["config"].update(update_interval_seconds=2),
    "tapo": lambda s: s.update(refresh_interval=6),
    "chaos": lambda s: s.update(fast_interval=3),
    "snp": lambda s: s.update(stale_after=40),
}


class Churn:
    """The API writes: one target of each kind in turn through ``CYCLE``."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.kinds = list(MIX)
        self.total = 0
        self.failed: list[str] = []

    def target(self, cycle: int) -> dict[str, Any]:
        kind = self.kinds[cycle % len(self.kinds)]
        base = next(t for t in self.rig.targets if t["kind"] == kind)
        name = f"soak-churn-{kind}"
        settings = copy.deepcopy(base["settings"])
        if kind == "snp":
            settings["name"] = name
        if kind == "tapo":
            settings["device"]["name"] = name
        return {"kind": kind, "name": name, "settings": settings}

    def step(self, slot: int) -> None:
        action = CYCLE[slot % len(CYCLE)]
        if action == "quiet":
            return
        target = self.target(slot // len(CYCLE))
        self.total += 1
        try:
            status, answer = self._act(action, target)
        except OSError as exc:  # no answer in time: a failed write, not the end
            status, answer = 0, f"{type(exc).__name__}: {exc}"
        if not 200 <= status < 300:
            self.failed.append(f"{action} {target['kind']}: {status} {answer!r}"[:300])

    def _act(self, action: str, target: dict[str, Any]) -> tuple[int, Any]:
        path = f"/api/targets/{target['kind']}/{target['name']}"
        if action == "create":
            status, answer = self.rig.api("POST", "/api/targets", target)
        elif action == "update":
            status, answer = self.rig.api("GET", path)
            if status == 200:
                settings = copy.deepcopy(target["settings"])
                _UPDATES[target["kind"]](settings)
                change = {"settings": settings, "revision": answer["revision"]}
                status, answer = self.rig.api("PUT", path, change)
        elif action == "delete":
            status, answer = self.rig.api("DELETE", path)
        else:
            status, answer = self.rig.api(
                "PATCH", path, {"enabled": action == "enable"}
            )
        return status, answer


def _targets_up(rig: Rig) -> tuple[int, list[str]]:
    """(permanent targets up, the names of those down: at most 10)."""
    status, answers = rig.api("GET", "/api/targets")
    if status != 200:
        raise RuntimeError(f"GET /api/targets answered {status}")
    mine = [a for a in answers if not a["name"].startswith("soak-churn")]
    down = [f"{a['kind']}/{a['name']}" for a in mine if not a["up"]]
    return len(mine) - len(down), down[:10]


def _quiet_figures(rig: Rig) -> tuple[int, int | None, int, dict[str, int]]:
    """From one scrape: series, ``exporterhub_asyncio_tasks``, series naming a
    ``soak-churn-*`` target (none should: it was deleted), series per family."""
    series, tasks, churned = 0, None, 0
    families: dict[str, int] = {}
    for line in rig.scrape().splitlines():
        if not line or line.startswith(b"#"):
            continue
        series += 1
        if b"soak-churn-" in line:
            churned += 1
        name = line.split(b"{", 1)[0].split(b" ", 1)[0].decode()
        families[name] = families.get(name, 0) + 1
        if line.startswith(b"exporterhub_asyncio_tasks "):
            tasks = int(float(line.split()[1]))
    return series, tasks, churned, families


def _logged_errors(log: str) -> list[str]:
    """The hub's log lines at error or critical level (at most 10, shortened)."""
    found = []
    for line in log.splitlines():
        try:
            level = json.loads(line).get("level")
        except ValueError:
            level = "error"  # not a JSON log line: a traceback on stderr
        if level in ("error", "critical"):
            found.append(line[:500])
    return found[:10]


def _wait_up(rig: Rig, want: int) -> None:
    deadline = time.monotonic() + UP_WITHIN
    up = 0
    while time.monotonic() < deadline:
        up = _targets_up(rig)[0]
        if up == want:
            return
        time.sleep(1)
    raise RuntimeError(f"only {up} of {want} targets up after {UP_WITHIN:g} s")


def _scrapes(rig: Rig, seconds: int, t0_wall: float) -> dict[str, Any]:
    """Prometheus' view of the run: scrapes, failed ones (``up`` 0), the slowest,
    and when the failed and the slow (over half the 1 s timeout) ones happened,
    in seconds from the start of the clock (negative: before it)."""
    window = f'{{job="soak"}}[{seconds}s]'
    total = rig.scalar(f"count_over_time(up{window})") or 0.0
    good = rig.scalar(f"sum_over_time(up{window})") or 0.0
    longest = rig.scalar(f"max_over_time(scrape_duration_seconds{window})") or 0.0
    end = time.time()
    start = end - seconds

    def when(expr: str) -> list[list[float]]:
        found = rig.query_range(expr, start, end)
        return [
            [round(float(at) - t0_wall, 1), round(float(value), 3)]
            for series in found
            for at, value in series["values"]
        ]

    return {
        "total": total,
        "failed": total - good,
        "max_duration_s": longest,
        "failed_at": when('up{job="soak"} == 0'),
        "slow_at": when('scrape_duration_seconds{job="soak"} > 0.5'),
    }


def soak(
    minutes: float,
    warmup_minutes: float,
    bounds: Bounds,
    workdir: Path,
    log: Any = print,
) -> dict[str, Any]:
    """Run the soak in ``workdir`` and return its judged figures."""
    rig = Rig(workdir)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    samples: list[Sample] = []
    churn = Churn(rig)
    first_families: dict[str, int] = {}
    last_families: dict[str, int] = {}
    try:
        rig.start_simulators(MIX)
        rig.start_hub()
        rig.add_targets()
        _wait_up(rig, sum(MIX.values()))
        rig.start_prometheus()
        prometheus_started = time.monotonic()
        assert rig.hub is not None
        pid = rig.hub.proc.pid
        log(f"soak: {sum(MIX.values())} targets up; {minutes:g} min from now")
        t0, t0_wall = time.monotonic(), time.time()
        slots = int(minutes * 60 / WRITE_SECONDS)
        for slot in range(slots + 1):
            time.sleep(max(0.0, t0 + slot * WRITE_SECONDS - time.monotonic()))
            if rig.dead():
                break
            churn.step(slot)
            sample = Sample(
                t=time.monotonic() - t0,
                rss_kib=rss_kib(pid),
                cpu_seconds=cpu_seconds(pid),
                fds=open_fds(pid),
            )
            if CYCLE[slot % len(CYCLE)] == "quiet":
                sample.quiet = True
                found = _quiet_figures(rig)
                sample.series, sample.tasks, sample.churned, families = found
                if sample.t >= warmup_minutes * 60:
                    first_families = first_families or families
                    last_families = families
                sample.targets_up, sample.down = _targets_up(rig)
                if slot % (len(CYCLE) * 10) == len(CYCLE) - 1:
                    log(
                        f"  {sample.t / 60:5.1f} min: RSS {sample.rss_kib / 1024:.1f} "
                        f"MiB, fds {sample.fds}, tasks {sample.tasks}, series "
                        f"{sample.series}, up {sample.targets_up}"
                    )
            samples.append(sample)
        seconds = math.ceil(time.monotonic() - prometheus_started) + 1
        scrapes = _scrapes(rig, seconds, t0_wall)
        exited = rig.dead()
        errors = _logged_errors(rig.hub.text())
    finally:
        rig.stop()
    extra = {
        "minutes": minutes,
        "warmup_minutes": warmup_minutes,
        "started": started,
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}",
        "targets": {"total": sum(MIX.values()), "by_kind": MIX},
        "write_seconds": WRITE_SECONDS,
        "scrapes": scrapes,
        "api_writes": {"total": churn.total, "failed": len(churn.failed),
                       "failures": churn.failed[:10]},
        "exited": exited,
        "hub_log_errors": errors,
        "families_changed": {
            name: [first_families.get(name, 0), last_families.get(name, 0)]
            for name in sorted(set(first_families) | set(last_families))
            if first_families.get(name, 0) != last_families.get(name, 0)
        },
    }  # fmt: skip
    return judge(samples, warmup_minutes * 60, bounds, extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="minutes not judged for RSS (default: a sixth, >= 1)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--name", default=None, help="file names (soak-<N>min)")
    parser.add_argument(
        "--replot",
        action="store_true",
        help="only rewrite the summary and plot from the run's JSON in --out",
    )
    args = parser.parse_args(argv)
    from exporterhub.core.logging import configure_logging

    configure_logging("warning", "json")
    warmup = args.warmup if args.warmup is not None else max(1.0, args.minutes / 6)
    name = args.name or f"soak-{args.minutes:g}min"
    if args.replot:
        figures = json.loads((args.out / f"{name}.json").read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="exporterhub-soak-") as tmp:
            figures = soak(args.minutes, warmup, Bounds(), Path(tmp))
    paths = write(figures, args.out, name)
    print(paths[1].read_text(encoding="utf-8"))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
