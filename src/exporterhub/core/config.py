"""Settings loading: defaults < YAML file < environment < command line.

Models are pydantic; any invalid value becomes one ``ConfigError`` line naming the
file (or the environment/flags), the dotted key and what is wrong. This module reads
the config file and nothing else; it must not start anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsError,
)

from exporterhub.core.errors import ConfigError

__all__ = [
    "DictSource",
    "format_validation_error",
    "load_settings",
    "read_yaml",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T", bound=BaseSettings)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path``.

    Raises:
        ConfigError: the file is missing, unreadable, not YAML, or not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: {where}{problem}") from exc
    except ValueError as exc:  # PyYAML's int() of a number past 4300 digits
        raise ConfigError(f"{path}: a value YAML cannot read: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def format_validation_error(exc: ValidationError, source: str, prefix: str = "") -> str:
    """Return one line naming the source, each bad key and what is wrong with it.

    >>> from pydantic import BaseModel, Field
    >>> class M(BaseModel):
    ...     port: int = Field(gt=0)
    >>> try:
    ...     M(port=-1)
    ... except ValidationError as e:
    ...     print(format_validation_error(e, "a.yaml", "web."))
    a.yaml: web.port: Input should be greater than 0
    """
    problems = []
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"])
        problems.append(f"{prefix}{key}: {error['msg']}")
    return f"{source}: " + "; ".join(problems)


def validate_model(
    model: type[M], data: Mapping[str, Any], *, source: str, prefix: str = ""
) -> M:
    """Validate ``data`` as ``model`` or raise a one-line ``ConfigError``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, prefix)) from exc


def _has_path(data: Mapping[str, Any], loc: tuple[int | str, ...]) -> bool:
    node: Any = data
    for part in loc:
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_mapping or in_list:
            node = node[part]
        else:
            return False
    return True


def _attribute(
    exc: ValidationError,
    flags: Mapping[str, Any],
    env_data: Mapping[str, Any],
    file_data: Mapping[str, Any],
    source: str,
) -> str:
    """Name, per bad key, where its value came from: flags, the env or the file."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        # An empty location is the file's mapping as a whole (a key pydantic
        # cannot read, such as a lone surrogate): every source "has" that path.
        key = ".".join(str(part) for part in loc) or "(top level)"
        if loc and _has_path(flags, loc):
            origin = "flags"
        elif loc and _has_path(env_data, loc):
            origin = "environment"
        else:
            origin = source
        problems.append(f"{origin}: {key}: {error['msg']}")
    return "; ".join(problems)


class DictSource(PydanticBaseSettingsSource):
    """A settings source backed by an already parsed mapping (the YAML file)."""

    def __init__(
        self, settings_cls: type[BaseSettings], data: Mapping[str, Any]
    ) -> None:
        super().__init__(settings_cls)
        self._data = dict(data)

    def get_field_value(
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        """Return a field's raw value (unused: ``__call__`` returns all at once)."""
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        """Return every value of the mapping."""
        return dict(self._data)


def load_settings(
    model: type[T],
    *,
    yaml_data: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
    source: str = "configuration",
) -> T:
    """Build settings with precedence defaults < YAML < environment < CLI.

    Args:
        model: the settings class (its ``model_config`` names the env prefix).
        yaml_data: the parsed config file, if any.
        cli: values given as flags (only the ones the user set).
        source: what to name in errors (the config file path).

    Raises:
        ConfigError: one line naming the source, the key and the problem.
    """
    file_data = dict(yaml_data or {})

    class _Loaded(model):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, DictSource(settings_cls, file_data))

    flags = dict(cli or {})
    try:
        loaded = _Loaded(**flags)
    except SettingsError as exc:  # an env value pydantic-settings could not decode
        raise ConfigError(f"environment: {exc}") from exc
    except ValidationError as exc:
        try:
            env_data: Mapping[str, Any] = EnvSettingsSource(model)()
        except Exception:  # attribution is a courtesy; never hide the real error
            env_data = {}
        raise ConfigError(_attribute(exc, flags, env_data, file_data, source)) from exc
    # Hand back the caller's own class, not the private subclass.
    return model.model_construct(
        _fields_set=loaded.model_fields_set,
        **{name: getattr(loaded, name) for name in type(loaded).model_fields},
    )
