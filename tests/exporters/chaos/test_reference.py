"""The committed CHAOS config reference and .env.example match the settings models."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from exporterhub.exporters.chaos.environ import (
    ChaosExporterSettings,
    env_names,
    load_env_settings,
)
from exporterhub.exporters.chaos.reference import (
    ENV_EXAMPLE,
    PAGE,
    attribute_docs,
    render,
    render_env_example,
)
from exporterhub.exporters.chaos.settings import ChaosTargetSettings

ROOT = Path(__file__).resolve().parents[3]
REGENERATE = "run python -m exporterhub.exporters.chaos.reference"
ASSIGNMENT = re.compile(r"^#? ?([A-Za-z0-9_]+)=(.*)$")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("AAISP_EXPORTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


class TestCommittedFiles:
    def test_page_is_current(self):
        """docs/config/chaos.md equals what the models generate."""
        assert (ROOT / PAGE).read_text(encoding="utf-8") == render(), REGENERATE

    def test_env_example_is_current(self):
        """.env.example equals what the models generate."""
        committed = (ROOT / ENV_EXAMPLE).read_text(encoding="utf-8")
        assert committed == render_env_example(), REGENERATE

    def test_page_names_every_variable_and_key(self):
        """Every env name (aliases too) and every YAML key is on the page."""
        page = render()
        for names in env_names().values():
            for name in names:
                assert f"`{name}`" in page, name
        for name in ChaosTargetSettings.model_fields:
            assert f"`targets[].{name}`" in page, name


class TestEnvExample:
    def assignments(self) -> dict[str, str]:
        lines = (ROOT / ENV_EXAMPLE).read_text(encoding="utf-8").splitlines()
        found = [ASSIGNMENT.match(line) for line in lines]
        return {m[1]: m[2] for m in found if m is not None}

    def test_every_variable_is_commented_out(self):
        """No line sets anything until the user uncomments it."""
        text = (ROOT / ENV_EXAMPLE).read_text(encoding="utf-8")
        assert all(line.startswith("#") or not line for line in text.splitlines())

    def test_lists_every_canonical_variable_and_only_those(self):
        """Each canonical variable appears once; nothing else does."""
        canonical = {names[0] for names in env_names().values()}
        assert set(self.assignments()) == canonical

    def test_uncommented_it_loads_the_defaults(self, tmp_path):
        """Uncommented with a login filled in, the file loads and changes nothing."""
        values = self.assignments()
        values["AAISP_EXPORTER_CONTROL_LOGIN"] = "abc@a"
        values["AAISP_EXPORTER_CONTROL_PASSWORD"] = "example"
        (tmp_path / ".env").write_text(
            "".join(f"{k}={v}\n" for k, v in values.items() if v)
        )
        settings, target = load_env_settings({}, os.environ)
        defaults = ChaosExporterSettings.model_construct()
        for name in ChaosExporterSettings.model_fields:
            if "password" in name or name == "control_login":
                continue
            assert getattr(settings, name) == getattr(defaults, name), name
        assert target.control_login == "abc@a"

    def test_holds_no_secret(self):
        """Password lines are empty."""
        for name, value in self.assignments().items():
            if "PASSWORD" in name:
                assert value == "", name


class TestAttributeDocs:
    def test_continuation_lines_join_and_sections_end(self):
        """Wrapped entries are joined; the next section ends the list."""

        class Model(BaseModel):
            """A model.

            Attributes:
                one: first line
                    second line.
                two: short.

            Raises:
                nothing: not an attribute.
            """

        assert attribute_docs(Model) == {
            "one": "first line second line.",
            "two": "short.",
        }
