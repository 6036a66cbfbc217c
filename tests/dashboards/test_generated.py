"""The committed dashboards are what the code generates; the SDK's types read them."""

from __future__ import annotations

import json

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

from exporterhub.dashboards import DASHBOARDS, render, write_all
from exporterhub.dashboards.__main__ import main

from .queries import DASHBOARDS as COMMITTED
from .queries import expressions, substitute

NAMES = sorted(DASHBOARDS)


def committed(name: str) -> str:
    path = COMMITTED / f"{name}.json"
    assert path.is_file(), f"{path} missing: run make dashboards"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_committed_json_is_what_the_code_generates(name):
    assert committed(name) == render(name), (
        f"deploy/grafana/dashboards/{name}.json is stale: run make dashboards"
    )


def test_no_committed_dashboard_without_code():
    on_disk = sorted(path.stem for path in COMMITTED.glob("*.json"))
    assert on_disk == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_round_trips_through_the_sdk_types(name):
    register_default_plugins()
    data = json.loads(committed(name))
    model = dm.Dashboard.from_json(data)
    again = json.loads(json.dumps(model, cls=JSONEncoder))
    assert again == data
    panels = [p for p in model.panels or [] if isinstance(p, dm.Panel)]
    assert panels
    for panel in panels:
        # Each query decodes into the SDK's Prometheus type, not its unknown bag,
        # and each panel's options into its plugin's typed options.
        for target in panel.targets or []:
            assert isinstance(target, pm.Dataquery), (name, panel.title)
            assert not isinstance(target, UnknownDataquery)
        assert not isinstance(panel.options, dict), (name, panel.title, panel.type_val)


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_is_provisionable(name):
    """What Grafana's file provisioning needs: a uid, a title, no fixed numeric id,
    panels on the 24-column grid with unique ids, every query on the chosen
    Prometheus data source."""
    data = json.loads(committed(name))
    assert data["uid"].startswith("exporterhub-")
    assert data["title"]
    assert "id" not in data
    ids = [panel["id"] for panel in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]
    variables = [v["name"] for v in data["templating"]["list"]]
    assert variables[0] == "datasource"
    assert "job" in variables


def test_uids_are_unique():
    uids = [json.loads(committed(name))["uid"] for name in NAMES]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("name", ["phd2", "tapo", "chaos", "snp"])
def test_every_exporter_dashboard_can_pick_one_target(name):
    data = json.loads(committed(name))
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["target"]["multi"]
    assert variables["target"]["includeAll"]
    assert variables["target"]["allValue"] == ".*"
    # Every panel query is narrowed by the chosen target.
    panel_exprs = [t["expr"] for p in data["panels"] for t in p.get("targets", [])]
    assert all('target=~"$target"' in e for e in panel_exprs), name


def test_starlink_route_is_a_geomap_of_latitude_and_longitude():
    data = json.loads(committed("starlink"))
    (route,) = [p for p in data["panels"] if p["type"] == "geomap"]
    exprs = [t["expr"] for t in route["targets"]]
    assert any(e.startswith("starlink_dish_latitude_degrees") for e in exprs)
    assert any(e.startswith("starlink_dish_longitude_degrees") for e in exprs)
    layers = {layer["type"] for layer in route["options"]["layers"]}
    assert "route" in layers


def test_phd2_marks_dithers_and_settles():
    names = {a["name"] for a in json.loads(committed("phd2"))["annotations"]["list"]}
    assert {"Dithers", "Settling", "Settle failed", "Star lost"} <= names


def test_overview_covers_every_exporter_prefix():
    raw = committed("overview")
    for prefix in ("phd2", "starlink", "tapo", "aaisp", "ic_snp"):
        assert prefix in raw
    exprs = [e.expr for e in expressions("overview", json.loads(raw))]
    assert any(e.startswith("up{") for e in exprs)
    assert any("_last_success_timestamp_seconds" in e for e in exprs)


def test_substitute_replaces_variables_and_builtins():
    assert substitute('x{job=~"$job",t=~"${target}"}[$__rate_interval]') == (
        'x{job=~".*",t=~".*"}[15s]'
    )
    assert substitute("increase(y[$__range])") == "increase(y[6h])"
    group = 'label_replace(x, "a", "$1", "b", "(.+)")'
    assert substitute(group) == group


def test_main_writes_every_dashboard(tmp_path, capsys):
    assert main([str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(f"{name}.json" for name in NAMES)
    assert capsys.readouterr().out.count(".json") == len(NAMES)
    assert (tmp_path / "out" / "phd2.json").read_text() == render("phd2")


def test_write_all_overwrites_a_stale_file(tmp_path):
    (tmp_path / "snp.json").write_text("{}")
    write_all(tmp_path)
    assert (tmp_path / "snp.json").read_text() == render("snp")
