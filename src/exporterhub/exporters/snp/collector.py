"""The SNP metric table: what each ``ic_snp_*`` family says and where it comes from.

Reads an ``SnpSnapshot`` (or, for the stream status, the target's record) only;
the core renders the table. No I/O, no prometheus_client objects.

Names (``shared/protocols/snp.md`` §6): the 19 exposed names of the original
(§6.1) exactly, with its ``_total``/``_info`` endings; the health and exporter
counters of §6.2 (``ic_snp_up``, ``ic_snp_last_success_timestamp_seconds`` and
``ic_snp_exporter_reconnects_total`` come from the core's health rows); the
§6.3 additions in base units, keeping the spellings later versions of the
original used. Identity label: ``target`` (the connection's name).

Freshness (§7): while the stream is not up every device-value row is omitted;
kept are the identity (``ic_snp_hardware_info``,
``ic_snp_processor_personality_info``), the counters, the stream status and
the last decode time. A value the device did not send has no row, never 0.
"""

from __future__ import annotations

from typing import Final

from exporterhub.core.metrics import Kind, MetricSpec, one
from exporterhub.core.section import is_up
from exporterhub.exporters.snp.additions import ADDITIONS
from exporterhub.exporters.snp.readers import (
    channels,
    counted,
    counter,
    gauge,
    hardware,
    info,
    personalities,
    ptp,
    rest_errors,
    stream_up,
    system,
    system_rows,
    video_info,
)
from exporterhub.exporters.snp.state import SnpSnapshot

__all__ = ["CATALOGUE_NOTES", "PREFIX", "SNP_SPECS"]

PREFIX: Final = "ic_snp"

CATALOGUE_NOTES: Final = """
## Freshness (`shared/protocols/snp.md` §7)

- The stream is **up** while the WebSocket is open, the token and the
  subscription were sent, and a frame (a keepalive counts: `fmmStatus` and
  `permissionsMsg` come every ~5 s) arrived within `stale_after` seconds
  (default 30). While it is up, the last value of every status object is
  current, however old: the SNP re-sends an object only when it changes.
- When the stream is not up (closed, failed, refused, or silent for
  `stale_after`): `ic_snp_up` and `ic_snp_api_status` are 0, and every
  device-value family of the target is **omitted**, not frozen, including
  `ic_snp_video_rx_info`, `ic_snp_active_alarms` and `ic_snp_ptp_info`.
  Kept are the rows marked *kept when stale* above: the last known identity
  (`ic_snp_hardware_info`, `ic_snp_processor_personality_info`), the
  exporter's own counters (`ic_snp_received_count_total`,
  `ic_snp_exporter_*`), `ic_snp_last_success_timestamp_seconds` and
  `ic_snp_last_received_duration_seconds`.
- The per-object state of a lost connection is discarded: the next connection
  rebuilds it from its own `statusState` frames, so no value of a dead stream is
  ever served as current. A half-open socket is caught by `stale_after` and by
  WebSocket pings; the exporter closes it and reconnects with capped exponential
  backoff (`interval` is the base delay), a fresh token and a new subscription.
- The target's link (`ic_snp_exporter_link_state`, the API and the UI):
  `connecting` → `connected` (stream up) → `disconnected` (lost, retrying) or
  `error` (login or token refused, TLS, bad URL).

## Alerting

Because a down stream's values are omitted, every value alert (power supply,
fans, PTP lock, alarms) goes quiet when the SNP becomes unreachable. Always
alert on the stream itself as well; `deploy/prometheus/rules/snp.yml` ships
this rule beside the value alerts (checked with `promtool check rules` and
`promtool test rules`):

```yaml
- alert: SnpDown
  expr: ic_snp_up == 0
  for: 2m
  labels:
    severity: critical
```
"""
"""Freshness and alerting rules for ``docs/metrics/snp.md`` (Markdown)."""


_ORIGINAL: Final[list[MetricSpec[SnpSnapshot]]] = [
    MetricSpec(
        name="ic_snp_api_status",
        help="1 while the WebSocket stream is up (open, subscribed, a frame within "
        "stale_after seconds), else 0; the same as ic_snp_up.",
        kind=Kind.GAUGE,
        value_fn=stream_up,  # type: ignore[arg-type]  # reads the record
        keep_when_stale=True,
        on_record=True,
        part=is_up,  # type: ignore[arg-type]  # reads the record
    ),
    counter(
        "ic_snp_received_count_total",
        "WebSocket data frames received (text or binary, valid or not), over all "
        "connections of the target.",
        lambda s: one(s.received),
        kept=True,
    ),
    MetricSpec(
        name="ic_snp_last_received_duration_seconds",
        help="Seconds spent decoding and folding the last statusState or "
        "allStatuses frame.",
        kind=Kind.GAUGE,
        value_fn=lambda s: one(s.decode_seconds),
        keep_when_stale=True,
    ),
    gauge(
        "ic_snp_mainboard_temperature",
        "Main board temperature in degrees Celsius "
        "(system Board_Temperatures.Main_Board).",
        system(lambda v: v.main_board),
    ),
    gauge(
        "ic_snp_ioboard_temperature",
        "IO board temperature in degrees Celsius (system Board_Temperatures.IO_Board).",
        system(lambda v: v.io_board),
    ),
    gauge(
        "ic_snp_powersupply_status",
        "1 when system Power_Supply_Stats.PS_Status is OK, else 0 (not a "
        "per-supply flag: see ic_snp_powersupply_present).",
        system(lambda v: v.power_ok),
    ),
    info(
        "ic_snp_hardware_info",
        "Firmware, hardware revision and serial number of the SNP "
        "(system SNP_HW_Stats FWRev, HWRev, Serial), last known; always 1.",
        hardware,
        ("firmware", "hardware", "serial"),
        kept=True,
    ),
    gauge(
        "ic_snp_major_alarms",
        "Major alarm instances (system Alarm_Stats.majorInstances).",
        system(lambda v: v.major_alarms),
    ),
    gauge(
        "ic_snp_minor_alarms",
        "Minor alarm instances (system Alarm_Stats.minorInstances).",
        system(lambda v: v.minor_alarms),
    ),
    gauge(
        "ic_snp_fpga_temperature",
        "FPGA temperature in degrees Celsius by idx (system FPGA_HW_Stats[].Temp).",
        system_rows(lambda v: v.fpga_temperature),
        ("index",),
    ),
    gauge(
        "ic_snp_fpga_fan_status",
        "1 when the FPGA fan's Fan_Status is OK, else 0, by idx "
        "(system FPGA_HW_Stats[]).",
        system_rows(lambda v: v.fpga_fan_ok),
        ("index",),
    ),
    gauge(
        "ic_snp_front_fan_status",
        "1 when the front fan's Status is OK, else 0, by idx "
        "(system Front_Fan_Stats[]).",
        system_rows(lambda v: v.fan_ok),
        ("index",),
    ),
    gauge(
        "ic_snp_qsfp_temperature",
        "QSFP module temperature in degrees Celsius by idx (system "
        "QSFP_Stats[].Temperature); absent while N/A (copper cables).",
        system_rows(lambda v: v.qsfp_temperature),
        ("index",),
    ),
    gauge(
        "ic_snp_ptp_status",
        "1 when the PTP controller is Locked, else 0 (ptp ptpCtlrState).",
        ptp(lambda v: v.locked),
    ),
    gauge(
        "ic_snp_ptp_master_offset",
        "Offset from the PTP master in microseconds, as the SNP prints it "
        "(ptp ptpMasterOffset).",
        ptp(lambda v: v.offset_us),
    ),
    gauge(
        "ic_snp_ptp_master_delay",
        "Delay to the PTP master in microseconds (ptp ptpMasterDelay).",
        ptp(lambda v: v.delay_us),
    ),
    info(
        "ic_snp_video_rx_info",
        "One series per IP video receiver: its idx, VidRxStd and "
        "VidRxColorimetry verbatim (ipVidRx ipVidRxStatus[]); always 1.",
        video_info,
        ("index", "video", "colorimetry"),
        kept=False,
    ),
    gauge(
        "ic_snp_aco_abstatus",
        "1 when the channel's automatic change-over is on input A, else 0, by "
        "object_ID (procChannelHD ACO.ABStatus).",
        channels(lambda v: v.aco_on_a),
        ("index",),
    ),
    info(
        "ic_snp_processor_personality_info",
        "Personality of each processing block (GET /api/elements/{ip}/config/"
        "processorX, general.personality), polled every personality_interval "
        "seconds, last known; always 1.",
        personalities,
        ("processor", "personality"),
        kept=True,
    ),
]
"""§6.1: the original's exposed names, exactly."""


_HEALTH: Final[list[MetricSpec[SnpSnapshot]]] = [
    gauge(
        "ic_snp_active_alarms",
        "Entries in the last activeAlarmStatus message of the current connection "
        "(the complete set of active alarms).",
        counted("active_alarms"),
    ),
    counter(
        "ic_snp_exporter_parse_errors_total",
        "Frames that are not a JSON object with a string msgType, and status or "
        "configuration items that cannot be decoded into an object with a string "
        "type (good items of the same frame are applied).",
        counted("parse_errors"),
        kept=True,
    ),
    counter(
        "ic_snp_exporter_auth_failures_total",
        "Logins answered 401 or 403 (or 2xx with an empty body), and tokens the "
        "WebSocket refused.",
        counted("auth_failures"),
        kept=True,
    ),
    counter(
        "ic_snp_exporter_rest_errors_total",
        "Failed REST calls by call (auth: unreachable or non-2xx logins other "
        "than refused credentials; processor_config: personality polls).",
        rest_errors,
        ("call",),
        kept=True,
    ),
    counter(
        "ic_snp_exporter_unhandled_objects_total",
        "Status objects received whose type this exporter does not decode "
        "(only their ic_snp_object_last_update_timestamp_seconds is exported).",
        counted("unhandled"),
        kept=True,
    ),
]
"""§6.2: health and the exporter's own counters (beside the core's health rows)."""


SNP_SPECS: Final[list[MetricSpec[SnpSnapshot]]] = [*_ORIGINAL, *_HEALTH, *ADDITIONS]
"""The SNP section's metric table, in output order."""
