"""Tests of settings loading: YAML reading, precedence and one-line errors."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from exporterhub.core.config import (
    DictSource,
    format_validation_error,
    load_settings,
    read_yaml,
    validate_model,
)
from exporterhub.core.errors import ConfigError


class Inner(BaseModel):
    port: int = Field(default=1, ge=1, le=65535)
    host: str = "localhost"


class Sample(BaseSettings):
    """A settings model with a nested section, like the hub's."""

    model_config = SettingsConfigDict(
        env_prefix="CORETEST_", env_nested_delimiter="__", extra="forbid"
    )

    name: str = "default"
    inner: Inner = Field(default_factory=Inner)


@pytest.fixture
def write(tmp_path):
    def write(text: str | bytes, name: str = "config.yaml"):
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


class TestReadYaml:
    """read_yaml returns a mapping or a ConfigError naming the file."""

    def test_reads_mapping(self, write):
        """A YAML mapping is returned as a dict."""
        path = write("web:\n  listen_address: ':9'\nlist: [1, 2]\n")
        assert read_yaml(path) == {"web": {"listen_address": ":9"}, "list": [1, 2]}

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("", id="empty"),
            pytest.param("# only a comment\n", id="comment-only"),
            pytest.param("---\n", id="document-marker"),
        ],
    )
    def test_empty_file_is_empty_mapping(self, write, text):
        """A file without content is an empty mapping."""
        assert read_yaml(write(text)) == {}

    def test_missing_file(self, tmp_path):
        """A missing file raises ConfigError naming it and saying why."""
        path = tmp_path / "absent.yaml"
        with pytest.raises(ConfigError) as info:
            read_yaml(path)
        assert str(info.value) == f"{path}: cannot read: No such file or directory"

    def test_directory(self, tmp_path):
        """A directory instead of a file raises ConfigError naming it."""
        with pytest.raises(ConfigError, match="cannot read: Is a directory"):
            read_yaml(tmp_path)

    @pytest.mark.parametrize(
        ("text", "line", "problem"),
        [
            pytest.param("a: 1\nb: [1, 2\nc: 3\n", 3, "expected ',' or ']'", id="flow"),
            pytest.param(
                "web:\n  listen_address: ':1'\n   bad: x\n",
                3,
                "expected <block end>",
                id="indent",
            ),
            pytest.param("a: 1\na: {\n", 3, "expected", id="unclosed-at-eof"),
            pytest.param("a: 'open\n", 2, "found unexpected end of stream", id="quote"),
        ],
    )
    def test_bad_yaml_names_file_and_line(self, write, text, line, problem):
        """Broken YAML raises one ConfigError line with the file and line number."""
        path = write(text)
        with pytest.raises(ConfigError) as info:
            read_yaml(path)
        message = str(info.value)
        assert message.startswith(f"{path}: line {line}: ")
        assert problem in message
        assert "\n" not in message

    def test_yaml_error_without_mark(self, write):
        """A reader error without a position still names the file."""
        path = write(b"a: \x07\n")
        with pytest.raises(ConfigError) as info:
            read_yaml(path)
        assert str(info.value) == f"{path}: invalid YAML"

    def test_non_utf8_file(self, write):
        """A file that is not UTF-8 raises ConfigError naming it."""
        path = write(b"# caf\xe9\nweb: {}\n")
        with pytest.raises(ConfigError, match=str(path)):
            read_yaml(path)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("- a\n- b\n", id="list"),
            pytest.param("just text\n", id="scalar"),
            pytest.param("42\n", id="number"),
        ],
    )
    def test_top_level_must_be_mapping(self, write, text):
        """A YAML document that is not a mapping raises ConfigError naming the file."""
        path = write(text)
        with pytest.raises(ConfigError) as info:
            read_yaml(path)
        assert str(info.value) == f"{path}: the top level must be a mapping of keys"

    def test_unsafe_tags_rejected(self, write):
        """Python object tags are refused (safe loading), with the file named."""
        path = write("a: !!python/object/apply:os.system ['true']\n")
        with pytest.raises(ConfigError, match=f"^{path}: line 1: "):
            read_yaml(path)


class TestFormatValidationError:
    """Validation errors become one line naming source and dotted keys."""

    def _error(self, data) -> ValidationError:
        with pytest.raises(ValidationError) as info:
            Sample.model_validate(data)
        return info.value

    def test_one_problem(self):
        """A single bad key is named with its dotted path."""
        error = self._error({"inner": {"port": 0}})
        assert format_validation_error(error, "f.yaml") == (
            "f.yaml: inner.port: Input should be greater than or equal to 1"
        )

    def test_several_problems_on_one_line(self):
        """Several problems are joined with '; ' on one line."""
        error = self._error({"inner": {"port": "x"}, "extra": 1})
        message = format_validation_error(error, "f.yaml", "root.")
        assert "\n" not in message
        assert message.startswith("f.yaml: root.inner.port: ")
        assert "; root.extra: Extra inputs are not permitted" in message

    def test_list_index_in_path(self):
        """List positions appear as numbers in the dotted key."""

        class Many(BaseModel):
            items: list[Inner]

        with pytest.raises(ValidationError) as info:
            Many.model_validate({"items": [{}, {"port": 70000}]})
        assert format_validation_error(info.value, "src", "x.").startswith(
            "src: x.items.1.port: "
        )


class TestValidateModel:
    """validate_model returns the model or raises a one-line ConfigError."""

    def test_valid(self):
        """Valid data gives the model."""
        assert validate_model(Inner, {"port": 9}, source="s") == Inner(port=9)

    def test_invalid(self):
        """Invalid data raises ConfigError with source and prefixed key."""
        with pytest.raises(ConfigError) as info:
            validate_model(Inner, {"port": -1}, source="a.yaml", prefix="web.")
        assert str(info.value) == (
            "a.yaml: web.port: Input should be greater than or equal to 1"
        )
        assert isinstance(info.value.__cause__, ValidationError)


class TestLoadSettings:
    """Precedence is defaults < YAML < environment < CLI, merged per key."""

    def test_defaults(self):
        """With no sources the model's defaults apply."""
        settings = load_settings(Sample)
        assert settings == Sample()
        assert type(settings) is Sample

    def test_yaml_over_defaults(self):
        """YAML values replace defaults."""
        settings = load_settings(
            Sample, yaml_data={"name": "yaml", "inner": {"port": 2}}
        )
        assert (settings.name, settings.inner.port) == ("yaml", 2)

    def test_env_over_yaml(self, monkeypatch):
        """An environment variable beats the YAML value of the same key."""
        monkeypatch.setenv("CORETEST_NAME", "env")
        monkeypatch.setenv("CORETEST_INNER__PORT", "3")
        settings = load_settings(
            Sample, yaml_data={"name": "yaml", "inner": {"port": 2}}
        )
        assert (settings.name, settings.inner.port) == ("env", 3)

    def test_cli_over_env(self, monkeypatch):
        """A CLI value beats the environment."""
        monkeypatch.setenv("CORETEST_NAME", "env")
        settings = load_settings(
            Sample, yaml_data={"name": "yaml"}, cli={"name": "cli"}
        )
        assert settings.name == "cli"

    def test_nested_sections_merge_per_key(self, monkeypatch):
        """Env and CLI override single nested keys; siblings keep lower sources."""
        monkeypatch.setenv("CORETEST_INNER__PORT", "7")
        settings = load_settings(
            Sample, yaml_data={"inner": {"port": 2, "host": "yaml-host"}}
        )
        assert settings.inner == Inner(port=7, host="yaml-host")

    def test_fields_set_tracks_given_keys(self):
        """The returned settings know which fields were given explicitly."""
        settings = load_settings(Sample, yaml_data={"name": "x"})
        assert "name" in settings.model_fields_set
        assert "inner" not in settings.model_fields_set

    def test_error_names_source_and_key(self):
        """A bad value raises one ConfigError line naming the source and key."""
        with pytest.raises(ConfigError) as info:
            load_settings(Sample, yaml_data={"inner": {"port": 0}}, source="my.yaml")
        assert str(info.value) == (
            "my.yaml: inner.port: Input should be greater than or equal to 1"
        )

    def test_default_source_name(self):
        """A bad value given as a flag is attributed to the flags."""
        with pytest.raises(ConfigError, match=r"^flags: bogus: Extra inputs"):
            load_settings(Sample, cli={"bogus": 1})


class TestDictSource:
    """The YAML source hands pydantic-settings the parsed mapping."""

    def test_call_and_field_value(self):
        """Calling returns a copy of all values; get_field_value one of them."""
        data = {"name": "n", "inner": {"port": 4}}
        source = DictSource(Sample, data)
        values = source()
        assert values == data
        assert values is not data
        field = Sample.model_fields["name"]
        assert source.get_field_value(field, "name") == ("n", "name", False)
        assert source.get_field_value(field, "absent") == (None, "absent", False)
