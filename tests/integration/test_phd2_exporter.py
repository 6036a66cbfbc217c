"""The PHD2 exporter against the PHD2 simulator over loopback, scraped over HTTP."""

from __future__ import annotations

import math
import random

import pytest

from exporterhub.core.testing import FakeClock
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

from .conftest import Scrape, phd2_target

PIXEL_SCALE = 1.93


async def guide_steps(sim: Phd2Simulator, values: list[tuple[float, float]]) -> None:
    """Send one GuideStep per (ra, dec) raw distance pair."""
    for frame, (ra, dec) in enumerate(values, start=1):
        await sim.send_event(
            "GuideStep",
            Frame=frame,
            Time=float(frame),
            Mount="On-camera",
            dx=ra,
            dy=dec,
            RADistanceRaw=ra,
            DECDistanceRaw=dec,
            RADistanceGuide=ra * 0.7,
            DECDistanceGuide=0.0,
            RADuration=120,
            RADirection="West" if ra > 0 else "East",
            StarMass=15873,
            SNR=31.08,
            HFD=2.46,
            AvgDist=0.47,
        )


async def start_guiding(sim: Phd2Simulator) -> None:
    await sim.send_event("LoopingExposures", Frame=1)
    await sim.send_event("StarSelected", X=640.31, Y=480.377)
    await sim.send_event("LockPositionSet", X=640.125, Y=480.5)
    await sim.send_event("StartGuiding")


def rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values))


def guiding(scrape: Scrape) -> bool:
    return scrape.value("phd2_status", status="Guiding") == 1.0


def looping(scrape: Scrape) -> bool:
    return scrape.value("phd2_status", status="Looping") == 1.0


def up(scrape: Scrape) -> bool:
    return scrape.value("phd2_up") == 1.0


class TestCatchUpAndState:
    async def test_catch_up_sets_state_without_counting(self, simulator, make_exporter):
        """A client joining mid-session sees Guiding but counts no replayed event."""
        await start_guiding(simulator)
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            scrape = await exporter.scrape_until(lambda s: up(s) and guiding(s))
            assert scrape.value("phd2_status", status="Stopped") == 0.0
            labels = scrape.series("phd2_up")[0].labels
            assert labels == {"target": "rig", "host": "simulator", "inst": "1"}
            for sample in scrape.series("phd2_events_total"):
                assert sample.value == 0.0, sample

            await simulator.send_event("StartGuiding")
            scrape = await exporter.scrape_until(
                lambda s: (s.value("phd2_events_total", event="StartGuiding") or 0) >= 1
            )
            assert scrape.value("phd2_events_total", event="StartGuiding") == 1.0

    async def test_status_has_every_state(self, simulator, make_exporter):
        """phd2_status always lists all eight states with exactly one current one."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            scrape = await exporter.scrape_until(up)
            states = {s.labels["status"]: s.value for s in scrape.series("phd2_status")}
            assert set(states) == {
                "Stopped", "Selected", "Calibrating", "Guiding",
                "LostLock", "Paused", "Looping", "Settling",
            }  # fmt: skip
            assert sum(states.values()) == 1.0


class TestGuidingMetrics:
    async def test_rms_matches_independent_computation(self, simulator, make_exporter):
        """phd2_rms over the last rms_samples steps equals sqrt(mean(x^2)) per axis."""
        rng = random.Random(3)
        values = [(rng.gauss(0, 0.4), rng.gauss(0.1, 0.3)) for _ in range(25)]
        values = [(round(a, 3), round(b, 3)) for a, b in values]
        async with make_exporter(
            [phd2_target(simulator.port, rms_samples=10)]
        ) as exporter:
            await exporter.scrape_until(up)
            await start_guiding(simulator)
            await guide_steps(simulator, values)
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 25.0
            )
        window = values[-10:]
        ra = rms([v[0] for v in window])
        dec = rms([v[1] for v in window])
        got_ra = scrape.value("phd2_rms", scale="px", source="RADistanceRaw")
        got_dec = scrape.value("phd2_rms", scale="px", source="DECDistanceRaw")
        got_total = scrape.value("phd2_rms", scale="px", source="TotalDistanceRaw")
        got_ra_arcsec = scrape.value("phd2_rms", scale="arcsec", source="RADistanceRaw")
        assert got_ra == pytest.approx(ra, rel=1e-9)
        assert got_dec == pytest.approx(dec, rel=1e-9)
        assert got_total == pytest.approx(math.hypot(ra, dec), rel=1e-9)
        assert got_ra_arcsec == pytest.approx(ra * PIXEL_SCALE, rel=1e-9)
        assert scrape.value("phd2_pixel_scale") == pytest.approx(PIXEL_SCALE)

    async def test_equipment_and_connected_are_polled(self, simulator, make_exporter):
        """Equipment and get_connected come from polling, as no event exists."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_connected") is not None
            )
            assert scrape.value("phd2_connected") == 1.0
            assert scrape.value("phd2_current_equipment", device="camera") == 1.0
            assert scrape.value("phd2_current_equipment", device="mount") == 1.0


class TestFaults:
    async def test_split_lines_lose_nothing(self, simulator, make_exporter):
        """Lines split at arbitrary byte boundaries are reassembled without errors."""
        simulator.faults.split_lines = True
        values = [(0.1 * i, -0.05 * i) for i in range(1, 31)]
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(up)
            await start_guiding(simulator)
            await guide_steps(simulator, values)
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 30.0
            )
        assert scrape.value("phd2_error_total", type="parse") in (None, 0.0)
        assert scrape.value("phd2_exporter_reconnects_total") == 0.0

    async def test_malformed_line_is_counted_and_connection_kept(
        self, simulator, make_exporter
    ):
        """A malformed line is counted; the connection and later events survive."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(up)
            await start_guiding(simulator)
            await simulator.send_raw(b'{"Event":"GuideStep","Frame":nan}\r\n')
            await simulator.send_raw(b"not json at all\r\n")
            await guide_steps(simulator, [(0.2, 0.1), (0.3, -0.1)])
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 2.0
            )
            assert scrape.value("phd2_error_total", type="parse") == 2.0
            assert scrape.value("phd2_exporter_reconnects_total") == 0.0
            assert up(scrape)

    async def test_overlong_line_is_rejected_and_counted(
        self, simulator, make_exporter
    ):
        """An over-long line is dropped and counted; the next good line is kept."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(up)
            await start_guiding(simulator)
            await simulator.send_raw(b"x" * (3 * 65536) + b"\r\n")
            await guide_steps(simulator, [(0.2, 0.1)])
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 1.0
            )
            assert scrape.value("phd2_error_total", type="overlong") == 1.0
            assert scrape.value("phd2_exporter_reconnects_total") == 0.0

    async def test_null_pixel_scale_hides_arcsec(self, simulator, make_exporter):
        """With a null pixel scale, arcsec RMS and phd2_pixel_scale are absent."""
        simulator.faults.null_pixel_scale = True
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(lambda s: s.value("phd2_connected") is not None)
            await start_guiding(simulator)
            await guide_steps(simulator, [(0.2, 0.1), (0.3, 0.2)])
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 2.0
            )
            assert scrape.value("phd2_pixel_scale") is None
            assert (
                scrape.value("phd2_rms", scale="arcsec", source="RADistanceRaw") is None
            )
            assert (
                scrape.value("phd2_rms", scale="px", source="RADistanceRaw") is not None
            )

    async def test_dropped_connection_reconnects_and_counters_keep_growing(
        self, simulator, make_exporter
    ):
        """After a drop the exporter reconnects; counters never go down."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(up)
            await start_guiding(simulator)
            await guide_steps(simulator, [(0.2, 0.1)] * 3)
            await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 3.0
            )
            await simulator.drop_clients()
            scrape = await exporter.scrape_until(
                lambda s: up(s) and s.value("phd2_exporter_reconnects_total") == 1.0
            )
            assert scrape.value("phd2_guide_steps_total") == 3.0
            assert guiding(scrape)
            await guide_steps(simulator, [(0.2, 0.1)] * 2)
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_guide_steps_total") == 5.0
            )
            for sample in scrape.series("phd2_events_total"):
                if sample.labels["event"] == "StartGuiding":
                    assert sample.value == 1.0  # the replay after reconnect is not new

    async def test_stalled_peer_is_detected_and_recovered(
        self, simulator, make_exporter
    ):
        """A silent PHD2 times out its RPCs, goes down, and comes back when it talks."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(up)
            simulator.faults.stall = True
            scrape = await exporter.scrape_until(
                lambda s: (
                    (s.value("phd2_error_total", type="timeout") or 0) >= 1
                    and not up(s)
                )
            )
            simulator.faults.stall = False
            scrape = await exporter.scrape_until(up)
            assert (scrape.value("phd2_exporter_reconnects_total") or 0) >= 1

    async def test_legacy_265_one_request_per_read(self, make_exporter):
        """Against PHD2 2.6.5 behaviour every poll is still answered (one in flight)."""
        config = Phd2SimConfig(port=0, scripted=True, version="2.6.5")
        config.faults.legacy_265 = True
        async with (
            Phd2Simulator(config) as sim,
            make_exporter([phd2_target(sim.port)]) as exporter,
        ):
            scrape = await exporter.scrape_until(
                lambda s: s.value("phd2_pixel_scale") is not None
            )
            assert scrape.value("phd2_connected") == 1.0
            assert scrape.value("phd2_error_total", type="timeout") in (None, 0.0)


class TestStalledPeer:
    """A PHD2 that stays connected and says nothing: values go at the max age.

    The exporter runs on a fake clock; its requests to PHD2 time out on real time,
    far later than this test, so the worker sits in a request and publishes
    nothing. What leaves the scrape leaves because the clock passed the max age.
    """

    async def test_values_go_at_max_age_and_come_back(self, simulator, make_exporter):
        """Past max age: no values, phd2_up 0, phd2_info and last success stay."""
        clock = FakeClock()
        target = phd2_target(
            simulator.port, state_interval=5.0, equipment_interval=5.0, rpc_timeout=60
        )
        max_age = 3 * 5.0 + 60  # Phd2TargetSettings.max_age
        async with make_exporter([target], clock) as exporter:
            s = await exporter.scrape_until(
                lambda s: up(s) and s.value("phd2_connected") is not None
            )
            taken = clock.time()
            assert s.value("phd2_last_success_timestamp_seconds") == taken
            await exporter.until_prepared(clock, step=0.5)
            simulator.faults.stall = True

            clock.advance(max_age - 0.5)  # the poll tiers are due: requests hang
            s = await exporter.scrape()  # exactly at the max age: kept
            assert up(s)
            assert s.value("phd2_status", status="Stopped") == 1.0

            clock.advance(0.25)
            s = await exporter.scrape()
            assert s.series("phd2_status") == []
            assert s.series("phd2_connected") == []
            assert s.series("phd2_current_equipment") == []
            assert s.value("phd2_up") == 0.0
            assert s.value("phd2_last_success_timestamp_seconds") == taken
            assert s.series("phd2_info")
            # The worker has not given up on its requests: this is the scrape.
            assert s.value("phd2_error_total", type="timeout") in (None, 0.0)
            assert s.value("phd2_exporter_link_state", state="connected") == 1.0

            simulator.faults.stall = False  # PHD2 talks again
            await simulator.send_event("LoopingExposures", Frame=1)
            # Time moves on while PHD2 talks: the renderer paces on this clock.
            s = await exporter.scrape_advancing(
                clock, lambda s: up(s) and looping(s), step=0.1
            )
            assert (s.value("phd2_last_success_timestamp_seconds") or 0) > taken


class TestSeveralInstances:
    async def test_two_instances_never_collide(self, make_exporter):
        """Two PHD2 instances in one process give two distinct label sets."""
        first = Phd2Simulator(Phd2SimConfig(port=0, scripted=True, instance=1))
        second = Phd2Simulator(Phd2SimConfig(port=0, scripted=True, instance=2))
        async with (
            first,
            second,
            make_exporter(
                [phd2_target(first.port, "one"), phd2_target(second.port, "two")]
            ) as exporter,
        ):
            scrape = await exporter.scrape_until(
                lambda s: len([x for x in s.series("phd2_up") if x.value == 1.0]) == 2
            )
            insts = sorted(x.labels["inst"] for x in scrape.series("phd2_up"))
            assert insts == ["1", "2"]


class TestRemovalAndReload:
    async def test_removed_target_disappears(self, simulator, make_exporter):
        """Applying a target set without a target removes its series at once."""
        async with make_exporter([phd2_target(simulator.port)]) as exporter:
            await exporter.scrape_until(up)
            await exporter.state.runner.apply([])
            scrape = await exporter.scrape_until(lambda s: not s.series("phd2_up"))
            assert scrape.series("phd2_status") == []


async def test_exporter_survives_unreachable_phd2(make_exporter):
    """A PHD2 that refuses connections shows phd2_up 0 and no value series."""
    from exporterhub.core.testing import free_port

    async with make_exporter([phd2_target(free_port())]) as exporter:
        scrape = await exporter.scrape_until(
            lambda s: (s.value("phd2_error_total", type="connection") or 0) >= 1
        )
        assert scrape.value("phd2_up") == 0.0
        assert scrape.series("phd2_rms") == []


async def test_values_vanish_when_phd2_goes_away(make_exporter):
    """When PHD2 disappears, its values vanish at once; counters and info stay."""
    sim = Phd2Simulator(Phd2SimConfig(port=0, scripted=True))
    await sim.start()
    await start_guiding(sim)
    async with make_exporter(
        [phd2_target(sim.port, reconnect_initial=5.0, reconnect_max=5.0)]
    ) as exporter:
        await exporter.scrape_until(lambda s: up(s) and guiding(s))
        await sim.stop()
        scrape = await exporter.scrape_until(lambda s: not up(s))
        assert scrape.series("phd2_status") == []
        assert scrape.series("phd2_connected") == []
        assert scrape.series("phd2_info") != []
        assert scrape.value("phd2_error_total", type="connection") is not None
