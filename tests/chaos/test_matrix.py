"""The fault matrix: every exporter against every fault, the same checks for all.

Each row runs all five exporters in one hub: the faulty target ``f`` behind a
fault-injecting proxy (or its simulator's own fault switch), a healthy target
of the same exporter (``b``) and one of another exporter (``x``). While the fault
lasts and after it clears, the row asserts:

1. the process survives: every worker task still runs, ``/-/healthy`` answers;
2. the error is counted under its kind (``matrix.Row.errors``);
3. ``f`` recovers within its backoff bound (``Subject.recovery``) once the
   fault clears, showing the peer's new state after a restart;
4. ``b`` and ``x`` are untouched: still up, still refreshed, ``b``'s values
   unchanged;
5. memory stays bounded: resident memory, open files and asyncio tasks come
   back near where they were;
6. no value of the faulty period is reported as current: while ``f`` is down
   its ``up`` is 0 and none of its device values is served.

``make test`` runs the rows marked short; ``make chaos`` (``EXPORTERHUB_CHAOS=full``)
runs all of them. N/A cells are listed by ``test_every_cell_is_decided``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest

from exporterhub.core.plugin import Target
from exporterhub.exporters.phd2.plugin import to_target as phd2_target
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.exporters.starlink.plugin import StarlinkTargetSettings
from exporterhub.exporters.starlink.plugin import to_target as starlink_target
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator
from tests.integration.conftest import Scrape

from .exporters import SUBJECTS, Phd2, Subject
from .matrix import FAULTS, MATRIX, NA, Row, render_table
from .rig import Footprint, running_rig

FULL = os.environ.get("EXPORTERHUB_CHAOS") == "full"
RSS_BOUND = 96 * 1024 * 1024
"""Resident memory a row may add for good: generous (the first row of a
process loads gRPC, python-kasa …), far below what an unbounded buffer of the
faulty period would take."""
SLACK = 12
"""Open files and tasks a row may leave (pools, a reconnected socket)."""


def _rows() -> list[Any]:
    params = []
    for kind, cells in MATRIX.items():
        for fault, cell in cells.items():
            if isinstance(cell, Row) and (FULL or cell.short):
                marks = [] if cell.short else [pytest.mark.chaos_full]
                if cell.known_defect:
                    marks.append(
                        pytest.mark.xfail(reason=cell.known_defect, strict=False)
                    )
                params.append(
                    pytest.param(kind, fault, id=f"{kind}-{fault}", marks=marks)
                )
    return params


async def _bystander(
    kind: str, stack: contextlib.AsyncExitStack
) -> tuple[Target, Subject | None]:
    """Return ``x``: a target of another exporter (simulated Starlink, or PHD2)."""
    if kind != "starlink":
        config = StarlinkConfig.model_validate(
            {"update_interval_seconds": 0.2, "seed": 5}
        )
        return starlink_target(StarlinkTargetSettings(name="dish", config=config)), None
    sim = Phd2Simulator(Phd2SimConfig(port=0, scripted=True, seed=3))
    await sim.start()
    stack.push_async_callback(sim.stop)
    target = phd2_target(
        Phd2TargetSettings(name="x", host="127.0.0.1", port=sim.port, **Phd2.FAST)
    )
    return target, Phd2(stack)


def _x_up(scrape: Scrape, kind: str) -> bool:
    if kind != "starlink":
        return scrape.value("starlink_up") == 1.0
    return scrape.value("phd2_up", target="x") == 1.0


def _x_stamp(scrape: Scrape, kind: str) -> float:
    if kind != "starlink":
        return scrape.value("starlink_last_success_timestamp_seconds") or 0.0
    return scrape.value("phd2_last_success_timestamp_seconds", target="x") or 0.0


def _changed(now: dict[Any, float], then: dict[Any, float]) -> dict[Any, Any]:
    """Return the device series whose value differs, with (then, now).

    The exporter's own timings (``*_exporter_*``) are not device values.
    """
    keys = {k for k in set(now) | set(then) if "_exporter_" not in k[0]}
    return {k: (then.get(k), now.get(k)) for k in keys if now.get(k) != then.get(k)}


def _counted(subject: Subject, before: dict[str, float], kinds: frozenset[str]):
    def check(scrape: Scrape) -> bool:
        if not kinds:
            return True
        now = subject.all_errors(scrape)
        return any(now.get(k, 0.0) > before.get(k, 0.0) for k in kinds)

    return check


@pytest.mark.timeout(180)
@pytest.mark.parametrize(("kind", "fault"), _rows())
async def test_fault(kind: str, fault: str) -> None:
    """The faulty target goes down (or not) and counts; the others never notice."""
    cell = MATRIX[kind][fault]
    assert isinstance(cell, Row)
    async with contextlib.AsyncExitStack() as stack:
        subject = SUBJECTS[kind](stack)
        if fault == "dns":
            subject.host = subject.dns_name
        await subject.start()
        x_target, _ = await _bystander(kind, stack)
        f = subject.f

        def all_up(s: Scrape) -> bool:
            return (
                subject.up(s, f) == 1.0
                and subject.ready(s, f)
                and (not subject.has_bystander or subject.ready(s, "b"))
                and _x_up(s, kind)
            )

        async with running_rig([*subject.targets(), x_target]) as rig:
            subject.stack_clock = rig.clock
            s, _ = await rig.until(all_up, within=40, what="every target up")
            b_values = subject.values(s, "b") if subject.has_bystander else {}
            before = subject.all_errors(s)
            footprint = Footprint.now()

            # -- the fault ------------------------------------------------------
            counted = _counted(subject, before, cell.errors)
            if fault == "restart":
                await subject.restart_peer()
            else:
                await getattr(subject, f"fault_{fault}")(True)
            if cell.down:
                s, _ = await rig.until(
                    lambda s: (
                        subject.up(s, f) == 0.0
                        and not subject.values(s, f)
                        and counted(s)
                    ),
                    within=cell.within or subject.recovery,
                    what=f"{kind}/{f} down with {sorted(cell.errors)} counted",
                )
            else:
                s, _ = await rig.until(
                    counted,
                    within=cell.within or subject.recovery,
                    what=f"{sorted(cell.errors)} counted",
                )
            assert not rig.workers_alive(), rig.workers_alive()
            x_stamp = _x_stamp(s, kind)
            # -- the others, meanwhile -------------------------------------------
            s, _ = await rig.until(
                lambda s: (
                    _x_stamp(s, kind) > x_stamp
                    and _x_up(s, kind)
                    and (not subject.has_bystander or subject.up(s, "b") == 1.0)
                ),
                within=10,
                what="the other targets refreshed",
            )
            if subject.has_bystander:
                assert not _changed(subject.values(s, "b"), b_values)

            # -- the fault clears ------------------------------------------------
            if fault != "restart":
                await getattr(subject, f"fault_{fault}")(False)
            if cell.reload:  # paused by design until its configuration changes
                targets = [*subject.targets(), x_target]
                await rig.state.runner.apply([t for t in targets if t.name != f])
                await rig.state.runner.apply(targets)
            s, _ = await rig.until(
                lambda s: subject.ready(s, f) and subject.settled(fault, s),
                within=subject.recovery,
                what=f"{kind}/{f} recovered",
            )
            if subject.has_bystander:
                assert subject.up(s, "b") == 1.0
                assert not _changed(subject.values(s, "b"), b_values)
            assert _x_up(s, kind)

            # -- the process ------------------------------------------------------
            assert not rig.workers_alive(), rig.workers_alive()
            assert (await rig.client.get("/-/healthy")).status_code == 200
            after = Footprint.now()
            assert after.rss_bytes - footprint.rss_bytes < RSS_BOUND, (footprint, after)
            assert after.open_files <= footprint.open_files + SLACK, (footprint, after)
            assert after.tasks <= footprint.tasks + SLACK, (footprint, after)


def test_every_cell_is_decided() -> None:
    """Every exporter has a row or a reasoned N/A for every fault, nothing else."""
    assert set(MATRIX) == set(SUBJECTS)
    for kind, cells in MATRIX.items():
        assert tuple(cells) == FAULTS, kind
        for fault, cell in cells.items():
            if isinstance(cell, NA):
                assert len(cell.reason) > 20, (kind, fault)
            else:
                subject = SUBJECTS[kind]
                assert fault == "restart" or hasattr(subject, f"fault_{fault}"), (
                    kind,
                    fault,
                )
    shorts = {
        k
        for k, c in MATRIX.items()
        for r in c.values()
        if isinstance(r, Row) and r.short
    }
    assert shorts == set(MATRIX), "the short form covers every exporter"


def test_docs_page_shows_the_matrix() -> None:
    """docs/chaos.md carries the matrix exactly as the tests run it."""
    from pathlib import Path

    page = Path(__file__).parents[2] / "docs" / "chaos.md"
    assert render_table() in page.read_text(encoding="utf-8"), (
        "docs/chaos.md is stale: paste tests.chaos.matrix.render_table()"
    )
