"""The provisioning files load the committed dashboards and a Prometheus data source."""

from __future__ import annotations

from pathlib import Path

import yaml

PROVISIONING = (
    Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "provisioning"
)


def test_dashboard_provider_reads_files():
    config = yaml.safe_load(
        (PROVISIONING / "dashboards" / "exporterhub.yml").read_text()
    )
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    assert provider["folder"] == "exporterhub"


def test_datasource_is_the_default_prometheus():
    config = yaml.safe_load(
        (PROVISIONING / "datasources" / "prometheus.yml").read_text()
    )
    assert config["apiVersion"] == 1
    (source,) = config["datasources"]
    # The dashboards' ${datasource} variable is of type prometheus and starts on
    # the default data source.
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True
    assert source["url"].startswith("http")
