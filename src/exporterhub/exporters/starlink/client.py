"""Reads a Starlink dish over its gRPC API with ``starlink-grpc-core``; live mode only.

The only module of live mode that touches the network. ``starlink_grpc`` is
blocking, so each call runs in a worker thread (``asyncio.to_thread``) under an
``asyncio.timeout`` of 2.5 * the request timeout: longer than the library's worst
case on a reused channel (one retry on a fresh channel = 2 * ``REQUEST_TIMEOUT``),
so a dead dish never piles up stuck threads (``shared/protocols/starlink.md`` §7).
Failures become :class:`~exporterhub.core.errors.ConnectionLostError` with a short
``reason``: ``unreachable`` (nothing listening / no route), ``timeout`` (the peer
never answered), ``no_reflection`` (the peer does not serve the dish schema by
reflection: not a dish, or a proxy without reflection), ``error`` (anything else).

Process-wide effect: ``starlink_grpc.REQUEST_TIMEOUT`` and
``yagrc.reflector.QUERY_TIMEOUT`` are module constants read at call time; building a
:class:`LiveDishClient` sets both to its ``timeout`` for every user of those
libraries in the process (the last client built wins). The resolved protobuf classes
are also process-wide (``starlink_grpc`` module globals).

``get_location`` is read raw (one RPC) rather than through
``starlink_grpc.location_data``, because only the raw message carries
``horizontal_speed_mps`` and ``sigma_m``; the mapping it returns is the
``location_data`` dict (``latitude``/``longitude``/``altitude``, all ``None`` when the
dish answers ``PERMISSION_DENIED``) plus those two keys. The caller decides how
often to read it: ``poll(read_location=False)`` reads status only (one fewer RPC;
live mode reads location every ``live.location_interval_seconds``, §6 "Polling
plan"). Must not be called from ``collect()``; never calls the library's control
functions (reboot, stow, …).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from typing import Any, Final, ParamSpec, TypeVar

import grpc  # type: ignore[import-untyped]
import starlink_grpc  # type: ignore[import-untyped]
import structlog
from yagrc import reflector  # type: ignore[import-untyped]

from exporterhub.core.errors import ConnectionLostError

__all__ = ["DEADLINE_FACTOR", "LiveDishClient"]

_log = structlog.get_logger(__name__)

DEADLINE_FACTOR: Final = 2.5  # * timeout; must exceed the library's 2 * (§7)
_REFUSED: Final = {"latitude": None, "longitude": None, "altitude": None}
_T = TypeVar("_T")
_P = ParamSpec("_P")


def _reason(exc: BaseException) -> str:
    """Classify a library failure into one of the fixed ``reason`` words."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, reflector.ServiceError):
            return "no_reflection"
        if isinstance(current, grpc.Call):
            code = current.code()
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                return "timeout"
            if code is grpc.StatusCode.UNAVAILABLE:
                return "unreachable"
            if code is grpc.StatusCode.UNIMPLEMENTED:
                return "no_reflection"
            return "error"
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "Reflection service error" in text or "Method not found" in text:
        return "no_reflection"
    return "error"


def _optional(message: Any, name: str) -> float | None:  # noqa: ANN401 - protobuf
    """Read a float field if the dish's schema has it; ``None`` otherwise."""
    if name not in message.DESCRIPTOR.fields_by_name:
        return None
    value = float(getattr(message, name))
    return value if math.isfinite(value) else None


class LiveDishClient:
    """Polls one dish; one instance per dish, polls never overlap.

    Args:
        address: ``host:port`` of the dish (``192.168.100.1:9200`` on a real one).
        timeout: seconds per gRPC request; sets ``starlink_grpc.REQUEST_TIMEOUT`` and
            ``yagrc.reflector.QUERY_TIMEOUT`` process-wide.
    """

    def __init__(self, address: str, *, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.address = address
        self.timeout = timeout
        starlink_grpc.REQUEST_TIMEOUT = timeout
        reflector.QUERY_TIMEOUT = timeout
        self._context: Any = starlink_grpc.ChannelContext(target=address)
        self._lock = asyncio.Lock()
        self._inflight: asyncio.Future[Any] | None = None
        self._location_refused = False

    async def poll(
        self, *, read_location: bool = True
    ) -> tuple[
        Mapping[str, Any] | None,
        Mapping[str, Any] | None,
        Mapping[str, Any] | None,
        Mapping[str, Any] | None,
    ]:
        """Read status, and location unless told not to, once.

        Args:
            read_location: also call ``get_location``; when False no location RPC
                is made and ``location`` comes back ``None`` (not read).

        Returns:
            ``(status, obstruction, alerts, location)`` as ``starlink_grpc`` shapes
            them (see the module docstring for ``location``).

        Raises:
            ConnectionLostError: the dish could not be read; ``reason`` says why.
        """
        async with self._lock:
            status, obstruction, alerts = await self._call(
                starlink_grpc.status_data, self._context
            )
            location = await self._call(self._read_location) if read_location else None
        return status, obstruction, alerts, location

    def close(self) -> None:
        """Close the gRPC channel (a later poll opens a new one)."""
        self._context.close()

    async def __aenter__(self) -> LiveDishClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def _read_location(self) -> dict[str, Any]:
        """Blocking: ``get_location`` → the ``location_data`` dict plus extras."""
        try:
            raw = starlink_grpc.get_location(self._context)
        except grpc.RpcError as e:
            if (
                isinstance(e, grpc.Call)
                and e.code() is grpc.StatusCode.PERMISSION_DENIED
            ):
                if not self._location_refused:
                    self._location_refused = True
                    _log.warning(
                        "starlink_location_refused",
                        target=self.address,
                        hint="enable 'Starlink location' in the app's debug data",
                    )
                return dict(_REFUSED)
            raise
        if self._location_refused:
            self._location_refused = False
            _log.info("starlink_location_available", target=self.address)
        return {
            "latitude": raw.lla.lat,
            "longitude": raw.lla.lon,
            "altitude": getattr(raw.lla, "alt", None),
            "horizontal_speed_mps": _optional(raw, "horizontal_speed_mps"),
            "sigma_m": _optional(raw, "sigma_m"),
        }

    async def _call(
        self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run one blocking library call off the loop, under the deadline."""
        if self._inflight is not None and not self._inflight.done():
            # The previous worker outlived its deadline; do not stack another.
            raise ConnectionLostError(
                f"previous call to {self.address} still running", "timeout"
            )
        task = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        task.add_done_callback(_consume)
        self._inflight = task
        try:
            async with asyncio.timeout(DEADLINE_FACTOR * self.timeout):
                return await asyncio.shield(task)
        except TimeoutError as e:
            raise ConnectionLostError(
                f"no answer from {self.address} within "
                f"{DEADLINE_FACTOR * self.timeout:g} s",
                "timeout",
            ) from e
        except (
            starlink_grpc.GrpcError,
            grpc.RpcError,
            AttributeError,
            ValueError,
        ) as e:
            reason = _reason(e)
            _log.debug("starlink_call_failed", target=self.address, reason=reason)
            raise ConnectionLostError(
                f"dish {self.address}: {e or type(e).__name__}", reason
            ) from e


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a worker's outcome so an abandoned one is never reported unretrieved."""
    if not task.cancelled():
        task.exception()
