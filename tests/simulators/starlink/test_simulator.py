"""Tests for the fake Starlink dish: wire values, faults, history, CLI.

Wire values are read with the unmodified ``starlink_grpc`` client (raw messages),
or with the fake's own schema classes for requests the client never sends.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
import starlink_grpc
from grpc import aio

from exporterhub.exporters.starlink.telemetry import Telemetry
from exporterhub.simulators.starlink import (
    DishFaults,
    DishSimConfig,
    StarlinkDishSimulator,
    build_parser,
    config_from_args,
    default_telemetry,
    main,
    serve_grpc,
)
from exporterhub.simulators.starlink.wire import (
    ALERT_FIELDS,
    OUTAGE_CAUSES,
    SERVICE,
    build_schema,
)

TIMEOUT = 10.0
SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture(autouse=True)
def fresh_client_library() -> Iterator[None]:
    """Each test resolves the fake's schema anew (schemas differ between tests)."""
    starlink_grpc.imports_pending = True
    yield
    starlink_grpc.imports_pending = True


async def raw(address: str, fn: Any) -> Any:
    """Call a blocking ``starlink_grpc`` function against ``address`` in a thread."""
    context = starlink_grpc.ChannelContext(target=address)
    try:
        return await asyncio.to_thread(fn, context)
    finally:
        context.close()


def provider_of(**changes: Any) -> Any:
    """A provider serving the default sample with ``changes``."""
    sample = replace(default_telemetry(), **changes)
    return lambda: sample


class TestWireValues:
    async def test_status_units(self):
        """Telemetry is served in the dish's units and field numbers."""
        provider = provider_of(alerts=("motors_stuck", "no_ethernet_link", "bogus"))
        async with StarlinkDishSimulator(DishSimConfig(port=0), provider) as sim:
            status = await raw(sim.address, starlink_grpc.get_status)
        t = provider()
        assert status.downlink_throughput_bps == pytest.approx(120e6)
        assert status.uplink_throughput_bps == pytest.approx(18e6)
        assert status.pop_ping_drop_rate == pytest.approx(0.005)
        assert status.pop_ping_latency_ms == pytest.approx(34.5)
        assert status.obstruction_stats.fraction_obstructed == pytest.approx(0.02)
        assert status.device_state.uptime_s == 86_400
        assert status.device_info.id == t.dish_id
        assert status.device_info.hardware_version == "rev4_prod1"
        assert status.gps_stats.gps_sats == 12
        assert status.gps_stats.gps_valid is True
        assert not status.HasField("outage")
        assert status.seconds_to_first_nonempty_slot == 0.0
        assert status.alerts.motors_stuck is True
        assert status.alerts.no_ethernet_link is True
        assert status.alerts.roaming is False
        fields = {f.name: f.number for f in status.alerts.DESCRIPTOR.fields}
        assert fields == ALERT_FIELDS
        assert status.DESCRIPTOR.fields_by_name["pop_ping_latency_ms"].number == 1009
        assert status.DESCRIPTOR.fields_by_name["outage"].number == 1014

    async def test_location_units(self):
        """The fix is served as lla degrees/metres with speed in m/s and sigma."""
        config = DishSimConfig(port=0, sigma_m=7.5)
        async with StarlinkDishSimulator(config) as sim:
            loc = await raw(sim.address, starlink_grpc.get_location)
        assert loc.lla.lat == pytest.approx(50.15)
        assert loc.lla.lon == pytest.approx(-5.05)
        assert loc.lla.alt == pytest.approx(12.0)
        assert loc.horizontal_speed_mps == pytest.approx(6.5 / 1.943844)
        assert loc.sigma_m == pytest.approx(7.5)

    async def test_sparse_sample(self):
        """A sample with None fields leaves them unset and refuses location."""
        sparse = Telemetry(timestamp=0.0, mode="simulation")
        async with StarlinkDishSimulator(DishSimConfig(port=0), lambda: sparse) as sim:
            status = await raw(sim.address, starlink_grpc.get_status)
            loc = await raw(sim.address, starlink_grpc.location_data)
        assert status.pop_ping_latency_ms == 0.0
        assert status.device_info.id == ""
        assert not status.HasField("outage")
        assert loc == {"latitude": None, "longitude": None, "altitude": None}

    async def test_fix_without_speed(self):
        """A fix without speed serves no horizontal speed."""
        provider = provider_of(speed_knots=None, altitude_meters=None)
        async with StarlinkDishSimulator(DishSimConfig(port=0), provider) as sim:
            loc = await raw(sim.address, starlink_grpc.get_location)
        assert loc.horizontal_speed_mps == 0.0
        assert loc.lla.alt == 0.0

    @pytest.mark.parametrize(
        ("state", "cause"),
        [
            pytest.param("SEARCHING", "NO_SCHEDULE", id="searching"),
            pytest.param("STOWED", "STOWED", id="stowed"),
            pytest.param("UNKNOWN", "UNKNOWN", id="unknown"),
            pytest.param("NOT_A_CAUSE", "UNKNOWN", id="unmapped"),
        ],
    )
    async def test_state_becomes_outage(self, state, cause):
        """A provider state other than CONNECTED is served as outage.cause."""
        async with StarlinkDishSimulator(
            DishSimConfig(port=0), provider_of(state=state)
        ) as sim:
            status = await raw(sim.address, starlink_grpc.get_status)
        assert status.HasField("outage")
        assert status.outage.cause == OUTAGE_CAUSES[cause]
        assert status.seconds_to_first_nonempty_slot == -1.0

    async def test_fault_overrides_state(self):
        """faults.outage_cause wins over the provider's CONNECTED."""
        async with StarlinkDishSimulator(DishSimConfig(port=0)) as sim:
            sim.faults.outage_cause = "SEARCHING"
            status, _, _ = await raw(sim.address, starlink_grpc.status_data)
        assert status["state"] == "SEARCHING"

    async def test_missing_fields_schema(self):
        """The missing-fields schema lacks latency, GPS and location extras."""
        config = DishSimConfig(port=0, faults=DishFaults(missing_fields=True))
        async with StarlinkDishSimulator(config) as sim:
            status = await raw(sim.address, starlink_grpc.get_status)
            loc = await raw(sim.address, starlink_grpc.get_location)
        names = status.DESCRIPTOR.fields_by_name
        assert "pop_ping_latency_ms" not in names
        assert "gps_stats" not in names
        assert "downlink_throughput_bps" in names
        assert "horizontal_speed_mps" not in loc.DESCRIPTOR.fields_by_name
        assert loc.lla.lat == pytest.approx(50.15)


class TestHistory:
    async def test_ring_buffer(self):
        """Every get_status writes one history sample at (current - 1) mod 900."""
        values = iter([10.0, 20.0, 30.0])
        base = default_telemetry()

        def provider() -> Telemetry:
            return replace(base, latency_ms=next(values, 99.0))

        async with StarlinkDishSimulator(DishSimConfig(port=0), provider) as sim:
            empty = await raw(sim.address, starlink_grpc.get_history)
            assert empty.current == 0
            assert len(empty.pop_ping_latency_ms) == 0
            for _ in range(2):
                await raw(sim.address, starlink_grpc.get_status)
            history = await raw(sim.address, starlink_grpc.get_history)
        assert history.current == 2
        assert len(history.pop_ping_latency_ms) == 900
        # the first provider call answered the empty history request
        assert history.pop_ping_latency_ms[0] == 20.0
        assert history.pop_ping_latency_ms[(history.current - 1) % 900] == 30.0
        assert history.downlink_throughput_bps[1] == pytest.approx(120e6)
        assert history.power_in[1] == 0.0


class TestFaults:
    async def test_refuse_location_is_permission_denied(self):
        """refuse_location aborts get_location with PERMISSION_DENIED."""
        config = DishSimConfig(port=0, faults=DishFaults(refuse_location=True))
        async with StarlinkDishSimulator(config) as sim:
            with pytest.raises(grpc.RpcError) as info:
                await raw(sim.address, starlink_grpc.get_location)
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED

    async def test_unsupported_request(self):
        """A request kind the fake does not serve is UNIMPLEMENTED."""
        schema = build_schema()
        async with (
            StarlinkDishSimulator(DishSimConfig(port=0)) as sim,
            aio.insecure_channel(sim.address) as channel,
        ):
            call = channel.unary_unary(
                f"/{SERVICE}/Handle",
                request_serializer=schema.request.SerializeToString,
                response_deserializer=schema.response.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(schema.request(id=5), timeout=TIMEOUT)
            ok = await call(schema.request(id=6, get_status={}), timeout=TIMEOUT)
        assert info.value.code() is grpc.StatusCode.UNIMPLEMENTED
        assert ok.id == 6
        assert ok.api_version == 42
        assert sim.requests == 2

    async def test_silent_accepts_and_never_answers(self):
        """The silent fake accepts TCP, never writes, and closes on stop."""
        config = DishSimConfig(port=0, faults=DishFaults(silent=True))
        sim = StarlinkDishSimulator(config)
        await sim.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        try:
            writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            await writer.drain()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(1), 0.2)
            await sim.stop()
            assert await asyncio.wait_for(reader.read(1), TIMEOUT) == b""
        finally:
            writer.close()
            await writer.wait_closed()

    def test_port_before_start(self):
        """Asking for the port before start is an error."""
        with pytest.raises(RuntimeError, match="not started"):
            _ = StarlinkDishSimulator(DishSimConfig(port=0)).port

    def test_faults_object_is_shared(self):
        """sim.faults is the config's faults object, switchable while running."""
        config = DishSimConfig(port=0)
        assert StarlinkDishSimulator(config).faults is config.faults


class TestCli:
    def test_parser_defaults_and_flags(self):
        """The CLI maps each flag onto the config."""
        default = config_from_args(build_parser().parse_args(["--grpc"]))
        assert (default.host, default.port) == ("127.0.0.1", 9200)
        assert default.faults == DishFaults()
        config = config_from_args(
            build_parser().parse_args(
                [
                    "--port",
                    "9300",
                    "--sigma-m",
                    "4",
                    "--outage-cause",
                    "NO_SATS",
                    "--refuse-location",
                    "--missing-fields",
                    "--no-reflection",
                    "--silent",
                ]
            )
        )
        assert config.port == 9300
        assert config.sigma_m == 4.0
        assert config.faults == DishFaults(
            outage_cause="NO_SATS",
            refuse_location=True,
            missing_fields=True,
            no_reflection=True,
            silent=True,
        )

    async def test_serve_grpc_until_stop(self):
        """serve_grpc serves until its stop event is set."""
        stop = asyncio.Event()
        task = asyncio.create_task(serve_grpc(DishSimConfig(port=0), stop))
        await asyncio.sleep(0.05)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)

    def test_main_stops_on_interrupt(self, monkeypatch):
        """main returns 0 when the run is interrupted."""

        def interrupted(coro: Any) -> None:
            coro.close()
            raise KeyboardInterrupt

        monkeypatch.setattr(asyncio, "run", interrupted)
        assert main(["--grpc", "--port", "0"]) == 0

    async def test_cli_sigterm(self):
        """starlink-simulator serves the dish API and exits 0 on SIGTERM."""
        env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "exporterhub.simulators.starlink",
            "--grpc",
            "--port",
            "0",
            "--outage-cause",
            "NO_SCHEDULE",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
            match = re.search(
                rb"starlink_sim_started.*address=(127\.0\.0\.1:\d+)", line
            )
            assert match is not None, line
            status, _, _ = await raw(match[1].decode(), starlink_grpc.status_data)
            assert status["state"] == "SEARCHING"
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
            assert b"starlink_sim_stopped" in await proc.stdout.read()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
