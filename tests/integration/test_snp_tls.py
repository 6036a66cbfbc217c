"""The SNP exporter over https/wss, and its secrets.

TLS both ways: verification on, trusting the simulator's CA through ``ca_file``
or its certificate through a pinned fingerprint, refused without them; off for a
connection marked as migrated from the original. Secrets: the password never
leaves in an API answer, an export, a scrape or a log line.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator

import pytest

from exporterhub.exporters.snp.client import SnpTlsError, open_stream, tls_context
from exporterhub.exporters.snp.settings import SnpTargetSettings
from exporterhub.simulators.snp import DeviceSpec, SnpFleet, SnpSimConfig

from .conftest import Scrape
from .snp_hub import serving, settings_for, up

pytestmark = pytest.mark.timeout(60)

SECRET = "Distinctive-SNP-Pa55word"


@pytest.fixture
async def tls_fleet() -> AsyncIterator[SnpFleet]:
    config = SnpSimConfig(
        devices=[DeviceSpec(name="SNP-TLS", password=SECRET)],
        tls=True,
        first_status_delay=0.05,
        drift=False,
    )
    async with SnpFleet(config) as running:
        yield running


@pytest.fixture
async def hub(tmp_path):
    async with serving(tmp_path) as served:
        yield served


def pin_of(fleet: SnpFleet, *, colons: bool = False) -> str:
    assert fleet.certificates is not None
    der = ssl.PEM_cert_to_DER_cert(fleet.certificates.cert_pem.decode())
    digest = hashlib.sha256(der).hexdigest()
    if colons:
        return ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
    return digest


def up_with_personalities(scrape: Scrape) -> bool:
    """The stream is up and every processor's personality, polled over REST
    beside it (not after it), has arrived: both crossed the TLS check."""
    return up()(scrape) and (
        len(scrape.series("ic_snp_processor_personality_info")) == 4
    )


class TestTls:
    async def test_urls_are_https_and_wss(self, tls_fleet):
        device = tls_fleet.devices[0]
        assert device.rest_url.startswith("https://")
        assert device.ws_url.startswith("wss://")

    async def test_verified_with_the_ca_file(self, tls_fleet, hub, tmp_path):
        """Verification on, the simulator's CA trusted through ca_file."""
        assert tls_fleet.certificates is not None
        ca = tmp_path / "snp-ca.pem"
        ca.write_bytes(tls_fleet.certificates.ca_pem)
        await hub.add("lab", settings_for(tls_fleet.devices[0], ca_file=str(ca)))
        scrape = await hub.until(up_with_personalities)
        assert scrape.value("ic_snp_mainboard_temperature") == 46.0

    @pytest.mark.parametrize("colons", [False, True], ids=["hex", "colon-pairs"])
    async def test_verified_by_a_pinned_fingerprint(self, tls_fleet, hub, colons):
        """The certificate's SHA-256 pinned: accepted whatever its issuer."""
        settings = settings_for(
            tls_fleet.devices[0], tls_fingerprint=pin_of(tls_fleet, colons=colons)
        )
        await hub.add("lab", settings)
        await hub.until(up_with_personalities)

    async def test_wrong_pin_is_refused_before_any_credential(self, tls_fleet, hub):
        """Another certificate: status error (tls), no login reached the SNP."""
        device = tls_fleet.devices[0]
        await hub.add("lab", settings_for(device, tls_fingerprint="00" * 32))
        answer = await hub.until_link("lab", "error")
        assert answer["last_error_kind"] == "tls"
        assert device.logins == 0
        assert not [r for r in device.requests if r.path == "/api/auth"]

    async def test_untrusted_certificate_is_a_tls_error(self, tls_fleet, hub):
        """Verification on by default: a self-signed SNP is refused (tls)."""
        device = tls_fleet.devices[0]
        await hub.add("lab", settings_for(device))
        answer = await hub.until_link("lab", "error")
        assert answer["last_error_kind"] == "tls"
        assert "certificate" in answer["last_error"]
        assert device.logins == 0

    async def test_unusable_ca_file(self, tls_fleet, hub, tmp_path):
        """A CA file that cannot be read is a tls error naming the file."""
        missing = tmp_path / "missing.pem"
        await hub.add("lab", settings_for(tls_fleet.devices[0], ca_file=str(missing)))
        answer = await hub.until_link("lab", "error")
        assert answer["last_error_kind"] == "tls"
        assert "missing.pem" in answer["last_error"]

    async def test_legacy_connection_keeps_verification_off(self, tls_fleet, hub):
        """A connection migrated from the original works as it did, and says so."""
        settings = settings_for(tls_fleet.devices[0], tls_verify=False, legacy_tls=True)
        await hub.add("lab", settings)
        await hub.until(up())
        answer = await hub.target("lab")
        assert answer["settings"]["legacy_tls"] is True
        assert answer["settings"]["tls_verify"] is False
        assert [n["badge"] for n in answer["notices"]] == ["legacy TLS"]

    async def test_new_connections_verify_by_default(self, hub, tls_fleet):
        """A connection created without TLS fields verifies (and is not legacy)."""
        created = await hub.add("lab", settings_for(tls_fleet.devices[0]))
        assert created["settings"]["tls_verify"] is True
        assert created["settings"]["legacy_tls"] is False


class TestSecrets:
    async def test_password_never_leaves(self, tls_fleet, hub, tmp_path, capsys):
        """Not in the API, the export, the metrics or the logs, working or not."""
        assert tls_fleet.certificates is not None
        ca = tmp_path / "ca.pem"
        ca.write_bytes(tls_fleet.certificates.ca_pem)
        device = tls_fleet.devices[0]
        await hub.add("lab", settings_for(device, ca_file=str(ca)))
        await hub.add(
            "bad", settings_for(device, ca_file=str(ca), password=SECRET + "-wrong")
        )
        await hub.until(up("lab"))
        await hub.until_link("bad", "error")
        answers = [
            (await hub.client.get(path)).text
            for path in (
                "/api/targets",
                "/api/targets/snp/lab",
                "/api/targets/snp/bad",
                "/api/export",
                "/metrics",
            )
        ]
        logs = capsys.readouterr()
        for text in [*answers, logs.out, logs.err]:
            assert SECRET not in text
            assert "Bearer " not in text  # nor a token
        exported = (await hub.client.get("/api/export")).json()
        for target in exported["targets"]:
            assert target["settings"].get("password") is None


class TestStreamTls:
    """The WebSocket's own TLS, on its own (the login fails first otherwise)."""

    @staticmethod
    def settings(fleet: SnpFleet, **tls: object) -> SnpTargetSettings:
        device = fleet.devices[0]
        return SnpTargetSettings.model_validate(
            {"name": "lab", **settings_for(device), **tls}
        )

    async def test_pinned_certificate_opens_the_stream(self, tls_fleet):
        settings = self.settings(tls_fleet, tls_fingerprint=pin_of(tls_fleet))
        stream = await open_stream(settings, tls_context(settings), lambda _: None)
        stream.close()
        await stream.wait_closed()

    @pytest.mark.parametrize(
        "tls", [{"tls_fingerprint": "00" * 32}, {}], ids=["wrong-pin", "untrusted"]
    )
    async def test_untrusted_stream_is_refused(self, tls_fleet, tls):
        settings = self.settings(tls_fleet, **tls)
        with pytest.raises(SnpTlsError):
            await open_stream(settings, tls_context(settings), lambda _: None)
        assert tls_fleet.devices[0].connections == 0
