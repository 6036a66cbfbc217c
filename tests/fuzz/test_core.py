"""The YAML and environment layers, every exporter's config sections and the
target import, fuzzed.

Invariant: a config file or environment is settings and targets or one
``ConfigError`` naming where (the file, ``environment``, ``flags``) and the key;
an import document is a report whose every refused entry names its fields, never
an exception; ``exporterhub targets add --set`` values are settings or a
``ConfigError``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from exporterhub.core.catalog import Catalog
from exporterhub.core.config import read_yaml
from exporterhub.core.control import storable_kinds
from exporterhub.core.errors import ConfigError
from exporterhub.exporters import load_plugins
from exporterhub.exporters.kasa.original import read_original
from exporterhub.hub import load_hub_settings, targets_from_settings
from exporterhub.targets_cli import _settings

from .strategies import JSON_VALUES, TEXT, budget, mutated, outcome

PLUGINS = load_plugins()
SNP = {
    "name": "lab", "restapi": "http://127.0.0.1:9089/api/auth",
    "websocket": "ws://127.0.0.1:9089/smm", "username": "admin", "password": "pw",
    "objects_ids": [{"elementIP": "127.0.0.1", "objectType": "ptp"}],
}  # fmt: skip
HUB = {
    "web": {"listen_address": "127.0.0.1:9000"},
    "log": {"level": "info", "format": "json"},
    "store": {"path": "store.db"},
    "exporters": {
        "phd2": {"targets": [{"name": "a", "host": "127.0.0.1", "port": 4400}]},
        "chaos": {
            "targets": [{"name": "h", "control_login": "x@a", "control_password": "pw"}]
        },
        "starlink": {"targets": [{"name": "dish", "mode": "simulation"}]},
        "tapo": {"devices": ["127.0.0.1", {"host": "127.0.0.2", "port": 9999}]},
        "snp": {"targets": [SNP]},
    },
}
"""A file of every exporter's section, the seed the fuzz mutates."""
TAPO_ORIGINAL = yaml.safe_load(
    (
        Path(__file__).parents[1] / "fixtures/kasa/pyprom-exporters/config.yaml"
    ).read_text(encoding="utf-8")
)
DOCUMENTS = st.sampled_from([HUB]).flatmap(mutated) | JSON_VALUES


class TestYaml:
    @given(text=st.binary(max_size=80) | st.text(max_size=80).map(str.encode))
    @budget(150)
    @example(text=b"a: !!python/object:os.system x")
    @example(text=b"- 1\n- 2")
    @example(text=b"a: &x [*x]")
    @example(text=b"a: " + b"9" * 5000)
    def test_read_yaml_is_a_mapping_or_a_config_error(
        self, tmp_path_factory: pytest.TempPathFactory, text: bytes
    ) -> None:
        """Any file is a mapping or a ConfigError naming the file."""
        path = tmp_path_factory.mktemp("yaml") / "x.yaml"
        path.write_bytes(text)
        data, error = outcome(lambda: read_yaml(path), ConfigError)
        if error is None:
            assert isinstance(data, dict)
        else:
            assert str(error).startswith(f"{path}: ")


def _load(path: Path) -> Any:
    settings = load_hub_settings(path)
    return targets_from_settings(settings, PLUGINS, str(path))


class TestHubFile:
    @given(document=DOCUMENTS)
    @budget(150)
    @example(document={"\ud800": None})
    def test_file_gives_targets_or_a_config_error(
        self, tmp_path_factory: pytest.TempPathFactory, document: Any
    ) -> None:
        """A hub file is settings and targets, or a ConfigError naming the file."""
        path = tmp_path_factory.mktemp("hub") / "exporterhub.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        targets, error = outcome(lambda: _load(path), ConfigError)
        if error is None:
            assert all(t.kind in PLUGINS for t in targets)
        else:
            assert str(path) in str(error)

    @given(
        environ=st.dictionaries(
            st.sampled_from(
                [
                    "EXPORTERHUB_WEB__LISTEN_ADDRESS",
                    "EXPORTERHUB_LOG__LEVEL",
                    "EXPORTERHUB_STORE__PATH",
                    "EXPORTERHUB_EXPORTERS",
                    "EXPORTERHUB_EXPORTERS__PHD2",
                    "EXPORTERHUB_WEB",
                    "EXPORTERHUB_LOG",
                    "EXPORTERHUB_WEB__CONFIG_FILE",
                    "EXPORTERHUB_STORE__URL",
                ]
            ),
            TEXT | JSON_VALUES.map(lambda v: yaml.safe_dump(v)),
            max_size=3,
        )
    )
    @budget(100)
    @example(environ={"EXPORTERHUB_EXPORTERS": "{"})
    @example(environ={"EXPORTERHUB_WEB": "[1]"})
    def test_environment_gives_settings_or_a_config_error(
        self, tmp_path_factory: pytest.TempPathFactory, environ: dict[str, str]
    ) -> None:
        """EXPORTERHUB_* values are taken or refused in one ConfigError."""
        path = tmp_path_factory.mktemp("hub") / "exporterhub.yaml"
        path.write_text(yaml.safe_dump(HUB), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            for name, value in environ.items():
                # The OS takes neither NUL nor a lone surrogate in a variable.
                text = value.replace("\x00", "").encode("utf-8", "replace").decode()
                patch.setenv(name, text)
            _, error = outcome(lambda: _load(path), ConfigError)
        assert error is None or str(error)


class TestOriginalFiles:
    @given(document=st.sampled_from([TAPO_ORIGINAL]).flatmap(mutated))
    @budget(100)
    def test_original_tapo_file_is_read_or_refused(self, document: Any) -> None:
        """pyprom-exporters' config.yaml is read, or refused naming file and key."""
        if not isinstance(document, dict):
            return  # read_yaml refuses a file whose top is not a mapping
        result, error = outcome(lambda: read_original(document, "c.yaml"), ConfigError)
        assert error is None or str(error).startswith("c.yaml: ")
        assert error is not None or result is not None


IMPORTS = st.lists(
    st.fixed_dictionaries(
        {"kind": st.sampled_from([*PLUGINS, "nope"]) | JSON_VALUES},
        optional={
            "name": st.sampled_from(["a", "b", " a", "x" * 200]) | JSON_VALUES,
            "enabled": JSON_VALUES,
            "settings": st.sampled_from(
                [HUB["exporters"]["phd2"]["targets"][0], SNP, {}]
            ).flatmap(mutated),
        },
    )
    | JSON_VALUES,
    max_size=5,
)


class TestImport:
    @given(targets=IMPORTS)
    @budget(100)
    @example(targets=[{"kind": "phd2", "name": ["a"]}, {"kind": ["x"], "name": "a"}])
    def test_import_reports_every_entry(self, targets: list[Any]) -> None:
        """Each entry is imported, skipped or an error naming its fields."""
        catalog = Catalog(storable_kinds(PLUGINS), None)
        report = asyncio.run(catalog.import_targets(targets, dry_run=True))
        assert len(report.imported) + len(report.skipped) + len(report.errors) == len(
            targets
        )
        for error in report.errors:
            assert error["fields"]
            assert all(f["field"] and f["message"] for f in error["fields"])


SET_KEYS = st.sampled_from(["a", "a.b", "a.b.c", "port", "", ".", "a."])
SET_VALUES = st.sampled_from(["1", '"x"', "{}", "[1]", "true", "null", "", "x=y"])


class TestTargetsAddFlags:
    @given(
        items=st.lists(st.tuples(SET_KEYS, SET_VALUES), max_size=4),
        settings=st.none()
        | st.sampled_from(['{"a": 1}', '{"a": {"b": []}}', "[]", "{"]),
    )
    @budget(150)
    @example(items=[("a", "1"), ("a.b", "2")], settings=None)
    def test_set_values_are_settings_or_a_config_error(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        items: list[tuple[str, str]],
        settings: str | None,
    ) -> None:
        """``--settings`` and ``--set KEY=VALUE`` build settings or a ConfigError."""
        path = None
        if settings is not None:
            path = tmp_path_factory.mktemp("cli") / "settings.json"
            path.write_text(settings, encoding="utf-8")
        args = argparse.Namespace(
            settings=None if path is None else str(path),
            values=[f"{key}={value}" for key, value in items],
        )
        result, error = outcome(lambda: _settings(args, None), ConfigError)  # type: ignore[arg-type]
        assert error is not None or isinstance(result, dict)


class TestFound:
    """Defects the tests above found, one plain test each."""

    def test_unreadable_top_level_key_names_the_file(self, tmp_path: Path) -> None:
        """A file key pydantic cannot read is blamed on the file, at the top level.

        Found by ``test_file_gives_targets_or_a_config_error``: a YAML key holding a
        lone surrogate (``"\\uD800": 1``) was reported as ``flags: : ...`` — the
        wrong source and no key — because every source "has" the empty path.
        """
        path = tmp_path / "exporterhub.yaml"
        path.write_text('"\\uD800": 1\n', encoding="utf-8")
        with pytest.raises(ConfigError) as error:
            load_hub_settings(path)
        assert str(error.value).startswith(f"{path}: (top level): ")

    def test_set_below_a_value_is_a_config_error(self) -> None:
        """``--set a=1 --set a.b=2`` is refused naming the flag, not a traceback.

        Found by ``test_set_values_are_settings_or_a_config_error``: the second
        flag indexed into the integer 1 and raised TypeError out of the command.
        """
        args = argparse.Namespace(settings=None, values=["a=1", "a.b=2"])
        with pytest.raises(ConfigError, match=r"--set 'a\.b=2': a is not an object"):
            _settings(args, None)  # type: ignore[arg-type]

    def test_integer_past_the_digit_limit_is_a_config_error(
        self, tmp_path: Path
    ) -> None:
        """A YAML integer of 5,000 digits is refused naming the file.

        Found by ``test_read_yaml_is_a_mapping_or_a_config_error``: PyYAML's
        ``int()`` raised ValueError (Python's 4300-digit limit) out of
        ``read_yaml``, a traceback instead of a configuration error.
        """
        path = tmp_path / "exporterhub.yaml"
        path.write_text("web:\n  port: " + "9" * 5000 + "\n", encoding="utf-8")
        with pytest.raises(
            ConfigError, match=r"exporterhub\.yaml: a value YAML cannot"
        ):
            read_yaml(path)
