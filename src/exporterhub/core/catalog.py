"""Every target the process is told about, by where it comes from: files or the store.

File targets (YAML and flags) are read-only here; stored targets are validated by
their kind's own settings model (``core.kinds``) on every write and on every read,
so a row that no longer validates (a newer exporter tightened a rule) is shown as
invalid instead of being run. A stored target whose kind and name a file also
declares is *shadowed*: the file wins. Secrets are write-only: a replace or patch
that leaves a secret out (or sends null) keeps the stored one.

The catalog is the single place API, CLI and UI change targets through; it knows
nothing of workers (``core.control`` runs what it wants) nor of HTTP.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import SecretStr, ValidationError

from exporterhub.core.api.errors import FieldProblem, validation_problems
from exporterhub.core.errors import ConfigError, ExporterError
from exporterhub.core.kinds import StoredKind, Tree
from exporterhub.core.plugin import Target
from exporterhub.core.store import (
    StaleRevisionError,
    StoredTarget,
    TargetExistsError,
    TargetNotFoundError,
)

if TYPE_CHECKING:
    from exporterhub.core.store import TargetStore

__all__ = [
    "EXPORT_VERSION",
    "NAME_PATTERN",
    "Catalog",
    "CatalogError",
    "Entry",
    "ImportReport",
    "InvalidTargetError",
    "TargetConflictError",
    "UnknownTargetError",
    "check_name",
    "redacted",
]

EXPORT_VERSION: Final = 1
_NAME_LIMIT: Final = 128
_CONTROL: Final = r"\x00-\x1f\x7f-\x9f"
_SPACE: Final = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_EDGE: Final = f"[^{_CONTROL}{_SPACE}]"
_NOT_DOT: Final = f"[^{_CONTROL}{_SPACE}.]"
NAME_PATTERN: Final = (
    f"^(?:{_NOT_DOT}|{_NOT_DOT}{_EDGE}|{_EDGE}{_NOT_DOT}|{_EDGE}[^{_CONTROL}]+{_EDGE})$"
)
"""What a target name may be: no control characters (C0 and C1), no white space at
either end, not ``.`` or ``..`` (a URL cannot address those). Spelled out character
by character, without ``\\s`` or look-arounds, so JSON Schema's ECMA-262 engine,
pydantic's and Python's agree on every name."""
Key = tuple[str, str]


class CatalogError(ExporterError):
    """A change the catalog refuses; the API turns each kind into a status."""

    retryable = False


class InvalidTargetError(CatalogError):
    """The settings (or the name, or the kind) are invalid: each problem named."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = list(problems)


class UnknownTargetError(CatalogError):
    """No stored target has that kind and name."""


class TargetConflictError(CatalogError):
    """The name is taken, the target comes from a file, or the revision is stale.

    Attributes:
        revision: the stored revision now, when a stale revision was sent.
    """

    def __init__(self, message: str, revision: int | None = None) -> None:
        super().__init__(message)
        self.revision = revision


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One target as the API and UI show it (settings with secrets as SecretStr)."""

    kind: str
    name: str
    source: Literal["file", "store"]
    enabled: bool
    settings: dict[str, Any]
    revision: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    shadowed: bool = False
    invalid: str | None = None
    target: Target | None = None
    id: int | None = None
    """The stored row's surrogate key (stable for the row's life); None for file
    targets. People and the REST API name targets by kind and name; a command
    keeping an original's numeric ids (``snp-exporter``) uses this."""


@dataclass(slots=True)
class ImportReport:
    """What an import did (or would do, for a dry run), per entry."""

    dry_run: bool
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def check_name(name: object) -> str:
    """Return a valid target name or raise ``InvalidTargetError`` naming ``name``.

    Names are what people call a target (shown as text everywhere, so any
    printable character is fine); no control characters, no surrounding spaces.

    >>> check_name("main-rig")
    'main-rig'
    """
    problem = None
    if not isinstance(name, str) or not name:
        problem = "a non-empty string is required"
    elif len(name) > _NAME_LIMIT:
        problem = f"at most {_NAME_LIMIT} characters"
    elif re.search(f"[{_CONTROL}]", name):
        problem = "no control characters"
    elif name in (".", ".."):
        problem = "not . or .. (a URL cannot name those)"
    elif not re.fullmatch(NAME_PATTERN, name):
        problem = "no leading or trailing spaces"
    if problem is not None:
        raise InvalidTargetError([FieldProblem(field="name", message=problem)])
    assert isinstance(name, str)  # noqa: S101 - narrowed above
    return name


def _keep_secrets(incoming: Tree, stored: Tree) -> Tree:
    """Fill secrets the caller left out (absent or null) from the stored settings.

    A section left out that holds secrets comes back holding only those: its
    other fields take their defaults, as any omitted field does.
    """
    if isinstance(stored, SecretStr):
        return stored if incoming is None else incoming
    if incoming is None and isinstance(stored, dict) and _holds_secret(stored):
        incoming = {}
    if isinstance(stored, dict) and isinstance(incoming, dict):
        merged = dict(incoming)
        for key, value in stored.items():
            if key in merged:
                merged[key] = _keep_secrets(merged[key], value)
            elif _holds_secret(value):
                merged[key] = _keep_secrets(None, value)
        return merged
    if isinstance(stored, list) and isinstance(incoming, list):
        return [
            _keep_secrets(item, stored[i]) if i < len(stored) else item
            for i, item in enumerate(incoming)
        ]
    return incoming


def _holds_secret(value: Tree) -> bool:
    if isinstance(value, SecretStr):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    return False


def _merge(base: Tree, patch: Tree) -> Tree:
    """Deep-merge a JSON patch into stored settings (lists and scalars replace)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    if patch is None and isinstance(base, SecretStr):
        return base  # null never clears a secret; send "" to clear it
    return patch


class Catalog:
    """File and stored targets of every kind the store can hold.

    Args:
        kinds: the storable kinds, by kind.
        store: the target store; None when the process runs on files alone.
    """

    def __init__(
        self, kinds: Mapping[str, StoredKind], store: TargetStore | None
    ) -> None:
        self.kinds = dict(kinds)
        self.store = store
        self._files: dict[Key, Target] = {}
        self._sources: list[Target] = []
        self._rows: dict[Key, StoredTarget] = {}
        self._entries: dict[Key, Entry] = {}
        self._stored: dict[Key, Entry] = {}
        """Each stored row's entry as last built, reused while the row is unchanged."""

    # -- reading -------------------------------------------------------------

    def set_file_targets(self, targets: Sequence[Target]) -> None:
        """Replace the file targets (after a start or a reload).

        Discovery sources are file targets too (they come from the same section).

        Raises:
            ConfigError: two targets share a kind and name; nothing changes.
        """
        files: dict[Key, Target] = {}
        sources: dict[Key, Target] = {}
        for target in targets:
            group = sources if target.discovers else files
            key = (target.kind, target.name)
            if key in group:
                raise ConfigError(f"duplicate target name {target.kind}/{target.name}")
            group[key] = target
        self._sources = list(sources.values())
        self._files = files
        self._rebuild()

    async def load(self) -> None:
        """Re-read every stored row."""
        if self.store is None:
            return
        rows = await self.store.list()
        self._rows = {(r.kind, r.name): r for r in rows}
        self._rebuild()

    async def reload_one(self, kind: str, name: str) -> None:
        """Re-read one stored row (after a write through this catalog)."""
        if self.store is None:
            return
        row = await self.store.get(kind, name)
        if row is None:
            self._rows.pop((kind, name), None)
        else:
            self._rows[(kind, name)] = row
        self._rebuild()

    def _rebuild(self) -> None:
        entries: dict[Key, Entry] = {}
        for key, target in self._files.items():
            kind = self.kinds.get(target.kind)
            settings = kind.settings(target) if kind is not None else {}
            entries[key] = Entry(
                kind=target.kind,
                name=target.name,
                source="file",
                enabled=True,
                settings=settings,
                target=target,
            )
        stored: dict[Key, Entry] = {}
        for key, row in self._rows.items():
            shadowed = key in entries
            entry = self._stored.get(key)
            if entry is None or not _same(entry, row, shadowed):
                entry = self._entry(row, shadowed)
            stored[key] = entry
            entries[(key[0], key[1] + "\x00store") if shadowed else key] = entry
        # Validating every row again on each write made a write cost O(targets).
        self._stored = stored
        self._entries = entries

    def _entry(self, row: StoredTarget, shadowed: bool) -> Entry:
        kind = self.kinds.get(row.kind)
        target: Target | None = None
        invalid: str | None = None
        if kind is None:
            invalid = f"unknown kind {row.kind!r} (an exporter this version lacks)"
        else:
            try:
                target = kind.target(row.name, row.settings)
            except ValidationError as exc:
                invalid = "; ".join(
                    f"{p.field}: {p.message}" for p in validation_problems(exc)
                )
            except ValueError as exc:
                invalid = str(exc)
        return Entry(
            kind=row.kind,
            name=row.name,
            source="store",
            enabled=row.enabled,
            settings=row.settings,
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
            shadowed=shadowed,
            invalid=invalid,
            target=target,
            id=row.id,
        )

    def entries(self) -> list[Entry]:
        """Return every target, file targets first, then stored ones by kind/name."""
        return sorted(
            self._entries.values(),
            key=lambda e: (e.source != "file", e.kind, e.name, e.shadowed),
        )

    def entry(self, kind: str, name: str) -> Entry | None:
        """Return one target: the file one when both exist."""
        return self._entries.get((kind, name))

    def shadowed(self) -> list[Entry]:
        """Return stored targets a file target of the same kind and name hides."""
        return [e for e in self._entries.values() if e.shadowed]

    def wanted(self) -> list[Target]:
        """Return what should run: sources, file targets, enabled stored ones."""
        return [
            *self._sources,
            *(
                e.target
                for e in self.entries()
                if e.target is not None and e.enabled and not e.shadowed
            ),
        ]

    # -- validation ----------------------------------------------------------

    def _kind(self, kind: str) -> StoredKind:
        found = self.kinds.get(kind)
        if found is None:
            known = ", ".join(sorted(self.kinds)) or "none"
            raise InvalidTargetError(
                [FieldProblem(field="kind", message=f"unknown kind; known: {known}")]
            )
        return found

    def validate(
        self, kind: str, name: str, settings: Mapping[str, Any]
    ) -> tuple[Target, dict[str, Any]]:
        """Validate settings as the kind's model does; return target and stored form.

        Raises:
            InvalidTargetError: each bad field named ``settings.<dotted path>``.
        """
        stored_kind = self._kind(kind)
        check_name(name)
        if not isinstance(settings, Mapping):
            raise InvalidTargetError(
                [FieldProblem(field="settings", message="an object is required")]
            )
        try:
            target = stored_kind.target(name, settings)
        except ValidationError as exc:
            problems = [
                FieldProblem(
                    field="settings" if p.field == "(body)" else f"settings.{p.field}",
                    message=p.message,
                )
                for p in validation_problems(exc)
            ]
            raise InvalidTargetError(problems) from None
        except ValueError as exc:
            raise InvalidTargetError(
                [FieldProblem(field="settings", message=str(exc))]
            ) from None
        return target, stored_kind.settings(target)

    def _writable(self, kind: str, name: str) -> TargetStore:
        if self.store is None:
            raise TargetConflictError(
                "no target store: start with --store PATH to add targets"
            )
        if (kind, name) in self._files:
            raise TargetConflictError(
                f"{kind}/{name} comes from the configuration file; change it there"
            )
        return self.store

    # -- writing -------------------------------------------------------------

    async def create(
        self, kind: str, name: str, settings: Mapping[str, Any], *, enabled: bool
    ) -> Entry:
        """Store a new target.

        Raises:
            InvalidTargetError: a bad kind, name or setting.
            TargetConflictError: the name is taken (in the store or a file).
        """
        _, stored = self.validate(kind, name, settings)
        store = self._writable(kind, name)
        try:
            await store.create(kind, name, stored, enabled=enabled)
        except TargetExistsError:
            raise TargetConflictError(f"{kind}/{name} exists already") from None
        await self.reload_one(kind, name)
        return self._stored_entry(kind, name)

    def _current(self, kind: str, name: str) -> StoredTarget:
        row = self._rows.get((kind, name))
        if row is None:
            if (kind, name) in self._files:
                raise TargetConflictError(
                    f"{kind}/{name} comes from the configuration file; change it there"
                )
            raise UnknownTargetError(f"no stored target {kind}/{name}")
        return row

    def _stored_entry(self, kind: str, name: str) -> Entry:
        entry = self._entries.get((kind, name))
        if entry is None or entry.source != "store":
            entry = self._entries[(kind, name + "\x00store")]
        return entry

    async def replace(
        self,
        kind: str,
        name: str,
        settings: Mapping[str, Any],
        *,
        enabled: bool,
        revision: int,
    ) -> Entry:
        """Replace a stored target's settings; secrets left out are kept.

        Raises:
            InvalidTargetError, UnknownTargetError, TargetConflictError (stale
            revision, or a file target).
        """
        current = self._current(kind, name)
        merged = _keep_secrets(copy.deepcopy(dict(settings)), current.settings)
        return await self._write(current, merged, enabled, revision)

    async def patch(
        self,
        kind: str,
        name: str,
        settings: Mapping[str, Any] | None,
        *,
        enabled: bool | None,
        revision: int | None,
    ) -> Entry:
        """Merge changes into a stored target (settings deep-merged, enabled set).

        Without a revision the changes merge into the row as stored now (another
        process may have changed it since this one last read it).

        Raises:
            InvalidTargetError, UnknownTargetError, TargetConflictError.
        """
        if revision is None:
            await self.reload_one(kind, name)
        current = self._current(kind, name)
        merged = (
            _merge(current.settings, dict(settings))
            if settings
            else dict(current.settings)
        )
        return await self._write(
            current,
            merged,
            current.enabled if enabled is None else enabled,
            current.revision if revision is None else revision,
        )

    async def _write(
        self, current: StoredTarget, settings: Tree, enabled: bool, revision: int
    ) -> Entry:
        kind, name = current.kind, current.name
        _, stored = self.validate(kind, name, settings)
        store = self._writable(kind, name)
        try:
            await store.update(kind, name, stored, enabled=enabled, revision=revision)
        except StaleRevisionError as exc:
            await self.reload_one(kind, name)
            raise TargetConflictError(
                f"{kind}/{name} changed meanwhile (revision {exc.current}, "
                f"not {revision}): reload it and try again",
                revision=exc.current,
            ) from None
        except TargetNotFoundError:
            await self.reload_one(kind, name)
            raise UnknownTargetError(f"no stored target {kind}/{name}") from None
        await self.reload_one(kind, name)
        return self._stored_entry(kind, name)

    async def delete(self, kind: str, name: str, *, revision: int | None) -> None:
        """Delete a stored target.

        Raises:
            UnknownTargetError, TargetConflictError (stale revision, file target).
        """
        self._current(kind, name)
        store = self._writable(kind, name)
        try:
            await store.delete(kind, name, revision=revision)
        except StaleRevisionError as exc:
            raise TargetConflictError(
                f"{kind}/{name} changed meanwhile (revision {exc.current})",
                revision=exc.current,
            ) from None
        except TargetNotFoundError:
            raise UnknownTargetError(f"no stored target {kind}/{name}") from None
        finally:
            await self.reload_one(kind, name)

    # -- export and import ---------------------------------------------------

    def export(self, *, include_secrets: bool) -> dict[str, Any]:
        """Return every stored target as an import document.

        Secrets are left out unless ``include_secrets`` (the caller decides who may).
        """
        targets = []
        for entry in self.entries():
            if entry.source != "store":
                continue
            targets.append(
                {
                    "kind": entry.kind,
                    "name": entry.name,
                    "enabled": entry.enabled,
                    "settings": _plain(entry.settings, include_secrets),
                }
            )
        return {
            "version": EXPORT_VERSION,
            "exported_at": datetime.now(UTC).isoformat(),
            "targets": targets,
        }

    async def import_targets(
        self, targets: Sequence[Any], *, dry_run: bool
    ) -> ImportReport:
        """Validate every entry first, then store the valid new ones.

        Entries whose kind and name exist already (stored or from a file) are
        skipped; invalid ones are reported with their fields and not stored.
        """
        report = ImportReport(dry_run=dry_run)
        valid: list[tuple[str, str, dict[str, Any], bool]] = []
        seen: set[Key] = set()
        for index, item in enumerate(targets):
            if not isinstance(item, Mapping):
                report.errors.append(
                    _problem(index, None, None, "an object is required")
                )
                continue
            kind, name = item.get("kind"), item.get("name")
            label = f"{kind}/{name}"
            try:
                if not isinstance(kind, str):
                    raise InvalidTargetError(
                        [FieldProblem(field="kind", message="a string is required")]
                    )
                checked = check_name(name)
                enabled = item.get("enabled", True)
                if not isinstance(enabled, bool):
                    raise InvalidTargetError(
                        [FieldProblem(field="enabled", message="true or false")]
                    )
                settings = item.get("settings", {})
                _, stored = self.validate(kind, checked, settings)
            except InvalidTargetError as exc:
                report.errors.append(
                    {
                        "index": index,
                        "kind": kind,
                        "name": name,
                        "fields": [p.model_dump() for p in exc.problems],
                    }
                )
                continue
            key = (kind, checked)
            if key in seen or key in self._files or key in self._rows:
                report.skipped.append(label)
                continue
            seen.add(key)
            valid.append((kind, checked, stored, enabled))
        if dry_run:
            report.imported = [f"{k}/{n}" for k, n, _, _ in valid]
            return report
        if valid and self.store is None:
            raise TargetConflictError(
                "no target store: start with --store PATH to import targets"
            )
        if valid:
            assert self.store is not None  # noqa: S101 - checked above
            try:
                created, raced = await self.store.create_many(valid)
            except TargetExistsError:
                raise TargetConflictError(
                    "another process stored some of these targets meanwhile; "
                    "nothing was imported: try again"
                ) from None
            report.imported = [f"{k}/{n}" for k, n in created]
            # Another process may have stored some of them meanwhile.
            report.skipped += [f"{k}/{n}" for k, n in raced]
        await self.load()
        return report


def _same(entry: Entry, row: StoredTarget, shadowed: bool) -> bool:
    """Say whether ``entry`` was built from a row equal to ``row``."""
    return (
        entry.id == row.id
        and entry.revision == row.revision
        and entry.shadowed == shadowed
        and entry.enabled == row.enabled
        and entry.updated_at == row.updated_at
        and entry.created_at == row.created_at
        and entry.settings == row.settings
    )


def _problem(index: int, kind: object, name: object, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "kind": kind,
        "name": name,
        "fields": [{"field": "(entry)", "message": message}],
    }


def _plain(value: Tree, include_secrets: bool) -> Tree:
    """Return stored settings as JSON values; secrets revealed or left out."""
    if isinstance(value, SecretStr):
        return value.get_secret_value() if include_secrets else None
    if isinstance(value, dict):
        return {
            key: _plain(item, include_secrets)
            for key, item in value.items()
            if include_secrets or not isinstance(item, SecretStr)
        }
    if isinstance(value, list):
        return [_plain(item, include_secrets) for item in value]
    return value


def redacted(settings: Tree, path: str = "") -> tuple[Tree, dict[str, bool]]:
    """Return settings with every secret as null, and which secrets are set.

    >>> redacted({"user": "u", "password": SecretStr("pw"), "token": SecretStr("")})
    ({'user': 'u', 'password': None, 'token': None}, {'password': True, 'token': False})
    """
    secrets: dict[str, bool] = {}
    if isinstance(settings, SecretStr):
        secrets[path] = bool(settings.get_secret_value())
        return None, secrets
    if isinstance(settings, dict):
        out = {}
        for key, item in settings.items():
            value, found = redacted(item, f"{path}.{key}" if path else str(key))
            out[key] = value
            secrets.update(found)
        return out, secrets
    if isinstance(settings, list):
        items = []
        for index, item in enumerate(settings):
            value, found = redacted(item, f"{path}.{index}" if path else str(index))
            items.append(value)
            secrets.update(found)
        return items, secrets
    return settings, secrets
