"""The numbers behind a simulated SNP's drifting values.

Holds the current and base value of each drifting quantity and moves them one
step at a time with a seeded random generator: PTP offset (µs, a damped random
walk around 0) and delay (µs, jitter around its base) while locked; main and IO
board, FPGA and QSFP temperatures (°C) and front fan speeds (RPM) pulled back
toward their base with noise. ``model`` formats them into the status objects.

No I/O, no clock; the caller decides when a step happens.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["Drift", "leading_number"]

_NUMBER: Final = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)")
DRIFTING_BOARDS: Final = ("Main_Board", "IO_Board")
PULL: Final = 0.3  # fraction of the distance to the base recovered per step
TEMP_NOISE_C: Final = 0.25
FAN_NOISE_RPM: Final = 40.0
OFFSET_DAMPING: Final = 0.6
OFFSET_NOISE_US: Final = 0.04
OFFSET_LIMIT_US: Final = 1.0
DELAY_NOISE_US: Final = 0.002


def leading_number(text: object) -> float | None:
    """Return the leading decimal number of a value string, else ``None``.

    >>> leading_number("46.0 °C"), leading_number("N/A")
    (46.0, None)
    """
    match = _NUMBER.match(text) if isinstance(text, str) else None
    return float(match[1]) if match else None


def _numbers(entries: list[Mapping[str, Any]], member: str) -> list[float | None]:
    return [leading_number(entry.get(member)) for entry in entries]


class Drift:
    """Current and base values of every drifting quantity of one device.

    Attributes:
        boards: ``Board_Temperatures`` members with a number, °C.
        fpga: ``FPGA_HW_Stats[].Temp`` by position, °C.
        fans: ``Front_Fan_Stats[].RotationalSpeed`` by position, RPM.
        qsfp: ``QSFP_Stats[].Temperature`` by position, °C; ``None`` = "N/A".
        failed_fans: front fan ``idx`` values that are failed (speed 0).
        offset: PTP master offset, µs.
        delay: PTP master delay, µs.
        base_delay: the delay's centre, µs.
        locked: PTP is locked (offset and delay move only then).
    """

    def __init__(
        self,
        system: Mapping[str, Any],
        ptp_status: Mapping[str, Any],
        rng: random.Random,
    ) -> None:
        self._rng = rng
        boards = {
            name: leading_number(text)
            for name, text in system["Board_Temperatures"].items()
        }
        self.boards = {k: v for k, v in boards.items() if v is not None}
        self.fpga = [v or 0.0 for v in _numbers(system["FPGA_HW_Stats"], "Temp")]
        self.fans = [
            v or 0.0 for v in _numbers(system["Front_Fan_Stats"], "RotationalSpeed")
        ]
        self.qsfp = _numbers(system["QSFP_Stats"], "Temperature")
        self.failed_fans: set[int] = set()
        self.offset = leading_number(ptp_status["ptpMasterOffset"]) or 0.0
        self.delay = self.base_delay = (
            leading_number(ptp_status["ptpMasterDelay"]) or 0.0
        )
        self.locked = True
        self._base_boards = dict(self.boards)
        self._base_fpga = list(self.fpga)
        self._base_fans = list(self.fans)
        self._base_qsfp = list(self.qsfp)

    def set_board(self, name: str, celsius: float) -> None:
        """Set a board temperature and make it the base."""
        self.boards[name] = self._base_boards[name] = celsius

    def set_fpga(self, position: int, celsius: float) -> None:
        """Set an FPGA temperature (``position`` from 0) and make it the base."""
        self.fpga[position] = self._base_fpga[position] = celsius

    def set_fan(self, position: int, rpm: float) -> None:
        """Set a front fan speed (``position`` from 0) and make it the base."""
        self.fans[position] = self._base_fans[position] = rpm

    def set_qsfp(self, position: int, celsius: float | None) -> None:
        """Set a QSFP temperature (``None`` = "N/A") and make it the base."""
        self.qsfp[position] = self._base_qsfp[position] = celsius

    def _toward(self, value: float, base: float, noise: float) -> float:
        return value + PULL * (base - value) + self._rng.gauss(0.0, noise)

    def step_ptp(self) -> None:
        """Move the PTP offset (damped walk, bounded) and delay (jitter)."""
        offset = OFFSET_DAMPING * self.offset + self._rng.gauss(0.0, OFFSET_NOISE_US)
        self.offset = max(-OFFSET_LIMIT_US, min(OFFSET_LIMIT_US, offset))
        self.delay = max(0.0, self.base_delay + self._rng.gauss(0.0, DELAY_NOISE_US))

    def step_system(self) -> None:
        """Move the main/IO board, FPGA and QSFP temperatures and the fan speeds."""
        for name in DRIFTING_BOARDS:
            if name in self.boards:
                self.boards[name] = self._toward(
                    self.boards[name], self._base_boards[name], TEMP_NOISE_C
                )
        self.fpga = [
            self._toward(v, b, TEMP_NOISE_C)
            for v, b in zip(self.fpga, self._base_fpga, strict=True)
        ]
        self.fans = [
            self._toward(v, b, FAN_NOISE_RPM)
            for v, b in zip(self.fans, self._base_fans, strict=True)
        ]
        self.qsfp = [
            None if v is None or b is None else self._toward(v, b, TEMP_NOISE_C / 2)
            for v, b in zip(self.qsfp, self._base_qsfp, strict=True)
        ]
