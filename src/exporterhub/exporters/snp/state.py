"""Folds SNP frames and REST answers into an immutable ``SnpSnapshot``.

Pure: no I/O, no logging, no clock reads — the caller passes ``now`` (exporter
wall clock, Unix seconds). ``SnpState`` is the accumulator one target's worker
feeds; ``snapshot()`` freezes it (built again only after a change).

Two lifetimes (``shared/protocols/snp.md`` §7):

- Per connection: the decoded status objects, keyed by (``type``,
  ``object_ID``), each replacing the previous one of its key (whole objects, S),
  with the instant it arrived; and the active alarm count. ``begin_connection``
  discards them: the next stream rebuilds them from its own frames, so no value
  of a lost stream is ever shown as current.
- Per target (kept across connections): the counters (frames, parse errors,
  authentication failures, REST errors by call, objects of unhandled types),
  the last decode time, and the last known identity: the hardware
  (``SNP_HW_Stats``) and each processor's personality (§3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from exporterhub.exporters.snp.objects import (
    ChannelValues,
    GenlockValues,
    PtpValues,
    SystemValues,
    VideoRxValues,
    WanValues,
    decode_channel,
    decode_genlock,
    decode_ptp,
    decode_system,
    decode_video_rx,
    decode_wan,
)
from exporterhub.exporters.snp.protocol import (
    MsgType,
    decode_frame,
    decode_items,
    personality_from_config,
    text,
)

__all__ = ["PROCESSORS", "REST_CALLS", "SnpSnapshot", "SnpState"]

PROCESSORS: Final = ("processorA", "processorB", "processorC", "processorD")
"""The four processing blocks whose personality is polled (§3.1)."""

REST_CALLS: Final = ("auth", "processor_config")
"""``call`` label values of ``ic_snp_exporter_rest_errors_total``: the REST calls
this exporter makes (§6.2 also names ``console_status`` and ``system_config``,
which it does not call)."""

_STATUS_TYPES: Final = frozenset({MsgType.STATUS_STATE, MsgType.ALL_STATUSES})
_CHANNEL_TYPES: Final = frozenset({"procChannelHD", "procChannelUHD"})
_KNOWN_TYPES: Final = frozenset(
    {"system", "ptp", "ipVidRx", "ipWan", "videoGenLock", "processor"} | _CHANNEL_TYPES
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SnpSnapshot:
    """Everything the collector exports about one SNP connection, frozen.

    Per connection (None/empty until the stream sent them): ``system``,
    ``ptp``, ``video_rx``, ``wan``, ``genlock``; ``channels`` as
    ``(object_ID, values)`` sorted by id; ``objects`` as ``(type, object_ID,
    arrived at)``; ``active_alarms`` (entries of the last
    ``activeAlarmStatus``).

    Kept across connections: ``hardware`` (firmware, hardware, serial);
    ``personalities`` (processor, personality); the counters ``received``
    (data frames), ``parse_errors``, ``auth_failures``, ``rest_errors`` (by call,
    every call of ``REST_CALLS`` present), ``unhandled`` (status objects of types
    not decoded); ``decode_seconds`` (decode + fold time of the last status
    frame).
    """

    system: SystemValues | None = None
    ptp: PtpValues | None = None
    video_rx: VideoRxValues | None = None
    wan: WanValues | None = None
    genlock: GenlockValues | None = None
    channels: tuple[tuple[str, ChannelValues], ...] = ()
    objects: tuple[tuple[str, str, float], ...] = ()
    active_alarms: int | None = None
    hardware: tuple[str, str, str] | None = None
    personalities: tuple[tuple[str, str], ...] = ()
    received: int = 0
    parse_errors: int = 0
    auth_failures: int = 0
    rest_errors: tuple[tuple[str, int], ...] = tuple((c, 0) for c in REST_CALLS)
    unhandled: int = 0
    decode_seconds: float | None = None


class SnpState:
    """Mutable accumulator for one SNP target; ``snapshot()`` freezes it."""

    def __init__(self) -> None:
        self._hardware: tuple[str, str, str] | None = None
        self._personalities: dict[str, str] = {}
        self._personality_rows: tuple[tuple[str, str], ...] = ()
        self._received = 0
        self._parse_errors = 0
        self._auth_failures = 0
        self._rest_errors = dict.fromkeys(REST_CALLS, 0)
        self._rest_error_rows = tuple(self._rest_errors.items())
        self._unhandled = 0
        self._decode_seconds: float | None = None
        self._snapshot: SnpSnapshot | None = None
        self.begin_connection()

    # -- lifetimes --------------------------------------------------------------

    def begin_connection(self) -> None:
        """Discard everything the previous connection said (§7)."""
        self._objects: dict[tuple[str, str], tuple[str, str, float]] = {}
        """Each object's (type, object_ID, arrived at), by (type, object_ID)."""
        self._system: SystemValues | None = None
        self._ptp: PtpValues | None = None
        self._video_rx: VideoRxValues | None = None
        self._wan: WanValues | None = None
        self._genlock: GenlockValues | None = None
        self._channels: dict[str, ChannelValues] = {}
        self._channel_rows: tuple[tuple[str, ChannelValues], ...] | None = ()
        self._alarms: int | None = None
        self._snapshot = None

    # -- frames -----------------------------------------------------------------

    def apply_frame(self, data: bytes | str, now: float) -> str | None:
        """Count and fold one data frame received at ``now``.

        Returns the frame's ``msgType``, or None when the frame is malformed
        (not a JSON object with a string ``msgType``: one parse error). Status
        items are decoded one by one; each unusable item is one parse error and
        the good ones are applied. Unknown types are ignored.
        """
        self._received += 1
        self._snapshot = None
        decoded = decode_frame(data)
        if decoded is None:
            self._parse_errors += 1
            return None
        kind, message = decoded
        if kind in _STATUS_TYPES:
            items = decode_items(message.get("statuses"))
            self._parse_errors += items.errors
            for obj in items.objects:
                self._fold_object(obj, now)
        elif kind == MsgType.ACTIVE_ALARMS:
            alarms = message.get("activeAlarms")
            if isinstance(alarms, list):
                self._alarms = len(alarms)
            else:
                self._parse_errors += 1
        elif kind == MsgType.OBJECTS_STATE:
            items = decode_items(message.get("configurations"))
            self._parse_errors += items.errors
            for config in items.objects:
                self._fold_configuration(config)
        # fmmStatus and permissionsMsg are keepalives (liveness only: counted
        # above); logsState, allObjects, elementStatus, alarmConfigure and
        # unknown types carry nothing exported.
        return kind

    def _fold_object(self, obj: dict[str, Any], now: float) -> None:
        kind: str = obj["type"]
        object_id = text(obj.get("object_ID")) or kind
        self._objects[(kind, object_id)] = (kind, object_id, now)
        if kind in _CHANNEL_TYPES:
            self._channels[object_id] = decode_channel(obj)
            self._channel_rows = None
            return
        decoder = _DECODERS.get(kind)
        if decoder is not None:
            decoder(self, obj)
        elif kind not in _KNOWN_TYPES:
            self._unhandled += 1

    def _set_system(self, obj: dict[str, Any]) -> None:
        self._system = decode_system(obj)
        if self._system.hardware is not None:
            self._hardware = self._system.hardware

    def _set_ptp(self, obj: dict[str, Any]) -> None:
        self._ptp = decode_ptp(obj)

    def _set_video_rx(self, obj: dict[str, Any]) -> None:
        self._video_rx = decode_video_rx(obj)

    def _set_wan(self, obj: dict[str, Any]) -> None:
        self._wan = decode_wan(obj)

    def _set_genlock(self, obj: dict[str, Any]) -> None:
        self._genlock = decode_genlock(obj)

    def _fold_configuration(self, config: dict[str, Any]) -> None:
        if config.get("type") != "processor":
            return
        processor = text(config.get("object_ID"))
        personality = personality_from_config(config)
        if processor in PROCESSORS and personality is not None:
            self.set_personality(processor, personality)

    # -- REST results and the worker's own counts -------------------------------

    def set_personality(self, processor: str, personality: str) -> None:
        """Remember a processor's personality (kept across connections)."""
        if self._personalities.get(processor) != personality:
            self._personalities[processor] = personality
            self._personality_rows = tuple(sorted(self._personalities.items()))
            self._snapshot = None

    def count_rest_error(self, call: str) -> None:
        """Count a failed REST call (``call`` one of ``REST_CALLS``)."""
        self._rest_errors[call] += 1
        self._rest_error_rows = tuple(self._rest_errors.items())
        self._snapshot = None

    def count_auth_failure(self) -> None:
        """Count a login refused (401/403, empty body) or a token the socket refused."""
        self._auth_failures += 1
        self._snapshot = None

    def set_decode_seconds(self, value: float) -> None:
        """Record the decode + fold time of the last status frame, seconds."""
        self._decode_seconds = value
        self._snapshot = None

    # -- output -----------------------------------------------------------------

    def snapshot(self) -> SnpSnapshot:
        """Return the current state, frozen (the same object until a change)."""
        if self._snapshot is not None:
            return self._snapshot
        if self._channel_rows is None:
            self._channel_rows = tuple(sorted(self._channels.items()))
        self._snapshot = SnpSnapshot(
            system=self._system,
            ptp=self._ptp,
            video_rx=self._video_rx,
            wan=self._wan,
            genlock=self._genlock,
            channels=self._channel_rows,
            objects=tuple(self._objects.values()),
            active_alarms=self._alarms,
            hardware=self._hardware,
            personalities=self._personality_rows,
            received=self._received,
            parse_errors=self._parse_errors,
            auth_failures=self._auth_failures,
            rest_errors=self._rest_error_rows,
            unhandled=self._unhandled,
            decode_seconds=self._decode_seconds,
        )
        return self._snapshot


_DECODERS: Final[dict[str, Callable[[SnpState, dict[str, Any]], None]]] = {
    "system": SnpState._set_system,
    "ptp": SnpState._set_ptp,
    "ipVidRx": SnpState._set_video_rx,
    "ipWan": SnpState._set_wan,
    "videoGenLock": SnpState._set_genlock,
}
"""Status types with exported values, by ``type``; ``processor`` status objects
carry no personality (§5.6) and are only timestamped."""
