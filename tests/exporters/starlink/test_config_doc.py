"""The configuration reference page is generated from the settings models."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from exporterhub.exporters.starlink import config_doc
from exporterhub.exporters.starlink.settings import StarlinkConfig

from .config_fields import leaves

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "starlink-config.md"


def test_committed_page_is_current():
    """docs/starlink-config.md equals what the models generate."""
    assert PAGE.read_text() == config_doc.render(), (
        "docs/starlink-config.md is stale: run "
        "python -m exporterhub.exporters.starlink.config_doc > docs/starlink-config.md"
    )


def test_every_leaf_key_is_on_the_page():
    """Each scalar setting of the model has its own row, named by dotted path."""
    page = config_doc.render()
    for leaf in leaves(StarlinkConfig):
        dotted = ".".join("[]" if part == "0" else part for part in leaf.path)
        dotted = dotted.replace(".[]", "[]")
        assert f"| `{dotted}` |" in page, dotted


def test_limits_and_defaults_come_from_the_model():
    """A bound and a default on the page are the model's own."""
    page = config_doc.render()
    row = next(
        line for line in page.splitlines() if line.startswith("| `update_interval")
    )
    field = StarlinkConfig.model_fields["update_interval_seconds"]
    assert f"`{field.default}`" in row
    assert "0.1 ≤ x ≤ 3 600" in row
    assert "`STARLINK_EXPORTER_UPDATE_INTERVAL_SECONDS`" in row


def test_undocumented_key_is_refused():
    """A key its model's docstring does not describe makes rendering fail."""

    class Bare(BaseModel):
        """A section.

        Attributes:
            known: described.
        """

        known: int = 1
        unknown: int = 2

    with pytest.raises(ValueError, match=r"Bare\.unknown has no description"):
        config_doc.render(Bare)
