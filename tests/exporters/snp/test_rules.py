"""Tests of the SNP alert rules shipped in deploy/prometheus/snp-rules.yml."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporterhub.core.exposition import health_specs
from exporterhub.exporters.snp.collector import CATALOGUE_NOTES, PREFIX, SNP_SPECS

RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "snp-rules.yml"

UNIT_TESTS = """
rule_files: [{rules}]
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      # A device that stops streaming: up 1 for 2 minutes, then 0; its values
      # are omitted from then on (§7), so only SnpDown can page for it.
      - series: 'ic_snp_up{{target="SNP-A"}}'
        values: '1 1 1 1 0 0 0 0 0 0 0'
      - series: 'ic_snp_powersupply_status{{target="SNP-A"}}'
        values: '1 1 1 1'
      # A device that streams, with a failing supply, fan and PTP lock.
      - series: 'ic_snp_up{{target="SNP-B"}}'
        values: '1x10'
      - series: 'ic_snp_powersupply_status{{target="SNP-B"}}'
        values: '1 1 0 0 0 0 0 0 0 0 0'
      - series: 'ic_snp_front_fan_status{{target="SNP-B",index="3"}}'
        values: '1 1 1 0 0 0 0 0 0 0 0'
      - series: 'ic_snp_fpga_fan_status{{target="SNP-B",index="1"}}'
        values: '1x10'
      - series: 'ic_snp_fpga_temp_alarm{{target="SNP-B",index="2"}}'
        values: '0 0 0 0 0 0 1 1 1 1 1'
      - series: 'ic_snp_ptp_status{{target="SNP-B"}}'
        values: '1 1 1 1 1 1 1 0 0 0 0'
      - series: 'ic_snp_major_alarms{{target="SNP-B"}}'
        values: '0x6 2 2 2 2'
    alert_rule_test:
      - eval_time: 2m
        alertname: SnpDown
        exp_alerts: []
      - eval_time: 4m
        alertname: SnpDown
        exp_alerts:
          - exp_labels: {{severity: critical, target: SNP-A}}
            exp_annotations:
              summary: SNP SNP-A is not streaming
              description: >-
                The exporter has had no working WebSocket stream from SNP-A for
                2 minutes (unreachable, refused login or silent); its value
                series are omitted meanwhile, so no other SNP alert can fire
                for it. ic_snp_exporter_link_state and the UI say why.
      - eval_time: 4m
        alertname: SnpPowerSupplyFault
        exp_alerts:
          - exp_labels: {{severity: critical, target: SNP-B}}
            exp_annotations:
              summary: SNP SNP-B reports a power supply fault
              description: >-
                Power_Supply_Stats.PS_Status is not OK; ic_snp_powersupply_present
                and ic_snp_powersupply_fan_ok say which supply.
      - eval_time: 2m
        alertname: SnpFanFault
        exp_alerts: []
      - eval_time: 3m
        alertname: SnpFanFault
        exp_alerts:
          - exp_labels: {{severity: warning, target: SNP-B, index: "3"}}
            exp_annotations:
              summary: "SNP SNP-B: fan 3 is not OK"
      - eval_time: 4m
        alertname: SnpTemperatureAlarm
        exp_alerts:
          - exp_labels: {{severity: warning, target: SNP-B, index: "2"}}
            exp_annotations:
              summary: SNP SNP-B raises a temperature alarm
              description: >-
                The SNP's own FPGA or QSFP temperature alarm (index 2) is raised.
      - eval_time: 5m
        alertname: SnpPtpUnlocked
        exp_alerts:
          - exp_labels: {{severity: critical, target: SNP-B}}
            exp_annotations:
              summary: SNP SNP-B has lost PTP lock
      - eval_time: 5m
        alertname: SnpMajorAlarms
        exp_alerts:
          - exp_labels: {{severity: warning, target: SNP-B}}
            exp_annotations:
              summary: SNP SNP-B has 2 major alarm(s)
"""


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is missing; install Debian's package: prometheus")
    return found


def rules() -> list[dict]:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


class TestRules:
    def test_promtool_accepts_the_rules(self):
        """promtool check rules finds the file valid."""
        result = subprocess.run(  # noqa: S603 - promtool from PATH
            [promtool(), "check", "rules", str(RULES)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"SUCCESS: {len(rules())} rules found" in result.stdout

    def test_alerts_fire_as_documented(self, tmp_path):
        """promtool test rules: each alert fires on its series, SnpDown alone pages
        for a device whose stream is down."""
        tests = tmp_path / "snp-rules-test.yml"
        tests.write_text(UNIT_TESTS.format(rules=RULES), encoding="utf-8")
        result = subprocess.run(  # noqa: S603 - promtool from PATH
            [promtool(), "test", "rules", str(tests)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout

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
        """docs/metrics/snp.md shows SnpDown as the file has it."""
        block = re.search(r"```yaml\n(.*?)```", CATALOGUE_NOTES, re.S)
        assert block is not None
        (quoted,) = yaml.safe_load(block.group(1))
        (shipped,) = [rule for rule in rules() if rule.get("alert") == "SnpDown"]
        assert quoted == {key: shipped[key] for key in quoted}
        assert set(quoted) >= {"alert", "expr", "for"}
