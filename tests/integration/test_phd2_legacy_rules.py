"""The original phd2-exporter's recording rules return data again (legacy_metrics).

A real Prometheus scrapes the real exporter every second while the PHD2 simulator
guides (scripted over loopback), with the rules of
``tests/fixtures/phd2/phd2_recording_rules.yml`` (written from the original's
``prometheus/phd2_recording_rules.yml``) loaded. Each recorded series must appear
with the value the simulated guiding implies.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from .conftest import phd2_target
from .test_prometheus_e2e import prometheus_binary, run_prometheus

RULES = Path(__file__).resolve().parent.parent / "fixtures" / "phd2"
RULES_FILE = RULES / "phd2_recording_rules.yml"
SCALE = 1.93  # the simulator's get_pixel_scale answer


async def guide(simulator, *, star_lost_every: int) -> None:
    """Send GuideSteps (RA 0.3 px, Dec -0.4 px) and now and then a StarLost."""
    frame = 0
    while True:
        frame += 1
        if frame % star_lost_every == 0:
            await simulator.send_event(
                "StarLost", Frame=frame, Time=float(frame), StarMass=120, SNR=3.1,
                HFD=2.0, AvgDist=0.5, ErrorCode=2, Status="Star lost - low SNR",
            )  # fmt: skip
            frame += 1
        await simulator.send_event(
            "GuideStep", Frame=frame, Time=float(frame), Mount="On-camera",
            dx=0.1, dy=0.1, RADistanceRaw=0.3, DECDistanceRaw=-0.4,
            RADistanceGuide=0.2, DECDistanceGuide=0.0, RADuration=50,
            RADirection="West", StarMass=1000, SNR=20.0, HFD=2.0, AvgDist=0.3,
        )  # fmt: skip
        await asyncio.sleep(0.1)


QUERIES = {
    "rms_ra_px": "guiding:rms:ra:px > 0.2999 < 0.3001",
    "rms_dec_px": "guiding:rms:dec:px > 0.3999 < 0.4001",
    "rms_total_px": "guiding:rms:total:px > 0.4999 < 0.5001",
    "rms_ra_arcsec": "guiding:rms:ra:arcsec",
    "rms_total_arcsec": "guiding:rms:total:arcsec",
    "drift_ra": "guiding:drift:ra > 0.2999 < 0.3001",
    "drift_dec": "guiding:drift:dec < -0.3999 > -0.4001",
    "connected": "guiding:status:is_connected == 1",
    "was_connected": "guiding:status:was_connected == 1",
    "lost_stars": "guiding:status:lost_stars == 1",
    "guiding": "guiding:status:is_guiding == 1",
    "stopped": "guiding:status:is_stopped == 0",
}


async def test_original_recording_rules_return_data(simulator, make_exporter, tmp_path):
    """With legacy_metrics the original's rules record RMS, drift, liveness, losses."""
    binary = prometheus_binary()
    simulator.set_guiding()
    target = phd2_target(simulator.port, legacy_metrics=True)
    async with make_exporter([target]) as exporter:
        await exporter.scrape_until(lambda s: s.value("phd2_total") is not None)
        sender = asyncio.create_task(guide(simulator, star_lost_every=10))
        try:
            address = str(exporter.client.base_url).removeprefix("http://").rstrip("/")
            results = await run_prometheus(
                binary, tmp_path, address, list(QUERIES.values()), [RULES_FILE]
            )
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    found = dict(zip(QUERIES, results, strict=True))
    ra_arcsec = float(found["rms_ra_arcsec"][0]["value"][1])  # type: ignore[index]
    total_arcsec = float(found["rms_total_arcsec"][0]["value"][1])  # type: ignore[index]
    assert abs(ra_arcsec - 0.3 * SCALE) < 1e-6
    assert abs(total_arcsec - 0.5 * SCALE) < 1e-6
    drift = found["drift_ra"][0]["metric"]
    assert drift["host"] == "simulator"  # type: ignore[index]  # PHD2's, lower-cased
    connected = found["connected"][0]["metric"]
    assert connected["inst"] == "1"  # type: ignore[index]


async def test_rules_return_nothing_without_legacy_metrics(
    simulator, make_exporter, tmp_path
):
    """Without legacy_metrics the event families are absent, so drift rules are empty.

    The clean families the rules also read (phd2_rms, phd2_status) still record.
    """
    binary = prometheus_binary()
    simulator.set_guiding()
    async with make_exporter([phd2_target(simulator.port)]) as exporter:
        await exporter.scrape_until(lambda s: s.value("phd2_connected") is not None)
        sender = asyncio.create_task(guide(simulator, star_lost_every=10))
        try:
            address = str(exporter.client.base_url).removeprefix("http://").rstrip("/")
            results = await run_prometheus(
                binary,
                tmp_path,
                address,
                [
                    QUERIES["rms_total_px"],
                    QUERIES["guiding"],
                    # absent() of a recorded series: 1 only once the rules ran.
                    "absent(guiding:drift:ra) and on() "
                    "(count(guiding:rms:total:px) > 0)",
                ],
                [RULES_FILE],
            )
            scrape = await exporter.scrape()
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    assert results[2]
    assert scrape.series("phd2_GuideStep_RADistanceRaw") == []
    assert scrape.series("phd2_total") == []


async def test_clean_rules_of_the_migration_page(simulator, make_exporter, tmp_path):
    """The migration page's rules on the clean names record the same figures."""
    binary = prometheus_binary()
    simulator.set_guiding()
    async with make_exporter([phd2_target(simulator.port)]) as exporter:
        await exporter.scrape_until(lambda s: s.value("phd2_connected") is not None)
        sender = asyncio.create_task(guide(simulator, star_lost_every=10))
        try:
            address = str(exporter.client.base_url).removeprefix("http://").rstrip("/")
            results = await run_prometheus(
                binary,
                tmp_path,
                address,
                [
                    "guiding:status:is_connected",
                    "guiding:status:lost_stars",
                    f"guiding:rms:total:arcsec > {0.5 * SCALE - 1e-6}"
                    f" < {0.5 * SCALE + 1e-6}",
                    QUERIES["drift_ra"],
                ],
                [RULES / "phd2_clean_rules.yml"],
            )
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    assert results[3][0]["metric"]["target"] == "rig"  # type: ignore[index]
