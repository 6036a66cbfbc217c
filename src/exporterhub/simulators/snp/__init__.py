"""Imagine Communications SNP simulator: SMM REST API and WebSocket on loopback.

Used by the ``snp`` exporter's tests and benchmark, by ``exporterhub simulate
snp`` and by anyone trying the exporter without an SNP. It speaks the protocol of
``shared/protocols/snp.md`` (§8 lists what it must do) and starts from the
project's SNP fixtures. Everything binds 127.0.0.x; nothing reaches a device.

Python API (stable; the exporter's tests use it)::

    config = SnpSimConfig(
        devices=[DeviceSpec(name="SNP-LAB-1", username="monitor",
                            password="example-only-password")],
        host="127.0.0.1", tls=False, keepalive_interval=5.0,
        first_status_delay=1.0, clock=None)   # or a core.testing.FakeClock
    async with SnpFleet(config) as fleet:      # free ports on 127.0.0.1
        dev = fleet.devices[0]                 # or fleet.device("SNP-LAB-1")
        dev.rest_url   # "http://127.0.0.1:PORT/api/auth"  (record's restapi)
        dev.ws_url     # "ws://127.0.0.1:PORT/smm"         (record's websocket)
        dev.connection()                       # the whole connection record
        await dev.wait_subscribed(timeout=5)   # a statusListSubscribe arrived
        dev.model.fail_fan("front", 3)         # pushes statusState + alarms
        dev.faults.close(1011)                 # every open session
        dev.sessions, dev.logins, dev.subscriptions, dev.requests, dev.messages

:class:`SnpDevice` (``fleet.devices[i]``): ``rest_url``, ``ws_url``, ``port``,
``rest_port``, ``host``, ``connection()``; logs ``sessions`` (open, authenticated),
``connections`` (upgrades), ``logins``, ``subscriptions``
(:class:`SubscriptionRecord`), ``requests`` (:class:`LoggedRequest`), ``messages``
(client frames after the token); waits ``wait_subscribed(timeout, count=)``,
``wait_sessions(count, timeout)``, ``wait_until(condition, timeout)``; live
options ``spec.answer_with_all_statuses`` and ``spec.resend_unchanged``.

:class:`SnpModel` (``dev.model``; each change pushes ``statusState``,
``activeAlarmStatus`` or ``objectsState`` as the SMM would): ``set_temperature(board,
celsius)``, ``set_fpga_temperature(idx, c)``, ``set_qsfp_temperature(idx, c)``,
``set_fan_speed(idx, rpm)``, ``fail_fan(kind, idx)`` / ``restore_fan`` (``"front"``
raises alarm 53, ``"fpga"``), ``pull_power_supply(n)`` / ``insert_power_supply``
(alarm 55), ``set_power_supply_status(text)``, ``set_qsfp_na(idx)``,
``unlock_ptp()`` / ``relock_ptp()``, ``set_ptp(offset_us=, delay_us=)``,
``set_alarms(list)`` / ``raise_alarm(SnpAlarm)`` / ``clear_alarm(id)`` (with
``Alarm_Stats``), ``flip_aco(object_id)`` / ``set_aco``,
``set_video_standard(idx, std)``, ``set_personality(processor, text)``,
``set_object(obj)``; reads ``get(type, id)``, ``config(id)``, ``alarms``.

:class:`SnpFaults` (``dev.faults``): one-shots ``close(code, reason)``,
``drop()``, ``drop_mid_frame()``, ``send_malformed(MalformedKind)``,
``expire_tokens()``, ``reboot(for_seconds)``; switches ``silent = True``,
``reject_login(status, for_seconds)``, ``reject_upgrade(status, for_seconds)``,
``accept()``, ``slow_rest(seconds)``, ``fail_processor(p, ProcessorFault)``,
``restore_processor()``, ``clear()``.

With a ``FakeClock`` nothing timed happens until the test advances it: the
first ``statusState`` comes after ``clock.advance(first_status_delay)`` (or at
once with ``first_status_delay=0``), keepalives after ``keepalive_interval``,
rate-limited changes at the next whole ``ptp_interval``; rejections, token
lifetimes and slow REST answers run on the same clock.

Scripted mode: ``DeviceSpec(script=[(delay_s, frame), …])`` replays the frames
(``str`` text, ``bytes`` binary, a mapping as JSON, :class:`Close`,
:class:`Drop`) on every connection once its token is accepted, each ``delay_s``
after the previous one, instead of the live behaviour. Time: every timer uses
``SnpSimConfig.clock`` (``time()``, ``monotonic()``, ``sleep()``), so a
``FakeClock`` makes keepalives, drift, rate limits and scripts deterministic.
TLS: ``SnpSimConfig(tls=True)``; ``fleet.client_ssl_context()`` trusts the
generated CA, ``fleet.certificates.ca_pem`` is the CA itself.

Modules (the names the other simulators use, plus SNP-specific ones): ``model``
(state and control), ``wire`` (frames, REST bodies, tokens, value strings),
``server`` (one device: REST + WebSocket), ``fleet`` (N devices, shared timers),
``command`` (``snp-simulator``); ``catalog``, ``objects``, ``drift``, ``alarms``
(state parts), ``session`` (one WebSocket), ``rest``, ``auth``, ``faults``,
``malformed``, ``tls``, ``timers``, ``config``. None of them may import this
package, bind anything but the configured loopback addresses, import exporter
code or log credentials or tokens.

Example:
    >>> config = SnpSimConfig(devices=SnpSimConfig.fleet(2), first_address="127.0.0.2")
    >>> fleet = SnpFleet(config)          # nothing is bound before start()
    >>> [(d.name, d.host, d.model.fme_ip) for d in fleet.devices]
    [('SNP-SIM-1', '127.0.0.2', '192.0.2.21'), ('SNP-SIM-2', '127.0.0.3', '10.20.0.2')]
"""

from __future__ import annotations

from exporterhub.simulators.snp.alarms import SnpAlarm
from exporterhub.simulators.snp.command import (
    build_parser,
    config_from_args,
    load_script,
    main,
    serve,
)
from exporterhub.simulators.snp.config import (
    Close,
    DeviceSpec,
    Drop,
    ScriptFrame,
    ScriptStep,
    SnpSimConfig,
)
from exporterhub.simulators.snp.faults import ProcessorFault, SnpFaults
from exporterhub.simulators.snp.fleet import SnpFleet
from exporterhub.simulators.snp.malformed import MalformedKind
from exporterhub.simulators.snp.model import SnpModel
from exporterhub.simulators.snp.rest import LoggedRequest
from exporterhub.simulators.snp.server import DEFAULT_OBJECT_IDS, SnpDevice
from exporterhub.simulators.snp.session import SubscriptionRecord
from exporterhub.simulators.snp.timers import Clock, SystemClock
from exporterhub.simulators.snp.tls import Certificates

__all__ = [
    "DEFAULT_OBJECT_IDS",
    "Certificates",
    "Clock",
    "Close",
    "DeviceSpec",
    "Drop",
    "LoggedRequest",
    "MalformedKind",
    "ProcessorFault",
    "ScriptFrame",
    "ScriptStep",
    "SnpAlarm",
    "SnpDevice",
    "SnpFaults",
    "SnpFleet",
    "SnpModel",
    "SnpSimConfig",
    "SubscriptionRecord",
    "SystemClock",
    "build_parser",
    "config_from_args",
    "load_script",
    "main",
    "serve",
]
