"""WebSocket faults through the real websockets client: snp.md §8 "Faults"."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from exporterhub.simulators.snp import MalformedKind

from .conftest import connect, fixture, login, statuses


class TestClose:
    @pytest.mark.parametrize("code", [1000, 1001, 1011])
    async def test_close_codes(self, device, code):
        """close(code) ends every session with that code and reason."""
        async with connect(device) as client:
            await device.wait_sessions(1)
            assert device.faults.close(code, "test") == 1
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await client.raw()
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (code, "test")
        await device.wait_sessions(0)

    async def test_drop_without_close_frame(self, device):
        """drop() closes TCP with no close frame (an abnormal closure)."""
        async with connect(device) as client:
            await device.wait_sessions(1)
            assert device.faults.drop() == 1
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await client.raw()
        assert closed.value.rcvd is None

    async def test_drop_mid_frame(self, device):
        """drop_mid_frame() writes half a frame, then drops the connection."""
        token = (await login(device)).encode()
        reader, writer = await asyncio.open_connection(device.host, device.port)
        try:
            writer.write(
                b"GET /smm HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            await reader.readuntil(b"\r\n\r\n")
            # A masked text frame with a 16-bit length; mask 0 keeps the payload.
            header = bytes([0x81, 0x80 | 126]) + len(token).to_bytes(2, "big")
            writer.write(header + bytes(4) + token)
            await device.wait_sessions(1)
            alarms = await reader.readexactly(4)  # 0x81, 126, 16-bit length
            await reader.readexactly(int.from_bytes(alarms[2:], "big"))
            device.faults.drop_mid_frame()
            rest = await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()
        assert rest[0] == 0x81
        declared = int.from_bytes(rest[2:4], "big")
        assert 0 < len(rest) - 4 < declared

    async def test_expire_tokens(self, device):
        """expire_tokens() makes every issued token fail on REST and on /smm."""
        token = await login(device)
        assert device.faults.expire_tokens() == 1
        async with httpx.AsyncClient() as http:
            response = await http.get(
                device.rest_url.replace("auth", "console/status"),
                headers={"Authorization": token},
            )
        assert response.status_code == 401
        async with websockets.connect(device.ws_url) as ws:
            await ws.send(token)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 1008


class TestSilent:
    async def test_silent_keeps_the_socket_and_ignores_pings(self, device, clock):
        """silent sends nothing and answers no ping until it is switched off."""
        async with connect(device) as client:
            await device.wait_sessions(1)
            device.faults.silent = True
            clock.advance(5.0)  # a keepalive would be due
            pong = await client.ws.ping()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pong), 0.3)
            device.faults.silent = False
            await asyncio.wait_for(pong, 5)
            await client.barrier(device)  # the keepalive was never sent
            assert device.sessions == 1


class TestMalformed:
    async def test_each_kind_keeps_the_connection(self, device):
        """Every malformed frame is delivered and the session carries on."""
        async with connect(device) as client:
            await device.wait_sessions(1)
            for kind in MalformedKind:
                assert device.faults.send_malformed(kind) == 1
                await client.raw()
            await client.barrier(device)

    async def _frame(self, device, kind):
        async with connect(device) as client:
            await device.wait_sessions(1)
            device.faults.send_malformed(kind)
            return await client.raw()

    @pytest.mark.parametrize("kind", [MalformedKind.NOT_JSON, MalformedKind.TRUNCATED])
    async def test_not_json(self, device, kind):
        """not_json and truncated are text that does not parse."""
        frame = await self._frame(device, kind)
        with pytest.raises(json.JSONDecodeError):
            json.loads(frame)
        if kind is MalformedKind.NOT_JSON:
            assert frame == fixture("ws/malformed/not_json.txt").strip()

    async def test_no_msg_type(self, device):
        """no_msg_type has statuses but no msgType, like the fixture."""
        frame = json.loads(await self._frame(device, "no_msg_type"))
        assert set(frame) == set(fixture("ws/malformed/no_msgType.json"))

    async def test_statuses_not_a_list(self, device):
        """statuses_not_list carries one JSON string instead of a list."""
        frame = json.loads(await self._frame(device, "statuses_not_list"))
        assert isinstance(frame["statuses"], str)
        assert json.loads(frame["statuses"])["type"] == "ptp"

    async def test_bad_item_beside_good(self, device):
        """bad_item: the first item is broken JSON, the second a valid ptp."""
        frame = json.loads(await self._frame(device, "bad_item"))
        bad, good = frame["statuses"]
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad)
        assert json.loads(good) == fixture("objects/ptp_locked.json")

    async def test_item_without_type(self, device):
        """item_no_type decodes to an object without type, like the fixture."""
        frame = json.loads(await self._frame(device, "item_no_type"))
        assert statuses(frame) == statuses(
            fixture("ws/malformed/status_item_no_type.json")
        )

    async def test_item_is_an_object(self, device):
        """item_is_object sends the status as an object, not a string."""
        frame = json.loads(await self._frame(device, "item_is_object"))
        assert frame["statuses"] == [fixture("objects/ptp_locked.json")]

    async def test_binary(self, device):
        """binary is a binary frame holding a statusState."""
        frame = await self._frame(device, "binary")
        assert isinstance(frame, bytes)
        assert json.loads(frame)["msgType"] == "statusState"

    async def test_odd_values(self, device):
        """odd_values has the fixture's '---', 'N/A', numeric string, no FPGA list."""
        (odd,) = statuses(json.loads(await self._frame(device, "odd_values")))
        (expected,) = statuses(fixture("ws/malformed/system_odd_values.json"))
        assert odd["Board_Temperatures"] == expected["Board_Temperatures"]
        assert odd["Front_Fan_Stats"] == expected["Front_Fan_Stats"]
        assert odd["Alarm_Stats"] == expected["Alarm_Stats"]
        assert "FPGA_HW_Stats" not in odd

    async def test_unknown_type(self, device):
        """unknown_msg_type equals the fixture."""
        frame = json.loads(await self._frame(device, "unknown_msg_type"))
        assert frame == fixture("ws/malformed/unknown_msgType.json")

    async def test_oversize(self, device):
        """oversize is a valid statusState larger than 1 MiB."""
        frame = await self._frame(device, "oversize")
        assert len(frame.encode()) > 1024 * 1024
        assert json.loads(frame)["msgType"] == "statusState"

    async def test_client_limit_closes_1009(self, device):
        """A client with the usual 1 MiB limit is closed with 1009 (§1)."""
        async with connect(device, max_size=2**20) as client:
            await device.wait_sessions(1)
            device.faults.send_malformed("oversize")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await client.raw()
        assert closed.value.sent.code == 1009

    def test_unknown_kind(self, device):
        """An unknown kind is a ValueError."""
        with pytest.raises(ValueError, match="nonsense"):
            device.faults.send_malformed("nonsense")


class TestRejections:
    @pytest.mark.parametrize("status", [403, 503])
    async def test_upgrade_rejected(self, device, clock, status):
        """reject_upgrade answers the handshake with the status for a while."""
        device.faults.reject_upgrade(status, for_seconds=10)
        with pytest.raises(websockets.InvalidStatus) as rejected:
            async with websockets.connect(device.ws_url):
                pass
        assert rejected.value.response.status_code == status
        clock.advance(10)
        async with connect(device) as client:
            await client.barrier(device)

    async def test_reboot(self, device, clock):
        """reboot closes with 1001, expires tokens and refuses logins for a while."""
        old = await login(device)
        async with connect(device, old) as client:
            await device.wait_sessions(1)
            assert device.faults.reboot(for_seconds=60) == 1
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await client.raw()
        assert closed.value.rcvd.code == 1001
        async with httpx.AsyncClient() as http:
            body = fixture("rest/auth_request.json")
            assert (await http.post(device.rest_url, json=body)).status_code == 503
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(device.ws_url):
                    pass
            clock.advance(60)
            assert (await http.post(device.rest_url, json=body)).status_code == 200
        assert not device.tokens.valid(old)

    async def test_clear(self, device):
        """clear() turns every switch off."""
        faults = device.faults
        faults.silent = True
        faults.reject_login(401)
        faults.reject_upgrade(403)
        faults.slow_rest(3)
        faults.fail_processor("processorA")
        faults.clear()
        assert not faults.silent
        assert faults.login_rejection() is None
        assert faults.upgrade_rejection() is None
        assert (faults.rest_delay, faults.processors) == (0.0, {})
        faults.fail_processor("processorA")
        faults.restore_processor()
        assert faults.processors == {}

    async def test_not_a_websocket_request(self, device):
        """A plain GET /smm is 400."""
        async with httpx.AsyncClient() as http:
            response = await http.get(device.ws_url.replace("ws://", "http://"))
        assert response.status_code == 400
