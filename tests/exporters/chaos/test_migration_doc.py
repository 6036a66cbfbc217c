"""docs/migration/aaisp-exporter.md: its examples work and it maps the original."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporterhub.exporters.chaos.environ import env_names

from .original_env import ORIGINAL_VARIABLES

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "migration" / "aaisp-exporter.md"

"""Every variable of the original's README and .env.example."""

ORIGINAL_METRICS = (
    "aaisp_broadband_quota_total_bytes",
    "aaisp_broadband_quota_used_bytes",
    "aaisp_broadband_quota_remaining_bytes",
    "aaisp_broadband_quota_percentage",
    "aaisp_broadband_quota_timestamp_seconds",
    "aaisp_broadband_line_sync_download_bps",
    "aaisp_broadband_line_sync_upload_bps",
    "aaisp_broadband_line_sync_download_adjusted_bps",
    "aaisp_broadband_service_info",
    "aaisp_telephony_service_info",
    "aaisp_telephony_calls_total",
    "aaisp_telephony_call_duration_seconds_total",
    "aaisp_telephony_call_cost_total",
    "aaisp_telephony_active_calls",
    "aaisp_telephony_rate_ppm",
    "aaisp_telephony_rate_min_charge_pence",
    "aaisp_telephony_prefixes_total",
    "aaisp_telephony_ratecard_last_updated_timestamp_seconds",
    "aaisp_exporter_up",
    "aaisp_exporter_build_info",
    "aaisp_collector_duration_seconds",
    "aaisp_collector_errors_total",
    "aaisp_collector_last_successful_collection_timestamp",
    "aaisp_api_requests_total",
    "aaisp_api_request_duration_seconds",
)
"""Every metric the original's code registers."""


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


def table_rows() -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in PAGE.read_text().splitlines()
        if line.startswith("| `AAISP_EXPORTER_")
    ]


class TestMapping:
    def test_every_original_variable_has_a_row_naming_an_accepted_name(self):
        """Each original variable is mapped to a canonical name the code reads."""
        names = env_names()
        canonical = {choices[0]: choices for choices in names.values()}
        rows = {row[0].strip("`"): row for row in table_rows()}
        for variable in ORIGINAL_VARIABLES:
            assert variable in rows, variable
            today = rows[variable][2].split()[0].strip("`")
            assert today in canonical, (variable, today)
            assert variable in canonical[today], (variable, today)

    def test_every_original_metric_is_mapped(self):
        """Each metric the original registered appears in the page."""
        text = PAGE.read_text()
        for name in ORIGINAL_METRICS:
            assert f"`{name}" in text, name


class TestExamples:
    def test_yaml_example_validates(self):
        """The several-logins example gives two CHAOS targets."""
        from exporterhub.exporters import load_plugins
        from exporterhub.hub import HubSettings, targets_from_settings

        (example,) = [b for b in blocks("yaml") if b.startswith("exporters:")]
        settings = HubSettings.model_validate(yaml.safe_load(example))
        targets = targets_from_settings(settings, load_plugins(), "migration page")
        assert sorted(t.name for t in targets) == ["home@a", "office"]

    def test_recording_rules_rebuild_the_original_names(self, tmp_path):
        """promtool runs the page's rules on today's series and gets the old ones."""
        promtool = shutil.which("promtool")
        if promtool is None:
            pytest.fail(
                "promtool is missing; install Debian's package: "
                "apt-get install prometheus"
            )
        (rules,) = [b for b in blocks("yaml") if b.startswith("groups:")]
        (tmp_path / "rules.yml").write_text(rules)
        (tmp_path / "test.yml").write_text(RULE_TEST)
        result = subprocess.run(  # noqa: S603 - promtool from PATH, our files
            [promtool, "test", "rules", "test.yml"],
            cwd=tmp_path,
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, (result.stdout + result.stderr).decode()


def series(name: str, **labels: str) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


LAST = "aaisp_collector_last_successful_collection_timestamp"
RULE_TEST = yaml.safe_dump(
    {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": series(
                            "aaisp_exporter_last_successful_collection_timestamp",
                            target="a@a",
                            collector_name=name,
                        ),
                        "values": value,
                    }
                    for name, value in (
                        ("broadband_quota", "100"),
                        ("telephony_ratecard", "200"),
                    )
                ]
                + [
                    {
                        "series": series(
                            "aaisp_telephony_rate_pence_per_minute",
                            target="a@a",
                            rate="UK",
                            period="peak",
                        ),
                        "values": "2.5",
                    },
                    {
                        "series": series(
                            "aaisp_telephony_rate_prefixes", target="a@a", rate="UK"
                        ),
                        "values": "7",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": LAST,
                        "eval_time": "1m",
                        "exp_samples": [
                            {
                                "labels": series(
                                    LAST,
                                    target="a@a",
                                    collector_name="BroadbandQuotaCollector",
                                ),
                                "value": 100,
                            },
                            {
                                "labels": series(
                                    LAST,
                                    target="a@a",
                                    collector_name="TelephonyRateCardCollector",
                                ),
                                "value": 200,
                            },
                        ],
                    },
                    {
                        "expr": "aaisp_telephony_rate_ppm",
                        "eval_time": "1m",
                        "exp_samples": [
                            {
                                "labels": series(
                                    "aaisp_telephony_rate_ppm",
                                    target="a@a",
                                    rate_name="UK",
                                    period="peak",
                                ),
                                "value": 2.5,
                            }
                        ],
                    },
                    {
                        "expr": "aaisp_telephony_prefixes_total",
                        "eval_time": "1m",
                        "exp_samples": [
                            {
                                "labels": series(
                                    "aaisp_telephony_prefixes_total",
                                    target="a@a",
                                    rate_name="UK",
                                ),
                                "value": 7,
                            }
                        ],
                    },
                ],
            }
        ],
    }
)
