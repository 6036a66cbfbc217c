"""Hatch build hook: bake the git revision into the wheel and the sdist.

Writes ``exporterhub/_build.py`` (``REVISION = "<12 hex digits>"``) into every
artifact, so an installed exporterhub reports its revision in ``*_build_info``
without git at run time. The revision comes from ``EXPORTERHUB_REVISION`` (set it
where the checkout has no ``.git``, e.g. ``docker build --build-arg REVISION=...``),
else from ``git rev-parse`` of this project's own checkout, else from the
``_build.py`` an sdist already carries (a wheel built from the sdist keeps the
revision), else ``unknown``. Nothing is written into the source tree.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_BAKED = Path("src/exporterhub/_build.py")
_REVISION = re.compile(r'^REVISION = "([0-9A-Za-z._-]+)"$', re.MULTILINE)


def _git_revision(root: Path) -> str | None:
    """The checkout's short revision, only if ``root`` is the top of a git work tree."""
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],  # noqa: S607 - PATH lookup
            cwd=root, capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if top.returncode or Path(top.stdout.strip()).resolve() != root.resolve():
            return None  # an unpacked sdist inside someone else's repository
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - PATH lookup
            cwd=root, capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def revision(root: Path) -> str:
    """The revision to bake, by the order in the module docstring."""
    forced = os.environ.get("EXPORTERHUB_REVISION", "").strip()
    if forced:
        return forced
    found = _git_revision(root)
    if found:
        return found
    baked = root / _BAKED
    if baked.is_file():
        match = _REVISION.search(baked.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    return "unknown"


class RevisionHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds ``exporterhub/_build.py`` with the revision to the artifact."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Write the module to a temporary file and force-include it."""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        if version == "editable":
            return  # a checkout: exporterhub reads the revision from git itself
        value = revision(Path(self.root))
        if not re.fullmatch(r"[0-9A-Za-z._-]+", value):
            raise ValueError(f"EXPORTERHUB_REVISION: not a revision: {value!r}")
        self._dir = tempfile.TemporaryDirectory()
        module = Path(self._dir.name) / "_build.py"
        module.write_text(
            '"""Written by hatch_build.py when this distribution was built."""\n\n'
            f'REVISION = "{value}"\n',
            encoding="utf-8",
        )
        target = "exporterhub/_build.py" if self.target_name == "wheel" else str(_BAKED)
        build_data["force_include"][str(module)] = target

    def finalize(
        self, version: str, build_data: dict[str, Any], artifact_path: str
    ) -> None:
        """Remove the temporary module."""
        if self._dir is not None:
            self._dir.cleanup()
