"""Answer builder and fault switches of the CHAOS simulator. No I/O.

Reproduces the AAISP CHAOS v2 answers described in ``shared/protocols/chaos.md``
§3 to §5 from the accounts in ``accounts`` (control logins with passwords,
telephony numbers and broadband lines). :class:`ChaosFaults` holds the fault
switches the server applies.

The builder never echoes a password (``(redacted)``, §2) and never raises on odd
requests: every failure is an answer (§5). This module must not read sockets or
files, or serialise answers (``server`` and ``wire`` do).

Example:
    >>> from exporterhub.simulators.chaos.accounts import load_data
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

import json
import random
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from exporterhub.simulators.chaos.accounts import ChaosData, Login

__all__ = [
    "AUTH_FAILED",
    "BAD_LOGIN",
    "RATE_LIMITED",
    "UNKNOWN_COMMAND",
    "UNKNOWN_SERVICE",
    "Answer",
    "ChaosFaults",
    "ChaosModel",
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
class ChaosFaults:
    """Fault switches; mutable while the simulator runs.

    ``*_every`` counters count requests in scope (1-based); 0 disables a switch.
    When several fire on one request the first in this order wins: hang/timeout,
    drop, 5xx, 429, 200 rate limit, malformed.

    Attributes:
        latency: seconds to wait before every answer in scope.
        hang: never answer any request in scope (the client times out).
        timeout_every: never answer every N-th request.
        drop_every: close the connection without an answer every N-th request.
        status_5xx_every: answer every N-th request with ``status_5xx`` and HTML.
        status_5xx: the 5xx status used, 502 or 503.
        rate_limit_429_every: answer every N-th request with HTTP 429.
        retry_after: seconds in the 429 ``Retry-After`` header; None omits it.
        rate_limit_200_every: answer every N-th request with an HTTP 200 error.
        malformed_every: truncate the JSON of every N-th answer.
        missing_fields: drop rate and quota fields from every other line.
        paths: scope, e.g. ``{"/broadband/quota"}`` (suffix-less); None = all.
    """

    latency: float = 0.0
    hang: bool = False
    timeout_every: int = 0
    drop_every: int = 0
    status_5xx_every: int = 0
    status_5xx: int = 503
    rate_limit_429_every: int = 0
    retry_after: int | None = 60
    rate_limit_200_every: int = 0
    malformed_every: int = 0
    missing_fields: bool = False
    paths: frozenset[str] | None = None

    def applies_to(self, path: str) -> bool:
        """Return whether ``path`` (``/subsystem/command``) is in scope."""
        return self.paths is None or path in self.paths


@dataclass(slots=True, kw_only=True)
class Answer:
    """One answer: an envelope ``document`` (JSON/XML) or a raw ``body``."""

    status: int = 200
    document: dict[str, Any] | None = None
    body: str = ""
    content_type: str = "application/json"


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
