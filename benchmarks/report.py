"""Collects benchmark results and writes the Markdown report (stdout + RESULTS.md)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_PATH = Path(__file__).with_name("RESULTS.md")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: float | None, unit: str = "") -> str:
    """Format a figure with a sensible number of digits and its unit."""
    if value is None or value != value:  # None or NaN
        return "n/a"
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.3f} s"
    if unit == "B":
        return f"{value / 1024:,.0f} KiB" if value >= 10_240 else f"{value:,.0f} B"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


@dataclass(slots=True, kw_only=True)
class Row:
    """One line of the summary table: a candidate against its same-run baseline."""

    bench: str
    metric: str
    candidate: str
    cand: float
    baseline: str
    base: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    ratio: float | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.base:
            self.ratio = self.cand / self.base


@dataclass(slots=True, kw_only=True)
class Raw:
    """Every round of one measurement, for the raw-medians section."""

    name: str
    unit: str
    samples: list[float]

    @property
    def median(self) -> float:
        return median(self.samples)


@dataclass(slots=True)
class Report:
    rows: list[Row] = field(default_factory=list)
    raw: list[Raw] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    )

    def add_raw(self, name: str, unit: str, samples: list[float]) -> float:
        self.raw.append(Raw(name=name, unit=unit, samples=list(samples)))
        return median(samples)

    def note(self, text: str) -> None:
        print(f"  note: {text}", flush=True)
        self.notes.append(text)

    def markdown(self, elapsed: float) -> str:
        lines = [
            "# Benchmark results",
            "",
            f"- date: {self.started.isoformat()} (UTC), whole run {elapsed:.0f} s",
            f"- machine: {machine()}",
            "- numbers drift ±15 % between runs on this shared machine: compare "
            "ratios within one run, not absolute figures across runs",
            "",
            "## Summary (medians of interleaved rounds)",
            "",
            "| benchmark | metric | candidate | median | baseline (same run) | "
            "median | ratio | target | met |",
            "|---|---|---|---:|---|---:|---:|---|:---:|",
        ]
        for r in self.rows:
            ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
            met = {None: "", True: "yes", False: "**NO**"}[r.ok]
            base = fmt(r.base, r.unit) if r.base is not None else ""
            lines.append(
                f"| {r.bench} | {r.metric} | {r.candidate} | {fmt(r.cand, r.unit)} "
                f"| {r.baseline} | {base} | {ratio} | {r.target} | {met} |"
            )
        lines += [
            "",
            "## Raw rounds",
            "",
            "| measurement | median | rounds |",
            "|---|---:|---|",
        ]
        for raw in self.raw:
            rounds = ", ".join(fmt(v, raw.unit) for v in raw.samples)
            lines.append(f"| {raw.name} | {fmt(raw.median, raw.unit)} | {rounds} |")
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def write(self, elapsed: float) -> str:
        text = self.markdown(elapsed)
        RESULTS_PATH.write_text(text, encoding="utf-8")
        return text


def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    parts = [
        f"nproc {os.cpu_count()}",
        f"Python {platform.python_version()} ({sys.implementation.name})",
        f"{platform.system()} {platform.release()}",
    ]
    if cpu:
        parts.append(cpu)
    return ", ".join(parts)
