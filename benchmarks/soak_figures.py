"""The soak's verdict: figures from the samples, the pass/fail checks, and the files.

``judge`` turns the samples ``soak.py`` took into figures (RSS slope after warm-up
by least squares, growth of descriptors, tasks and series, scrape and API
failures) and checks them against ``Bounds``; ``write`` puts them into
``<name>.json``, a Markdown summary ``<name>.md`` and a plot of RSS and CPU over
time ``<name>.svg`` (written by hand: no plotting dependency). Pure arithmetic and
file writing; it starts nothing and reads no process.

Growth is the median of the last third of the post-warm-up "quiet" samples less
the median of the first third (quiet: taken when the churned target is absent, so
the same targets are running), which ignores a connection or a timer caught in
flight but not a steady climb.
"""

from __future__ import annotations

import itertools
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CPU_NOTE = (
    "CPU figures are noisy: the simulators, Prometheus and the harness run "
    "beside the hub on the same 2 CPUs, and other work may share the machine."
)


@dataclass(frozen=True)
class Bounds:
    """Pass/fail limits of a soak run.

    rss_percent_per_10min: the post-warm-up RSS slope, as a share of the mean
        post-warm-up RSS per 10 minutes. 1 % per 10 minutes is about 150 KiB/min
        on the hub's ~150 MiB: a leak that small would need days to double the
        process, and is about the resolution a 25-minute least-squares fit of
        RSS (which moves by a few hundred KiB between samples as pymalloc
        arenas come and go) can still tell from zero. The 3-minute form has a
        2-minute fit, whose error is several times larger, so it uses a wider
        bound and catches only gross leaks; the 30-minute run is the measure.
    fds, tasks: allowed growth, absolute (a few connections or timers may be
        in flight at any sample; a leak per API write cycle grows by one per
        cycle, i.e. dozens over a run).
    series_percent: allowed series growth, a share of the series count. Not
        zero: some label sets are only discovered over time, each bounded by
        its protocol (the PHD2 simulator's random session shows a new
        calibration direction or event name now and then: 115 series, 1 %,
        appeared between minutes 6 and 10 of a 30-minute trial, then none).
        Series a removed target leaves behind are checked apart, exactly
        (``Sample.churned`` must stay 0).
    """

    rss_percent_per_10min: float = 1.0
    fds: int = 6
    tasks: int = 6
    series_percent: float = 1.5


@dataclass
class Sample:
    """One reading of the hub. ``quiet`` samples also carry the scrape figures."""

    t: float
    """Seconds since the targets were added."""
    rss_kib: float
    cpu_seconds: float
    fds: int
    quiet: bool = False
    tasks: int | None = None
    series: int | None = None
    targets_up: int | None = None
    down: list[str] | None = None
    """Some of the targets down, if any (what a dip was)."""
    churned: int | None = None
    """Series naming the churned target, deleted by then (any is a leak)."""


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, in value per minute.

    >>> slope_per_minute([(0, 1.0), (60, 2.0), (120, 3.0)])
    1.0
    """
    if len(points) < 2:
        return float("nan")
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    num = sum((t - mean_t) * (v - mean_v) for t, v in points)
    den = sum((t - mean_t) ** 2 for t, _ in points)
    return num / den * 60 if den else float("nan")


def growth(values: list[float]) -> tuple[float, float, float]:
    """(median of the first third, of the last third, their difference).

    >>> growth([10, 11, 10, 12, 13, 12])
    (10.5, 12.5, 2.0)
    """
    third = max(1, len(values) // 3)
    first = statistics.median(values[:third])
    last = statistics.median(values[-third:])
    return first, last, last - first


def judge(
    samples: list[Sample],
    warmup_seconds: float,
    bounds: Bounds,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Return every figure and check of a run (``extra`` is merged in as is)."""
    after = [s for s in samples if s.t >= warmup_seconds]
    quiet = [s for s in after if s.quiet]
    if len(after) < 3 or len(quiet) < 3:
        raise RuntimeError(
            f"too few samples after warm-up ({len(after)}, {len(quiet)})"
        )
    mean_rss = statistics.fmean(s.rss_kib for s in after)
    slope = slope_per_minute([(s.t, s.rss_kib) for s in after])
    rss_bound = mean_rss * bounds.rss_percent_per_10min / 100 / 10
    cpu = [
        (b.cpu_seconds - a.cpu_seconds) / (b.t - a.t) * 100
        for a, b in itertools.pairwise(after)
        if b.t > a.t
    ]
    figures: dict[str, Any] = dict(extra)
    figures["bounds"] = asdict(bounds)
    figures["rss_kib"] = {
        "at_start": round(samples[0].rss_kib),
        "after_warmup": round(after[0].rss_kib),
        "at_end": round(after[-1].rss_kib),
        "max": round(max(s.rss_kib for s in samples)),
        "mean_after_warmup": round(mean_rss),
        "slope_kib_per_min": round(slope, 1),
        "bound_kib_per_min": round(rss_bound, 1),
    }
    figures["cpu_percent_of_one_core"] = {
        "mean_after_warmup": round(statistics.fmean(cpu), 1) if cpu else None,
        "max_interval": round(max(cpu), 1) if cpu else None,
        "total_cpu_seconds": round(samples[-1].cpu_seconds - samples[0].cpu_seconds, 1),
    }
    checks: dict[str, bool] = {"rss_slope": abs(slope) <= rss_bound}
    for name, tolerance in (
        ("fds", float(bounds.fds)),
        ("tasks", float(bounds.tasks)),
        ("series", None),
    ):
        values = [
            float(getattr(s, name)) for s in quiet if getattr(s, name) is not None
        ]
        first, last, grew = growth(values)
        allowed = (
            tolerance if tolerance is not None else first * bounds.series_percent / 100
        )
        figures[name] = {
            "first": first,
            "last": last,
            "growth": grew,
            "tolerance": round(allowed, 1),
            "min": min(values),
            "max": max(values),
        }
        checks[f"{name}_growth"] = grew <= allowed
    churned = [s.churned for s in quiet if s.churned is not None]
    figures["churned_series_left"] = max(churned, default=0)
    checks["no_series_left_by_removed_targets"] = not any(churned)
    ups = [s.targets_up for s in quiet if s.targets_up is not None]
    figures["targets_up"] = {"min_after_warmup": min(ups), "at_end": ups[-1]}
    checks["all_targets_up"] = ups[-1] == figures["targets"]["total"]
    checks["no_scrape_failure"] = figures["scrapes"]["failed"] == 0
    checks["no_api_failure"] = figures["api_writes"]["failed"] == 0
    checks["no_process_exited"] = not figures["exited"]
    if "hub_log_errors" in figures:  # runs before this check have no such figure
        checks["no_error_logged"] = not figures["hub_log_errors"]
    figures["checks"] = checks
    figures["passed"] = all(checks.values())
    figures["note"] = CPU_NOTE
    figures["samples"] = [asdict(s) for s in samples]
    return figures


def markdown(figures: dict[str, Any]) -> str:
    """The summary page of a run."""
    rss, cpu = figures["rss_kib"], figures["cpu_percent_of_one_core"]
    verdict = "PASSED" if figures["passed"] else "FAILED"
    mix = ", ".join(f"{n} {k}" for k, n in figures["targets"]["by_kind"].items())
    lines = [
        f"# Soak, {figures['minutes']:g} minutes: {verdict}",
        "",
        f"Run {figures['started']} on {figures['machine']}. "
        f"{figures['targets']['total']} targets ({mix}) in one `exporterhub serve` "
        f"with a SQLite store; five simulators at accelerated rates; a real "
        f"Prometheus scraping `/metrics` every 1 s; an API write every "
        f"{figures['write_seconds']:g} s (create, update, disable, enable, delete a "
        f"target of each kind in turn). Warm-up {figures['warmup_minutes']:g} min; "
        "the figures below are after it unless said.",
        "",
        "| figure | value | bound | ok |",
        "|---|---|---|---|",
        f"| RSS at start / after warm-up / at end | {rss['at_start'] / 1024:.1f} / "
        f"{rss['after_warmup'] / 1024:.1f} / {rss['at_end'] / 1024:.1f} MiB | | |",
        f"| RSS slope after warm-up (least squares) | {rss['slope_kib_per_min']:+.1f} "
        f"KiB/min | \\|slope\\| <= {rss['bound_kib_per_min']:.1f} KiB/min "
        f"({figures['bounds']['rss_percent_per_10min']:g} % of RSS per 10 min) | "
        f"{_ok(figures, 'rss_slope')} |",
    ]
    for name, label in (
        ("fds", "open file descriptors"),
        ("tasks", "asyncio tasks"),
        ("series", "series on /metrics"),
    ):
        f = figures[name]
        lines.append(
            f"| {label}: first third / last third (median), range | {f['first']:g} / "
            f"{f['last']:g} ({f['growth']:+g}), {f['min']:g}..{f['max']:g} | growth "
            f"<= {f['tolerance']:g} | {_ok(figures, name + '_growth')} |"
        )
    scrapes, writes = figures["scrapes"], figures["api_writes"]
    changed = figures.get("families_changed", {})
    lines += [
        f"| series of the deleted target still served (max of quiet samples) | "
        f"{figures['churned_series_left']} | 0 | "
        f"{_ok(figures, 'no_series_left_by_removed_targets')} |",
        f"| Prometheus scrapes failed / total | {scrapes['failed']:g} / "
        f"{scrapes['total']:g} (longest {scrapes['max_duration_s'] * 1e3:.0f} ms) "
        f"| 0 failed | {_ok(figures, 'no_scrape_failure')} |",
        f"| API writes failed / total | {writes['failed']} / {writes['total']} | 0 "
        f"| {_ok(figures, 'no_api_failure')} |",
        f"| targets up at end (min after warm-up) | {figures['targets_up']['at_end']} "
        f"({figures['targets_up']['min_after_warmup']}) | all | "
        f"{_ok(figures, 'all_targets_up')} |",
        f"| hub CPU, % of one core (mean after warm-up; max {cpu['max_interval']}) | "
        f"{cpu['mean_after_warmup']} | (not judged) | |",
        f"| processes exited during the run | {', '.join(figures['exited']) or 'none'} "
        f"| none | {_ok(figures, 'no_process_exited')} |",
        f"| errors in the hub's log | {_count(figures.get('hub_log_errors'))} | 0 "
        f"| {_ok(figures, 'no_error_logged')} |",
        "",
        "Failed scrapes at (s from the start of the clock): "
        + (
            ", ".join(f"{at:g}" for at, _ in scrapes.get("failed_at", [])[:20])
            or "none"
        )
        + f"; scrapes over 0.5 s: {len(scrapes.get('slow_at', []))}.",
        "",
        "Families whose series count changed after warm-up (first, last): "
        + (
            ", ".join(f"`{n}` {a}→{b}" for n, (a, b) in list(changed.items())[:12])
            or "none"
        )
        + ".",
        "",
        f"{figures['note']} The plot: `{figures['name']}.svg`; every sample: "
        f"`{figures['name']}.json`.",
        "",
    ]
    return "\n".join(lines)


def _count(found: list[str] | None) -> str:
    return "not recorded" if found is None else str(len(found))


def _ok(figures: dict[str, Any], check: str) -> str:
    ok = figures["checks"].get(check)
    return "n/a" if ok is None else "yes" if ok else "**NO**"


def write(figures: dict[str, Any], directory: Path, name: str) -> list[Path]:
    """Write ``name``.json, .md and .svg into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = {**figures, "name": name}
    paths = [directory / f"{name}.{ext}" for ext in ("json", "md", "svg")]
    paths[0].write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(figures), encoding="utf-8")
    paths[2].write_text(plot(figures), encoding="utf-8")
    return paths


_W, _H, _PAD = 760, 200, 48
_CPU_WINDOW = 30.0


def plot(figures: dict[str, Any]) -> str:
    """SVG: RSS (MiB) and hub CPU (% of a core) against minutes, warm-up marked."""
    samples = figures["samples"]
    t = [s["t"] / 60 for s in samples]
    rss = [s["rss_kib"] / 1024 for s in samples]
    # CPU over the 30 s before each sample (2 s readings are mostly noise).
    cpu = [0.0]
    start = 0
    for i in range(1, len(samples)):
        while samples[i]["t"] - samples[start]["t"] > _CPU_WINDOW:
            start += 1
        a, b = samples[min(start, i - 1)], samples[i]
        cpu.append((b["cpu_seconds"] - a["cpu_seconds"]) / (b["t"] - a["t"]) * 100)
    warm = figures["warmup_minutes"]
    panels = [
        _panel(t, rss, 0, "RSS, MiB", "#1f77b4", warm),
        _panel(
            t,
            cpu,
            _H + 20,
            f"hub CPU, % of one core ({_CPU_WINDOW:g} s mean)",
            "#d62728",
            warm,
        ),
    ]
    height = 2 * _H + 40
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" font-family="sans-serif" font-size="11">\n'
        f'<rect width="{_W}" height="{height}" fill="white"/>\n'
        + "".join(panels)
        + f'<text x="{_W / 2}" y="{height - 4}" text-anchor="middle">minutes '
        f"(dashed: end of warm-up)</text>\n</svg>\n"
    )


def _panel(
    t: list[float], v: list[float], top: float, title: str, colour: str, warm: float
) -> str:
    left, right = _PAD, _W - 12
    y0, y1 = top + _H - 18, top + 18
    t_max = max(t) or 1.0
    v_min, v_max = min(v), max(v)
    if v_max - v_min < 1e-9:
        v_min, v_max = v_min - 1, v_max + 1

    def x(value: float) -> float:
        return left + (right - left) * value / t_max

    def y(value: float) -> float:
        return y0 - (y0 - y1) * (value - v_min) / (v_max - v_min)

    points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(t, v, strict=True))
    return (
        f'<text x="{left}" y="{top + 12}" font-weight="bold">{title}</text>\n'
        f'<line x1="{left}" y1="{y0}" x2="{right}" y2="{y0}" stroke="#888"/>\n'
        f'<line x1="{left}" y1="{y0}" x2="{left}" y2="{y1}" stroke="#888"/>\n'
        f'<text x="{left - 4}" y="{y0}" text-anchor="end">{v_min:.1f}</text>\n'
        f'<text x="{left - 4}" y="{y1 + 8}" text-anchor="end">{v_max:.1f}</text>\n'
        f'<text x="{left}" y="{y0 + 12}" text-anchor="middle">0</text>\n'
        f'<text x="{right}" y="{y0 + 12}" text-anchor="end">{t_max:.1f}</text>\n'
        f'<line x1="{x(warm):.1f}" y1="{y0}" x2="{x(warm):.1f}" y2="{y1}" '
        f'stroke="#555" stroke-dasharray="4 3"/>\n'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" '
        f'points="{points}"/>\n'
    )
