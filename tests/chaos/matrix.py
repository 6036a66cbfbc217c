"""The fault matrix: for each exporter and fault, what must happen, or why N/A.

A ``Row`` names the error kinds of which at least one must be counted (the
exporter's own error counter, by its label value; ``reconnect`` is the core's
``<prefix>_exporter_reconnects_total``), whether the target must go down (``up``
0 and every device value gone) while the fault lasts, and whether the row is in
the short form ``make test`` runs. An ``NA`` says why a fault cannot happen to
that exporter, or what covers it instead; ``docs/chaos.md`` prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["FAULTS", "MATRIX", "NA", "Row"]

FAULTS: Final = (
    "refused",
    "silent",
    "slow",
    "reset",
    "malformed",
    "oversized",
    "auth",
    "http_5xx",
    "http_429",
    "restart",
    "clock_jump",
    "dns",
    "burst",
)


@dataclass(frozen=True)
class Row:
    """A fault that applies: what the exporter must show."""

    errors: frozenset[str]
    down: bool = True
    short: bool = False
    within: float | None = None
    known_defect: str | None = None
    reload: bool = False


@dataclass(frozen=True)
class NA:
    """A fault that does not apply to the exporter, and why."""

    reason: str


def row(
    *errors: str,
    down: bool = True,
    short: bool = False,
    within: float | None = None,
    known_defect: str | None = None,
    reload: bool = False,
) -> Row:
    return Row(frozenset(errors), down, short, within, known_defect, reload)


_NOT_HTTP = "not HTTP: the peer speaks {}, which has no status codes"
_POLLED = (
    "polled: the exporter sets the pace, the device answers and never sends on its own"
)

MATRIX: Final[dict[str, dict[str, Row | NA]]] = {
    "phd2": {
        "refused": row("connection", "refused", short=True),
        "silent": row("timeout", "rpc"),
        "slow": row("timeout", "rpc"),
        "reset": row("connection"),
        "malformed": row("parse", down=False),
        "oversized": row("overlong", down=False),
        "auth": NA("PHD2's event-monitoring protocol has no authentication"),
        "http_5xx": NA(_NOT_HTTP.format("JSON-RPC over plain TCP")),
        "http_429": NA(_NOT_HTTP.format("JSON-RPC over plain TCP")),
        "restart": row("connection", "reconnect", down=False),
        "clock_jump": row("timeout", "rpc"),
        "dns": row("connection", "unreachable"),
        "burst": row(down=False),
    },
    "starlink": {
        "refused": row("unreachable", "error", short=True),
        "silent": row("timeout", "unreachable", "error"),
        "slow": row("timeout", "unreachable", "error"),
        "reset": row("unreachable", "error", "timeout"),
        "malformed": NA(
            "gRPC frames are checked by grpcio before the exporter sees them; "
            "a cut frame is the reset row"
        ),
        "oversized": NA("grpcio refuses answers over its 4 MiB receive limit itself"),
        "auth": NA("the dish's gRPC API has no authentication"),
        "http_5xx": NA(
            "not HTTP: the dish speaks gRPC, whose UNAVAILABLE is the refused row"
        ),
        "http_429": NA("not HTTP: the dish speaks gRPC and does not rate-limit"),
        # A restart between two polls costs no poll: nothing to count, but the
        # new dish's values must replace the old one's.
        "restart": row(down=False),
        "clock_jump": row("timeout", "unreachable", "error"),
        "dns": NA(
            "grpcio resolves names in C (c-ares), outside Python's resolver: a "
            "lookup would leave loopback for the system's nameserver"
        ),
        "burst": NA(_POLLED),
    },
    "tapo": {
        "refused": row("connection", "timeout"),
        # python-kasa retries a silent KLAP plug before it gives up: with
        # timeout=1 the poll took 15-20 s in CI (twice the 20 s default bound's
        # margin is kept for a loaded machine).
        "silent": row("timeout", short=True, within=45.0),
        "slow": row("timeout"),
        "reset": row("connection", "protocol", "timeout"),
        "malformed": row("protocol", "connection"),
        "oversized": NA(
            "KLAP answers are AES blocks inside HTTP bodies: a longer body is a "
            "malformed one (that row)"
        ),
        # A refused password pauses the plug for AUTH_PAUSE (900 s) by design;
        # it comes back when its target is reloaded (removed and added again).
        "auth": row("auth", reload=True, short=True),
        "http_5xx": NA("plugs do not answer 5xx (kasa.md §5.4); garbage is malformed"),
        "http_429": NA("plugs do not rate-limit (kasa.md §5.4)"),
        "restart": row(down=False),
        "clock_jump": row("timeout"),
        # aiohttp (python-kasa's KLAP client) keeps answers for 10 s: the
        # failure shows once its cache expires, then values age out (2 x 5 s).
        "dns": row("connection", "timeout", within=45.0),
        "burst": NA(_POLLED),
    },
    "chaos": {
        "refused": row("connection"),
        "silent": row("timeout"),
        "slow": row("timeout"),
        "reset": row("connection"),
        "malformed": row("parse"),
        "oversized": NA("not built: the CHAOS simulator has no oversized answer"),
        "auth": row("auth"),
        "http_5xx": row("http_error", "api_error"),
        "http_429": row("rate_limited", short=True),
        "restart": row(down=False),
        "clock_jump": row("timeout"),
        "dns": row("connection"),
        "burst": NA(_POLLED),
    },
    "snp": {
        "refused": row("rest_auth", "reconnect"),
        "silent": row("reconnect"),
        "slow": row("reconnect", "rest_auth"),
        "reset": row("reconnect", "rest_auth"),
        "malformed": row("parse", down=False, short=True),
        # The exporter reads frames up to 16 MiB (snp.md §1): the simulator's
        # 1 MiB frame is valid, its padding object an unhandled type.
        "oversized": row("unhandled", "parse", down=False),
        "auth": row("auth"),
        "http_5xx": row("rest_auth"),
        "http_429": row("rest_auth"),
        "restart": row("reconnect", "rest_auth", down=False),
        "clock_jump": row("reconnect"),
        "dns": row("rest_auth", "reconnect"),
        "burst": row(down=False),
    },
}


def render_table() -> str:
    """Return the matrix as the Markdown table ``docs/chaos.md`` carries."""
    kinds = list(MATRIX)
    lines = [
        "| fault | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for fault in FAULTS:
        cells = []
        for kind in kinds:
            cell = MATRIX[kind][fault]
            if isinstance(cell, NA):
                cells.append(f"N/A: {cell.reason}")
                continue
            counted = ", ".join(sorted(cell.errors)) or "nothing (new state shown)"
            text = ("down; " if cell.down else "stays up; ") + f"counts {counted}"
            if cell.reload:
                text += "; back after a reload (paused by design)"
            if cell.short:
                text += " **(short form)**"
            if cell.known_defect:
                text += f" — known defect: {cell.known_defect}"
            cells.append(text)
        lines.append(f"| {fault} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
