"""The alert rules in deploy/prometheus/rules/ are valid, tested and match the code.

- ``promtool check rules`` accepts every rules file, and ``promtool test rules``
  passes every unit-test file in deploy/prometheus/rules/tests/;
- every alert has unit tests where it fires and where it stays silent;
- every series an expression or annotation names is a family of the exporter's
  metric table (the tables scripts/metrics_catalogue.py writes docs/metrics/ from),
  every label matcher names a label that family has, and the enumerated label
  values (PHD2 states, RMS sources, dish states) are ones the code produces;
- every alert carries a severity, a summary and a description;
- deploy/prometheus/prometheus.yml loads the directory (``promtool check config``).

promtool is Debian's ``prometheus`` package; without it these tests fail with the
install hint, they never skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporterhub.core.exposition import health_specs
from exporterhub.exporters import KINDS, load_plugin
from exporterhub.exporters.chaos.instruments import SELF_METRICS
from exporterhub.exporters.phd2.collector import STATUSES
from exporterhub.exporters.phd2.snapshot import RMS_SOURCES
from exporterhub.exporters.starlink.telemetry import DISH_STATES

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES_DIR = PROMETHEUS / "rules"
TESTS_DIR = RULES_DIR / "tests"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted(TESTS_DIR.glob("*.test.yml"))
KIND_FILES = {kind: RULES_DIR / f"{kind}.yml" for kind in KINDS}
"""The rules file of each exporter kind (exporterhub.yml holds the generic ones)."""

INSTALL_HINT = (
    "promtool is missing; install Debian's package: apt-get install prometheus "
    "(make test does this when run as root)"
)
SCRAPE_LABELS = frozenset({"job", "instance"})
KNOWN_VALUES = {
    ("phd2_status", "status"): frozenset(STATUSES),
    ("phd2_rms", "source"): frozenset(RMS_SOURCES),
    ("starlink_dish_state", "state"): frozenset(DISH_STATES),
}
"""Label values an alert matches on that the code enumerates."""


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(INSTALL_HINT)
    return found


def run_promtool(*args: str) -> str:
    result = subprocess.run(  # noqa: S603 - Debian's promtool from PATH
        [promtool(), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules_of(path: Path) -> list[dict[str, Any]]:
    return [rule for group in load(path)["groups"] for rule in group["rules"]]


def alerts_of(path: Path) -> list[dict[str, Any]]:
    return [rule for rule in rules_of(path) if "alert" in rule]


@dataclass(frozen=True)
class Family:
    """A metric family of an exporter's table: its labels and whether a histogram."""

    labels: frozenset[str]
    histogram: bool = False


def families(kind: str) -> dict[str, Family]:
    """Every family the exporter of ``kind`` can expose, with its labels."""
    plugin = load_plugin(kind)
    identity = frozenset(plugin.identity_labels) | SCRAPE_LABELS
    found = {
        spec.name: Family(
            identity | frozenset(spec.labels), spec.kind.value == "histogram"
        )
        for spec in [*health_specs(plugin.prefix), *plugin.specs]
    }
    for name, _kind, labels, _help in getattr(plugin, "process_metrics", ()):
        found[name] = Family(SCRAPE_LABELS | {x for x in labels.split(",") if x})
    if kind == "chaos":  # the exporter's own request and collector metrics
        for metric in SELF_METRICS:
            found[metric.name] = Family(
                SCRAPE_LABELS | frozenset(metric.labels), metric.kind == "histogram"
            )
    return found


def family_of(name: str, known: dict[str, Family]) -> Family | None:
    """The family a series name belongs to (histogram series by their suffix)."""
    if name in known:
        return known[name]
    for suffix in ("_bucket", "_sum", "_count"):
        base = name.removesuffix(suffix)
        if base != name and base in known and known[base].histogram:
            return known[base]
    return None


def names_in(text: str, prefix: str) -> set[str]:
    """Series names with ``prefix`` in an expression or an annotation.

    A name written as a wildcard (``starlink_dish_alert_*``) and parts of recording
    rule names (``job:phd2_rms:avg``) are not series names and are left out.
    """
    pattern = rf"(?<![\w:]){re.escape(prefix)}_[A-Za-z0-9_]*(?![\w:*])"
    return {name for name in re.findall(pattern, text) if not name.endswith("_")}


def matchers_in(expr: str) -> list[tuple[str, str, str, str]]:
    """``(name, label, operator, value)`` of every ``name{label op "value"}``."""
    found = []
    for name, body in re.findall(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}", expr):
        for label, op, value in re.findall(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', body):
            found.append((name, label, op, value))
    return found


def unit_tests_by_rules_file() -> dict[Path, list[dict[str, Any]]]:
    """The alert_rule_test cases of every test file, by the rules file they load."""
    cases: dict[Path, list[dict[str, Any]]] = {}
    for path in TEST_FILES:
        spec = load(path)
        for rule_file in spec["rule_files"]:
            target = (path.parent / rule_file).resolve()
            for test in spec["tests"]:
                cases.setdefault(target, []).extend(test.get("alert_rule_test", []))
    return cases


class TestPromtool:
    def test_the_directory_holds_every_exporters_rules(self):
        """One rules file per exporter kind, and one unit-test file per rules file."""
        for kind, path in KIND_FILES.items():
            assert path.is_file(), f"no rules file for {kind}: {path}"
        tested = {path.name.removesuffix(".test.yml") for path in TEST_FILES}
        alerting = {path.stem for path in RULE_FILES if alerts_of(path)}
        assert alerting >= {*KINDS, "exporterhub"}
        assert alerting <= tested, alerting - tested

    @pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
    def test_promtool_check_rules_accepts_the_file(self, path):
        """promtool check rules finds the file valid, with every rule counted."""
        output = run_promtool("check", "rules", str(path))
        assert f"SUCCESS: {len(rules_of(path))} rules found" in output

    @pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
    def test_promtool_unit_tests_pass(self, path):
        """promtool test rules: every case of the file passes."""
        output = run_promtool("test", "rules", str(path))
        assert "SUCCESS" in output
        assert "FAILED" not in output

    def test_promtool_test_rules_fails_on_a_wrong_expectation(self, tmp_path):
        """The unit tests can fail: a case expecting silence where an alert fires."""
        spec = load(TESTS_DIR / "tapo.test.yml")
        spec["rule_files"] = [str(RULES_DIR / "tapo.yml")]
        case = spec["tests"][0]["alert_rule_test"][-1]
        assert case["exp_alerts"]
        case["exp_alerts"] = []
        broken = tmp_path / "broken.test.yml"
        broken.write_text(yaml.safe_dump(spec), encoding="utf-8")
        result = subprocess.run(  # noqa: S603 - Debian's promtool from PATH
            [promtool(), "test", "rules", str(broken)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert "FAILED" in result.stdout + result.stderr

    def test_prometheus_yml_loads_every_rules_file(self, tmp_path):
        """promtool check config on deploy/prometheus/prometheus.yml checks each
        rules file of the directory: Prometheus accepts them all together."""
        config = load(PROMETHEUS / "prometheus.yml")
        assert config["rule_files"] == ["rules/*.yml"]
        output = run_promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
        for path in RULE_FILES:
            count = len(rules_of(path))
            assert re.search(
                rf"Checking {re.escape(str(path))}\n\s+SUCCESS: {count} rules found",
                output,
            ), output


class TestEveryAlertIsTested:
    @pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
    def test_each_alert_has_a_firing_and_a_silent_case(self, path):
        """For every alert, some case expects it to fire and some expects silence."""
        cases = unit_tests_by_rules_file().get(path.resolve(), [])
        for alert in alerts_of(path):
            name = alert["alert"]
            mine = [case for case in cases if case["alertname"] == name]
            assert any(case["exp_alerts"] for case in mine), f"{name} never fires"
            assert any(not case["exp_alerts"] for case in mine), f"{name} never silent"

    def test_every_case_names_an_alert_of_its_rules_file(self):
        """A case for an alert that does not exist (a rename) is caught."""
        for target, cases in unit_tests_by_rules_file().items():
            names = {alert["alert"] for alert in alerts_of(target)}
            for case in cases:
                assert case["alertname"] in names, (target, case["alertname"])


class TestRulesMatchTheCode:
    @pytest.mark.parametrize("kind", KINDS)
    def test_every_series_named_is_a_family_of_the_exporter(self, kind):
        """Expressions and annotations name only families of this exporter's
        table, and each alert uses at least one of them."""
        prefix = load_plugin(kind).prefix
        known = families(kind)
        for alert in alerts_of(KIND_FILES[kind]):
            in_expr = names_in(alert["expr"], prefix)
            assert in_expr, f"{alert['alert']} names no {prefix}_ series"
            named = in_expr.union(
                *(names_in(text, prefix) for text in alert["annotations"].values())
            )
            unknown = {name for name in named if family_of(name, known) is None}
            assert not unknown, (
                f"{alert['alert']}: {sorted(unknown)} not in docs/metrics/{kind}.md"
            )

    @pytest.mark.parametrize("kind", KINDS)
    def test_only_the_exporters_own_prefix(self, kind):
        """A kind's rules file names no other exporter's series."""
        others = [load_plugin(k).prefix for k in KINDS if k != kind]
        for rule in rules_of(KIND_FILES[kind]):
            for prefix in others:
                assert not names_in(rule["expr"], prefix), (rule, prefix)

    @pytest.mark.parametrize("kind", KINDS)
    def test_matchers_use_labels_and_values_the_code_produces(self, kind):
        """Each name{label="value"} uses a label of that family, and for the
        enumerated labels a value the exporter emits."""
        known = families(kind)
        checked = 0
        for rule in rules_of(KIND_FILES[kind]):
            for name, label, op, value in matchers_in(rule["expr"]):
                family = family_of(name, known)
                assert family is not None, name
                assert label in family.labels, (rule.get("alert"), name, label)
                allowed = KNOWN_VALUES.get((name, label))
                if allowed is not None and op in ("=", "=~"):
                    values = set(value.split("|")) if op == "=~" else {value}
                    assert values <= allowed, (rule.get("alert"), values - allowed)
                    checked += 1
        if kind in ("phd2", "starlink"):
            assert checked

    def test_the_generic_alert_is_on_the_scrape(self):
        """exporterhub.yml alerts on Prometheus's own up series."""
        (alert,) = alerts_of(RULES_DIR / "exporterhub.yml")
        assert alert["expr"].strip() == "up == 0"

    @pytest.mark.parametrize("kind", KINDS)
    def test_each_exporter_alerts_on_its_targets_up(self, kind):
        """A `<prefix>_up == 0` alert held for a while, per exporter."""
        prefix = load_plugin(kind).prefix
        downs = [
            alert
            for alert in alerts_of(KIND_FILES[kind])
            if alert["expr"].strip() == f"{prefix}_up == 0"
        ]
        assert len(downs) == 1
        assert downs[0].get("for"), "a down alert without for: pages on one bad poll"

    @pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
    def test_every_alert_says_what_is_wrong(self, path):
        """Severity label, summary and description on every alert."""
        for alert in alerts_of(path):
            assert alert["labels"]["severity"] in ("critical", "warning", "info")
            assert alert["annotations"]["summary"].strip()
            assert len(alert["annotations"]["description"].split()) >= 15, alert[
                "alert"
            ]
