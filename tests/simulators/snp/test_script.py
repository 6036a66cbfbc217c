"""Scripted mode: a fixed, timed list of frames per connection, replayed exactly."""

from __future__ import annotations

import json

import pytest
import websockets

from exporterhub.simulators.snp import Close, DeviceSpec, Drop, SnpFleet

from .conftest import connect, fixture, make_config

STATUS = fixture("ws/server_statusState_ptp_update.json")
SCRIPT = [
    (0.0, json.dumps(STATUS)),
    (1.0, {"msgType": "fmmStatus", "event": "keepalive"}),
    (0.5, b"\x00\x01binary"),
    (0.0, "not json"),
    (2.0, Close(4001, "scripted")),
]


async def scripted(clock, script):
    return SnpFleet(make_config(clock, devices=[DeviceSpec(script=script)]))


class TestScript:
    async def test_replays_exactly(self, clock):
        """Each connection gets exactly the script's frames at the script's times."""
        async with await scripted(clock, SCRIPT) as fleet:
            device = fleet.devices[0]
            for _ in range(2):  # the script restarts on every connection
                async with connect(device) as client:
                    first = await client.raw()
                    await client.send(fixture("ws/client_statusListSubscribe.json"))
                    clock.advance(1.0)
                    second = await client.raw()
                    clock.advance(0.5)
                    third, fourth = await client.raw(), await client.raw()
                    clock.advance(5.0)  # no keepalive: the script is all there is
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        await client.raw()
                assert json.loads(first) == STATUS
                assert json.loads(second) == {
                    "msgType": "fmmStatus",
                    "event": "keepalive",
                }
                assert (third, fourth) == (b"\x00\x01binary", "not json")
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                    4001,
                    "scripted",
                )
        assert device.subscriptions == []  # scripted sessions answer nothing
        assert len(device.messages) == 2  # but they do read

    @pytest.mark.parametrize("mid_frame", [False, True])
    async def test_drop_step(self, clock, mid_frame):
        """A Drop step ends the connection without a close frame."""
        fleet = await scripted(clock, [(1.0, Drop(mid_frame=mid_frame))])
        async with fleet, connect(fleet.devices[0]) as client:
            await fleet.devices[0].wait_sessions(1)
            clock.advance(1.0)
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await client.raw()
        assert closed.value.rcvd is None

    async def test_model_changes_are_not_pushed(self, clock):
        """A scripted device ignores model changes and keepalive timers."""
        async with await scripted(clock, [(10.0, "end")]) as fleet:
            device = fleet.devices[0]
            async with connect(device) as client:
                await device.wait_sessions(1)
                device.model.set_personality("processorA", "Conv")
                device.model.set_alarms([])
                clock.advance(10.0)
                assert await client.raw() == "end"
