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
