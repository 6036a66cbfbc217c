"""Settings of the SNP exporter: one model per SNP connection.

Validation only; nothing here connects or reads a file. The connection's fields
are the original snp-exporter's connection record (``name``, ``restapi``,
``websocket``, ``username``, ``password``, ``objects_ids``; its ``enabled`` is
the store's own flag), so a record of the original maps onto this model one to
one; the rest are new, with defaults. The password is ``SecretStr``: it never
reaches a log, an API answer or ``repr``.

``SnpTargetSettings`` is what the YAML file's targets and the REST API validate,
and its JSON schema is what the API serves, so it is strict: JSON's types as the
schema states them (``core.fields``), every string rule a pattern in the schema
(``core.address`` for the URLs' hosts and ports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from exporterhub.core.address import HTTP_URL_PATTERN, IPV4, MAX_URL_LENGTH, HttpUrl
from exporterhub.core.fields import (
    FROZEN,
    Flag,
    Number,
    WholeNumber,
    on_mismatch,
    whole_number,
)
from exporterhub.core.kinds import Notice

__all__ = [
    "DEFAULT_OBJECTS",
    "FINGERPRINT_PATTERN",
    "LEGACY_TLS_NOTICE",
    "WS_URL_PATTERN",
    "SnpObject",
    "SnpSection",
    "SnpTargetSettings",
    "notices",
]

WS_URL_PATTERN: Final = "^wss?://" + HTTP_URL_PATTERN.removeprefix("^https?://")
"""``ws://`` or ``wss://``, then exactly what ``core.address.HTTP_URL_PATTERN``
allows after its scheme: a host (IPv6 in brackets), an optional port and path."""

FINGERPRINT_PATTERN: Final = (
    r"^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$"
)
"""A SHA-256 certificate fingerprint: 64 hex digits, bare or in colon pairs."""

_OBJECT_TYPE_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
_OBJECT_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_ELEMENT_PATTERN: Final = f"^{IPV4}$"
_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]+$"

WsUrl = Annotated[
    str,
    StringConstraints(max_length=MAX_URL_LENGTH, pattern=WS_URL_PATTERN),
    on_mismatch(
        "must be a ws:// or wss:// URL: a host name, an IPv4 or [IPv6] address, "
        "an optional port 1-65535 and path; no query"
    ),
]
ElementIp = Annotated[
    str,
    StringConstraints(pattern=_ELEMENT_PATTERN),
    on_mismatch("must be an IPv4 address (127.0.0.1 for the SMM on the SNP)"),
]
ObjectType = Annotated[
    str,
    StringConstraints(pattern=_OBJECT_TYPE_PATTERN),
    on_mismatch("must be a status type such as system, ptp or procChannelHD"),
]
ObjectId = Annotated[
    str,
    StringConstraints(pattern=_OBJECT_ID_PATTERN),
    on_mismatch("must be an object id such as A-HD-1"),
]
Fingerprint = Annotated[
    str,
    StringConstraints(pattern=FINGERPRINT_PATTERN),
    on_mismatch("must be a SHA-256 fingerprint: 64 hex digits, bare or as AB:CD:…"),
]
Printable = Annotated[
    str,
    StringConstraints(max_length=256, pattern=_PRINTABLE),
    on_mismatch("must not be empty or contain control characters"),
]
CaFile = Annotated[
    str,
    StringConstraints(max_length=4096, pattern=_PRINTABLE),
    on_mismatch("must be a file path (not empty, no control characters)"),
]


class SnpObject(BaseModel):
    """One entry of ``objects_ids``: an object to subscribe to (§4.2).

    The keys are spelled as the subscription sends them (``elementIP`` with a
    capital IP, ``objectId``). Singletons (``system``, ``ptp``, ``ipVidRx``,
    ``ipWan``, ``videoGenLock``) have no ``objectId``; channels need one
    (``A-HD-1``). With the SMM on the SNP, ``elementIP`` must be 127.0.0.1: any
    other address is accepted by the SNP and then delivers nothing.
    """

    model_config = FROZEN

    # The wire's spellings, not Python's.
    elementIP: ElementIp = "127.0.0.1"
    objectType: ObjectType
    objectId: ObjectId | None = None

    def wire(self) -> dict[str, str]:
        """Return the entry as the subscription sends it (no ``objectId`` if unset)."""
        entry = {"elementIP": self.elementIP, "objectType": self.objectType}
        if self.objectId is not None:
            entry["objectId"] = self.objectId
        return entry


DEFAULT_OBJECTS: Final = (
    SnpObject(objectType="ptp"),
    SnpObject(objectType="system"),
    SnpObject(objectType="ipVidRx"),
    SnpObject(objectType="procChannelHD", objectId="A-HD-1"),
)
"""The original's subscription: PTP, system, video receivers and channel A-HD-1."""


class SnpTargetSettings(BaseModel):
    """One SNP connection: its SMM's REST login and WebSocket, what to subscribe to.

    Attributes:
        name: the connection's name; the ``target`` label of its series.
        restapi: the full login URL, ``https://<snp>:9089/api/auth``; the other
            REST calls use it cut before its first ``/api/``.
        websocket: the full WebSocket URL, ``wss://<snp>/smm``.
        username: the SMM user (a read-only one is enough).
        password: its password (write-only: never shown, logged or exported).
        objects_ids: the objects to subscribe to, sent as stored, 1 to 512
            entries; the original's set by default.
        tls_verify: verify the SNP's certificate (https/wss): against the system
            trust store, or ``ca_file``, or the pinned ``tls_fingerprint``. On
            for new connections; off is needed for the SNP's self-signed
            certificate unless it is trusted by a CA file or a fingerprint.
        ca_file: a PEM file of trusted certificates (the SNP's own self-signed
            certificate works); the host name is checked too.
        tls_fingerprint: the SHA-256 fingerprint of the SNP's certificate; when
            set, that certificate is accepted whatever its issuer and name.
        legacy_tls: marks a connection imported or migrated from the original
            snp-exporter, which never verified certificates: verification stays
            off so nothing stops working; the UI shows the mark. Clear it (and set
            tls_verify) to verify.
        stale_after: seconds without any frame after which the stream counts as
            down (values omitted) and the socket is closed, 1..3600; keepalives
            arrive every ~5 s.
        interval: base reconnect delay in seconds (the original's INTERVAL),
            doubling per failed attempt with ±20 % jitter, over 0 up to 3600.
        reconnect_max: cap on the reconnect delay in seconds, over 0 up to 86400;
            also the wait after refused credentials.
        personality_interval: seconds between processor personality polls
            (after the first, right after subscribing), 1..86400.
        frequency: the subscription's minimum spacing per object in
            milliseconds, a multiple of 1000 (the SNP's rule), 1000..3600000.
        timeout: seconds for one REST call or the WebSocket opening handshake,
            over 0 up to 300.
        ping_interval: seconds between WebSocket pings; a pong missing for
            ``timeout`` seconds closes the socket (half-open links), 1..3600.

    Rules across fields (checked on the settings as a whole):
        legacy_tls goes with tls_verify false and no ca_file or tls_fingerprint;
        ca_file and tls_fingerprint need tls_verify;
        ca_file and tls_fingerprint exclude each other;
        reconnect_max must be >= interval.
    """

    model_config = FROZEN

    name: str = Field(min_length=1, max_length=128)
    restapi: HttpUrl
    websocket: WsUrl
    username: Printable
    password: SecretStr
    objects_ids: tuple[SnpObject, ...] = Field(
        default=DEFAULT_OBJECTS, min_length=1, max_length=512
    )
    tls_verify: Flag = True
    ca_file: CaFile | None = None
    tls_fingerprint: Fingerprint | None = None
    legacy_tls: Flag = False
    stale_after: Number = Field(default=30.0, ge=1, le=3600)
    interval: Number = Field(default=5.0, gt=0, le=3600)
    reconnect_max: Number = Field(default=60.0, gt=0, le=86400)
    personality_interval: Number = Field(default=60.0, ge=1, le=86400)
    frequency: WholeNumber = Field(
        default=1000, ge=1000, le=3_600_000, multiple_of=1000
    )
    timeout: Number = Field(default=10.0, gt=0, le=300)
    ping_interval: Number = Field(default=20.0, ge=1, le=3600)

    _whole = field_validator("frequency", mode="before")(staticmethod(whole_number))

    @model_validator(mode="after")
    def _check(self) -> SnpTargetSettings:
        pinned = self.ca_file is not None or self.tls_fingerprint is not None
        if self.legacy_tls and (self.tls_verify or pinned):
            raise ValueError(
                "legacy_tls goes with tls_verify false and no ca_file or "
                "tls_fingerprint"
            )
        if pinned and not self.tls_verify:
            raise ValueError("ca_file and tls_fingerprint need tls_verify")
        if self.ca_file is not None and self.tls_fingerprint is not None:
            raise ValueError("ca_file and tls_fingerprint exclude each other")
        if self.reconnect_max < self.interval:
            raise ValueError("reconnect_max must be >= interval")
        return self

    @property
    def rest_base(self) -> str:
        """Return ``restapi`` cut before its first ``/api/`` (§1), no trailing /.

        >>> SnpTargetSettings(name="a", restapi="https://h:9089/api/auth",
        ...     websocket="wss://h/smm", username="u", password="p").rest_base
        'https://h:9089'
        """
        url = self.restapi
        scheme, _, rest = url.partition("://")
        path_at = rest.find("/api/")
        if path_at >= 0:
            rest = rest[:path_at]
        return f"{scheme}://{rest}".rstrip("/")

    @property
    def element_ip(self) -> str:
        """Return the element address of the REST polls: the first entry's (§3.1)."""
        return self.objects_ids[0].elementIP

    @property
    def fingerprint(self) -> str | None:
        """Return ``tls_fingerprint`` as 64 lower-case hex digits, if set."""
        if self.tls_fingerprint is None:
            return None
        return self.tls_fingerprint.replace(":", "").lower()

    @property
    def verifies(self) -> bool:
        """Say whether certificates are checked (never for legacy connections)."""
        return self.tls_verify and not self.legacy_tls


class SnpSection(BaseModel):
    """The ``exporters.snp`` section of the exporterhub YAML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    targets: list[SnpTargetSettings] = Field(default_factory=list)


LEGACY_TLS_NOTICE: Final = Notice(
    badge="legacy TLS",
    detail="Imported or migrated from the original snp-exporter, which never "
    "verified certificates, so this connection does not either. To verify, clear "
    "legacy_tls and set tls_verify (with ca_file or tls_fingerprint for the SNP's "
    "self-signed certificate).",
)


def notices(settings: Mapping[str, Any]) -> list[Notice]:
    """Return what the UI flags in a connection's stored settings.

    The legacy-TLS badge is shown only where there is TLS to verify: a connection
    on ``http://`` and ``ws://`` alone has no certificate to check.

    >>> legacy = {"legacy_tls": True, "restapi": "https://snp/api/auth"}
    >>> [n.badge for n in notices(legacy)], notices({})
    (['legacy TLS'], [])
    >>> notices({**legacy, "restapi": "http://snp/api/auth", "websocket": "ws://snp/smm"})
    []
    """
    if settings.get("legacy_tls") is not True:
        return []
    urls = (settings.get("restapi"), settings.get("websocket"))
    plain = all(
        isinstance(url, str) and url.lower().startswith(("http:", "ws:"))
        for url in urls
    )
    return [] if plain else [LEGACY_TLS_NOTICE]
