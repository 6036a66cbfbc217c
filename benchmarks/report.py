"""Collects benchmark results and writes the Markdown report (stdout + RESULTS.md).

Every summary row, raw row and note carries the suite (``ingest``, ``scrape``, ...)
that produced it, in the first column or as ``[suite]``. A run of every suite
rewrites ``RESULTS.md``; a run of some suites replaces only their own lines there and
keeps the others (with the date of the run they came from). Lines written before the
suite column existed have an empty suite and are kept until the next full run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import statistics
import sys
from collections.abc import Sequence
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
    if unit == "share":
        return f"{value * 100:.2f} % of a core"
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
    suite: str = ""

    def __post_init__(self) -> None:
        if self.ratio is None and self.base:
            self.ratio = self.cand / self.base


@dataclass(slots=True, kw_only=True)
class Raw:
    """Every round of one measurement, for the raw-medians section."""

    name: str
    unit: str
    samples: list[float]
    suite: str = ""

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
    suite: str = ""
    note_suites: list[str] = field(default_factory=list)

    def begin(self, suite: str) -> None:
        """Tag what was added so far with the previous suite; then start ``suite``."""
        self._tag()
        self.suite = suite

    def _tag(self) -> None:
        for row in self.rows:
            row.suite = row.suite or self.suite
        for raw in self.raw:
            raw.suite = raw.suite or self.suite
        missing = len(self.notes) - len(self.note_suites)
        self.note_suites += [self.suite] * missing

    def add_raw(self, name: str, unit: str, samples: list[float]) -> float:
        self.raw.append(Raw(name=name, unit=unit, samples=list(samples)))
        return median(samples)

    def note(self, text: str) -> None:
        print(f"  note: {text}", flush=True)
        self.notes.append(text)

    def document(self, elapsed: float, suites: Sequence[str]) -> _Document:
        """Return this run's lines, each tagged with its suite."""
        self._tag()
        doc = _Document(
            runs=[
                (
                    f"{self.started.isoformat()} (UTC), {elapsed:.0f} s",
                    list(suites),
                )
            ]
        )
        for r in self.rows:
            ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
            met = {None: "", True: "yes", False: "**NO**"}[r.ok]
            base = fmt(r.base, r.unit) if r.base is not None else ""
            doc.summary.append(
                (
                    r.suite,
                    f"| {r.suite} | {r.bench} | {r.metric} | {r.candidate} "
                    f"| {fmt(r.cand, r.unit)} | {r.baseline} | {base} | {ratio} "
                    f"| {r.target} | {met} |",
                )
            )
        for raw in self.raw:
            rounds = ", ".join(fmt(v, raw.unit) for v in raw.samples)
            doc.raw.append(
                (
                    raw.suite,
                    f"| {raw.suite} | {raw.name} | {fmt(raw.median, raw.unit)} "
                    f"| {rounds} |",
                )
            )
        for suite, text in zip(self.note_suites, self.notes, strict=True):
            doc.notes.append((suite, f"- [{suite}] {text}"))
        return doc

    def markdown(self, elapsed: float, suites: Sequence[str] = ()) -> str:
        """Return this run alone as Markdown (what is printed)."""
        return self.document(elapsed, suites).render()

    def write(self, elapsed: float, suites: Sequence[str], every: Sequence[str]) -> str:
        """Write RESULTS.md and return this run's Markdown.

        ``suites`` ran now; ``every`` lists all suites in their order. When not all
        of them ran, the lines of the others are kept from the existing file.
        """
        own = self.document(elapsed, suites)
        doc = own
        if set(every) - set(suites) and RESULTS_PATH.exists():
            old = _Document.parse(RESULTS_PATH.read_text(encoding="utf-8"))
            doc = old.merged(own, suites, every)
        RESULTS_PATH.write_text(doc.render(), encoding="utf-8")
        return own.render()


Tagged = list[tuple[str, str]]  # (suite, Markdown line or note item)
_RUN = re.compile(r"^- run (.+?): (.*)$")
_LEGACY_DATE = re.compile(r"^- date: (.*)$")
_NOTE_TAG = re.compile(r"^- \[([\w-]*)\] ")
_UNTAGGED = "(no suite column: an earlier run of all suites)"


@dataclass(slots=True)
class _Document:
    """RESULTS.md as tagged lines: runs, summary rows, raw rows, note items."""

    runs: list[tuple[str, list[str]]] = field(default_factory=list)
    summary: Tagged = field(default_factory=list)
    raw: Tagged = field(default_factory=list)
    notes: Tagged = field(default_factory=list)

    def render(self) -> str:
        lines = ["# Benchmark results", ""]
        for when, suites in self.runs:
            lines.append(f"- run {when}: {', '.join(suites) or _UNTAGGED}")
        lines += [
            f"- machine: {machine()}",
            "- numbers drift ±15 % between runs on this shared machine: compare "
            "ratios within one run, not absolute figures across runs (the suite "
            "column says which run above a line comes from)",
            "",
            "## Summary (medians of interleaved rounds)",
            "",
            "| suite | benchmark | metric | candidate | median | baseline (same run) "
            "| median | ratio | target | met |",
            "|---|---|---|---|---:|---|---:|---:|---|:---:|",
        ]
        lines += [line for _, line in self.summary]
        lines += [
            "",
            "## Raw rounds",
            "",
            "| suite | measurement | median | rounds |",
            "|---|---|---:|---|",
        ]
        lines += [line for _, line in self.raw]
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [item for _, item in self.notes]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> _Document:
        """Read a RESULTS.md written by ``render`` or by the older, untagged format."""
        doc = cls()
        section = ""
        in_fence = False
        tagged = False  # whether the current table has the suite column
        for line in text.splitlines():
            if line.startswith("## ") and not in_fence:
                section = line
                continue
            if section == "":
                run = _RUN.match(line)
                legacy = _LEGACY_DATE.match(line)
                if run:
                    names = run.group(2)
                    suites = [] if names == _UNTAGGED else names.split(", ")
                    doc.runs.append((run.group(1), suites))
                elif legacy:
                    doc.runs.append((legacy.group(1), []))
            elif section.startswith(("## Summary", "## Raw")):
                if not line.startswith("|") or set(line) <= set("|-: "):
                    continue
                first = line.split("|")[1].strip()
                if first in ("suite", "benchmark", "measurement"):
                    tagged = first == "suite"  # the header row
                    continue
                table = doc.summary if section.startswith("## Summary") else doc.raw
                table.append((first, line) if tagged else ("", "|  " + line))
            elif section.startswith("## Notes"):
                if line.startswith("```"):
                    in_fence = not in_fence
                if line.startswith("- ") and not in_fence:
                    tag = _NOTE_TAG.match(line)
                    doc.notes.append((tag.group(1) if tag else "", line))
                elif doc.notes:
                    suite, item = doc.notes[-1]
                    doc.notes[-1] = (suite, item + "\n" + line)
        doc.notes = [(s, item.rstrip("\n")) for s, item in doc.notes]
        return doc

    def merged(
        self, new: _Document, suites: Sequence[str], every: Sequence[str]
    ) -> _Document:
        """Return self with the lines of ``suites`` replaced by those of ``new``."""
        rank = {name: i for i, name in enumerate(every)}

        def order(item: tuple[str, str]) -> int:
            return -1 if not item[0] else rank.get(item[0], len(rank))

        def merge(old: Tagged, fresh: Tagged) -> Tagged:
            kept = [item for item in old if item[0] not in suites]
            return sorted(kept + fresh, key=order)  # stable: run order kept

        runs = list(new.runs)
        for when, names in self.runs:
            left = [n for n in names if n not in suites]
            if left or not names:
                runs.append((when, left))
        untagged = any(not s for s, _ in (*self.summary, *self.raw, *self.notes))
        runs = [(w, n) for w, n in runs if n or untagged]
        return _Document(
            runs=runs,
            summary=merge(self.summary, new.summary),
            raw=merge(self.raw, new.raw),
            notes=merge(self.notes, new.notes),
        )


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
