"""Simulated TP-Link plug: answers IOT and SMART JSON requests from a profile.

No I/O: the transports in ``server`` decode frames and hand the parsed JSON here
(protocol document ``kasa.md`` §5.1 and §5.2). A profile has the shape of
python-kasa's fixture files: IOT profiles are keyed by module then method
(``system.get_sysinfo``, ``emeter.get_realtime``), SMART profiles by method
(``get_device_info``, ``get_energy_usage``, ``get_emeter_data`` …).

Values move with the injected clock unless ``frozen``. Power follows a smooth
load profile ``P(t) = P0 · (1 + A·sin(2πt/T))`` around the profile's power ``P0``
while the relay is on (0 W while off), and every energy counter grows by the exact
integral of that curve, so energy ≈ power x time. At ``t = 0`` every value equals
the profile's. Fields and units:

- IOT ``get_realtime``: ``power`` W, ``voltage`` V, ``current`` A, ``total`` kWh
  (old firmware) or ``power_mw``, ``voltage_mv``, ``current_ma``, ``total_wh``
  (new firmware) — the profile's style is kept.
- IOT ``get_daystat``/``get_monthstat``: synthesised, today and this month start
  at 0 kWh (the fixtures do not carry them); entries use ``energy`` (kWh) or
  ``energy_wh`` like ``get_realtime``.
- SMART ``get_energy_usage``: ``current_power`` mW, ``today_energy`` and
  ``month_energy`` Wh, ``today_runtime``/``month_runtime`` minutes;
  ``get_current_power.current_power`` whole W; ``get_emeter_data``: ``power_mw``,
  ``voltage_mv``, ``current_ma``, ``energy_wh``.
- ``on_time``: seconds since the relay last switched on (or the profile's value
  plus elapsed time).
"""

from __future__ import annotations

import base64
import copy
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["PlugFaults", "PlugModel"]

UNKNOWN_METHOD: Final = -1002  # SmartErrorCode.UNKNOWN_METHOD_ERROR
UNSPECIFIC_ERROR: Final = -1001  # SmartErrorCode.UNSPECIFIC_ERROR
IOT_UTC_TZ_INDEX: Final = 38  # "UCT" in python-kasa's IOT time-zone table
SMART_ENERGY_METHODS: Final = frozenset(
    {
        "get_energy_usage",
        "get_current_power",
        "get_emeter_data",
        "get_emeter_vgain_igain",
    }
)

Json = dict[str, Any]


@dataclass(slots=True, kw_only=True)
class PlugFaults:
    """Fault switches of one plug, mutable while it runs (``kasa.md`` §5.4).

    Attributes:
        refuse: close the listening socket and open connections; refuse new ones.
        silent: accept connections and requests but never answer.
        garbage: answer with bytes that are not a valid frame or ciphertext.
        energy_error: meter queries answer with an error code.
    """

    refuse: bool = False
    silent: bool = False
    garbage: bool = False
    energy_error: bool = False


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class PlugModel:
    """State of one simulated plug, answering IOT or SMART requests.

    Args:
        profile: fixture-shaped JSON (not modified; a deep copy is kept).
        faults: the plug's fault switches (``energy_error`` is honoured here).
        clock: wall-clock seconds (``time.time`` by default; tests inject one).
        frozen: keep every value at the profile's (``t = 0``) forever.
        seed: seed for the load-profile shape; ``None`` = default shape.
        alias: replaces the profile's alias/nickname.
        mac: replaces the profile's MAC (``AA:BB:CC:DD:EE:FF``).
        device_id: replaces the profile's device id.
    """

    def __init__(
        self,
        profile: Mapping[str, Any],
        *,
        faults: PlugFaults | None = None,
        clock: Callable[[], float] = time.time,
        frozen: bool = False,
        seed: int | None = None,
        alias: str | None = None,
        mac: str | None = None,
        device_id: str | None = None,
    ) -> None:
        self._profile: Json = copy.deepcopy(dict(profile))
        self.faults = faults if faults is not None else PlugFaults()
        self._clock = clock
        self._frozen = frozen
        rng = random.Random(seed)
        self._amplitude = 0.25 if seed is None else rng.uniform(0.1, 0.4)
        self._period = 600.0 if seed is None else rng.uniform(300.0, 900.0)
        self.is_iot = "system" in self._profile
        self._alias = alias
        self._mac = mac
        self._device_id = device_id
        if self.is_iot:
            info = self._profile["system"]["get_sysinfo"]
            self._on = bool(info.get("relay_state", 0))
            rt = self._profile.get("emeter", {}).get("get_realtime")
            self.has_meter = "ENE" in str(info.get("feature", "")) and rt is not None
            rt = rt or {}
            self._new_units = "power_mw" in rt
            scale = 1000 if self._new_units else 1
            suffix = ("_mw", "_mv", "_ma") if self._new_units else ("", "", "")
            self._p0 = float(rt.get("power" + suffix[0], 0)) / scale
            self._v0 = float(rt.get("voltage" + suffix[1], 0)) / scale
            self._i0 = float(rt.get("current" + suffix[2], 0)) / scale
            total = rt.get("total_wh", 0) if self._new_units else rt.get("total", 0)
            self._total0 = float(total) * (1 if self._new_units else 1000)
            self._today0 = self._month0 = 0.0
            self._runtime_today0 = self._runtime_month0 = 0.0
        else:
            info = self._profile["get_device_info"]
            self._on = bool(info.get("device_on", False))
            usage = self._profile.get("get_energy_usage")
            self.has_meter = usage is not None
            usage = usage or {}
            emeter = self._profile.get("get_emeter_data", {})
            self._new_units = True
            self._p0 = (
                float(emeter.get("power_mw", usage.get("current_power", 0))) / 1000
            )
            self._v0 = float(emeter.get("voltage_mv", 0)) / 1000
            self._i0 = float(emeter.get("current_ma", 0)) / 1000
            self._total0 = float(emeter.get("energy_wh", 0))
            self._today0 = float(usage.get("today_energy", 0))
            self._month0 = float(usage.get("month_energy", 0))
            self._runtime_today0 = float(usage.get("today_runtime", 0))
            self._runtime_month0 = float(usage.get("month_runtime", 0))
        self._on_time0 = float(info.get("on_time", 0))
        self._start = clock()
        self._reset_counters(keep_profile=True)

    # ------------------------------------------------------------ time model

    def _elapsed(self) -> float:
        return 0.0 if self._frozen else max(0.0, self._clock() - self._start)

    def _antiderivative(self, t: float) -> float:
        """Return ``∫P dt`` (W·s) of the load profile from 0 to ``t``."""
        w = 2 * math.pi / self._period
        return self._p0 * (t + self._amplitude * (1 - math.cos(w * t)) / w)

    def _reset_counters(self, *, keep_profile: bool) -> None:
        self._last = self._elapsed()
        self._total_wh = self._total0 if keep_profile else 0.0
        self._today_wh = self._today0 if keep_profile else 0.0
        self._month_wh = self._month0 if keep_profile else 0.0
        self._runtime_today = self._runtime_today0 if keep_profile else 0.0
        self._runtime_month = self._runtime_month0 if keep_profile else 0.0
        self._on_since = self._last - (self._on_time0 if keep_profile else 0.0)
        self._day = self._local_date()
        self._days: dict[tuple[int, int, int], float] = {}
        self._months: dict[tuple[int, int], float] = {}

    def _local_date(self) -> tuple[int, int, int]:
        now = time.localtime(self._start + self._elapsed())
        return now.tm_year, now.tm_mon, now.tm_mday

    def advance(self) -> None:
        """Integrate energy and runtime up to the clock's present."""
        now = self._elapsed()
        if self._on and now > self._last:
            wh = (self._antiderivative(now) - self._antiderivative(self._last)) / 3600
            minutes = (now - self._last) / 60
            self._total_wh += wh
            self._today_wh += wh
            self._month_wh += wh
            self._runtime_today += minutes
            self._runtime_month += minutes
        self._last = max(self._last, now)
        day = self._local_date()
        if day != self._day:
            # Day roll-over: yesterday's figure goes into the history, today
            # restarts; a month roll-over also restarts the month counter.
            self._days[self._day] = self._today_wh
            self._today_wh = self._runtime_today = 0.0
            if day[:2] != self._day[:2]:
                self._months[self._day[:2]] = self._month_wh
                self._month_wh = self._runtime_month = 0.0
            self._day = day

    def power_w(self) -> float:
        """Return the present power draw in W (0 while the relay is off)."""
        if not self._on:
            return 0.0
        t = self._elapsed()
        w = 2 * math.pi / self._period
        return self._p0 * (1 + self._amplitude * math.sin(w * t))

    def current_a(self) -> float:
        """Return the present current in A, proportional to power."""
        if not self._on:
            return 0.0
        if self._p0 == 0:
            return self._i0
        return self._i0 * self.power_w() / self._p0

    @property
    def is_on(self) -> bool:
        """Whether the relay is on."""
        return self._on

    @property
    def total_wh(self) -> float:
        """Meter total in Wh (IOT ``total``; SMART ``energy_wh``)."""
        self.advance()
        return self._total_wh

    @property
    def today_wh(self) -> float:
        """Energy of the present local day in Wh."""
        self.advance()
        return self._today_wh

    @property
    def month_wh(self) -> float:
        """Energy of the present local month in Wh."""
        self.advance()
        return self._month_wh

    def set_relay(self, on: bool) -> None:
        """Switch the relay; ``on_time`` restarts when it turns on."""
        self.advance()
        if on and not self._on:
            self._on_since = self._elapsed()
        self._on = on

    def reboot(self) -> None:
        """Reset every energy counter and runtime to zero; uptime restarts."""
        self._reset_counters(keep_profile=False)

    def on_time(self) -> int:
        """Return seconds since the relay switched on, 0 while off."""
        return round(self._elapsed() - self._on_since) if self._on else 0

    # ------------------------------------------------------------ identity

    def _iot_sysinfo(self) -> Json:
        info: Json = copy.deepcopy(self._profile["system"]["get_sysinfo"])
        info.update(relay_state=int(self._on), on_time=self.on_time(), err_code=0)
        if self._alias is not None:
            info["alias"] = self._alias
        if self._mac is not None:
            info["mac"] = self._mac
        if self._device_id is not None:
            info["deviceId"] = self._device_id
        return info

    def _smart_device_info(self) -> Json:
        info: Json = copy.deepcopy(self._profile["get_device_info"])
        info.update(device_on=self._on, on_time=self.on_time())
        if self._alias is not None:
            info["nickname"] = _b64(self._alias)
        if self._mac is not None:
            info["mac"] = self._mac.replace(":", "-")
        if self._device_id is not None:
            info["device_id"] = self._device_id
        return info

    # ------------------------------------------------------------ IOT

    def handle_iot(self, request: Mapping[str, Any]) -> Json:
        """Answer one IOT request ``{module: {method: params}}``."""
        self.advance()
        reply: Json = {}
        for module, methods in request.items():
            handler = {
                "system": self._iot_system,
                "emeter": self._iot_emeter if self.has_meter else None,
                "time": self._iot_time,
            }.get(module)
            if handler is None or not isinstance(methods, dict):
                reply[module] = {"err_code": -1, "err_msg": "module not support"}
                continue
            reply[module] = {
                method: handler(method, params if isinstance(params, dict) else {})
                for method, params in methods.items()
            }
        return reply

    def _iot_system(self, method: str, params: Json) -> Json:
        if method == "get_sysinfo":
            return self._iot_sysinfo()
        if method == "set_relay_state":
            self.set_relay(bool(params.get("state")))
            return {"err_code": 0}
        if method == "set_dev_alias":
            self._alias = str(params.get("alias", ""))
            return {"err_code": 0}
        return {"err_code": -2, "err_msg": "member not support"}

    def _iot_energy(self, wh: float) -> Json:
        return {"energy_wh": round(wh)} if self._new_units else {"energy": wh / 1000}

    def _iot_emeter(self, method: str, params: Json) -> Json:
        if self.faults.energy_error:
            return {"err_code": -1, "err_msg": "meter read failed"}
        year, month, _ = self._day
        if method == "get_realtime":
            p, v, i = self.power_w(), self._v0, self.current_a()
            if self._new_units:
                return {
                    "power_mw": round(p * 1000),
                    "voltage_mv": round(v * 1000),
                    "current_ma": round(i * 1000),
                    "total_wh": round(self._total_wh),
                    "err_code": 0,
                }
            return {
                "power": p,
                "voltage": v,
                "current": i,
                "total": round(self._total_wh / 1000, 6),
                "err_code": 0,
            }
        if method == "get_daystat":
            days = dict(self._days)
            days[self._day] = self._today_wh
            want = (params.get("year", year), params.get("month", month))
            entries = [
                {"year": y, "month": m, "day": d, **self._iot_energy(wh)}
                for (y, m, d), wh in sorted(days.items())
                if (y, m) == want
            ]
            return {"day_list": entries, "err_code": 0}
        if method == "get_monthstat":
            months = dict(self._months)
            months[(year, month)] = self._month_wh
            want_year = params.get("year", year)
            entries = [
                {"year": y, "month": m, **self._iot_energy(wh)}
                for (y, m), wh in sorted(months.items())
                if y == want_year
            ]
            return {"month_list": entries, "err_code": 0}
        return {"err_code": -2, "err_msg": "member not support"}

    def _iot_time(self, method: str, params: Json) -> Json:
        del params  # get_time/get_timezone take none
        if method == "get_time":
            now = datetime.fromtimestamp(self._start + self._elapsed(), UTC)
            return {
                "year": now.year,
                "month": now.month,
                "mday": now.day,
                "hour": now.hour,
                "min": now.minute,
                "sec": now.second,
                "err_code": 0,
            }
        if method == "get_timezone":
            return {"index": IOT_UTC_TZ_INDEX, "err_code": 0}
        return {"err_code": -2, "err_msg": "member not support"}

    # ------------------------------------------------------------ SMART

    def handle_smart(self, request: Mapping[str, Any]) -> Json:
        """Answer one SMART request ``{"method": ..., "params": ...}``."""
        self.advance()
        method = str(request.get("method", ""))
        params = request.get("params") or {}
        if method == "multipleRequest":
            responses: list[Json] = []
            for sub in params.get("requests", []):
                answer = self._smart_one(str(sub.get("method", "")), sub.get("params"))
                responses.append({"method": sub.get("method"), **answer})
                if answer["error_code"] != 0:
                    break  # real firmware stops at the first failure (§5.2)
            return {"error_code": 0, "result": {"responses": responses}}
        return self._smart_one(method, params)

    def _smart_one(self, method: str, raw_params: object) -> Json:
        params = raw_params if isinstance(raw_params, dict) else {}
        if method in SMART_ENERGY_METHODS and (
            self.faults.energy_error or not self.has_meter
        ):
            code = UNSPECIFIC_ERROR if self.has_meter else UNKNOWN_METHOD
            return {"error_code": code}
        dynamic: dict[str, Callable[[], Json]] = {
            "get_device_info": self._smart_device_info,
            "get_energy_usage": self._smart_energy_usage,
            "get_current_power": lambda: {"current_power": round(self.power_w())},
            "get_emeter_data": self._smart_emeter_data,
            "get_device_time": self._smart_device_time,
        }
        if method in dynamic:
            return {"error_code": 0, "result": dynamic[method]()}
        if method == "set_device_info":
            if "device_on" in params:
                self.set_relay(bool(params["device_on"]))
            if "nickname" in params:
                self._alias = base64.b64decode(str(params["nickname"])).decode()
            return {"error_code": 0}
        if method in self._profile and method != "discovery_result":
            return {"error_code": 0, "result": copy.deepcopy(self._profile[method])}
        return {"error_code": UNKNOWN_METHOD}

    def _smart_energy_usage(self) -> Json:
        usage: Json = copy.deepcopy(self._profile["get_energy_usage"])
        now = datetime.fromtimestamp(self._start + self._elapsed())
        usage.update(
            current_power=round(self.power_w() * 1000),
            today_energy=round(self._today_wh),
            month_energy=round(self._month_wh),
            today_runtime=round(self._runtime_today),
            month_runtime=round(self._runtime_month),
            local_time=now.strftime("%Y-%m-%d %H:%M:%S"),
        )
        return usage

    def _smart_emeter_data(self) -> Json:
        return {
            "power_mw": round(self.power_w() * 1000),
            "voltage_mv": round(self._v0 * 1000),
            "current_ma": round(self.current_a() * 1000),
            "energy_wh": round(self._total_wh),
        }

    def _smart_device_time(self) -> Json:
        stored: Json = copy.deepcopy(self._profile.get("get_device_time", {}))
        stored["timestamp"] = int(self._start + self._elapsed())
        return stored
