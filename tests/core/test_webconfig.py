"""Tests of the exporter-toolkit web configuration: validation, TLS, basic auth."""

from __future__ import annotations

import base64
import ssl

import bcrypt
import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.core.webconfig import BasicAuthCheck, load_web_config

from .tls import self_signed

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


class TestLoad:
    """The file is validated at start; errors name the file and the key."""

    def test_full_file_loads(self, tmp_path):
        """TLS, headers and users load; the TLS context has the asked versions."""
        cert, key = self_signed(tmp_path)
        path = tmp_path / "web.yml"
        path.write_text(
            "tls_server_config:\n"
            f"  cert_file: {cert.name}\n  key_file: {key.name}\n"
            "  min_version: TLS13\n"
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
            f"basic_auth_users:\n  alice: '{HASH}'\n"
        )
        config, context = load_web_config(path)
        assert config.auth_enabled
        assert config.http_server_config.headers == {"X-Frame-Options": "deny"}
        assert context is not None
        assert context.minimum_version is ssl.TLSVersion.TLSv1_3

    def test_no_tls_gives_no_context(self, tmp_path):
        """Auth alone: no TLS context."""
        path = tmp_path / "web.yml"
        path.write_text(f"basic_auth_users:\n  alice: '{HASH}'\n")
        config, context = load_web_config(path)
        assert context is None
        assert config.auth_enabled

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param("tls_server_confg: {}\n", "tls_server_confg", id="typo"),
            pytest.param(
                "basic_auth_users: {alice: plain}\n",
                "basic_auth_users.alice: Value error, not a bcrypt hash",
                id="plain-password",
            ),
            pytest.param(
                "tls_server_config: {cert_file: a.crt}\n",
                "tls_server_config.key_file: Field required",
                id="missing-key-file",
            ),
            pytest.param(
                "tls_server_config: {cert_file: a, key_file: b, min_version: SSL3}\n",
                "tls_server_config.min_version",
                id="bad-version",
            ),
        ],
    )
    def test_bad_files(self, tmp_path, text, message):
        """Each mistake is one ConfigError naming the file and the key."""
        path = tmp_path / "web.yml"
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_web_config(path)
        assert str(path) in str(info.value)
        assert message in str(info.value)

    def test_missing_certificate_file(self, tmp_path):
        """A certificate that cannot be read stops the start, naming it."""
        path = tmp_path / "web.yml"
        path.write_text("tls_server_config: {cert_file: no.crt, key_file: no.key}\n")
        with pytest.raises(ConfigError, match=r"cannot load cert_file .*no\.crt"):
            load_web_config(path)

    def test_verified_client_certs_need_a_ca(self, tmp_path):
        """Asking to verify client certificates without a CA file is an error."""
        cert, key = self_signed(tmp_path)
        path = tmp_path / "web.yml"
        path.write_text(
            f"tls_server_config: {{cert_file: {cert.name}, key_file: {key.name}, "
            "client_auth_type: RequireAndVerifyClientCert}\n"
        )
        with pytest.raises(ConfigError, match="needs client_ca_file"):
            load_web_config(path)


class TestBasicAuth:
    """Headers are checked against bcrypt hashes; good ones are remembered."""

    def test_good_password(self):
        """The right password authenticates the user."""
        assert BasicAuthCheck({"alice": HASH})(basic("alice", "s3cret")) == "alice"

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param(basic("alice", "wrong"), id="wrong-password"),
            pytest.param(basic("mallory", "s3cret"), id="unknown-user"),
            pytest.param(b"Basic !!!notbase64", id="not-base64"),
            pytest.param(b"Basic " + base64.b64encode(b"nocolon"), id="no-colon"),
            pytest.param(b"Bearer abc", id="other-scheme"),
            pytest.param(b"", id="empty"),
            pytest.param(None, id="missing"),
        ],
    )
    def test_refused(self, header):
        """Anything but the right user and password is refused."""
        assert BasicAuthCheck({"alice": HASH})(header) is None

    def test_wrong_password_is_never_cached(self):
        """A refused header stays refused; a good one is answered from the cache."""
        check = BasicAuthCheck({"alice": HASH})
        assert check(basic("alice", "wrong")) is None
        assert check(basic("alice", "wrong")) is None
        assert check(basic("alice", "s3cret")) == "alice"
        assert check(basic("alice", "s3cret")) == "alice"
        assert len(check._good) == 1
