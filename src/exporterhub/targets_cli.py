"""``exporterhub targets …``: list, add, remove, enable, disable, import, export.

Works on the target store directly (the same one ``exporterhub serve`` uses, found
the same way: ``--store``, the YAML's ``store:``, the environment, or
``exporterhub.db`` beside the config file), so it works with the server running or
not; a running server picks the change up at its next store poll. Validation is the
catalog's: the kind's own settings model, names the configuration file declares
are refused. Secrets never travel on the command line: give settings as a JSON
file or on stdin (``--settings -``); ``--set key=value`` is for plain values.
Wiring and printing only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from exporterhub.core.catalog import Catalog, CatalogError, InvalidTargetError, redacted
from exporterhub.core.control import storable_kinds
from exporterhub.core.errors import ConfigError
from exporterhub.exporters import load_plugins
from exporterhub.hub import load_hub_settings, open_store, targets_from_settings

if TYPE_CHECKING:
    from exporterhub.core.store import TargetStore

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add the ``targets`` command and its sub-commands to ``sub``."""
    parser = sub.add_parser("targets", help="manage stored targets")
    parser.add_argument("--config", "--config.file", dest="config", type=Path)
    parser.add_argument("--store", help="SQLite file or postgresql:// URL")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="every target with its state")
    listing.add_argument("--kind")
    listing.add_argument("--json", action="store_true", help="print JSON")

    add = actions.add_parser("add", help="store a new target")
    add.add_argument("kind")
    add.add_argument("name")
    add.add_argument(
        "--settings",
        help="settings as a JSON file, or - for stdin (the way to give secrets)",
    )
    add.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one plain setting (dotted keys for nested ones; JSON values)",
    )
    add.add_argument("--disabled", action="store_true", help="store it disabled")

    for name, text in (
        ("remove", "delete a stored target"),
        ("enable", "run a stored target"),
        ("disable", "keep a stored target but stop running it"),
    ):
        one = actions.add_parser(name, help=text)
        one.add_argument("kind")
        one.add_argument("name")

    export = actions.add_parser("export", help="print every stored target as JSON")
    export.add_argument("--include-secrets", action="store_true")
    export.add_argument("-o", "--output", type=Path)

    importing = actions.add_parser("import", help="add targets from an export")
    importing.add_argument("file", help="an export file, or - for stdin")
    importing.add_argument("--dry-run", action="store_true")

    rotate = actions.add_parser(
        "rotate-key", help="re-encrypt every secret with a new key"
    )
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        help="where to write the new key when the key comes from "
        "EXPORTERHUB_SECRET_KEY (set the variable from it before the next start)",
    )


def _value(text: str) -> Any:  # noqa: ANN401 - a JSON value
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _read(source: str, stdin: TextIO) -> str:
    """Return the text of a file argument, ``-`` being stdin."""
    if source == "-":
        return stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from exc


def _settings(args: argparse.Namespace, stdin: TextIO) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if args.settings:
        raw = _read(args.settings, stdin)
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--settings: not JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError("--settings: a JSON object is required")
        settings = loaded
    for item in args.values:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        node = settings
        *parents, leaf = key.split(".")
        for depth, part in enumerate(parents):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # --set a=1 --set a.b=2
                where = ".".join(parents[: depth + 1])
                raise ConfigError(f"--set {item!r}: {where} is not an object")
            node = child
        node[leaf] = _value(text)
    return settings


def _age(status: Any) -> str:  # noqa: ANN401 - a TargetStatus or None
    if status is None:
        return "never seen"
    state = "up" if status.up else status.link
    if status.last_error_kind and not status.up:
        state += f" ({status.last_error_kind})"
    return str(state)


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run one ``targets`` action; return the exit status.

    Raises:
        ConfigError: a bad config file, store, setting or argument (exit 2).
    """
    settings = load_hub_settings(args.config)
    plugins = load_plugins(installed_only=True)
    files = targets_from_settings(settings, plugins, str(args.config or "flags"))
    chosen = settings.store
    if args.store:
        is_url = "://" in args.store
        chosen = chosen.model_copy(
            update={
                "url": args.store if is_url else None,
                "path": None if is_url else Path(args.store),
            }
        )
    store = await open_store(chosen, args.config)
    try:
        catalog = Catalog(storable_kinds(plugins), store)
        catalog.set_file_targets(files)
        await catalog.load()
        return await _act(args, catalog, out)
    finally:
        await store.close()


async def _act(args: argparse.Namespace, catalog: Catalog, out: TextIO) -> int:
    store = catalog.store
    assert store is not None  # noqa: S101 - opened by run()
    action = args.action
    try:
        if action == "list":
            statuses = await store.statuses()
            entries = [e for e in catalog.entries() if args.kind in (None, e.kind)]
            if args.json:
                rows = []
                for entry in entries:
                    shown, secrets = redacted(entry.settings)
                    rows.append(
                        {
                            "kind": entry.kind,
                            "name": entry.name,
                            "source": entry.source,
                            "enabled": entry.enabled,
                            "shadowed": entry.shadowed,
                            "invalid": entry.invalid,
                            "settings": shown,
                            "secrets": secrets,
                        }
                    )
                json.dump(rows, out, indent=2)
                out.write("\n")
                return 0
            for entry in entries:
                state = _age(statuses.get((entry.kind, entry.name)))
                flags: list[str] = [entry.source]
                if not entry.enabled:
                    flags.append("disabled")
                if entry.shadowed:
                    flags.append("shadowed by the config file")
                if entry.invalid:
                    flags.append(f"invalid: {entry.invalid}")
                out.write(f"{entry.kind}/{entry.name}\t{state}\t{', '.join(flags)}\n")
            if not entries:
                out.write(
                    "no targets; add one with: exporterhub targets add KIND NAME\n"
                )
            return 0
        if action == "add":
            entry = await catalog.create(
                args.kind, args.name, args.settings_data, enabled=not args.disabled
            )
            out.write(f"added {entry.kind}/{entry.name}\n")
            return 0
        if action == "remove":
            await catalog.delete(args.kind, args.name, revision=None)
            out.write(f"removed {args.kind}/{args.name}\n")
            return 0
        if action in ("enable", "disable"):
            await catalog.patch(
                args.kind,
                args.name,
                None,
                enabled=action == "enable",
                revision=None,
            )
            out.write(f"{action}d {args.kind}/{args.name}\n")
            return 0
        if action == "export":
            document = catalog.export(include_secrets=args.include_secrets)
            text = json.dumps(document, indent=2) + "\n"
            if args.output is not None:
                await asyncio.to_thread(_write_private, args.output, text.encode())
            else:
                out.write(text)
            return 0
        if action == "import":
            try:
                document = json.loads(args.document)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{args.file}: not JSON: {exc}") from exc
            targets = document.get("targets") if isinstance(document, dict) else None
            if not isinstance(targets, list):
                raise ConfigError(f"{args.file}: no 'targets' list")
            report = await catalog.import_targets(targets, dry_run=args.dry_run)
            verb = "would import" if report.dry_run else "imported"
            out.write(f"{verb} {len(report.imported)}, skipped {len(report.skipped)}, ")
            out.write(f"{len(report.errors)} error(s)\n")
            for line in report.imported:
                out.write(f"  + {line}\n")
            for line in report.skipped:
                out.write(f"  = {line} (exists)\n")
            for error in report.errors:
                fields = "; ".join(
                    f"{f['field']}: {f['message']}" for f in error["fields"]
                )
                out.write(f"  ! #{error['index']} {error['kind']}/{error['name']}: ")
                out.write(f"{fields}\n")
            return 1 if report.errors else 0
        return await _rotate(args, store, out)
    except InvalidTargetError as exc:
        for problem in exc.problems:
            out.write(f"{problem.field}: {problem.message}\n")
        return 2
    except CatalogError as exc:
        out.write(f"{exc}\n")
        return 1


async def _rotate(args: argparse.Namespace, store: TargetStore, out: TextIO) -> int:
    from exporterhub.core.store import generate_key

    key = generate_key()
    if store.key_file is None:  # the key comes from the environment
        if args.new_key_file is None:
            raise ConfigError(
                "the key comes from EXPORTERHUB_SECRET_KEY: give --new-key-file "
                "PATH to receive the new one"
            )
        await asyncio.to_thread(_write_private, args.new_key_file, key + b"\n")
    count = await store.rotate_key(key)
    where = store.key_file or args.new_key_file
    out.write(f"re-encrypted the secrets of {count} target(s); the key is in ")
    out.write(f"{where}. Restart every server that uses this store")
    if store.key_file is None:
        out.write(" with EXPORTERHUB_SECRET_KEY set from that file")
    out.write(".\n")
    return 0


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (a key, an export with secrets)."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(data)


def main(args: argparse.Namespace) -> int:
    """Run the command against the real stdout/stdin (used by ``cli``)."""
    from exporterhub.core.logging import configure_logging
    from exporterhub.core.server import run as run_loop

    configure_logging("warning", "auto")  # stdout is for the answer (an export)

    # Files and stdin are read here, before the event loop runs.
    if args.action == "add":
        args.settings_data = _settings(args, sys.stdin)
    elif args.action == "import":
        args.document = _read(args.file, sys.stdin)
    return run_loop(run(args, sys.stdout))
