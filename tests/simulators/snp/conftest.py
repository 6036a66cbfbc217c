"""Shared helpers for the SNP simulator tests: a fake-clock fleet and real clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from exporterhub.core.testing import FakeClock
from exporterhub.simulators.snp import DeviceSpec, SnpDevice, SnpFleet, SnpSimConfig

FIXTURES = Path(__file__).parents[2] / "fixtures" / "snp"
USER, PASSWORD = "monitor", "example-only-password"
TIMEOUT = 5.0
KEEPALIVES = frozenset({"fmmStatus", "permissionsMsg"})


def fixture(name: str) -> Any:
    """Return a fixture file's JSON (or text for .txt files)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text if name.endswith(".txt") else json.loads(text)


def subscribe(
    *refs: tuple[str, str | None], frequency: Any = 1000, ip: str = "127.0.0.1"
) -> dict:
    """Build a statusListSubscribe for (objectType, objectId) pairs."""
    ids = []
    for object_type, object_id in refs:
        entry = {"elementIP": ip, "objectType": object_type}
        if object_id is not None:
            entry["objectId"] = object_id
        ids.append(entry)
    return {"msgType": "statusListSubscribe", "frequency": frequency, "objectIds": ids}


def statuses(frame: dict) -> list[dict]:
    """Decode a statusState/allStatuses frame's items, each a JSON string."""
    assert all(isinstance(item, str) for item in frame["statuses"])
    return [json.loads(item) for item in frame["statuses"]]


def base_url(device: SnpDevice) -> str:
    return device.rest_url.split("/api/")[0]


async def login(device: SnpDevice, *, verify: Any = True, **creds: str) -> str:
    body = {"username": USER, "password": PASSWORD, **creds}
    async with httpx.AsyncClient(verify=verify, timeout=TIMEOUT) as client:
        response = await client.post(device.rest_url, json=body)
    assert response.status_code == 200, response.text
    return response.text


class Client:
    """A real websockets client with JSON helpers and bounded waits."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def raw(self, within: float = TIMEOUT) -> str | bytes:
        return await asyncio.wait_for(self.ws.recv(), within)

    async def recv(self, within: float = TIMEOUT) -> dict:
        frame = await self.raw(within)
        return json.loads(frame)

    async def next(self, msg_type: str, within: float = TIMEOUT) -> dict:
        """Return the next frame, skipping keepalives; it must be ``msg_type``."""
        while True:
            frame = await self.recv(within)
            if frame["msgType"] not in KEEPALIVES:
                assert frame["msgType"] == msg_type, frame["msgType"]
                return frame

    async def barrier(self, device: SnpDevice) -> None:
        """Prove nothing else is queued: a getStatuses answer must come next."""
        await self.send(
            {
                "msgType": "getStatuses",
                "elementIp": "127.0.0.1",
                "objectType": "videoGenLock",
            }
        )
        frame = await self.next("statusState")
        assert [s["type"] for s in statuses(frame)] == ["videoGenLock"]


@contextlib.asynccontextmanager
async def connect(
    device: SnpDevice, token: str | None = None, **kwargs: Any
) -> AsyncIterator[Client]:
    """Open /smm, send the token and consume the first activeAlarmStatus."""
    token = token if token is not None else await login(device)
    kwargs.setdefault("max_size", None)
    kwargs.setdefault("ping_interval", None)
    async with websockets.connect(device.ws_url, **kwargs) as ws:
        client = Client(ws)
        await client.send(token)
        if device.spec.script is None:
            assert (await client.recv())["msgType"] == "activeAlarmStatus"
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_config(clock: FakeClock | None, **kwargs: Any) -> SnpSimConfig:
    kwargs.setdefault("devices", [DeviceSpec()])
    kwargs.setdefault("drift", False)
    return SnpSimConfig(clock=clock, **kwargs)


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[SnpFleet]:
    async with SnpFleet(make_config(clock)) as running:
        yield running


@pytest.fixture
def device(fleet: SnpFleet) -> SnpDevice:
    return fleet.devices[0]
