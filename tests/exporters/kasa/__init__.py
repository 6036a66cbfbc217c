"""Tests of the Tapo/Kasa plug exporter; shared helpers for its test modules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kasa"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
USER, PASSWORD = "user@example.com", "plug-password"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def is_iot(profile: dict[str, Any]) -> bool:
    return "system" in profile


@asynccontextmanager
async def served(path: Path) -> AsyncIterator[tuple[Any, str]]:
    """Serve a fixture (frozen); yield a connected python-kasa device and protocol."""
    from kasa import (
        Credentials,
        Device,
        DeviceConfig,
        DeviceConnectionParameters,
        DeviceEncryptionType,
        DeviceFamily,
    )

    from exporterhub.simulators.kasa import PlugSimulator, PlugSpec

    profile = load(path)
    protocol = "xor" if is_iot(profile) else "klap"
    spec = PlugSpec(
        profile=path, protocol=protocol, frozen=True, username=USER, password=PASSWORD
    )
    async with PlugSimulator(spec) as sim:
        if protocol == "xor":
            config = DeviceConfig(host="127.0.0.1", port_override=sim.port, timeout=1)
        else:
            family = DeviceFamily(profile["discovery_result"]["result"]["device_type"])
            config = DeviceConfig(
                host="127.0.0.1",
                port_override=sim.port,
                timeout=1,
                credentials=Credentials(USER, PASSWORD),
                connection_type=DeviceConnectionParameters(
                    family, DeviceEncryptionType.Klap, login_version=2
                ),
            )
        async with asyncio.timeout(10):
            device = await Device.connect(config=config)
        try:
            yield device, protocol
        finally:
            await device.disconnect()


def expected(profile: dict[str, Any]) -> dict[str, Any]:
    """Return what the exporter should read from a frozen fixture (kWh, W, V, A)."""
    if is_iot(profile):
        info = profile["system"]["get_sysinfo"]
        exp: dict[str, Any] = {
            "model": info["model"].split("(")[0],
            "alias": info["alias"],
            "mac": info["mac"],
            "hardware_version": info["hw_ver"],
            "firmware_version": info["sw_ver"].split(" ")[0],
            "family": info.get("type") or info.get("mic_type"),
            "is_on": bool(info["relay_state"]),
            "rssi": info["rssi"],
            "signal_level": None,
        }
        rt = profile.get("emeter", {}).get("get_realtime")
        if rt is not None:
            if "power_mw" in rt:
                exp |= {
                    "power": rt["power_mw"] / 1000,
                    "voltage": rt.get("voltage_mv", 0) / 1000,
                    "current": rt.get("current_ma", 0) / 1000,
                    "total": rt["total_wh"] / 1000,
                }
            else:
                exp |= {
                    "power": rt["power"],
                    "voltage": rt["voltage"],
                    "current": rt["current"],
                    "total": rt["total"],
                }
            exp |= {"today": 0.0, "month": 0.0}
        return exp
    info = profile["get_device_info"]
    exp = {
        "model": info["model"],
        "alias": "#MASKED_NAME#",
        "mac": info["mac"].replace("-", ":").upper(),
        "hardware_version": info["hw_ver"],
        "firmware_version": info["fw_ver"].split(" ")[0],
        "family": info["type"],
        "is_on": info["device_on"],
        "rssi": info["rssi"],
        "signal_level": info["signal_level"],
    }
    if "get_energy_usage" in profile:
        emeter = profile["get_emeter_data"]
        usage = profile["get_energy_usage"]
        exp |= {
            "power": emeter["power_mw"] / 1000,
            "voltage": emeter["voltage_mv"] / 1000,
            "current": emeter["current_ma"] / 1000,
            # SMART: no lifetime total; the counter is this month's energy.
            "total": usage["month_energy"] / 1000,
            "today": usage["today_energy"] / 1000,
            "month": usage["month_energy"] / 1000,
        }
    return exp
