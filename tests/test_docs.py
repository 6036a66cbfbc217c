"""The generated documentation matches the code it describes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from exporterhub.exporters import KINDS

ROOT = Path(__file__).resolve().parent.parent


def load_catalogue_script():
    spec = importlib.util.spec_from_file_location(
        "metrics_catalogue", ROOT / "scripts" / "metrics_catalogue.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metrics_catalogue_is_current():
    """docs/metrics/<kind>.md equals what scripts/metrics_catalogue.py writes."""
    script = load_catalogue_script()
    for kind in KINDS:
        committed = (ROOT / "docs" / "metrics" / f"{kind}.md").read_text()
        assert committed == script.render(kind), (
            f"docs/metrics/{kind}.md is stale: run python scripts/metrics_catalogue.py"
        )


def test_readme_starts_with_the_two_commands():
    """The README opens with make demo and make test, and .ci/run calls make test."""
    readme = (ROOT / "README.md").read_text()
    head = readme.split("\n## ", 1)[0]
    assert "make demo" in head
    assert "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_deploy_files_match_the_code():
    """The Starlink compose file's config validates, and its paths and ports exist."""
    import yaml

    from exporterhub.exporters.starlink.settings import load_config

    config, existed = load_config(ROOT / "deploy" / "starlink" / "config.yaml")
    assert existed
    assert config.mode == "simulation"
    compose_file = ROOT / "deploy" / "compose" / "starlink.yaml"
    compose = yaml.safe_load(compose_file.read_text())
    service = compose["services"]["starlink-exporter"]
    context = compose_file.parent / service["build"]["context"]
    assert (context / service["build"]["dockerfile"]).is_file()
    assert service["ports"] == ["127.0.0.1:8000:8000"]
    assert service["command"] == ["starlink"]
    (mount,) = service["volumes"]
    assert (compose_file.parent / mount.split(":")[0]).resolve() == (
        ROOT / "deploy" / "starlink" / "config.yaml"
    )
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["starlink-exporter:8000"]
    entrypoint = (ROOT / "deploy" / "docker" / "entrypoint.sh").read_text()
    assert "exec starlink-exporter --host" in entrypoint


def test_readme_yaml_examples_validate():
    """Every YAML example in the README is accepted by the code it documents."""
    import re

    import yaml

    from exporterhub.exporters import load_plugins
    from exporterhub.exporters.starlink.settings import StarlinkConfig
    from exporterhub.hub import HubSettings, targets_from_settings

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    checked = 0
    for block in blocks:
        data = yaml.safe_load(block)
        if "exporters" in data:
            settings = HubSettings.model_validate(data)
            assert targets_from_settings(settings, load_plugins(), "README")
            checked += 1
        elif "route" in data:
            StarlinkConfig.model_validate(data)
            checked += 1
    assert checked == 3


def test_one_migration_page_per_original():
    """docs/migration/ has a page per original, each linked from its index."""
    import re

    index = (ROOT / "docs" / "migration" / "README.md").read_text()
    linked = set(re.findall(r"\]\(([a-z0-9-]+\.md)\)", index))
    assert linked == {
        "phd2-exporter.md",
        "starlink-dashboard.md",
        "pyprom-exporters.md",
        "aaisp-exporter.md",
        "snp-exporter.md",
    }
    for page in linked:
        text = (ROOT / "docs" / "migration" / page).read_text()
        assert text.startswith("# "), page
