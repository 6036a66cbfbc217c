"""The address grammars: host names, IPv4, IPv6, ports and http(s) URLs.

Each regular expression is checked against an independent reading of the same
rules built on ``ipaddress`` and plain string handling (the oracles), and each
string type against its own JSON schema, so the pattern, the validation and the
schema are one rule.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains
from pydantic import TypeAdapter, ValidationError

from exporterhub.core.address import (
    HOST_PATTERN,
    HOST_PORT_PATTERN,
    HTTP_URL_PATTERN,
    IPV4_HOST_PATTERN,
    MAX_ADDRESS_LENGTH,
    MAX_HOST_LENGTH,
    MAX_URL_LENGTH,
    Host,
    HostPort,
    HttpUrl,
    Ipv4Host,
)

LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
PCHAR = set(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/"
)


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def is_ipv6(text: str) -> bool:
    if "%" in text:  # zone indexes are not allowed
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    # ipaddress reads a trailing dotted quad with leading zeros too leniently.
    quad = text.rpartition(":")[2]
    return "." not in quad or is_ipv4(quad)


def is_name(text: str) -> bool:
    labels = text.split(".")
    return (
        len(text) <= MAX_HOST_LENGTH
        and all(len(label) <= 63 and LABEL.match(label) for label in labels)
        and labels[-1][:1].isalpha()
        and labels[-1][:1].isascii()
    )


def is_port(text: str) -> bool:
    return (
        text.isascii() and text.isdigit() and text[0] != "0" and 1 <= int(text) <= 65535
    )


def host_oracle(host: str) -> bool:
    """A name, IPv4 or bare IPv6, read without regular expressions."""
    return is_ipv4(host) or is_ipv6(host) or is_name(host)


def ipv4_host_oracle(host: str) -> bool:
    return is_ipv4(host) or is_name(host)


def host_port_oracle(address: str) -> bool:
    host, sep, port = address.rpartition(":")
    if not sep or len(address) > MAX_ADDRESS_LENGTH or not is_port(port):
        return False
    if host.startswith("[") and host.endswith("]"):
        return is_ipv6(host[1:-1])
    return is_ipv4(host) or is_name(host)


def _path_ok(path: str) -> bool:
    if path and not path.startswith("/"):
        return False
    rest = re.split(r"%[0-9A-Fa-f]{2}", path)
    return all(set(part) <= PCHAR for part in rest)


def url_oracle(url: str) -> bool:
    """http(s)://host[:port][/path], read without the pattern."""
    if len(url) > MAX_URL_LENGTH:
        return False
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        return False
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if authority.startswith("["):
        inside, bracket, after = authority[1:].partition("]")
        if not bracket or not is_ipv6(inside):
            return False
        if after and not (after.startswith(":") and is_port(after[1:])):
            return False
    else:
        host, colon, port = authority.partition(":")
        if not (is_ipv4(host) or is_name(host)):
            return False
        if colon and not is_port(port):
            return False
    return _path_ok(path)


def fullmatch(pattern: str, limit: int, text: str) -> bool:
    """Apply the rule as the schema states it: the pattern and the length limit."""
    return len(text) <= limit and re.fullmatch(pattern, text) is not None


class Rule:
    def __init__(self, kind: Any, pattern: str, limit: int, oracle: Any) -> None:
        self.adapter: TypeAdapter[str] = TypeAdapter(kind)
        self.pattern = pattern
        self.limit = limit
        self.oracle = oracle
        self.schema = jsonschema_rs.validator_for(self.adapter.json_schema())

    def accepts(self, text: str) -> bool:
        try:
            self.adapter.validate_python(text)
        except ValidationError:
            return False
        return True

    def check(self, text: str, expected: bool) -> None:
        """Oracle, pattern, type and JSON schema all say ``expected``."""
        assert self.oracle(text) is expected, text
        assert fullmatch(self.pattern, self.limit, text) is expected, text
        assert self.accepts(text) is expected, text
        assert self.schema.is_valid(text) is expected, text


HOST = Rule(Host, HOST_PATTERN, MAX_HOST_LENGTH, host_oracle)
IPV4_HOST = Rule(Ipv4Host, IPV4_HOST_PATTERN, MAX_HOST_LENGTH, ipv4_host_oracle)
HOST_PORT = Rule(HostPort, HOST_PORT_PATTERN, MAX_ADDRESS_LENGTH, host_port_oracle)
URL = Rule(HttpUrl, HTTP_URL_PATTERN, MAX_URL_LENGTH, url_oracle)

NAMES = [
    "dish",
    "localhost",
    "starlink-dish.local",
    "a.b-c.d1",
    "1e100.net",
    "x" * 63 + ".example",
]
IPV4S = ["192.168.100.1", "127.0.0.1", "255.255.255.255", "0.0.0.0"]
IPV6S = [
    "::1",
    "::",
    "2001:db8::8a2e:370:7334",
    "::ffff:192.168.100.1",
    "1:2:3:4:5:6:7:8",
    "1::2:3:4:5:6:7",
    "1:2:3:4:5:6:7::",
    "FE80::1",
]
BAD_HOSTS = [
    "",
    " dish",
    "dish ",
    "dish\n",
    "di\x00sh",
    "dish_1",
    "-dish",
    "dish-",
    "dish..local",
    "dish.",
    "dish.123",
    "1234",
    "x" * 64 + ".example",
    "a." * 126 + "aa",
    "256.1.1.1",
    "1.2.3.04",
    "1.2.3",
    "[::1]",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "fe80::1%eth0",
    "::ffff:1.2.3.04",
    "12345::",
    "dísh",
    "http://dish",
]


class TestHost:
    @pytest.mark.parametrize("host", NAMES + IPV4S + IPV6S)
    def test_valid(self, host):
        """Names, IPv4 and bare IPv6 addresses are hosts."""
        HOST.check(host, True)

    @pytest.mark.parametrize("host", BAD_HOSTS)
    def test_invalid(self, host):
        """Spaces, control characters, brackets, zones and bad labels are not."""
        HOST.check(host, False)

    @pytest.mark.parametrize("host", IPV6S)
    def test_ipv4_host_refuses_ipv6(self, host):
        """The IPv4-only host takes no IPv6 address."""
        IPV4_HOST.check(host, False)

    @pytest.mark.parametrize("host", NAMES + IPV4S)
    def test_ipv4_host_takes_names_and_ipv4(self, host):
        """The IPv4-only host takes names and IPv4 addresses."""
        IPV4_HOST.check(host, True)

    def test_longest_name(self):
        """A name of 253 characters is a host; one more character is not."""
        name = ".".join(["a" * 63] * 3 + ["b" * 61])
        assert len(name) == MAX_HOST_LENGTH
        HOST.check(name, True)
        HOST.check(name + "b", False)


HOST_PORTS = [
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
BAD_HOST_PORTS = [
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


class TestHostPort:
    @pytest.mark.parametrize("address", HOST_PORTS)
    def test_valid(self, address):
        """Host names, IPv4 and bracketed IPv6 with a port are accepted."""
        HOST_PORT.check(address, True)

    @pytest.mark.parametrize("address", BAD_HOST_PORTS)
    def test_invalid(self, address):
        """Everything else is refused by the pattern, the type and the schema."""
        HOST_PORT.check(address, False)


URLS = [
    "https://chaos2.aa.net.uk",
    "https://chaos2.aa.net.uk/",
    "http://127.0.0.1:1",
    "http://localhost:8080/api/v2",
    "http://[::1]:9099",
    "http://[2001:db8::1]/chaos",
    "https://h/a%20b/~x/@y:z/(1);a=b,c+d*e!f$g&h'",
    "https://h//",
]
BAD_URLS = [
    "",
    "chaos2.aa.net.uk",
    "ftp://h",
    "HTTP://h",
    "https://",
    "https:///path",
    "https://h:0",
    "https://h:65536",
    "https://h:",
    "https://h?x=1",
    "https://h/#top",
    "https://user:pw@h",
    "https://h/a b",
    "https://h/a%2",
    "https://h/é",
    " https://h",
    "https://h ",
    "https://h\n",
    "http://[::1",
    "http://::1:80",
    "http://[fe80::1%25eth0]",
    "https://dish_1",
    "https://h/" + "x" * MAX_URL_LENGTH,
]


class TestHttpUrl:
    @pytest.mark.parametrize("url", URLS)
    def test_valid(self, url):
        """http(s), a host, an optional port and path; httpx takes each one."""
        URL.check(url, True)
        assert httpx.URL(url).host

    @pytest.mark.parametrize("url", BAD_URLS)
    def test_invalid(self, url):
        """Other schemes, user info, queries, fragments and bad hosts are refused."""
        URL.check(url, False)


class TestMessages:
    @pytest.mark.parametrize(
        ("rule", "text", "start"),
        [
            pytest.param(HOST, "a b", "must be a host name", id="host"),
            pytest.param(IPV4_HOST, "::1", "must be a host name or an IPv4", id="v4"),
            pytest.param(HOST_PORT, "http://d:1", "must be host:port", id="hostport"),
            pytest.param(URL, "ftp://h", "must be an http:// or https://", id="url"),
        ],
    )
    def test_mismatch_is_a_sentence(self, rule, text, start):
        """A refusal says what is expected, not the long pattern."""
        with pytest.raises(ValidationError) as info:
            rule.adapter.validate_python(text)
        (error,) = info.value.errors()
        assert error["type"] == "string_pattern_mismatch"
        assert error["msg"].startswith(start)
        assert len(error["msg"]) < 200

    @pytest.mark.parametrize("rule", [HOST, IPV4_HOST, HOST_PORT, URL])
    def test_empty_is_too_short(self, rule):
        """An empty value is said to be too short, as pydantic says min_length."""
        with pytest.raises(ValidationError) as info:
            rule.adapter.validate_python("")
        (error,) = info.value.errors()
        assert error["type"] == "string_too_short"
        assert error["msg"] == "String should have at least 1 character"

    def test_other_errors_are_kept(self):
        """Too long and not a string keep pydantic's own errors."""
        with pytest.raises(ValidationError) as info:
            HOST.adapter.validate_python("a" * 300)
        assert info.value.errors()[0]["type"] == "string_too_long"
        with pytest.raises(ValidationError) as info:
            HOST.adapter.validate_python(5)
        assert info.value.errors()[0]["type"] == "string_type"

    @pytest.mark.parametrize("rule", [HOST, IPV4_HOST, HOST_PORT, URL])
    def test_schema_carries_pattern_and_length(self, rule):
        """Each type's schema states the pattern and the length limit it applies."""
        schema = rule.adapter.json_schema()
        assert schema == {
            "type": "string",
            "pattern": rule.pattern,
            "maxLength": rule.limit,
        }


ports = st.integers(1, 65535)
ipv6s = st.ip_addresses(v=6).flatmap(
    lambda ip: st.sampled_from([ip.compressed, ip.exploded])
)
hosts = st.one_of(
    st.ip_addresses(v=4).map(str), ipv6s, domains(max_length=MAX_HOST_LENGTH)
)
host_ports = st.one_of(
    st.builds(lambda ip, p: f"{ip}:{p}", st.ip_addresses(v=4), ports),
    st.builds(lambda ip, p: f"[{ip}]:{p}", ipv6s, ports),
    st.builds(lambda d, p: f"{d}:{p}", domains(max_length=240), ports),
)
paths = st.lists(
    st.text(alphabet=sorted(PCHAR - {"/"}), max_size=8).map(lambda s: "/" + s),
    max_size=3,
).map("".join)
urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https"]),
    st.one_of(
        st.ip_addresses(v=4).map(str),
        ipv6s.map(lambda ip: f"[{ip}]"),
        domains(max_length=200),
    ),
    st.one_of(st.just(""), ports.map(lambda p: f":{p}")),
    paths,
)
noise = st.text(
    alphabet=st.sampled_from("0123456789abcdefABCDEF:.[]-_%/ x\x00é٣htps?#@"),
    max_size=48,
)


class TestGenerated:
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(host=hosts)
    def test_real_hosts(self, host):
        """Generated IPv4, IPv6 (both spellings) and domain names are hosts."""
        HOST.check(host, True)
        IPV4_HOST.check(host, ":" not in host)

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(address=host_ports)
    def test_real_host_ports(self, address):
        """Generated host:port addresses pass."""
        HOST_PORT.check(address, True)

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(url=urls)
    def test_real_urls_and_httpx_agrees(self, url):
        """Generated URLs pass, and httpx parses each to the same host."""
        URL.check(url, True)
        parsed = httpx.URL(url)
        assert parsed.scheme in ("http", "https")
        assert parsed.host

    @settings(max_examples=600, deadline=None, derandomize=True)
    @given(
        text=noise
        | hosts.map(lambda h: h[:-1] + "_")
        | host_ports.map(lambda a: a[:-1] + "x")
        | urls.map(lambda u: u + " ")
    )
    def test_every_rule_agrees_with_its_oracle(self, text):
        """For any string, pattern, type and schema all say what the oracle says."""
        for rule in (HOST, IPV4_HOST, HOST_PORT, URL):
            rule.check(text, rule.oracle(text))


def _class_members(pattern: str) -> list[list[str]]:
    """Return the members of each character class, escapes kept as ``\\x``."""
    classes, current, i = [], None, 0
    while i < len(pattern):
        token = pattern[i : i + 2] if pattern[i] == "\\" else pattern[i]
        i += len(token)
        if current is None:
            if token == "[":
                current = []
        elif token == "]":
            classes.append(current)
            current = None
        else:
            current.append(token)
    return classes


class TestHtmlPatternAttribute:
    @pytest.mark.parametrize(
        "pattern",
        [HOST_PATTERN, IPV4_HOST_PATTERN, HOST_PORT_PATTERN, HTTP_URL_PATTERN],
        ids=["host", "ipv4-host", "host-port", "url"],
    )
    def test_classes_read_alike_with_the_v_flag(self, pattern):
        """An HTML pattern attribute compiles with ECMA-262's v flag, where a bare
        -, ( or ) inside a class is an error: each is escaped or in a range."""
        for members in _class_members(pattern):
            for at, member in enumerate(members):
                if member == "-":
                    assert 0 < at < len(members) - 1, (pattern, members)
                    assert members[at - 1] < members[at + 1], members
                assert member not in ("(", ")", "[", "{", "}", "/", "|"), members
