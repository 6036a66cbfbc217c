"""Secrets at rest: settings to JSON text with every ``SecretStr`` sealed, and back.

``seal`` takes a python-mode ``model_dump()`` of a kind's settings, where secrets are
``pydantic.SecretStr`` anywhere in nested dicts and lists, and writes each one as
``{"$secret": "<Fernet token>"}``; every other value becomes plain JSON (paths,
URLs, durations and enums as pydantic writes them in JSON mode) and is never
encrypted. ``unseal`` turns each marker back into a ``SecretStr``, so the result can
be fed straight to the kind's model. ``reseal`` re-encrypts the tokens for a key
rotation. Pure functions: no I/O, and a secret never reaches a log or a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeGuard, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

__all__ = ["MARKER", "SealError", "reseal", "seal", "secret_tokens", "unseal"]

MARKER: Final = "$secret"


class SealError(Exception):
    """A token did not decrypt with the key given (carries no secret)."""


def _seal(value: object, fernet: Fernet | MultiFernet) -> object:
    if isinstance(value, SecretStr):
        token = fernet.encrypt(value.get_secret_value().encode("utf-8"))
        return {MARKER: token.decode("ascii")}
    if isinstance(value, SecretBytes):
        raise TypeError("SecretBytes cannot be stored; declare the field SecretStr")
    if isinstance(value, BaseModel):
        return _seal(value.model_dump(), fernet)
    if isinstance(value, Mapping):
        if MARKER in value and len(value) == 1:
            raise ValueError(
                f"settings may not hold a mapping whose only key is {MARKER!r}"
            )
        return {str(to_jsonable_python(k)): _seal(v, fernet) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_seal(item, fernet) for item in value]
    return to_jsonable_python(value)


def seal(settings: Mapping[str, Any], fernet: Fernet | MultiFernet) -> str:
    """Return ``settings`` as JSON text with each ``SecretStr`` encrypted.

    >>> from pydantic import SecretStr
    >>> key = Fernet(Fernet.generate_key())
    >>> text = seal({"host": "scope", "auth": [SecretStr("hunter2")]}, key)
    >>> "hunter2" in text, '"$secret"' in text
    (False, True)
    >>> unseal(text, key)["auth"][0].get_secret_value()
    'hunter2'

    Raises:
        TypeError: a ``SecretBytes`` (only ``SecretStr`` is stored) or a value
            pydantic cannot write as JSON.
        ValueError: a plain mapping whose only key is ``"$secret"``, which would
            read back as a secret.
    """
    return json.dumps(
        _seal(settings, fernet),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _is_marker(value: object) -> TypeGuard[dict[str, str]]:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get(MARKER), str)
    )


def _unseal(value: object, fernet: Fernet | MultiFernet) -> object:
    if _is_marker(value):
        try:
            plain = fernet.decrypt(value[MARKER].encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SealError("a secret does not decrypt with this key") from None
        return SecretStr(plain.decode("utf-8"))
    if isinstance(value, dict):
        return {k: _unseal(v, fernet) for k, v in value.items()}
    if isinstance(value, list):
        return [_unseal(item, fernet) for item in value]
    return value


def unseal(text: str, fernet: Fernet | MultiFernet) -> dict[str, Any]:
    """Return the settings stored as ``text``, each secret a ``SecretStr`` again.

    Raises:
        SealError: a secret does not decrypt with ``fernet``.
    """
    return cast("dict[str, Any]", _unseal(json.loads(text), fernet))


def _tokens(value: object) -> Iterator[str]:
    if _is_marker(value):
        yield value[MARKER]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tokens(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tokens(item)


def secret_tokens(text: str) -> list[str]:
    """Return the Fernet tokens of every secret in stored settings ``text``."""
    return list(_tokens(json.loads(text)))


def _reseal(value: object, keys: MultiFernet, count: list[int]) -> object:
    if _is_marker(value):
        try:
            token = keys.rotate(value[MARKER].encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SealError("a secret does not decrypt with this key") from None
        count[0] += 1
        return {MARKER: token.decode("ascii")}
    if isinstance(value, dict):
        return {k: _reseal(v, keys, count) for k, v in value.items()}
    if isinstance(value, list):
        return [_reseal(item, keys, count) for item in value]
    return value


def reseal(text: str, keys: MultiFernet) -> tuple[str, int]:
    """Re-encrypt every secret in ``text`` with the first of ``keys``.

    Args:
        text: stored settings.
        keys: ``MultiFernet([new, old])``: tokens are decrypted with either key
            and encrypted with the new one.

    Returns:
        The new text and how many secrets it holds.

    Raises:
        SealError: a secret decrypts with none of ``keys``.
    """
    count = [0]
    sealed = _reseal(json.loads(text), keys, count)
    return (
        json.dumps(sealed, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        count[0],
    )
