"""The new families over the simulator's own imaging session, checked by promtool.

The PHD2 simulator's autopilot loops, selects a star, calibrates, guides and dithers
on loopback; the exporter (legacy_metrics on) folds its real event stream. Every
new clean family appears, and promtool's only advice on the live scrape concerns the
original's names that legacy_metrics serves on purpose.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from exporterhub.exporters.phd2.legacy import LEGACY_SPECS
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

from .conftest import Scrape, phd2_target

NEW_FAMILIES = (
    "phd2_guide_error_stddev_pixels",
    "phd2_guide_error_stddev_arcseconds",
    "phd2_guide_error_combined_stddev_pixels",
    "phd2_guide_error_peak_pixels",
    "phd2_calibration_step_distance_pixels",
    "phd2_calibration_step_number",
    "phd2_settle_distance_pixels",
    "phd2_settle_star_locked",
    "phd2_dither_ra_offset_pixels",
    "phd2_lock_position_x_pixels",
    "phd2_guide_step_x_offset_pixels",
)


def everything_seen(scrape: Scrape) -> bool:
    return all(scrape.series(name) for name in NEW_FAMILIES) and bool(
        scrape.value("phd2_GuidingDithered_total")
    )


async def test_live_session_shows_new_families_and_lints(make_exporter):
    """Calibration, settling, dithers and window statistics from a live session."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing; install Debian's package: apt-get install prometheus"
        )
    config = Phd2SimConfig(port=0, speed=40.0, seed=11)
    async with Phd2Simulator(config) as simulator:
        target = phd2_target(simulator.port, legacy_metrics=True)
        async with make_exporter([target]) as exporter:
            scrape = await exporter.scrape_until(everything_seen, within=60.0)
    directions = {s.labels["direction"] for s in scrape.series(NEW_FAMILIES[4])}
    assert directions <= {"West", "East", "Backlash", "North", "South"}
    assert directions
    assert {s.labels["axis"] for s in scrape.series(NEW_FAMILIES[0])} == {"ra", "dec"}
    result = subprocess.run(  # noqa: S603 - promtool from PATH
        [promtool, "check", "metrics"],
        input=scrape.text.encode(),
        capture_output=True,
        check=False,
    )
    legacy = {spec.name for spec in LEGACY_SPECS}
    camel = re.compile(
        r"(\S+) (metric|label) names should be written in 'snake_case' not 'camelCase'"
    )
    total = 'phd2_total non-counter metrics should not have "_total" suffix'
    for line in (result.stdout + result.stderr).decode().splitlines():
        if line.strip() == total:
            continue
        match = camel.fullmatch(line.strip())
        assert match is not None, line
        assert match.group(1) in legacy, line
