"""The SNP exporter end to end: the real simulator over loopback, the real app.

Every target is created through the control plane's API into a real SQLite
target store; the hub runs on a ``FakeClock`` the tests move, so freshness,
retries and polls are driven without sleeping. The simulator runs on real time
(its keepalives, 5 s apart, never arrive within a test unless asked for).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from structlog.testing import capture_logs

from exporterhub.core.testing import free_port, wait_until
from exporterhub.simulators.snp import (
    Close,
    DeviceSpec,
    ProcessorFault,
    SnpFleet,
    SnpSimConfig,
)
from tests.exporters.snp.test_collector import ADDITIONS, HEALTH, KEPT, ORIGINAL

from .snp_hub import serving, settings_for, up

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def fleet() -> AsyncIterator[SnpFleet]:
    config = SnpSimConfig(
        devices=[DeviceSpec(name="SNP-LAB-1")],
        first_status_delay=0.05,
        drift=False,
    )
    async with SnpFleet(config) as running:
        yield running


@pytest.fixture
async def hub(tmp_path):
    async with serving(tmp_path) as served:
        yield served


class TestSeries:
    async def test_every_documented_series(self, fleet, hub):
        """A stored connection exposes every §6.1, §6.2 and §6.3 name."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        wanted = set(ORIGINAL + HEALTH + ADDITIONS)
        scrape = await hub.until(
            lambda s: (
                wanted <= {x.name for x in s.samples()}
                and len(s.series("ic_snp_processor_personality_info")) == 4
                and s.value("ic_snp_active_alarms") is not None
            )
        )
        assert scrape.value("ic_snp_up", target="lab") == 1.0
        assert scrape.value("ic_snp_api_status", target="lab") == 1.0
        assert scrape.value("ic_snp_mainboard_temperature", target="lab") == 46.0
        assert scrape.value("ic_snp_aco_abstatus", index="A-HD-1") == 1.0
        assert len(scrape.series("ic_snp_video_rx_info")) == 36
        personalities = {
            s.labels["processor"]: s.labels["personality"]
            for s in scrape.series("ic_snp_processor_personality_info")
        }
        assert personalities == {
            p: device.model.personality(p)
            for p in ("processorA", "processorB", "processorC", "processorD")
        }
        assert scrape.value("ic_snp_active_alarms") == len(device.model.alarms)
        answer = await hub.target("lab")
        assert answer["link"] == "connected"

    async def test_no_process_or_gc_collectors(self, fleet, hub):
        """Python's process, platform and gc collectors are not served."""
        await hub.add("lab", settings_for(fleet.devices[0]))
        scrape = await hub.until(up())
        names = {s.name for s in scrape.samples()}
        assert not {n for n in names if n.startswith(("process_", "python_"))}
        assert "ic_snp_exporter_build_info" in names

    async def test_subscription_is_sent_as_stored(self, fleet, hub):
        """The token first, then statusListSubscribe with objects_ids as stored."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await device.wait_subscribed(timeout=5)
        assert device.sessions == 1  # the first frame was an issued token
        sent = orjson.loads(device.messages[0])
        assert sent == {
            "msgType": "statusListSubscribe",
            "frequency": 1000,
            "objectIds": settings_for(device)["objects_ids"],
        }

    async def test_device_changes_arrive(self, fleet, hub):
        """Model changes reach /metrics as the SNP pushes them."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await hub.until(up())
        device.model.unlock_ptp()
        device.model.fail_fan("front", 3)
        device.model.set_qsfp_na(1)
        device.model.flip_aco("A-HD-1")
        device.model.pull_power_supply(2)
        device.model.set_video_standard(2, "Not Present")
        scrape = await hub.until(
            lambda s: (
                s.value("ic_snp_ptp_status") == 0.0
                and s.value("ic_snp_front_fan_status", index="3") == 0.0
                and s.value("ic_snp_qsfp_temperature", index="1") is None
                and s.value("ic_snp_aco_abstatus", index="A-HD-1") == 0.0
                and s.value("ic_snp_powersupply_present", psu="2") == 0.0
                and s.value("ic_snp_video_rx_info", index="2", video="Not Present")
                == 1.0
            )
        )
        assert scrape.value("ic_snp_ptp_is_master") == 1.0
        assert scrape.value("ic_snp_qsfp_rx_power_dbm", index="1", lane="1") is None
        assert scrape.value("ic_snp_video_rx_missing_packets_total", index="2") is None

    async def test_personality_change_is_pushed(self, fleet, hub):
        """objectsState updates a personality without waiting for the poll."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await hub.until(
            lambda s: len(s.series("ic_snp_processor_personality_info")) == 4
        )
        device.model.set_personality("processorC", "Remap")
        await hub.until(
            lambda s: (
                s.value(
                    "ic_snp_processor_personality_info",
                    processor="processorC",
                    personality="Remap",
                )
                == 1.0
            )
        )

    async def test_all_statuses_answer(self, hub):
        """A subscription answered with allStatuses (what the original expected)."""
        spec = DeviceSpec(name="SNP-OLD", answer_with_all_statuses=True)
        config = SnpSimConfig(devices=[spec], first_status_delay=0.05, drift=False)
        async with SnpFleet(config) as fleet:
            await hub.add("lab", settings_for(fleet.devices[0]))
            scrape = await hub.until(up())
            assert scrape.value("ic_snp_mainboard_temperature") is not None


VALUES = (
    "ic_snp_mainboard_temperature",
    "ic_snp_video_rx_info",
    "ic_snp_active_alarms",
    "ic_snp_ptp_info",
    "ic_snp_ptp_status",
    "ic_snp_object_last_update_timestamp_seconds",
)
"""Device-value families that must vanish while the stream is down (§7)."""


def down(s) -> bool:
    """The stream is down: health 0, no device value, identity and counters kept."""
    names = {x.name for x in s.samples()}
    return (
        s.value("ic_snp_up") == 0.0
        and s.value("ic_snp_api_status") == 0.0
        and not names & set(VALUES)
        and "ic_snp_hardware_info" in names
        and "ic_snp_received_count_total" in names
    )


def snp_names(s) -> set[str]:
    return {x.name for x in s.samples() if x.name.startswith("ic_snp_")}


class TestFreshness:
    async def test_closed_stream_omits_values_and_keeps_identity(self, fleet, hub):
        """§7: a closed stream hides every value at once; identity and counters
        stay; the status reads disconnected; a reconnect brings values back."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        before = await hub.until(
            lambda s: (
                up()(s) and len(s.series("ic_snp_processor_personality_info")) == 4
            )
        )
        assert device.faults.close(1011) == 1
        scrape = await hub.until(down)
        assert snp_names(scrape) <= KEPT | {"ic_snp_exporter_build_info"}
        assert len(scrape.series("ic_snp_processor_personality_info")) == 4
        assert scrape.value("ic_snp_received_count_total") >= before.value(
            "ic_snp_received_count_total"
        )
        answer = await hub.until_link("lab", "disconnected")
        assert answer["last_error_kind"] == "closed"
        await hub.until(up(), step=0.5)
        assert device.logins == 2  # a fresh token for the new connection
        scrape = await hub.scrape()
        assert scrape.value("ic_snp_exporter_reconnects_total") == 1.0

    async def test_half_open_socket_is_caught_by_stale_after(self, fleet, hub):
        """A socket that goes silent: values vanish at stale_after on the clock
        (before the worker notices), then the worker closes it and reconnects."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device, stale_after=30))
        await hub.until(up())
        device.faults.silent = True
        hub.clock.advance(29)
        assert (await hub.scrape()).value("ic_snp_up") == 1.0
        hub.clock.advance(1.5)
        await hub.until(down)
        answer = await hub.until_link("lab", "disconnected")
        assert answer["last_error_kind"] == "stale"
        device.faults.silent = False
        await hub.until(up(), step=0.5)
        assert device.connections >= 2

    @pytest.mark.parametrize("mid_frame", [False, True], ids=["drop", "mid-frame"])
    async def test_dropped_connection(self, fleet, hub, mid_frame):
        """A TCP connection lost without a close frame (even inside a frame)."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await hub.until(up())
        dropped = device.faults.drop_mid_frame() if mid_frame else device.faults.drop()
        assert dropped == 1
        await hub.until(down)
        answer = await hub.until_link("lab", "disconnected")
        assert answer["last_error_kind"] == "closed"
        scrape = await hub.until(up(), step=0.5)
        assert scrape.value("ic_snp_exporter_parse_errors_total") == 0.0


class TestMalformed:
    @pytest.mark.parametrize(
        ("kind", "errors", "ptp_applied"),
        [
            ("not_json", 1, False),
            ("truncated", 1, False),
            ("no_msg_type", 1, False),
            ("statuses_not_list", 1, False),
            ("bad_item", 1, True),
            ("item_no_type", 1, False),
            ("item_is_object", 0, True),
            ("binary", 0, True),
            ("odd_values", 0, False),
            ("unknown_msg_type", 0, False),
            ("oversize", 0, True),
        ],
    )
    async def test_bad_frames_are_counted_and_the_connection_kept(
        self, fleet, hub, kind, errors, ptp_applied
    ):
        """Each bad frame counts as received and as its parse errors; the
        connection stays; the good item beside a broken one is applied."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        before = await hub.until(up())
        received = before.value("ic_snp_received_count_total")
        arrived = before.value(
            "ic_snp_object_last_update_timestamp_seconds", object_type="ptp"
        )
        hub.clock.advance(1)
        assert device.faults.send_malformed(kind) == 1
        scrape = await hub.until(
            lambda s: s.value("ic_snp_received_count_total") == received + 1
        )
        assert scrape.value("ic_snp_exporter_parse_errors_total") == errors
        assert scrape.value("ic_snp_up") == 1.0
        ptp_at = scrape.value(
            "ic_snp_object_last_update_timestamp_seconds", object_type="ptp"
        )
        assert ptp_at == (arrived + 1 if ptp_applied else arrived)
        assert device.sessions == 1
        assert (await hub.target("lab"))["link"] == "connected"

    async def test_odd_values_leave_no_made_up_value(self, fleet, hub):
        """ "---" and "N/A" give no series (never 0), the rest stays."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await hub.until(up())
        device.faults.send_malformed("odd_values")
        scrape = await hub.until(
            lambda s: s.value("ic_snp_mainboard_temperature") is None
        )
        assert scrape.value("ic_snp_ioboard_temperature") is not None
        assert scrape.value("ic_snp_front_fan_rpm", index="2") is None
        assert scrape.series("ic_snp_fpga_temperature") == []


def retry_delays(logs: list[dict]) -> list[float]:
    """The reconnect delays the supervisor chose, in order."""
    return [e["delay"] for e in logs if e["event"] == "stream_retry"]


class TestFaults:
    async def test_bad_login_is_an_error_not_a_flap(self, fleet, hub):
        """Refused credentials: status error (auth), the counter, no retry loop."""
        device = fleet.devices[0]
        with capture_logs() as logs:
            await hub.add("lab", settings_for(device, password="wrong-password"))
            answer = await hub.until_link("lab", "error")
        assert answer["last_error_kind"] == "auth"
        scrape = await hub.until(
            lambda s: s.value("ic_snp_exporter_auth_failures_total") == 1.0
        )
        assert scrape.value("ic_snp_exporter_rest_errors_total", call="auth") == 0.0
        assert scrape.value("ic_snp_up") == 0.0
        assert device.connections == 0  # no socket opened without a token
        # Not retried in a loop: the next attempt waits the capped delay.
        assert retry_delays(logs) == [4.0]

    async def test_fixed_password_through_the_api_recovers(self, fleet, hub):
        """A PATCH of the password restarts the worker, which then connects."""
        device = fleet.devices[0]
        settings = settings_for(device, password="wrong-password")
        created = await hub.add("lab", settings)
        await hub.until_link("lab", "error")
        response = await hub.client.patch(
            "/api/targets/snp/lab",
            json={
                "settings": {"password": device.spec.password},
                "revision": created["revision"],
            },
        )
        assert response.status_code == 200, response.text
        await hub.until(up())
        assert (await hub.target("lab"))["link"] == "connected"

    async def test_socket_refusing_the_token(self, hub):
        """1008 right after the token is an authentication failure (§4.1)."""
        spec = DeviceSpec(name="SNP-1008", script=[(0.0, Close(1008, "bad token"))])
        async with SnpFleet(SnpSimConfig(devices=[spec], drift=False)) as fleet:
            await hub.add("lab", settings_for(fleet.devices[0]))
            answer = await hub.until_link("lab", "error")
            assert answer["last_error_kind"] == "auth"
            scrape = await hub.until(
                lambda s: s.value("ic_snp_exporter_auth_failures_total") == 1.0
            )
            assert scrape.value("ic_snp_up") == 0.0

    async def test_closed_before_any_frame_is_a_refused_token(self, hub):
        """A socket closed (even normally) before its first frame: auth (§4.1)."""
        spec = DeviceSpec(name="SNP-QUIET", script=[(0.0, Close(1000))])
        async with SnpFleet(SnpSimConfig(devices=[spec], drift=False)) as fleet:
            await hub.add("lab", settings_for(fleet.devices[0]))
            answer = await hub.until_link("lab", "error")
            assert answer["last_error_kind"] == "auth"

    async def test_rebooting_device_is_retried_with_backoff(self, fleet, hub):
        """Logins and upgrades answered 503 for a while: disconnected, the REST
        error counted, growing delays (capped), then a fresh token works."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await hub.until(up())
        with capture_logs() as logs:
            device.faults.reboot(for_seconds=1.0)
            await hub.until(down)
            answer = await hub.until_link("lab", "disconnected")
            assert answer["last_error_kind"] in {"closed", "unavailable"}
            await hub.until(
                lambda s: (
                    s.value("ic_snp_exporter_rest_errors_total", call="auth") >= 3
                ),
                step=0.5,
            )
        answer = await hub.target("lab")
        assert answer["last_error_kind"] == "unavailable"
        delays = retry_delays(logs)
        assert len(delays) >= 3
        assert 0.8 <= delays[0] <= 1.2  # interval, ±20 % jitter
        assert 1.6 <= delays[1] <= 2.4  # doubled
        assert max(delays) <= 4.0  # capped
        await hub.until(up(), step=0.5, within=15)
        scrape = await hub.scrape()
        assert scrape.value("ic_snp_exporter_auth_failures_total") == 0.0
        assert scrape.value("ic_snp_exporter_reconnects_total") >= 3

    async def test_upgrade_rejected(self, fleet, hub):
        """A 403 on the upgrade: disconnected (rejected), retried."""
        device = fleet.devices[0]
        device.faults.reject_upgrade(403)
        await hub.add("lab", settings_for(device))
        answer = await hub.until_link("lab", "disconnected")
        assert answer["last_error_kind"] == "rejected"
        device.faults.accept()
        await hub.until(up(), step=0.5)

    async def test_unreachable_device(self, hub):
        """Nothing listening: disconnected (refused), the REST error counted."""
        settings = {
            "restapi": f"http://127.0.0.1:{free_port()}/api/auth",
            "websocket": f"ws://127.0.0.1:{free_port()}/smm",
            "username": "monitor",
            "password": "example-only-password",
        }
        await hub.add("lab", settings | {"interval": 1.0, "reconnect_max": 4.0})
        answer = await hub.until_link("lab", "disconnected")
        assert answer["last_error_kind"] == "refused"
        await hub.until(
            lambda s: s.value("ic_snp_exporter_rest_errors_total", call="auth") == 1.0
        )

    async def test_expired_tokens_mean_a_fresh_login(self, fleet, hub):
        """Every connection logs in anew, so expired tokens never stick."""
        device = fleet.devices[0]
        await hub.add("lab", settings_for(device))
        await hub.until(up())
        assert device.faults.expire_tokens() >= 1
        device.faults.close(1000)
        await hub.until(down)
        await hub.until(up(), step=0.5)
        assert device.logins == 2
        scrape = await hub.scrape()
        assert scrape.value("ic_snp_exporter_auth_failures_total") == 0.0

    async def test_no_status_warning(self, hub):
        """Keepalives but no statusState 10 s after subscribing: a warning that
        names the likely cause (elementIP must be 127.0.0.1)."""
        config = SnpSimConfig(
            devices=[DeviceSpec(name="SNP-IP")], keepalive_interval=0.05, drift=False
        )
        async with SnpFleet(config) as fleet:
            device = fleet.devices[0]
            wrong = [{"elementIP": "192.0.2.21", "objectType": "ptp"}]
            with capture_logs() as logs:
                await hub.add("lab", settings_for(device, objects_ids=wrong))
                await hub.until(lambda s: s.value("ic_snp_up") == 1.0)
                hub.clock.advance(10)
                await wait_until(
                    lambda: any(
                        e["event"] == "snp_no_status_after_subscribe" for e in logs
                    )
                )
            warning = next(
                e for e in logs if e["event"] == "snp_no_status_after_subscribe"
            )
            assert warning["log_level"] == "warning"
            assert "127.0.0.1" in warning["hint"]


class TestPersonalities:
    async def test_one_failing_processor_hides_only_its_own(self, fleet, hub):
        """A processor whose config fails has no series; the others do (§3.1)."""
        device = fleet.devices[0]
        device.faults.fail_processor("processorB", ProcessorFault.ERROR)
        await hub.add("lab", settings_for(device))
        scrape = await hub.until(
            lambda s: (
                len(s.series("ic_snp_processor_personality_info")) == 3
                and s.value(
                    "ic_snp_exporter_rest_errors_total", call="processor_config"
                )
                == 1.0
            )
        )
        shown = {
            s.labels["processor"]
            for s in scrape.series("ic_snp_processor_personality_info")
        }
        assert shown == {"processorA", "processorC", "processorD"}

    async def test_polled_every_interval_keeping_the_last_known(self, fleet, hub):
        """Each round asks again; a processor failing later keeps its value; a
        processor without personality counts as a failure."""
        device = fleet.devices[0]
        settings = settings_for(device, personality_interval=5, stale_after=3600)
        await hub.add("lab", settings)
        await hub.until(
            lambda s: len(s.series("ic_snp_processor_personality_info")) == 4
        )
        asked = len(config_requests(device))
        device.faults.fail_processor("processorA", ProcessorFault.NO_PERSONALITY)
        device.faults.fail_processor("processorD", ProcessorFault.ERROR)
        device.model.set_personality("processorB", "Remap")
        await next_round(hub, device, asked)
        scrape = await hub.until(
            lambda s: (
                s.value(
                    "ic_snp_processor_personality_info",
                    processor="processorB",
                    personality="Remap",
                )
                == 1.0
                and s.value(
                    "ic_snp_exporter_rest_errors_total", call="processor_config"
                )
                == 2.0
                and len(config_requests(device)) == asked + 4
            )
        )
        assert len(scrape.series("ic_snp_processor_personality_info")) == 4

    async def test_slow_processor_delays_no_other(self, fleet, hub):
        """A processor that never answers times out alone."""
        device = fleet.devices[0]
        device.faults.fail_processor("processorC", ProcessorFault.SLOW)
        await hub.add("lab", settings_for(device, timeout=0.5))
        scrape = await hub.until(
            lambda s: len(s.series("ic_snp_processor_personality_info")) == 3
        )
        assert (
            scrape.value("ic_snp_processor_personality_info", processor="processorC")
            is None
        )
        await hub.until(
            lambda s: (
                s.value("ic_snp_exporter_rest_errors_total", call="processor_config")
                == 1.0
            )
        )

    async def test_expired_token_logs_in_once_more(self, fleet, hub):
        """A 401 on a poll: one new login, the poll repeated, no error counted."""
        device = fleet.devices[0]
        settings = settings_for(device, personality_interval=5, stale_after=3600)
        await hub.add("lab", settings)
        await hub.until(
            lambda s: len(s.series("ic_snp_processor_personality_info")) == 4
        )
        asked = len(config_requests(device))
        device.faults.expire_tokens()
        await next_round(hub, device, asked)
        scrape = await hub.until(
            lambda s: (
                len(config_requests(device)) == asked + 8
                and len(s.series("ic_snp_processor_personality_info")) == 4
            )
        )
        assert device.logins == 2
        assert (
            scrape.value("ic_snp_exporter_rest_errors_total", call="processor_config")
            == 0.0
        )
        assert scrape.value("ic_snp_exporter_auth_failures_total") == 0.0


def config_requests(device) -> list:
    return [r for r in device.requests if "/config/processor" in r.path]


async def next_round(hub, device, asked: int) -> None:
    """Move the clock until one more personality round has begun, then stop.

    The clock moves only while the simulator has seen no new request, and no
    await separates that check from the move, so the poller, busy with the round
    from its first request on, cannot be woken for a second one: what follows
    sees exactly one round, however slow the machine.
    """
    await hub.until(lambda _: len(config_requests(device)) > asked, step=5)
