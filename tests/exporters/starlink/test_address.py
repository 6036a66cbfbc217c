"""The dish address grammar: host name, IPv4 or [IPv6], and a port 1-65535.

The regular expression is checked against an independent reading of the same
rules built on ``ipaddress``, and the model against the served schema, so the
pattern, the validation and the JSON schema are one rule.
"""

from __future__ import annotations

import ipaddress
import re

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains
from pydantic import ValidationError

from exporterhub.exporters.starlink.address import (
    HOST_PORT_PATTERN,
    MAX_ADDRESS_LENGTH,
)
from exporterhub.exporters.starlink.settings import LiveSettings

LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
SCHEMA = jsonschema_rs.validator_for(LiveSettings.model_json_schema())


def oracle(address: str) -> bool:
    """Say whether ``address`` is host:port, written without regular expressions."""
    host, sep, port = address.rpartition(":")
    if not sep or len(address) > MAX_ADDRESS_LENGTH:
        return False
    if not (port.isascii() and port.isdigit()) or port[0] == "0":
        return False
    if not 1 <= int(port) <= 65535:
        return False
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        if "%" in inner:  # zone indexes are not allowed
            return False
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        # ipaddress reads a trailing dotted quad with leading zeros too leniently.
        quad = inner.rpartition(":")[2]
        return "." not in quad or _ipv4(quad)
    if _ipv4(host):
        return True
    labels = host.split(".")
    return (
        len(host) <= 253
        and all(len(label) <= 63 and LABEL.match(label) for label in labels)
        and labels[-1][:1].isalpha()
        and labels[-1][:1].isascii()
    )


def _ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def matches(address: str) -> bool:
    """Apply the rule as the schema states it: the pattern and the length limit."""
    fits = len(address) <= MAX_ADDRESS_LENGTH
    return fits and re.fullmatch(HOST_PORT_PATTERN, address) is not None


def model_accepts(address: str) -> bool:
    try:
        LiveSettings(dish_address=address)
    except ValidationError:
        return False
    return True


VALID = [
    "192.168.100.1:9200",
    "127.0.0.1:1",
    "255.255.255.255:65535",
    "dish:9200",
    "localhost:8000",
    "starlink-dish.local:9200",
    "a.b-c.d1:80",
    "1e100.net:443",
    "[::1]:9200",
    "[::]:1",
    "[2001:db8::8a2e:370:7334]:9200",
    "[::ffff:192.168.100.1]:9200",
    "[1:2:3:4:5:6:7:8]:9",
    "[1::2:3:4:5:6:7]:9",
    "[1:2:3:4:5:6:7::]:9",
    "[FE80::1]:9200",
    "x" * 63 + ".example:9200",
]
INVALID = [
    "0000",
    "1234:80",
    "nohost",
    ":9200",
    "dish:",
    "dish:0",
    "dish:65536",
    "dish:09200",
    "dish:+80",
    "http://dish:9200",
    " dish:9200",
    "dish:9200 ",
    "dish:9200\n",
    "di\x00sh:9200",
    "dish_1:9200",
    "-dish:9200",
    "dish-:9200",
    "dish..local:9200",
    "dish.:9200",
    "dish.123:9200",
    "x" * 64 + ".example:9200",
    "a." * 126 + "aa:1",
    "256.1.1.1:80",
    "1.2.3.04:80",
    "1.2.3:80",
    "::1:9200",
    "[::1]9200",
    "[1:2:3:4:5:6:7:8:9]:1",
    "[1::2::3]:1",
    "[fe80::1%eth0]:1",
    "[::ffff:1.2.3.04]:1",
    "[12345::]:1",
    "dish:٣",
]


class TestPattern:
    @pytest.mark.parametrize("address", VALID)
    def test_valid(self, address):
        """Host names, IPv4 and bracketed IPv6 with a port are accepted."""
        assert oracle(address)
        assert matches(address)
        assert model_accepts(address)
        assert SCHEMA.is_valid({"dish_address": address})

    @pytest.mark.parametrize("address", INVALID)
    def test_invalid(self, address):
        """Everything else is refused by the pattern, the model and the schema."""
        assert not oracle(address)
        assert not matches(address)
        assert not model_accepts(address)
        assert not SCHEMA.is_valid({"dish_address": address})

    def test_error_message_is_readable(self):
        """The refusal says what is expected, not the 1 800-character pattern."""
        with pytest.raises(ValidationError) as info:
            LiveSettings(dish_address="http://dish:9200")
        (error,) = info.value.errors()
        assert error["msg"].startswith("must be host:port")
        assert len(error["msg"]) < 200

    def test_schema_carries_pattern_and_length(self):
        """The schema states the pattern and the length limit the model applies."""
        field = LiveSettings.model_json_schema()["properties"]["dish_address"]
        assert field["pattern"] == HOST_PORT_PATTERN
        assert field["maxLength"] == MAX_ADDRESS_LENGTH


ports = st.integers(1, 65535)
addresses = st.one_of(
    st.builds(lambda ip, p: f"{ip}:{p}", st.ip_addresses(v=4), ports),
    st.builds(lambda ip, p: f"[{ip.compressed}]:{p}", st.ip_addresses(v=6), ports),
    st.builds(lambda ip, p: f"[{ip.exploded}]:{p}", st.ip_addresses(v=6), ports),
    st.builds(lambda d, p: f"{d}:{p}", domains(max_length=240), ports),
)
noise = st.text(
    alphabet=st.sampled_from("0123456789abcdefABCDEF:.[]-_% x\x00/é٣"), max_size=48
)


class TestGenerated:
    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(address=addresses)
    def test_real_addresses_are_accepted(self, address):
        """Generated IPv4, IPv6 (both spellings) and domain names pass."""
        assert oracle(address), address
        assert matches(address), address
        assert model_accepts(address), address

    @settings(max_examples=600, deadline=None, derandomize=True)
    @given(address=noise | addresses.map(lambda a: a[:-1] + "x"))
    def test_pattern_model_and_schema_agree_with_the_oracle(self, address):
        """For any string, pattern, model and schema all say what the oracle says."""
        expected = oracle(address)
        assert matches(address) is expected, address
        assert model_accepts(address) is expected, address
        assert SCHEMA.is_valid({"dish_address": address}) is expected, address
