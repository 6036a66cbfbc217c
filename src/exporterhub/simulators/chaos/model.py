"""Account model and answer builder of the CHAOS simulator. No I/O except loading data.

Reproduces the AAISP CHAOS v2 answers described in ``shared/protocols/chaos.md``
§3 to §5 from a data file (``data/chaos.json`` by default): control logins with
passwords, telephony numbers and broadband lines. A line is a map of string fields
(``ID``, ``login``, ``postcode``, ``tx_rate``/``rx_rate``/``tx_rate_adjusted`` in
bit/s, ``quota_monthly``/``quota_remaining`` in bytes, ``quota_timestamp`` as UK
wall time ``YYYY-MM-DD HH:MM:SS``) answered verbatim, so new fields or shapes need
no code; ``aliases`` (phone numbers, circuit IDs) select a line but are never sent.

The builder never echoes a password (``(redacted)``, §2) and never raises on odd
requests: every failure is an answer (§5).

Example:
    >>> model = ChaosModel(load_data(), seed=1)
    >>> answer = model.answer(
    ...     "broadband",
    ...     "quota",
    ...     {"control_login": "exmpl@a", "control_password": "demo-password"},
    ... )
    >>> answer.status, [q["ID"] for q in answer.document["quota"]]
    (200, ['40211', '40212', '40213'])
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl
from xml.sax.saxutils import quoteattr

import yaml

__all__ = [
    "AUTH_FAILED",
    "BAD_LOGIN",
    "RATE_LIMITED",
    "UNKNOWN_COMMAND",
    "UNKNOWN_SERVICE",
    "Answer",
    "ChaosData",
    "ChaosModel",
    "Login",
    "generate_lines",
    "load_data",
    "normalise_name",
    "parse_attributes",
    "to_json",
    "to_xml",
]

AUTH_FAILED: Final = "Control authorisation failed"
BAD_LOGIN: Final = "Bad control-login"
UNKNOWN_SERVICE: Final = "Unknown service"
UNKNOWN_COMMAND: Final = "Unknown command"
RATE_LIMITED: Final = "Too many requests, please try again later"
REDACTED: Final = "(redacted)"
TIMESTAMP_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
QUOTA_FIELDS: Final = ("ID", "quota_monthly", "quota_remaining", "quota_timestamp")
# Dropped by the missing_fields fault: a 2024 FTTP capture lacks tx_rate, tunnels
# lack every rate, quota-less lines may lack the quota fields (§4.2).
OPTIONAL_FIELDS: Final = (
    "tx_rate",
    "rx_rate",
    "tx_rate_adjusted",
    "quota_monthly",
    "quota_remaining",
    "quota_timestamp",
)
HTML_500: Final = (
    "<html><head><title>500 Internal Server Error</title></head><body>"
    "<h1>Internal Server Error</h1></body></html>\n"
)
_LOGIN_RE: Final = re.compile(r"^[^@\s]+@[A-Za-z0-9.\-]+$")
_PRICES: Final = {
    "vat_preferred": "inc",
    "price": [
        {"name": "install", "title": "Installation/set-up", "description": ""},
        {"name": "adjust", "title": "Current bill adjustment", "description": ""},
        {"name": "goods", "title": "Goods price", "description": ""},
        {"name": "equip", "title": "Equipment price", "description": ""},
        {"name": "shipping", "title": "Postage", "description": ""},
        {
            "name": "monthly",
            "suffix": "/month",
            "title": "Ongoing price",
            "description": "",
        },
        {
            "name": "active",
            "suffix": "/month",
            "title": "Ongoing if all activated",
            "description": "",
        },
    ],
}
# Commands answered per subsystem; anything else is "Unknown command" (§4.8).
_COMMANDS: Final = {
    "broadband": {"services", "info", "quota", "usage", "kill"},
    "login": {"services", "info"},
    "telephony": {"services", "ratecard"},
}


@dataclass(slots=True, kw_only=True)
class Login:
    """One control login: its password, telephony numbers and broadband lines."""

    login: str
    password: str
    telephony: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ChaosData:
    """Everything the simulator answers from; mutable (quota ticks, generators)."""

    logins: list[Login]
    rate_card: dict[str, list[dict[str, str]]]


@dataclass(slots=True, kw_only=True)
class Answer:
    """One answer: an envelope ``document`` (JSON/XML) or a raw ``body``."""

    status: int = 200
    document: dict[str, Any] | None = None
    body: str = ""
    content_type: str = "application/json"


def normalise_name(name: str) -> str:
    """Fold an attribute name: case-insensitive, ``-`` ≡ ``_`` (§1).

    >>> normalise_name("Control-Login")
    'control_login'
    """
    return name.strip().lower().replace("-", "_")


def parse_attributes(
    headers: dict[str, str], query: str, body: bytes
) -> dict[str, str]:
    """Merge Basic auth, query and body attributes, names normalised (§1, §2).

    Args:
        headers: HTTP headers with lower-case names.
        query: the URL query string.
        body: the request body, form-coded or JSON (by ``content-type``).

    >>> parse_attributes({}, "Control-Login=x@a&SERVICE=1", b"")
    {'control_login': 'x@a', 'service': '1'}
    """
    attrs: dict[str, str] = {}
    auth = headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            user, _, password = (
                base64.b64decode(auth[6:], validate=True).decode().partition(":")
            )
            attrs["control_login"] = user
            attrs["control_password"] = password
    pairs: list[tuple[str, Any]] = parse_qsl(query, keep_blank_values=True)
    if body and "json" in headers.get("content-type", "").lower():
        with contextlib.suppress(ValueError):
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                pairs += [
                    (k, v) for k, v in loaded.items() if not isinstance(v, dict | list)
                ]
    elif body:
        pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    for name, value in pairs:
        attrs[normalise_name(name)] = "" if value is None else str(value)
    return attrs


def load_data(path: Path | None = None) -> ChaosData:
    """Load a data file (JSON or YAML); the packaged default when ``path`` is None.

    Raises:
        ValueError: the file does not describe logins as expected.
        OSError: the file cannot be read.
    """
    if path is None:
        text = (
            resources.files("exporterhub.simulators.chaos")
            .joinpath("data/chaos.json")
            .read_text()
        )
    else:
        text = path.read_text(encoding="utf-8")
    raw: Any = yaml.safe_load(text)  # YAML is a superset of JSON
    if not isinstance(raw, dict) or not isinstance(raw.get("logins"), list):
        msg = "CHAOS data: expected a mapping with a 'logins' list"
        raise ValueError(msg)
    logins = []
    for item in raw["logins"]:
        if not isinstance(item, dict) or not {"login", "password"} <= item.keys():
            msg = "CHAOS data: every login needs 'login' and 'password'"
            raise ValueError(msg)
        lines = [
            {k: v if k == "aliases" else str(v) for k, v in line.items()}
            for line in item.get("lines") or []
        ]
        if any("ID" not in line for line in lines):
            msg = "CHAOS data: every line needs an 'ID'"
            raise ValueError(msg)
        logins.append(
            Login(
                login=str(item["login"]),
                password=str(item["password"]),
                telephony=[str(n) for n in item.get("telephony") or []],
                lines=lines,
            )
        )
    card = raw.get("rate_card") or {}
    rate_card = {
        "codes": [_strings(c) for c in card.get("codes") or []],
        "rates": [_strings(r) for r in card.get("rates") or []],
    }
    return ChaosData(logins=logins, rate_card=rate_card)


def _strings(item: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in item.items()}


def generate_lines(login: Login, count: int, seed: int | None = None) -> None:
    """Pad (or cut) ``login``'s lines to ``count``, generating plausible ones.

    Existing lines are kept first, so the fixture lines survive when ``count`` ≥ 3.
    Generated IDs start at 50001 and are unique within the data.
    """
    rng = random.Random(seed)
    del login.lines[count:]
    used = {line["ID"] for line in login.lines}
    next_id = 50001
    while len(login.lines) < count:
        while str(next_id) in used:
            next_id += 1
        n = len(login.lines) + 1
        sync = rng.choice((40_000_000, 67_496_000, 80_000_000, 1_000_000_000))
        monthly = rng.choice((0, 100_000_000_000, 500_000_000_000))
        remaining = rng.randrange(0, 2 * monthly) if monthly else 0
        login.lines.append(
            {
                "ID": str(next_id),
                "login": f"{login.login}.{n}",
                "postcode": "ZZ1 1AA",
                "tx_rate": str(sync),
                "rx_rate": str(sync // 4),
                "tx_rate_adjusted": str(sync * 95 // 100),
                "quota_monthly": str(monthly),
                "quota_remaining": str(remaining),
                "quota_timestamp": "2025-03-10 14:00:00",
                "aliases": [f"0163296{next_id:04d}"[-11:]],
            }
        )
        used.add(str(next_id))


def to_json(document: dict[str, Any]) -> bytes:
    r"""Serialise like CHAOS: four-space indent, forward slashes as ``\/`` (§1).

    >>> to_json({"a": "1/2"})
    b'{\n    "a": "1\\/2"\n}'
    """
    # Outside strings JSON has no "/", so a plain replace escapes only string text.
    return json.dumps(document, indent=4).replace("/", "\\/").encode()


def to_xml(document: dict[str, Any]) -> bytes:
    """Serialise the XML form (§6): data in attributes with hyphenated names.

    Only ``request``, the payload lists and ``error`` are written, as in
    ``fixtures/chaos/broadband_quota.xml``.
    """
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<chaos xmlns="https://chaos2.aa.net.uk/">',
    ]
    skip = {"subsystem", "command", "prices", "state", "options"}
    for key, value in document.items():
        if key in skip:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                attrs = "".join(
                    f" {k.replace('_', '-')}={quoteattr(str(v))}"
                    for k, v in item.items()
                    if not isinstance(v, dict | list)
                )
                out.append(f" <{key}{attrs}/>")
            else:
                text = str(item).replace("&", "&amp;").replace("<", "&lt;")
                out.append(f" <{key}>{text}</{key}>")
    out.append("</chaos>")
    return ("\n".join(out) + "\n").encode()


class ChaosModel:
    """Builds CHAOS answers from :class:`ChaosData`; holds no sockets."""

    def __init__(self, data: ChaosData, *, seed: int | None = None) -> None:
        self.data = data
        self._rng = random.Random(seed)
        self._seq = 0

    def login(self, name: str) -> Login | None:
        """Return the control login called ``name`` (case-insensitive), if any."""
        folded = name.lower()
        return next((x for x in self.data.logins if x.login.lower() == folded), None)

    def quota_tick(self) -> None:
        """Advance every ``quota_timestamp`` by one hour and use some quota (§7)."""
        for login in self.data.logins:
            for line in login.lines:
                stamp = line.get("quota_timestamp")
                if stamp:
                    when = datetime.strptime(stamp, TIMESTAMP_FORMAT) + timedelta(
                        hours=1
                    )
                    line["quota_timestamp"] = when.strftime(TIMESTAMP_FORMAT)
                monthly = line.get("quota_monthly", "0")
                remaining = line.get("quota_remaining")
                if remaining is not None and monthly not in {"", "0"}:
                    used = self._rng.randrange(100_000_000, 2_000_000_000)
                    line["quota_remaining"] = str(int(remaining) - used)

    def answer(
        self,
        subsystem: str,
        command: str,
        attributes: dict[str, str],
        *,
        missing_fields: bool = False,
    ) -> Answer:
        """Answer ``/<subsystem>/<command>`` for normalised request ``attributes``.

        Args:
            subsystem: first path segment, e.g. ``broadband``.
            command: second path segment, e.g. ``info``.
            attributes: request attributes with :func:`normalise_name` keys.
            missing_fields: drop rate and quota fields from every other line.
        """
        doc = self._envelope(subsystem, command, attributes)
        login_name = attributes.get("control_login", "")
        login = self.login(login_name)
        auth_error = None
        if not _LOGIN_RE.match(login_name):
            auth_error = BAD_LOGIN
        elif login is None or attributes.get("control_password") != login.password:
            auth_error = AUTH_FAILED
        if auth_error is not None or login is None:
            auth = doc["options"][0]["option"]
            auth[0]["error"] = auth_error
            auth[1]["type"] = "password"
            doc["error"] = auth_error
            return Answer(document=doc)
        if command not in _COMMANDS.get(subsystem, set()):
            doc["error"] = UNKNOWN_COMMAND
            return Answer(document=doc)
        if subsystem == "broadband":
            return self._broadband(doc, login, command, attributes, missing_fields)
        if subsystem == "login":
            return self._login(doc, login, command, attributes)
        if command == "services":  # telephony
            if not login.telephony:
                return Answer(status=500, body=HTML_500, content_type="text/html")
            doc["services"] = list(login.telephony)
            return Answer(document=doc)
        doc["rate_card"] = {
            "codes": {"code": [dict(c) for c in self.data.rate_card["codes"]]},
            "rates": {"rate": [dict(r) for r in self.data.rate_card["rates"]]},
        }
        return Answer(document=doc)

    def rate_limited(
        self, subsystem: str, command: str, attributes: dict[str, str]
    ) -> Answer:
        """Return the HTTP 200 rate-limit error answer (a guess, §5)."""
        doc = self._envelope(subsystem, command, attributes)
        doc["error"] = RATE_LIMITED
        return Answer(document=doc)

    # ------------------------------------------------------------- internals

    def _envelope(
        self, subsystem: str, command: str, attributes: dict[str, str]
    ) -> dict[str, Any]:
        self._seq += 1
        ident = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        request: dict[str, str] = {}
        for key in ("control_login", "control_password"):
            if key in attributes:
                request[key] = attributes[key]
        request.update(attributes)
        for key in request:
            if "password" in key:
                request[key] = REDACTED
        state = {"uuid": ident, "seq": str(self._seq)}
        request.update(state)
        return {
            "subsystem": subsystem,
            "command": command,
            "request": request,
            "prices": json.loads(json.dumps(_PRICES)),
            "state": state.copy(),
            "options": [
                {
                    "title": "Authentication",
                    "option": [
                        {
                            "name": "control_login",
                            "type": "text",
                            "title": "Control login (e.g. something@a)",
                            "size": "60",
                            "value": attributes.get("control_login", ""),
                        },
                        {
                            "name": "control_password",
                            "type": "hidden",
                            "title": "Control password",
                        },
                    ],
                }
            ],
        }

    def _broadband(
        self,
        doc: dict[str, Any],
        login: Login,
        command: str,
        attributes: dict[str, str],
        missing_fields: bool,
    ) -> Answer:
        if command == "services":
            doc["services"] = [line["ID"] for line in login.lines]
            return Answer(document=doc)
        wanted = attributes.get("service", "")
        lines = login.lines
        if wanted:
            lines = [line for line in login.lines if _matches(line, wanted)]
        unknown = bool(wanted) and not lines
        if command in {"info", "quota", "kill"} or unknown:
            service: dict[str, Any] = {
                "name": "service",
                "type": "select",
                "title": "Service identifier",
                "recheck": "true",
            }
            if wanted:
                service["value"] = wanted
            if unknown:
                service["error"] = UNKNOWN_SERVICE
                doc["error"] = UNKNOWN_SERVICE
            service["choice"] = [{"value": "", "title": "Select service"}] + [
                {"value": x["ID"], "title": _choice_title(x)} for x in login.lines
            ]
            doc["options"] += [
                {"title": "Service", "option": [service]},
                {"title": "Service Details"},
            ]
            if unknown:
                return Answer(document=doc)
        if command == "usage":
            doc["usage"] = []
        elif command == "kill":
            doc["kill"] = [{"ID": line["ID"]} for line in lines]
        else:
            out = []
            for line in lines:
                item = {k: v for k, v in line.items() if k != "aliases"}
                if missing_fields and login.lines.index(line) % 2 == 0:
                    for key in OPTIONAL_FIELDS:
                        item.pop(key, None)
                if command == "quota":
                    item = {k: v for k, v in item.items() if k in QUOTA_FIELDS}
                out.append(item)
            doc[command] = out
        return Answer(document=doc)

    def _login(
        self,
        doc: dict[str, Any],
        login: Login,
        command: str,
        attributes: dict[str, str],
    ) -> Answer:
        if command == "services":
            doc["services"] = [login.login]
            return Answer(document=doc)
        wanted = attributes.get("service", login.login)
        if wanted.lower() != login.login.lower():
            doc["options"].append(
                {
                    "title": "Service",
                    "option": [
                        {
                            "name": "service",
                            "type": "text",
                            "title": "Control login",
                            "value": wanted,
                            "error": UNKNOWN_SERVICE,
                        }
                    ],
                }
            )
            doc["error"] = UNKNOWN_SERVICE
            return Answer(document=doc)
        doc["info"] = [{"login": login.login}]
        return Answer(document=doc)


def _matches(line: dict[str, Any], wanted: str) -> bool:
    folded = wanted.replace(" ", "").lower()
    names = [line["ID"], *line.get("aliases", [])]
    return any(str(name).replace(" ", "").lower() == folded for name in names)


def _choice_title(line: dict[str, Any]) -> str:
    # "<postcode> <login>", or just the login when the postcode is blank (tunnels).
    postcode = str(line.get("postcode", "")).strip()
    return f"{postcode} {line.get('login', '')}".strip()
