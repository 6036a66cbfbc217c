"""Tests of the SNP alert rules shipped in deploy/prometheus/rules/snp.yml.

``promtool check rules`` and ``promtool test rules`` (with the unit tests in
deploy/prometheus/rules/tests/snp.test.yml) run on it in tests/deploy/test_rules.py,
with every other exporter's rules; these are the SNP's own promises about it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from exporterhub.core.exposition import health_specs
from exporterhub.exporters.snp.collector import CATALOGUE_NOTES, PREFIX, SNP_SPECS

RULES = (
    Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "rules" / "snp.yml"
)


def rules() -> list[dict]:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


class TestRules:
    def test_every_name_in_the_rules_is_exported(self):
        """The rules only name metrics of the SNP table (a rename breaks this)."""
        known = {spec.name for spec in [*health_specs(PREFIX), *SNP_SPECS]}
        named = set()
        for rule in rules():
            named |= set(re.findall(r"\bic_snp_[a-z0-9_]+", rule["expr"]))
        assert named
        assert named <= known, named - known

    def test_the_down_alert_is_on_ic_snp_up(self):
        """COMPAT: the alert on ic_snp_up == 0 ships beside the value alerts."""
        down = [rule for rule in rules() if rule.get("alert") == "SnpDown"]
        assert [rule["expr"] for rule in down] == ["ic_snp_up == 0"]
        assert len(rules()) > 1

    def test_the_catalogue_quotes_the_shipped_rule(self):
        """docs/metrics/snp.md shows SnpDown as the file has it, at its path."""
        assert "`deploy/prometheus/rules/snp.yml`" in CATALOGUE_NOTES
        block = re.search(r"```yaml\n(.*?)```", CATALOGUE_NOTES, re.S)
        assert block is not None
        (quoted,) = yaml.safe_load(block.group(1))
        (shipped,) = [rule for rule in rules() if rule.get("alert") == "SnpDown"]
        assert quoted == {key: shipped[key] for key in quoted}
        assert set(quoted) >= {"alert", "expr", "for"}
