"""promtool check metrics accepts the exporter's live exposition."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import phd2_target


async def test_promtool_accepts_live_phd2_scrape(simulator, make_exporter):
    """promtool finds nothing to complain about in a scrape with guiding data."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing; install Debian's package: apt-get install prometheus"
        )
    await simulator.send_event("StartGuiding")
    async with make_exporter([phd2_target(simulator.port)]) as exporter:
        await exporter.scrape_until(lambda s: s.value("phd2_connected") is not None)
        for frame in range(1, 6):
            await simulator.send_event(
                "GuideStep", Frame=frame, Time=float(frame), Mount="On-camera",
                dx=0.1, dy=0.1, RADistanceRaw=0.3, DECDistanceRaw=-0.4,
                RADistanceGuide=0.2, DECDistanceGuide=0.0, RADuration=50,
                RADirection="West", StarMass=1000, SNR=20.0, HFD=2.0, AvgDist=0.3,
            )  # fmt: skip
        scrape = await exporter.scrape_until(
            lambda s: s.value("phd2_guide_steps_total") == 5.0
        )
    result = subprocess.run(  # noqa: S603 - promtool from PATH
        [promtool, "check", "metrics"],
        input=scrape.text.encode(),
        capture_output=True,
        check=False,
    )
    findings = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, findings
    assert findings.strip() == ""
