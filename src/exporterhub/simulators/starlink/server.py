"""Fake Starlink dish: the dish's gRPC API with server reflection on 127.0.0.1.

Serves ``SpaceX.API.Device.Device/Handle`` (``get_status``, ``get_location``,
``get_history``) with the field numbers of ``shared/protocols/starlink.md`` §5, so the
unmodified ``starlink_grpc`` client reads it like a dish (§8). Values come from a
``provider`` returning a :class:`Telemetry` (the simulation engine, or
:func:`~exporterhub.simulators.starlink.model.default_telemetry`) and are
converted faithfully: Mbps → bit/s, percent → fraction, knots → m/s, ``state`` →
``outage.cause`` (``CONNECTED`` = no outage, ``SEARCHING`` = ``NO_SCHEDULE``),
alert names → ``DishAlerts`` bools, uptime → ``device_state.uptime_s``. Each
``get_status`` also appends one sample to the 900-sample history ring buffer.

Fault switches (:class:`~exporterhub.simulators.starlink.model.DishFaults`, on
``sim.faults``):

- read on every request: ``outage_cause`` (a ``DishOutage.Cause`` name, or
  ``SEARCHING``; overrides the provider's state) and ``refuse_location``
  (``get_location`` aborts ``PERMISSION_DENIED``, as a dish does unless the app
  allows it);
- read by :meth:`StarlinkDishSimulator.start` (stop and start again to change them):
  ``missing_fields`` (a schema without ``pop_ping_latency_ms``, ``gps_stats``,
  ``is_snr_above_noise_floor``, ``sigma_m``, ``horizontal_speed_mps``),
  ``no_reflection`` (no reflection service: the client fails with "Method not
  found!") and ``silent`` (instead of gRPC, a plain TCP listener that accepts and
  never speaks: the client times out).

A client process caches the first schema it resolves (``starlink_grpc`` module
globals): reset ``starlink_grpc.imports_pending = True`` before talking to a fake
whose schema differs. This module must not bind anything but the configured host,
import exporter code other than the ``Telemetry`` shape, or block the loop.

The values and switches live in ``model``, the protobuf schema in ``wire``, the
command line (``starlink-simulator --grpc --port 9200``) in ``command``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import grpc  # type: ignore[import-untyped]
import structlog
from grpc import aio
from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped]

from exporterhub.exporters.starlink.telemetry import Telemetry
from exporterhub.simulators.starlink.model import DishFaults, default_telemetry
from exporterhub.simulators.starlink.wire import (
    HISTORY_SAMPLES,
    SERVICE,
    Schema,
    build_schema,
)

__all__ = ["DEFAULT_PORT", "DishSimConfig", "StarlinkDishSimulator"]

_log = structlog.get_logger(__name__)

DEFAULT_PORT: Final = 9200
MPS_PER_KNOT: Final = 1 / 1.943844
API_VERSION: Final = 42  # what 2026 firmware reports (§5.2)
_STATE_TO_CAUSE: Final = {"SEARCHING": "NO_SCHEDULE"}


@dataclass(slots=True, kw_only=True)
class DishSimConfig:
    """Where the fake dish listens and how it behaves.

    ``port`` 0 picks a free port (read it back from ``sim.port``). ``sigma_m`` is the
    location accuracy served with every fix, metres.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    sigma_m: float = 3.0
    faults: DishFaults = field(default_factory=DishFaults)


def _set(message: Any, name: str, value: object) -> None:  # noqa: ANN401 - run-time protobuf classes
    """Set a scalar field if this schema has it and the value is known."""
    if value is not None and name in message.DESCRIPTOR.fields_by_name:
        setattr(message, name, value)


class StarlinkDishSimulator:
    """A fake dish gRPC server; use as ``async with StarlinkDishSimulator(cfg) as sim``.

    Args:
        config: listen address and faults (``config.faults`` is ``self.faults``).
        provider: returns the sample to serve; called on every request.

    ``requests`` counts the ``Handle`` calls answered, ``requests_by_kind`` the same
    by request kind (``get_status``, ``get_location``, …; ``none`` for an empty
    request), refused and unsupported ones included.
    """

    def __init__(
        self,
        config: DishSimConfig,
        provider: Callable[[], Telemetry] | None = None,
    ) -> None:
        self.config = config
        self.faults = config.faults
        self.provider: Callable[[], Telemetry] = provider or default_telemetry
        self.requests = 0
        self.requests_by_kind: Counter[str] = Counter()
        self._server: aio.Server | None = None
        self._silent: asyncio.Server | None = None
        self._silent_conns: set[asyncio.StreamWriter] = set()
        self._port: int | None = None
        self._schema: Schema | None = None
        self._history_current = 0
        self._history: dict[str, list[float]] = {}

    @property
    def port(self) -> int:
        """The bound port (valid after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` for ``starlink_grpc.ChannelContext``."""
        return f"{self.config.host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve, reading the start-time faults."""
        if self.faults.silent:
            self._silent = await asyncio.start_server(
                self._hold, self.config.host, self.config.port
            )
            self._port = self._silent.sockets[0].getsockname()[1]
            _log.info("starlink_sim_started", address=self.address, mode="silent")
            return
        schema = build_schema(missing_fields=self.faults.missing_fields)
        self._schema = schema
        server = aio.server()
        handler = grpc.unary_unary_rpc_method_handler(
            self._handle,
            request_deserializer=schema.request.FromString,
            response_serializer=schema.response.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"Handle": handler}),)
        )
        if not self.faults.no_reflection:
            names = (SERVICE, reflection.SERVICE_NAME)
            reflection.enable_server_reflection(names, server, pool=schema.pool)
        self._port = server.add_insecure_port(f"{self.config.host}:{self.config.port}")
        await server.start()
        self._server = server
        _log.info(
            "starlink_sim_started",
            address=self.address,
            mode="grpc",
            reflection=not self.faults.no_reflection,
            missing_fields=self.faults.missing_fields,
        )

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._server is not None:
            await self._server.stop(grace=None)
            self._server = None
        if self._silent is not None:
            self._silent.close()
            for writer in list(self._silent_conns):
                writer.close()
            await self._silent.wait_closed()
            self._silent = None
        _log.info("starlink_sim_stopped")

    async def __aenter__(self) -> StarlinkDishSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _hold(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Accept and never answer (the "silent" fault): read and drop until EOF."""
        self._silent_conns.add(writer)
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:  # pragma: no cover - peer reset while we wait
            pass
        finally:
            self._silent_conns.discard(writer)
            writer.close()

    async def _handle(
        self,
        request: Any,  # noqa: ANN401 - run-time protobuf classes
        context: aio.ServicerContext[Any, Any],
    ) -> Any:  # noqa: ANN401
        """Answer one ``Handle`` call."""
        schema = self._schema
        assert schema is not None  # noqa: S101 - only registered after build
        self.requests += 1
        kind = request.WhichOneof("payload")
        self.requests_by_kind[kind or "none"] += 1
        sample = self.provider()
        response = schema.response(id=request.id, api_version=API_VERSION)
        if kind == "get_status":
            self._status(schema, sample, response.dish_get_status)
            self._record(sample)
        elif kind == "get_location":
            if self.faults.refuse_location or sample.latitude_degrees is None:
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED, "location request not allowed"
                )
            self._location(sample, response.get_location)
        elif kind == "get_history":
            self._history_into(response.dish_get_history)
        else:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "unsupported request")
        return response

    def _status(self, schema: Schema, t: Telemetry, out: Any) -> None:  # noqa: ANN401 - run-time protobuf classes
        info = out.device_info
        _set(info, "id", t.dish_id)
        _set(info, "hardware_version", t.hardware_version)
        _set(info, "software_version", t.software_version)
        if t.uptime_seconds is not None:
            out.device_state.uptime_s = int(t.uptime_seconds)
        _set(out, "pop_ping_latency_ms", t.latency_ms)
        if t.packet_loss_percent is not None:
            out.pop_ping_drop_rate = t.packet_loss_percent / 100.0
        if t.throughput_down_mbps is not None:
            out.downlink_throughput_bps = t.throughput_down_mbps * 1e6
        if t.throughput_up_mbps is not None:
            out.uplink_throughput_bps = t.throughput_up_mbps * 1e6
        if t.obstruction_percent is not None:
            out.obstruction_stats.fraction_obstructed = t.obstruction_percent / 100.0
            out.obstruction_stats.valid_s = min(t.uptime_seconds or 0.0, 86_400.0)
        if t.currently_obstructed is not None:
            out.obstruction_stats.currently_obstructed = t.currently_obstructed
        out.obstruction_stats.avg_prolonged_obstruction_interval_s = float("nan")
        _set(out, "boresight_azimuth_deg", t.boresight_azimuth_degrees)
        _set(out, "boresight_elevation_deg", t.boresight_elevation_degrees)
        _set(out, "is_snr_above_noise_floor", t.snr_above_noise_floor)
        if "gps_stats" in out.DESCRIPTOR.fields_by_name:
            _set(out.gps_stats, "gps_valid", t.gps_valid)
            _set(out.gps_stats, "gps_sats", t.gps_satellites)
        known = out.alerts.DESCRIPTOR.fields_by_name
        for name in t.alerts:
            if name in known:
                setattr(out.alerts, name, True)
        cause = self.faults.outage_cause or t.state
        if cause is not None and cause != "CONNECTED":
            cause = _STATE_TO_CAUSE.get(cause, cause)
            out.outage.cause = schema.cause_numbers.get(cause, 0)
            out.outage.start_timestamp_ns = time.time_ns()
            out.seconds_to_first_nonempty_slot = -1.0
        else:
            out.seconds_to_first_nonempty_slot = 0.0

    def _location(self, t: Telemetry, out: Any) -> None:  # noqa: ANN401 - run-time protobuf classes
        out.lla.lat = t.latitude_degrees
        _set(out.lla, "lon", t.longitude_degrees)
        _set(out.lla, "alt", t.altitude_meters)
        out.source = 4  # GPS
        _set(out, "sigma_m", self.config.sigma_m)
        if t.speed_knots is not None:
            _set(out, "horizontal_speed_mps", t.speed_knots * MPS_PER_KNOT)

    def _record(self, t: Telemetry) -> None:
        """Write one sample into the history ring buffers (§5.4)."""
        values = {
            "pop_ping_drop_rate": (t.packet_loss_percent or 0.0) / 100.0,
            "pop_ping_latency_ms": t.latency_ms or 0.0,
            "downlink_throughput_bps": (t.throughput_down_mbps or 0.0) * 1e6,
            "uplink_throughput_bps": (t.throughput_up_mbps or 0.0) * 1e6,
            "power_in": t.power_watts or 0.0,
        }
        slot = self._history_current % HISTORY_SAMPLES
        for name, value in values.items():
            ring = self._history.setdefault(name, [0.0] * HISTORY_SAMPLES)
            ring[slot] = value
        self._history_current += 1

    def _history_into(self, out: Any) -> None:  # noqa: ANN401 - run-time protobuf classes
        out.current = self._history_current
        for name, ring in self._history.items():
            getattr(out, name).extend(ring)
