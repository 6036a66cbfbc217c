"""The CHAOS configuration reference (``docs/config/chaos.md``) and ``.env.example``.

Every environment variable of ``aaisp-exporter`` (canonical name, the original's
aliases, default) and every YAML key of ``exporters.chaos`` (type, default, range)
comes from the pydantic settings models; each meaning from the model's
``Attributes:`` docstring, so a setting added without a description fails to render.
A test compares the committed page with ``render()``. Pure: no I/O except the
``__main__`` block, which writes the page.

Run ``python -m exporterhub.exporters.chaos.reference`` to rewrite both files.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from exporterhub.exporters.chaos.environ import (
    ChaosExporterSettings,
    ServerSettings,
    env_names,
)
from exporterhub.exporters.chaos.settings import ChaosSection, ChaosTargetSettings

__all__ = ["ENV_EXAMPLE", "PAGE", "attribute_docs", "render", "render_env_example"]

PAGE: Final = Path("docs/config/chaos.md")
"""Where the page lives, relative to the repository root."""
ENV_EXAMPLE: Final = Path(".env.example")
"""The template users copy to ``.env``, relative to the repository root."""

_ENTRY: Final = re.compile(r"^    (\w+): (.*)$")


def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Return the ``Attributes:`` entries of a model's docstring, one line each.

    >>> attribute_docs(ServerSettings)["port"]
    'TCP port, 0..65535 (0: any free port).'
    """
    docs: dict[str, str] = {}
    current: str | None = None
    inside = False
    for line in (inspect.getdoc(model) or "").splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        entry = _ENTRY.match(line)
        if entry is not None:
            current = entry[1]
            docs[current] = entry[2].strip()
        elif line.startswith("        ") and current is not None:
            docs[current] += " " + line.strip()
        elif line.strip():  # the next section ends the attributes
            break
    return docs


def _describe(model: type[BaseModel], name: str, *fallbacks: type[BaseModel]) -> str:
    for source in (model, *fallbacks):
        text = attribute_docs(source).get(name)
        if text:
            return text.replace("|", "\\|")
    raise ValueError(f"{model.__name__}.{name} has no description in Attributes:")


def _type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if prop.get("format") == "password":
        return "secret string"
    kind = prop.get("type")
    if kind == "array":
        return f"list of {prop.get('items', {}).get('type', 'value')}s"
    if kind is None and "anyOf" in prop:
        return " or ".join(str(p.get("type")) for p in prop["anyOf"])
    return str(kind)


def _range(prop: dict[str, Any]) -> str:
    low = (
        f"≥ {prop['minimum']}"
        if "minimum" in prop
        else f"> {prop['exclusiveMinimum']}"
        if "exclusiveMinimum" in prop
        else ""
    )
    high = f"≤ {prop['maximum']}" if "maximum" in prop else ""
    if "minLength" in prop:
        low = f"at least {prop['minLength']} character"
    if "maxLength" in prop:
        high = f"at most {prop['maxLength']} characters"
    return ", ".join(part for part in (low, high) if part)


def _default(prop: dict[str, Any]) -> str:
    if prop.get("format") == "password":
        return "(none)"
    value = prop.get("default")
    if value is None or value == "":
        return "(none)" if value == "" else "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[]"
    return str(value)


def _env_rows() -> list[str]:
    schema = ChaosExporterSettings.model_json_schema(by_alias=False)
    props = dict(schema["properties"])
    server = schema["$defs"]["ServerSettings"]["properties"]
    rows = []
    for key, names in env_names().items():
        if key.startswith("server."):
            prop = server[key.split(".", 1)[1]]
            meaning = _describe(ServerSettings, key.split(".", 1)[1])
        else:
            prop = props[key]
            meaning = _describe(ChaosExporterSettings, key)
        aliases = ", ".join(f"`{n}`" for n in names[1:]) or "—"
        limits = _range(prop)
        rows.append(
            f"| `{names[0]}` | {aliases} | `{_default(prop)}` | {_type(prop)}"
            f"{f' ({limits})' if limits else ''} | {meaning} |"
        )
    return rows


def _yaml_rows(model: type[BaseModel], prefix: str) -> list[str]:
    props = model.model_json_schema()["properties"]
    rows = []
    for name in model.model_fields:
        if name == "targets":
            continue
        prop = props[name]
        limits = _range(prop)
        meaning = _describe(model, name, ChaosExporterSettings)
        rows.append(
            f"| `{prefix}{name}` | {_type(prop)}{f' ({limits})' if limits else ''} "
            f"| `{_default(prop)}` | {meaning} |"
        )
    return rows


def _flag_rows() -> list[str]:
    from exporterhub.exporters.chaos.__main__ import build_parser

    rows = []
    for action in build_parser()._actions:  # argparse's only listing of its flags
        if not action.option_strings or action.dest == "help":
            continue
        flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
        choices = f" ({', '.join(action.choices)})" if action.choices else ""
        rows.append(f"| {flags} | {(action.help or '').replace('|', '/')}{choices} |")
    return rows


def render() -> str:
    """Return the whole reference page (Markdown)."""
    lines = [
        "# chaos configuration reference",
        "",
        "Generated by `python -m exporterhub.exporters.chaos.reference` from the",
        "settings models (`exporterhub/exporters/chaos/settings.py` and",
        "`environ.py`); do not edit by hand. Migrating from rknightion/aaisp-exporter:",
        "see",
        "[the migration page](../migration/aaisp-exporter.md).",
        "",
        "## `aaisp-exporter`: environment variables",
        "",
        "Read from the environment and, for variables not set there, from a `.env`",
        "file in the working directory (as the original did). Names are matched",
        "without regard to case. Where both a canonical name and an alias are set,",
        "the canonical name wins. A bad value stops the command (exit 2) with a",
        "message naming the variable as you set it. `.env.example` at the",
        "repository root lists every canonical variable with its default.",
        "",
        "| variable | also accepted (the original's names) | default | type "
        "| meaning |",
        "|---|---|---|---|---|",
        *_env_rows(),
        "",
        "With `--config.file` the logins, listen address and logging come from the",
        "YAML file instead, and these variables are not read.",
        "",
        "## `aaisp-exporter`: flags",
        "",
        "| flag | meaning |",
        "|---|---|",
        *_flag_rows(),
        "",
        "## YAML: `exporters.chaos`",
        "",
        "For `exporterhub serve --config FILE` and",
        "`aaisp-exporter --config.file FILE`.",
        "",
        "```yaml",
        "exporters:",
        "  chaos:",
        "    targets:",
        "      - control_login: abc@a",
        "        control_password: use-a-secret-store",
        "        fast_interval: 60",
        "```",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
        *_yaml_rows(ChaosSection, "exporters.chaos."),
        "| `exporters.chaos.targets` | list of logins | `[]` | one entry per login, "
        "keys below |",
        *_yaml_rows(ChaosTargetSettings, "targets[]."),
        "",
        "Rules across keys: set `control_login` (preferred) or `account_number`;",
        "`control_login` needs `control_password`; `account_number` needs",
        "`account_password`. The same keys are what `/api/targets/chaos/{name}`",
        "accepts (passwords write-only).",
        "",
    ]
    return "\n".join(lines)


def _env_default(prop: dict[str, Any]) -> str:
    default = _default(prop)
    return "" if default in ("(none)", "—", "[]") else default


def render_env_example() -> str:
    """Return ``.env.example``: every canonical variable, commented, at its default.

    No values for logins or passwords: the user fills those in their own ``.env``.
    """
    schema = ChaosExporterSettings.model_json_schema(by_alias=False)
    props = dict(schema["properties"])
    server = schema["$defs"]["ServerSettings"]["properties"]
    lines = [
        "# aaisp-exporter: copy to .env (read from the working directory) or pass",
        "# these as environment variables. Every line shows the default; uncomment",
        "# and change what you need. The original aaisp-exporter's names",
        "# (AAISP_EXPORTER_AUTH__CONTROL_LOGIN, ..._INTERVALS__FAST, ...) work too;",
        "# see docs/config/chaos.md. Generated by",
        "# python -m exporterhub.exporters.chaos.reference; do not edit by hand.",
        "# Never commit a .env holding a real password.",
    ]
    for key, names in env_names().items():
        if key.startswith("server."):
            sub = key.split(".", 1)[1]
            prop, meaning = server[sub], _describe(ServerSettings, sub)
        else:
            prop, meaning = props[key], _describe(ChaosExporterSettings, key)
        lines += [
            "",
            f"# {meaning.replace('``', '')}",
            f"# {names[0]}={_env_default(prop)}",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - the docs' regeneration step
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(render(), encoding="utf-8")
    ENV_EXAMPLE.write_text(render_env_example(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE} and {ENV_EXAMPLE}\n")
