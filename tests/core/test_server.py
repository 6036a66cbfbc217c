"""Tests of listen-address parsing and the uvicorn server factory."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from exporterhub.core.errors import ConfigError
from exporterhub.core.server import make_server, parse_listen_address


class TestParseListenAddress:
    """host:port, :port and [v6]:port are split into host and port."""

    @pytest.mark.parametrize(
        ("address", "expected"),
        [
            pytest.param(":9753", ("0.0.0.0", 9753), id="port-only-all-interfaces"),
            pytest.param("127.0.0.1:8750", ("127.0.0.1", 8750), id="ipv4"),
            pytest.param("localhost:80", ("localhost", 80), id="hostname"),
            pytest.param("[::1]:80", ("::1", 80), id="ipv6-loopback"),
            pytest.param("[::]:9100", ("::", 9100), id="ipv6-any"),
            pytest.param("0.0.0.0:0", ("0.0.0.0", 0), id="ephemeral"),
            pytest.param("host:65535", ("host", 65535), id="max-port"),
        ],
    )
    def test_valid(self, address, expected):
        """Valid addresses give (host, port)."""
        assert parse_listen_address(address) == expected

    @pytest.mark.parametrize(
        ("address", "message"),
        [
            pytest.param("9753", "expected host:port", id="no-colon"),
            pytest.param("", "expected host:port", id="empty"),
            pytest.param("host:", "port is not a number", id="empty-port"),
            pytest.param("host:http", "port is not a number", id="named-port"),
            pytest.param("host:80.5", "port is not a number", id="fraction"),
            pytest.param("host:65536", "port out of range", id="too-big"),
            pytest.param("host:-1", "port out of range", id="negative"),
        ],
    )
    def test_invalid(self, address, message):
        """Invalid addresses raise ConfigError quoting the address."""
        with pytest.raises(ConfigError) as info:
            parse_listen_address(address)
        assert str(info.value) == f"listen address {address!r}: {message}"


class TestMakeServer:
    """The server factory fixes the project's uvicorn settings."""

    def test_config(self):
        """The server binds where asked, with lifespan on and access log off."""
        app = FastAPI()
        server = make_server(app, "127.0.0.1", 12345)
        config = server.config
        assert (config.host, config.port) == ("127.0.0.1", 12345)
        assert config.app is app
        assert config.lifespan == "on"
        assert config.access_log is False
        assert config.log_config is None
        assert config.timeout_graceful_shutdown == 1


def test_bound_socket_is_tcp_so_asyncio_disables_nagle():
    """The listening socket names IPPROTO_TCP, so accepted sockets get TCP_NODELAY."""
    import socket

    from exporterhub.core.server import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_busy_port_is_a_config_error():
    """Binding a port that is already taken raises ConfigError naming it."""
    from exporterhub.core.server import bind_socket

    first = bind_socket("127.0.0.1", 0)
    first.listen()
    port = first.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}: cannot bind"):
            bind_socket("127.0.0.1", port)
    finally:
        first.close()
