"""Read ``aaisp-exporter``'s settings from the environment (and ``./.env``).

Like the original, the standalone command reads ``AAISP_EXPORTER_*`` variables,
and a ``.env`` file in the working directory for the ones not set (the original's
README has users copy ``.env.example`` to ``.env``). A bad value's message names
the variable the user actually set — the canonical name or the original's alias —
and the file when it came from ``.env``. ``env_names`` lists every accepted name
per setting, for the docs and their tests. Nothing here starts anything; values
of password variables are never repeated in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from dotenv import dotenv_values
from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic_settings import SettingsError

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.chaos.settings import (
    ChaosExporterSettings,
    ChaosTargetSettings,
)

__all__ = ["DOTENV", "env_names", "format_env_error", "load_env_settings"]

DOTENV: Final = Path(".env")
"""Read from the working directory, as the original did."""

_PREFIX: Final = "AAISP_EXPORTER_"


def env_names(
    model: type[BaseModel] = ChaosExporterSettings,
) -> dict[str, tuple[str, ...]]:
    """Return every setting's accepted env names, canonical first, by dotted key.

    >>> env_names()["server.port"]
    ('AAISP_EXPORTER_SERVER__PORT',)
    >>> env_names()["fast_interval"]
    ('AAISP_EXPORTER_FAST_INTERVAL', 'AAISP_EXPORTER_INTERVALS__FAST')
    """
    names: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        alias = field.validation_alias
        nested = field.annotation
        if isinstance(alias, AliasChoices):
            names[name] = tuple(str(choice) for choice in alias.choices)
        elif isinstance(nested, type) and issubclass(nested, BaseModel):
            for sub in nested.model_fields:
                names[f"{name}.{sub}"] = (f"{_PREFIX}{name}__{sub}".upper(),)
        else:
            names[name] = (f"{_PREFIX}{name}".upper(),)
    return names


def _key(loc: tuple[int | str, ...], names: Mapping[str, tuple[str, ...]]) -> str:
    """Return the dotted setting key of an error location (aliases mapped back)."""
    head = str(loc[0]) if loc else ""
    for key, choices in names.items():
        if head in choices:
            return key
    return ".".join(str(part) for part in loc)


def _used(
    key: str,
    names: Mapping[str, tuple[str, ...]],
    environ: Mapping[str, str],
    dotenv: Mapping[str, str],
) -> tuple[str, str] | None:
    """Return (where, variable) the value of ``key`` came from, if from the env.

    The first accepted name present wins, as pydantic-settings reads them; names
    are matched without regard to case, as the original did.
    """
    for where, source in (("environment", environ), (str(DOTENV), dotenv)):
        present = {name.upper(): name for name in source}
        for choice in names.get(key, ()):
            if choice.upper() in present:
                return where, present[choice.upper()]
    return None


def format_env_error(
    exc: ValidationError,
    environ: Mapping[str, str],
    dotenv: Mapping[str, str] | None = None,
) -> str:
    """Return one line naming, per problem, the variable (or file) and the fault.

    Errors about the settings as a whole ("control_login needs control_password")
    have the field names in them replaced by the variables' names.
    """
    names = env_names()
    dotenv = dotenv or {}
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc:
            for key in sorted(names, key=len, reverse=True):
                used = _used(key, names, environ, dotenv)
                shown = used[1] if used else names[key][0]
                message = re.sub(rf"\b{re.escape(key)}\b", shown, message)
            problems.append(f"environment: {message}")
            continue
        key = _key(loc, names)
        used = _used(key, names, environ, dotenv)
        if used is None:
            problems.append(f"environment: {names.get(key, (key,))[0]}: {message}")
        else:
            problems.append(f"{used[0]}: {used[1]}: {message}")
    return "; ".join(problems)


def load_env_settings(
    cli: Mapping[str, Any],
    environ: Mapping[str, str],
    dotenv_path: Path = DOTENV,
) -> tuple[ChaosExporterSettings, ChaosTargetSettings]:
    """Read the command's settings and its one login from env, ``.env`` and flags.

    Precedence: flags > environment > ``.env`` > defaults.

    Raises:
        ConfigError: one line naming each bad variable as the user spelled it.
    """
    dotenv = {
        k: v for k, v in dotenv_values(dotenv_path).items() if v is not None
    } if dotenv_path.is_file() else {}  # fmt: skip
    try:
        settings = ChaosExporterSettings(
            _env_file=dotenv_path if dotenv else None,  # type: ignore[call-arg]
            **cli,
        )
    except SettingsError as exc:  # a nested value that is not valid JSON
        raise ConfigError(f"environment: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(format_env_error(exc, environ, dotenv)) from exc
    try:
        target = settings.target()
    except ValidationError as exc:
        raise ConfigError(format_env_error(exc, environ, dotenv)) from exc
    return settings, target
