"""The ``--web.config.file`` of the Prometheus exporter-toolkit: TLS and basic auth.

The same YAML as every Go exporter (``tls_server_config``, ``http_server_config``,
``basic_auth_users`` with bcrypt hashes), validated at start so a typo stops the
start with the file and key named, not the first request. ``WebConfig.ssl_context``
builds the server's TLS context; ``WebConfig.check`` answers whether an
``Authorization`` header is good. bcrypt is slow on purpose (tens of milliseconds),
so a header that passed once is remembered by a hash of it, as exporter-toolkit
does; a wrong password is never cached as good. This module reads the file and
checks credentials; it must not know routes.

Reference: prometheus/exporter-toolkit ``docs/web-configuration.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import bcrypt
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from exporterhub.core.config import read_yaml, validate_model
from exporterhub.core.errors import ConfigError

__all__ = ["BasicAuthCheck", "WebConfig", "load_web_config"]

_TLS_VERSIONS: Final = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_CACHE_SIZE: Final = 1024


def _bcrypt_hash(value: str) -> str:
    if not value.startswith(("$2a$", "$2b$", "$2y$")) or len(value) != 60:
        raise ValueError("not a bcrypt hash (htpasswd -nBC 10 USER makes one)")
    return value


BcryptHash = Annotated[str, AfterValidator(_bcrypt_hash)]


class TlsServerConfig(BaseModel):
    """``tls_server_config``: the server certificate and what clients must show."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: str
    key_file: str
    client_auth_type: Literal[
        "NoClientCert",
        "RequestClientCert",
        "RequireAnyClientCert",
        "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    ] = "NoClientCert"
    client_ca_file: str | None = None
    min_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] = "TLS12"
    max_version: Literal["TLS10", "TLS11", "TLS12", "TLS13"] = "TLS13"
    cipher_suites: list[str] = Field(default_factory=list)
    curve_preferences: list[str] = Field(default_factory=list)
    prefer_server_cipher_suites: bool = True
    client_allowed_sans: list[str] = Field(default_factory=list)


class HttpServerConfig(BaseModel):
    """``http_server_config``: HTTP/2 (ignored: uvicorn serves HTTP/1.1) and headers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http2: bool = True
    headers: dict[str, str] = Field(default_factory=dict)


class WebConfig(BaseModel):
    """The whole web configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tls_server_config: TlsServerConfig | None = None
    http_server_config: HttpServerConfig = Field(default_factory=HttpServerConfig)
    basic_auth_users: dict[str, BcryptHash] = Field(default_factory=dict)

    @field_validator("basic_auth_users")
    @classmethod
    def _user_names(cls, users: dict[str, str]) -> dict[str, str]:
        for user in users:
            if not user or ":" in user:
                raise ValueError(f"user name {user!r} is empty or contains ':'")
        return users

    @property
    def auth_enabled(self) -> bool:
        """True when requests must carry basic-auth credentials."""
        return bool(self.basic_auth_users)

    def ssl_context(self, base: Path) -> ssl.SSLContext | None:
        """Return the server's TLS context, or None when TLS is off.

        Args:
            base: the directory relative file names are resolved against.

        Raises:
            ConfigError: a file cannot be read or does not hold what it should.
        """
        tls = self.tls_server_config
        if tls is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = _TLS_VERSIONS[tls.min_version]
        context.maximum_version = _TLS_VERSIONS[tls.max_version]
        cert, key = base / tls.cert_file, base / tls.key_file
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"tls_server_config: cannot load cert_file {cert} / key_file {key}: "
                f"{getattr(exc, 'strerror', None) or exc}"
            ) from exc
        context.verify_mode = _CLIENT_AUTH[tls.client_auth_type]
        if tls.client_ca_file is not None:
            ca = base / tls.client_ca_file
            try:
                context.load_verify_locations(cafile=ca)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"tls_server_config.client_ca_file: cannot load {ca}: {exc}"
                ) from exc
        elif tls.client_auth_type in (
            "VerifyClientCertIfGiven",
            "RequireAndVerifyClientCert",
        ):
            raise ConfigError(
                f"tls_server_config: client_auth_type {tls.client_auth_type} "
                "needs client_ca_file"
            )
        if tls.cipher_suites:
            try:
                context.set_ciphers(":".join(tls.cipher_suites))
            except ssl.SSLError as exc:
                raise ConfigError(f"tls_server_config.cipher_suites: {exc}") from exc
        return context


class BasicAuthCheck:
    """Checks ``Authorization: Basic`` headers against the configured users.

    Args:
        users: user name → bcrypt hash.
    """

    def __init__(self, users: dict[str, str]) -> None:
        self._users = {user: hashed.encode() for user, hashed in users.items()}
        self._good: OrderedDict[bytes, str] = OrderedDict()
        # A fixed hash to spend the same time on unknown users as on known ones.
        self._decoy = bcrypt.hashpw(b"decoy", bcrypt.gensalt(rounds=10))

    def __call__(self, header: bytes | None) -> str | None:
        """Return the user a header authenticates, or None."""
        if not header or header[:6].lower() != b"basic ":
            return None
        digest = hashlib.sha256(header).digest()
        cached = self._good.get(digest)
        if cached is not None:
            self._good.move_to_end(digest)
            return cached
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        user_bytes, sep, password = decoded.partition(b":")
        if not sep:
            return None
        user = user_bytes.decode("utf-8", "replace")
        hashed = self._users.get(user)
        ok = bcrypt.checkpw(password, hashed if hashed is not None else self._decoy)
        if not ok or hashed is None:
            return None
        self._good[digest] = user
        if len(self._good) > _CACHE_SIZE:
            self._good.popitem(last=False)
        return user


def load_web_config(path: Path) -> tuple[WebConfig, ssl.SSLContext | None]:
    """Read and check a web configuration file; return it and its TLS context.

    Raises:
        ConfigError: the file is unreadable, has an unknown key or a bad value,
            or names certificate files that cannot be loaded.
    """
    data: dict[str, Any] = read_yaml(path)
    config = validate_model(WebConfig, data, source=str(path))
    try:
        context = config.ssl_context(path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return config, context
