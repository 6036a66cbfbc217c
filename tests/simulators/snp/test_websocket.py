"""The /smm WebSocket through the real websockets client: §4 and §8 "WebSocket"."""

from __future__ import annotations

import json

import pytest
import websockets

from exporterhub.simulators.snp import DeviceSpec, SnpFleet

from .conftest import (
    Client,
    connect,
    fixture,
    login,
    make_config,
    statuses,
    subscribe,
)

SUBSCRIPTION = fixture("ws/client_statusListSubscribe.json")


async def subscribed(client: Client, device, clock, message=SUBSCRIPTION) -> dict:
    """Subscribe, let first_status_delay pass and return the answer."""
    await client.send(message)
    await device.wait_subscribed(count=len(device.subscriptions) + 1)
    clock.advance(1.0)
    return await client.next("statusState")


class TestToken:
    async def test_good_token_then_frames_flow(self, device):
        """A fresh token as first frame opens a session that receives frames."""
        async with connect(device) as client:
            await device.wait_sessions(1)
            await client.barrier(device)
        await device.wait_sessions(0)
        assert device.connections == 1

    @pytest.mark.parametrize(
        "token",
        [
            pytest.param("Bearer not-a-token", id="unknown"),
            pytest.param('{"msgType": "statusListSubscribe"}', id="subscription-first"),
        ],
    )
    async def test_bad_first_frame_closes_1008(self, device, token):
        """Anything but an issued token as first frame closes with 1008."""
        async with websockets.connect(device.ws_url) as ws:
            await ws.send(token)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 1008
        assert device.sessions == 0

    async def test_binary_first_frame_closes_1008(self, device):
        """A binary first frame is not a token."""
        async with websockets.connect(device.ws_url) as ws:
            await ws.send(b"Bearer x")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 1008

    async def test_token_variants_accepted(self, device):
        """The token quoted or without its scheme still works (§2, defensive)."""
        token = await login(device)
        async with connect(device, f' "{token}" ') as client:
            await client.barrier(device)
        async with connect(device, token.removeprefix("Bearer ")) as client:
            await client.barrier(device)

    async def test_revoked_token_closes_1008(self, device):
        """A token revoked with DELETE /api/auth no longer opens a socket."""
        import httpx

        token = await login(device)
        async with httpx.AsyncClient() as http:
            response = await http.delete(
                device.rest_url, headers={"Authorization": token}
            )
        assert response.status_code == 200
        async with websockets.connect(device.ws_url) as ws:
            await ws.send(token)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 1008

    async def test_expired_token_closes_1008(self, clock):
        """A token past its lifetime closes the socket with 1008."""
        async with SnpFleet(make_config(clock, token_lifetime=60)) as fleet:
            device = fleet.devices[0]
            token = await login(device)
            clock.advance(61)
            async with websockets.connect(device.ws_url) as ws:
                await ws.send(token)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
        assert closed.value.rcvd.code == 1008

    async def test_no_token_in_time_closes_1008(self, clock):
        """A client that sends nothing is closed after token_timeout."""
        config = make_config(clock, token_timeout=0.05)
        async with (
            SnpFleet(config) as fleet,
            websockets.connect(fleet.devices[0].ws_url) as ws,
        ):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 1008

    async def test_client_closing_before_token(self, device):
        """A client that leaves before its token is not an error."""
        async with websockets.connect(device.ws_url):
            pass
        await device.wait_until(lambda: device.connections == 1)
        assert device.sessions == 0


class TestSubscription:
    async def test_answer_equals_fixture(self, device, clock):
        """The subscription of the fixture gets the fixture's statusState ~1 s later."""
        async with connect(device) as client:
            await client.send(SUBSCRIPTION)
            record = await device.wait_subscribed()
            await client.barrier(device)  # nothing before first_status_delay
            clock.advance(1.0)
            frame = await client.next("statusState")
        expected = fixture("ws/server_statusState_initial.json")
        assert statuses(frame) == statuses(expected)
        assert record.accepted
        assert record.answered
        assert record.frequency == 1.0

    async def test_zero_delay_answers_without_advancing(self, clock):
        """first_status_delay=0 answers at once, even on a fake clock."""
        async with SnpFleet(make_config(clock, first_status_delay=0)) as fleet:
            device = fleet.devices[0]
            async with connect(device) as client:
                await client.send(subscribe(("ptp", None)))
                (ptp,) = statuses(await client.next("statusState"))
        assert ptp["type"] == "ptp"

    async def test_all_statuses_option(self, clock):
        """With answer_with_all_statuses the answer is one allStatuses of everything."""
        config = make_config(clock, devices=[DeviceSpec(answer_with_all_statuses=True)])
        async with SnpFleet(config) as fleet:
            device = fleet.devices[0]
            async with connect(device) as client:
                await client.send(subscribe(("ptp", None)))
                await device.wait_subscribed()
                clock.advance(1.0)
                frame = await client.next("allStatuses")
        assert frame["elementIp"] == "127.0.0.1"
        assert len(statuses(frame)) == 45

    async def test_other_element_ip_is_silent(self, device, clock):
        """An elementIP other than 127.0.0.1 is accepted and answered with nothing."""
        async with connect(device) as client:
            await client.send(subscribe(("ptp", None), ip="192.0.2.21"))
            record = await device.wait_subscribed()
            clock.advance(1.0)
            device.model.set_ptp(offset_us=0.5)
            await client.barrier(device)
        assert record.accepted
        assert not record.answered

    @pytest.mark.parametrize(
        "frequency",
        [
            pytest.param(1500, id="not-a-multiple"),
            pytest.param(0, id="zero"),
            pytest.param("1000", id="string"),
            pytest.param(True, id="bool"),
        ],
    )
    async def test_bad_frequency_rejected(self, device, clock, frequency):
        """A frequency that is not a positive multiple of 1000 ms gets nothing."""
        async with connect(device) as client:
            await client.send(subscribe(("ptp", None), frequency=frequency))
            record = await device.wait_subscribed()
            clock.advance(1.0)
            await client.barrier(device)
        assert not record.accepted
        assert "frequency" in (record.error or "")

    async def test_bad_object_ids_rejected(self, device):
        """objectIds must be a list of entries with an objectType."""
        async with connect(device) as client:
            await client.send({"msgType": "statusListSubscribe", "frequency": 1000})
            await client.send(
                {"msgType": "statusListSubscribe", "frequency": 1000, "objectIds": [{}]}
            )
            await device.wait_subscribed(count=2)
        assert [r.accepted for r in device.subscriptions] == [False, False]

    async def test_misspelt_element_ip_is_silent(self, device, clock):
        """elementIp (the other commands' spelling) in a subscription gets nothing."""
        message = {
            "msgType": "statusListSubscribe",
            "frequency": 1000,
            "objectIds": [{"elementIp": "127.0.0.1", "objectType": "ptp"}],
        }
        async with connect(device) as client:
            await client.send(message)
            record = await device.wait_subscribed()
            clock.advance(1.0)
            await client.barrier(device)
        assert not record.answered

    async def test_type_without_id_gets_every_object(self, device, clock):
        """procChannelHD without objectId subscribes every channel."""
        async with connect(device) as client:
            frame = await subscribed(
                client, device, clock, subscribe(("procChannelHD", None))
            )
        assert len(statuses(frame)) == 36


class TestPushes:
    async def test_rate_limited_per_object(self, device, clock):
        """A change inside the window waits for it; the latest state goes once."""
        model = device.model
        async with connect(device) as client:
            await subscribed(client, device, clock, subscribe(("ptp", None)))
            model.set_ptp(offset_us=0.2)
            model.set_ptp(offset_us=0.3)
            await client.barrier(device)
            clock.advance(1.0)
            frame = await client.next("statusState")
            (ptp,) = statuses(frame)
            assert ptp["ptpStatus"]["ptpMasterOffset"] == "0.300 us"
            await client.barrier(device)
            clock.advance(1.0)  # the window has passed and nothing changed
            await client.barrier(device)
            model.set_ptp(offset_us=-0.1)  # outside the window: sent at once
            (ptp,) = statuses(await client.next("statusState"))
            assert ptp["ptpStatus"]["ptpMasterOffset"] == "-0.100 us"

    async def test_frequency_is_per_subscription(self, device, clock):
        """With frequency 2000 a change waits up to two seconds."""
        async with connect(device) as client:
            await subscribed(
                client, device, clock, subscribe(("ptp", None), frequency=2000)
            )
            device.model.set_ptp(offset_us=0.2)
            clock.advance(1.0)
            await client.barrier(device)
            clock.advance(1.0)
            await client.next("statusState")

    async def test_objects_are_independent(self, device, clock):
        """A recent push of one object does not hold back another."""
        async with connect(device) as client:
            await subscribed(
                client, device, clock, subscribe(("ptp", None), ("system", None))
            )
            clock.advance(1.0)
            device.model.set_ptp(offset_us=0.2)
            (ptp,) = statuses(await client.next("statusState"))
            device.model.set_temperature("Main_Board", 50.0)
            (system,) = statuses(await client.next("statusState"))
        assert ptp["type"] == "ptp"
        assert system["Board_Temperatures"]["Main_Board"] == "50.0 °C"

    async def test_unsubscribe(self, device, clock):
        """After statusListUnsubscribe an object's changes are not pushed."""
        async with connect(device) as client:
            await subscribed(
                client, device, clock, subscribe(("ptp", None), ("system", None))
            )
            await client.send(fixture("ws/client_statusListUnsubscribe.json"))
            await client.send(
                {
                    "msgType": "statusListUnsubscribe",
                    "objectIds": [{"objectType": "system"}],
                }
            )
            await client.send({"msgType": "statusListUnsubscribe"})
            await device.wait_until(lambda: len(device.messages) == 4)
            clock.advance(1.0)
            device.model.set_temperature("Main_Board", 50.0)
            await client.barrier(device)
            device.model.set_ptp(offset_us=0.2)
            await client.next("statusState")

    async def test_load_mode_resends_unchanged(self, clock):
        """resend_unchanged re-sends every subscribed object each frequency."""
        config = make_config(clock, devices=[DeviceSpec(resend_unchanged=True)])
        async with SnpFleet(config) as fleet:
            device = fleet.devices[0]
            async with connect(device) as client:
                first = await subscribed(
                    client, device, clock, subscribe(("ptp", None), ("system", None))
                )
                clock.advance(1.0)
                again = await client.next("statusState")
        assert first == again

    async def test_changes_before_the_answer_are_in_it(self, device, clock):
        """A change between subscription and answer is not sent twice."""
        async with connect(device) as client:
            await client.send(subscribe(("ptp", None)))
            await device.wait_subscribed()
            device.model.set_ptp(offset_us=0.4)
            clock.advance(1.0)
            (ptp,) = statuses(await client.next("statusState"))
            await client.barrier(device)
        assert ptp["ptpStatus"]["ptpMasterOffset"] == "0.400 us"

    async def test_personality_change_pushes_objects_state(self, device):
        """set_personality sends objectsState with the new configuration."""
        async with connect(device) as client:
            device.model.set_personality("processorC", "Remap")
            frame = await client.next("objectsState")
        expected = fixture("ws/server_objectsState_processorC.json")
        assert [json.loads(c) for c in frame["configurations"]] == [
            json.loads(c) for c in expected["configurations"]
        ]

    async def test_alarm_change_pushes_alarms_and_stats(self, device, clock):
        """A changed alarm set sends activeAlarmStatus and the system Alarm_Stats."""
        async with connect(device) as client:
            await subscribed(client, device, clock, subscribe(("system", None)))
            clock.advance(1.0)
            device.model.set_alarms([])
            alarms = await client.next("activeAlarmStatus")
            (system,) = statuses(await client.next("statusState"))
        assert alarms == fixture("ws/server_activeAlarmStatus_empty.json")
        assert system["Alarm_Stats"] == {
            "majorInstances": 0,
            "minorInstances": 0,
            "uniqueTypes": 0,
        }

    async def test_drift_pushes_ptp_every_second(self, clock):
        """With drift on, a PTP subscriber gets a statusState every ptp_interval."""
        async with SnpFleet(make_config(clock, drift=True)) as fleet:
            device = fleet.devices[0]
            async with connect(device) as client:
                await subscribed(client, device, clock, subscribe(("ptp", None)))
                seen = []
                for _ in range(3):
                    clock.advance(1.0)
                    (ptp,) = statuses(await client.next("statusState"))
                    seen.append(ptp["ptpStatus"]["ptpUTC"])
        assert len(set(seen)) == 3


class TestPeriodic:
    async def test_keepalives_every_interval(self, device, clock):
        """fmmStatus and permissionsMsg arrive every keepalive_interval."""
        async with connect(device) as client:
            await client.barrier(device)
            clock.advance(5.0)
            fmm = await client.recv()
            permissions = await client.recv()
        assert fmm["msgType"] == "fmmStatus"
        assert set(fmm) == set(fixture("ws/server_fmmStatus.json"))
        assert permissions == fixture("ws/server_permissionsMsg.json")

    async def test_alarm_interval_option(self, clock):
        """alarm_interval repeats activeAlarmStatus (the vendor's 2021 behaviour)."""
        async with SnpFleet(make_config(clock, alarm_interval=2.0)) as fleet:
            device = fleet.devices[0]
            async with connect(device) as client:
                clock.advance(2.0)
                frame = await client.next("activeAlarmStatus")
        assert frame == fixture("ws/server_activeAlarmStatus.json")

    async def test_pings_are_answered(self, device):
        """A client's WebSocket ping gets a pong."""
        async with connect(device) as client:
            waiter = await client.ws.ping()
            await waiter


class TestCommands:
    async def test_get_all_statuses(self, device):
        """getAllStatuses answers allStatuses with every object, elementIp echoed."""
        async with connect(device) as client:
            await client.send(fixture("ws/client_getAllStatuses.json"))
            frame = await client.next("allStatuses")
        expected = statuses(fixture("ws/server_allStatuses.json"))
        got = {(s["type"], s["object_ID"]): s for s in statuses(frame)}
        assert frame["elementIp"] == "127.0.0.1"
        assert all(got[(s["type"], s["object_ID"])] == s for s in expected)

    async def test_get_statuses(self, device):
        """getStatuses with the real address answers that object."""
        async with connect(device) as client:
            await client.send(fixture("ws/client_getStatuses.json"))
            (channel,) = statuses(await client.next("statusState"))
        assert channel == fixture("objects/procChannelHD_A-HD-1.json")

    async def test_unknown_object_and_element_are_silent(self, device):
        """getStatuses for an unknown object or element sends nothing."""
        async with connect(device) as client:
            await client.send(
                {
                    "msgType": "getStatuses",
                    "elementIp": "127.0.0.1",
                    "objectType": "nope",
                }
            )
            await client.send(
                {"msgType": "getAllStatuses", "elementIp": "198.51.100.7"}
            )
            await client.send({"msgType": "getObjects", "elementIp": "127.0.0.1"})
            await client.barrier(device)

    async def test_get_objects(self, device):
        """getObjects answers objectsState with the configuration."""
        async with connect(device) as client:
            await client.send(
                {
                    "msgType": "getObjects",
                    "elementIp": "192.0.2.21",
                    "objectType": "processor",
                    "objectId": "processorD",
                }
            )
            frame = await client.next("objectsState")
        (config,) = [json.loads(c) for c in frame["configurations"]]
        assert config["general"]["personality"] == "JPEG-XS Encoder (TR-07)"

    async def test_sync_me(self, device):
        """syncMe answers elementStatus, alarmConfigure, logsState as the fixtures."""
        async with connect(device) as client:
            await client.send(fixture("ws/client_syncMe.json"))
            frames = [
                await client.next(t)
                for t in ("elementStatus", "alarmConfigure", "logsState")
            ]
        assert frames == [
            fixture("ws/server_elementStatus.json"),
            fixture("ws/server_alarmConfigure.json"),
            fixture("ws/server_logsState.json"),
        ]

    async def test_get_all_objects_is_over_one_mib(self, device):
        """getAllObjects answers allObjects of string configurations over 1 MiB."""
        async with connect(device) as client:
            await client.send({"msgType": "getAllObjects", "elementIp": "127.0.0.1"})
            raw = await client.raw()
        frame = json.loads(raw)
        assert frame["msgType"] == "allObjects"
        assert len(raw.encode()) > 1024 * 1024
        assert all(isinstance(c, str) for c in frame["configurations"])

    async def test_bad_and_unknown_messages_are_ignored(self, device):
        """Non-JSON, no msgType and unknown types are logged and ignored."""
        async with connect(device) as client:
            for message in ("not json", "[1]", '{"msgType": "whatever"}'):
                await client.send(message)
            await client.ws.send(b"\x00binary")
            await client.barrier(device)
        assert list(device.messages)[:3] == [
            "not json",
            "[1]",
            '{"msgType": "whatever"}',
        ]
