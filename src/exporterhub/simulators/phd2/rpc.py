"""JSON-RPC side of the PHD2 simulator: request lines in, response and events out.

Parses one request line (or batch) as PHD2's ``event_server.cpp`` does, answers the
read-only methods of protocol doc §9 from the session state, and carries out the
capture-controlling methods (``loop``, ``stop_capture``, ``guide``, ``dither``,
``set_paused`` ...) on the :class:`~.session.Phd2Session`. Error codes:
-32700 parse error and -32600 invalid request (id null), -32601 unknown method,
-32602 invalid params, -32603 "too big", 1/2 method failures.

This module must not do I/O; the server writes the bytes it returns.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Final

from exporterhub.simulators.phd2.model import (
    CAL_ANGLE,
    DEC_RATE,
    MOUNT,
    RA_RATE,
    Mode,
    Settle,
)
from exporterhub.simulators.phd2.session import Phd2Session
from exporterhub.simulators.phd2.wire import (
    Num,
    RpcError,
    flag,
    number,
    params_of,
    rpc_response,
    xy,
)

__all__ = ["Phd2Rpc"]

Method = Callable[[object], object]

_ALGO: Final = {"minMove": 0.15, "hysteresis": 0.1, "aggression": 0.7}
MAX_DITHER_PX: Final = 100.0  # larger requests are capped; keeps the model finite
_V2614_ONLY: Final = frozenset(
    {
        "get_variable_delay_settings",
        "set_variable_delay_settings",
        "get_limit_frame",
        "set_limit_frame",
    }
)
_V265_ONLY: Final = frozenset(
    {"get_ccd_temperature", "get_cooler_status", "set_cooler_state"}
)
# Read-only results that do not depend on the simulated state.
_CONSTANT: Final[dict[str, object]] = {
    "get_connected": True,
    "get_current_equipment": {
        "camera": {"name": "Simulator", "connected": True},
        "mount": {"name": MOUNT, "connected": True},
    },
    "get_exposure_durations": [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000],
    "get_profile": {"id": 1, "name": "Simulator"},
    "get_profiles": [{"id": 1, "name": "Simulator", "selected": True}],
    "get_guide_output_enabled": True,
    "get_camera_binning": 1,
    "get_camera_frame_size": [1280, 960],
    "get_search_region": 15,
    "get_use_subframes": False,
    "get_lock_shift_enabled": False,
    "get_lock_shift_params": {
        "enabled": False,
        "rate": [0.0, 0.0],
        "units": "arcsec/hr",
        "axes": "RA/Dec",
    },
    "get_ccd_temperature": {"temperature": Num(-10.0, ".1f")},
    "get_cooler_status": {
        "coolerOn": True,
        "temperature": Num(-10.0, ".1f"),
        "setpoint": Num(-10.0, ".1f"),
        "power": Num(41.5, ".1f"),
    },
    "get_variable_delay_settings": {
        "Enabled": False,
        "ShortDelaySeconds": 0,
        "LongDelaySeconds": 0,
    },
    "get_limit_frame": {"roi": None},
    "export_config_settings": {"filename": "phd2_settings.txt"},
}
# Methods that are only acknowledged; "shutdown" leaves the simulator running.
_ACKNOWLEDGED: Final = (
    "set_profile",
    "set_connected",
    "set_algo_param",
    "set_guide_output_enabled",
    "set_lock_shift_enabled",
    "set_lock_shift_params",
    "set_cooler_state",
    "set_variable_delay_settings",
    "set_limit_frame",
    "shutdown",
)


def _reject_constant(name: str) -> object:
    # PHD2's parser rejects NaN/Infinity, which Python's json would accept.
    msg = f"invalid number {name}"
    raise ValueError(msg)


def _settle_param(params: object) -> Settle:
    if not isinstance(params, dict):
        raise RpcError(-32602, "expected settle object param")
    values = [number(params.get(k)) for k in ("pixels", "time", "timeout")]
    pixels, stime, tout = (
        v if v is not None and math.isfinite(v) else None for v in values
    )
    if pixels is None or stime is None or tout is None:
        raise RpcError(-32602, "invalid settle params")
    return Settle(pixels=pixels, time=math.floor(stime), timeout=math.floor(tout))


def _constant(value: object) -> Method:
    return lambda _params: value


def _line(text: str) -> bytes:
    return (text + "\r\n").encode()


class Phd2Rpc:
    """Answer JSON-RPC requests against a :class:`Phd2Session`."""

    def __init__(self, session: Phd2Session) -> None:
        self._s = session
        self._methods = self._table()

    @staticmethod
    def too_big() -> bytes:
        """Return PHD2's answer to an over-long request line."""
        return _line(rpc_response(None, error=RpcError(-32603, "too big")))

    def handle_line(self, raw: bytes) -> tuple[bytes | None, list[bytes]]:
        """Execute one request line (a request or a batch).

        Returns:
            ``(response, events)``: the response line, ``None`` for notifications
            and blank lines, and the event lines the request caused, which must
            reach clients before the response (§8).
        """
        try:
            text = raw.decode("utf-8")
            if not text.strip():
                return None, []
            root = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            err = RpcError(-32700, f"invalid JSON request: {exc}")
            return _line(rpc_response(None, error=err)), []
        answer: str | None
        if isinstance(root, list):
            answers = [a for a in map(self._request, root) if a is not None]
            answer = "[" + ",".join(answers) + "]" if answers else None
        else:
            answer = self._request(root)
        return (None if answer is None else _line(answer)), self._s.drain()

    def _request(self, req: object) -> str | None:
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            err = RpcError(-32600, "invalid request - missing method")
            return rpc_response(None, error=err)
        params = req.get("params")
        if params is not None and not isinstance(params, list | dict):
            err = RpcError(
                -32600, "invalid request - params must be an array or object"
            )
            return rpc_response(None, error=err)
        method, rid = req["method"], req.get("id")
        feats = self._s.features
        gated = (method in _V2614_ONLY and not feats.v2614) or (
            method in _V265_ONLY and not feats.cooler
        )
        handler = None if gated else self._methods.get(method)
        try:
            if handler is None:
                raise RpcError(-32601, "method not found")
            result = handler(params)
        except RpcError as exc:
            return rpc_response(rid, error=exc) if "id" in req else None
        return rpc_response(rid, result=result) if "id" in req else None

    def _table(self) -> dict[str, Method]:
        s = self._s
        table = {name: _constant(value) for name, value in _CONSTANT.items()}
        table.update(dict.fromkeys(_ACKNOWLEDGED, lambda _p: 0))
        table.update(
            {
                "get_app_state": lambda _p: s.app_state.value,
                "get_pixel_scale": self._get_pixel_scale,
                "get_exposure": lambda _p: s.exposure_ms,
                "get_calibrated": lambda _p: s.calibrated,
                "get_calibration_data": self._get_calibration_data,
                "get_paused": lambda _p: s.paused,
                "get_settling": lambda _p: s.settle is not None,
                "get_lock_position": lambda _p: list(s.lock) if s.lock else None,
                "get_dec_guide_mode": lambda _p: s.dec_mode,
                "get_algo_param_names": self._get_algo_param_names,
                "get_algo_param": self._get_algo_param,
                "get_star_image": self._get_star_image,
                "loop": self._drive(lambda _p: s.cmd_loop()),
                "stop_capture": self._drive(lambda _p: s.cmd_stop()),
                "guide": self._drive(self._guide),
                "dither": self._drive(self._dither),
                "set_paused": self._drive(self._set_paused),
                "find_star": self._drive(self._find_star),
                "deselect_star": self._drive(self._deselect_star),
                "set_lock_position": self._set_lock_position,
                "clear_calibration": self._clear_calibration,
                "flip_calibration": self._flip_calibration,
                "set_dec_guide_mode": self._set_dec_guide_mode,
                "set_exposure": self._set_exposure,
                "capture_single_frame": self._capture_single_frame,
                "guide_pulse": self._guide_pulse,
                "save_image": self._save_image,
            }
        )
        return table

    def _drive(self, fn: Method) -> Method:
        def drive(params: object) -> object:
            result = fn(params)
            self._s.autopilot = False  # a client now controls the capture
            return 0 if result is None else result

        return drive

    # -------------------------------------------------------------- read-only

    def _get_pixel_scale(self, _params: object) -> object:
        # PHD2 reports an unknown scale, and a true 1.0, as null (§9).
        s = self._s
        return (
            None if s.faults.null_pixel_scale or s.pixel_scale == 1.0 else s.pixel_scale
        )

    def _get_calibration_data(self, params: object) -> object:
        which = params_of(params, "which").get("which", "mount")
        if not isinstance(which, str) or which.lower() not in ("mount", "ao"):
            raise RpcError(1, "invalid 'which' param")
        if which.lower() == "ao":
            raise RpcError(1, "device not connected")
        if not self._s.calibrated:
            return {"calibrated": False}
        return {
            "calibrated": True,
            "xAngle": Num(CAL_ANGLE, ".1f"),
            "xRate": Num(RA_RATE, ".3f"),
            "xParity": "+",
            "yAngle": Num(CAL_ANGLE + 90, ".1f"),
            "yRate": Num(DEC_RATE, ".3f"),
            "yParity": "-",
            "declination": 12.5,
        }

    @staticmethod
    def _axis(params: object, *names: str) -> dict[str, object]:
        p = params_of(params, "axis", *names)
        axis = p.get("axis")
        if not isinstance(axis, str) or axis.lower() not in ("ra", "x", "dec", "y"):
            raise RpcError(1, "expected axis name param")
        return p

    def _get_algo_param_names(self, params: object) -> object:
        self._axis(params)
        return ["algorithmName", *_ALGO]

    def _get_algo_param(self, params: object) -> object:
        name = self._axis(params, "name").get("name")
        if not isinstance(name, str):
            raise RpcError(1, "expected param name param")
        if name == "algorithmName":
            return "Hysteresis"
        if name not in _ALGO:
            raise RpcError(1, "could not get param")
        return _ALGO[name]

    def _get_star_image(self, _params: object) -> object:
        s = self._s
        if s.star is None or s.mode is Mode.STOPPED:
            raise RpcError(2, "no star selected")
        return {
            "frame": s.guide_frame or s.loop_frame,
            "width": 15,
            "height": 15,
            "star_pos": [7.0, 7.0],
            "pixels": base64.b64encode(bytes(15 * 15 * 2)).decode(),
        }

    # --------------------------------------------------------------- mutating

    def _guide(self, params: object) -> object:
        p = params_of(params, "settle", "recalibrate", "roi")
        settle = _settle_param(p.get("settle"))
        recalibrate = flag(p.get("recalibrate", False))
        if recalibrate is None:
            raise RpcError(-32602, "expected bool value for recalibrate")
        self._s.cmd_guide(settle, recalibrate=recalibrate)
        return 0

    def _dither(self, params: object) -> object:
        p = params_of(params, "amount", "raOnly", "settle")
        amount = number(p.get("amount"))
        if amount is None:
            raise RpcError(-32602, "expected dither amount param")
        ra_only = flag(p.get("raOnly", False))
        if ra_only is None:
            raise RpcError(-32602, "expected dither raOnly param")
        settle = _settle_param(p.get("settle"))
        amount = min(abs(amount), MAX_DITHER_PX)
        self._s.cmd_dither(amount, ra_only=ra_only, settle=settle)
        return 0

    def _set_paused(self, params: object) -> object:
        paused = flag(params_of(params, "paused", "type").get("paused"))
        if paused is None:
            raise RpcError(-32602, "expected bool param at index 0")
        self._s.cmd_set_paused(paused)
        return 0

    def _find_star(self, _params: object) -> object:
        s = self._s
        if s.mode is Mode.STOPPED:
            raise RpcError(1, "could not find star")
        s.select_star()
        return list(s.lock or ())

    def _deselect_star(self, _params: object) -> object:
        s = self._s
        if s.mode in (Mode.CALIBRATING, Mode.GUIDING):
            s.stop_guiding("Guiding stopped")
            s.mode = Mode.LOOPING
        if s.lock is not None or s.star is not None:
            s.emit("LockPositionLost")
        s.lock = s.star = None
        return 0

    def _set_lock_position(self, params: object) -> object:
        p = params_of(params, "x", "y", "exact")
        x, y = number(p.get("x")), number(p.get("y"))
        if x is None or y is None:
            raise RpcError(-32602, "expected lock position x, y params")
        self._s.lock = (x, y)
        self._s.emit("LockPositionSet", *xy((x, y)))
        return 0

    def _clear_calibration(self, _params: object) -> object:
        self._s.calibrated = False
        return 0

    def _flip_calibration(self, _params: object) -> object:
        if not self._s.calibrated:
            raise RpcError(1, "could not flip calibration")
        self._s.emit("CalibrationDataFlipped", ("Mount", MOUNT))
        return 0

    def _set_dec_guide_mode(self, params: object) -> object:
        mode = params_of(params, "mode").get("mode")
        modes = {m.lower(): m for m in ("Off", "Auto", "North", "South")}
        if not isinstance(mode, str) or mode.lower() not in modes:
            raise RpcError(1, "invalid dec guide mode param")
        self._s.dec_mode = modes[mode.lower()]
        self._s.emit(
            "GuideParamChange",
            ("Name", "Dec Guide Mode"),
            ("Value", modes[mode.lower()]),
        )
        return 0

    def _set_exposure(self, params: object) -> object:
        exp = params_of(params, "exposure").get("exposure")
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= 0:
            raise RpcError(-32602, "expected exposure param")
        self._s.exposure_ms = exp
        self._s.emit("GuideParamChange", ("Name", "Exposure"), ("Value", f"{exp} ms"))
        return 0

    def _capture_single_frame(self, _params: object) -> object:
        if self._s.mode is not Mode.STOPPED:
            msg = "cannot capture single frame when capture is currently active"
            raise RpcError(1, msg)
        self._s.emit("SingleFrameComplete", ("Success", True))
        return 0

    def _guide_pulse(self, _params: object) -> object:
        if self._s.mode in (Mode.CALIBRATING, Mode.GUIDING):
            raise RpcError(1, "cannot issue guide pulse while calibrating or guiding")
        return 0

    def _save_image(self, _params: object) -> object:
        if self._s.mode is Mode.STOPPED:
            raise RpcError(2, "no image available")
        return {"filename": "save_image_simulator.fit"}
