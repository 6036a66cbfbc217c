"""docs/licences.md is current: every vendored asset and runtime dependency listed."""

from __future__ import annotations

from email.message import Message

import pytest
from scripts.supply_chain.licences import (
    PAGE,
    asset_files,
    licence_of,
    render,
    runtime,
    uncovered,
    via,
)
from scripts.supply_chain.lockfile import LOCK, PYPROJECT

LOCK_SAMPLE = """\
fastapi==0.165.0 \\
    --hash=sha256:00
    # via exporterhub (pyproject.toml)
starlette==1.10.0 \\
    --hash=sha256:00
    # via
    #   fastapi
    #   schemathesis
anyio==4.16.0 \\
    --hash=sha256:00
    # via starlette
schemathesis==4.32.5 \\
    --hash=sha256:00
    # via exporterhub (pyproject.toml)
picows==2.3.1 \\
    --hash=sha256:00
    # via exporterhub (pyproject.toml)
"""
PYPROJECT_SAMPLE = """
[project]
name = "exporterhub"
dependencies = ["fastapi>=0.110"]
[project.optional-dependencies]
snp = ["picows>=2.3"]
all = ["exporterhub[snp]"]
dev = ["schemathesis==4.32.5"]
"""


def test_the_page_is_current():
    assert PAGE.read_text() == render(), "docs/licences.md is stale: run make licences"


def test_every_vendored_file_has_a_licence_entry():
    files = asset_files()
    assert "src/exporterhub/core/ui/static/app.js" in files
    assert "tests/fixtures/kasa/P110(AU)_1.0_1.3.1.json" in files
    assert "requirements/advisories/LICENSE" in files
    assert uncovered(files) == []


def test_a_new_vendored_file_without_an_entry_is_named():
    new = [
        "tests/fixtures/kasa/new_dump.json",  # not a python-kasa file name
        "tests/fixtures/unifi/answer.json",  # a new fixture folder
        "src/exporterhub/core/ui/static/icons.woff2",  # covered: the UI's folder
    ]
    assert uncovered(new) == new[:2]


def test_a_new_runtime_dependency_changes_the_page_or_is_refused():
    """Installed with a licence: listed (the committed page is stale); else refused."""
    lock = LOCK.read_text()  # packaging is locked already, for the dev tools
    pyproject = PYPROJECT.read_text().replace(
        '"asyncpg>=', '"packaging>=24",\n  "asyncpg>=', 1
    )
    assert pyproject != PYPROJECT.read_text()
    page = render(pyproject, lock)
    assert page != PAGE.read_text()
    assert "| packaging | 26.4 | " in page
    lock += "no-such-package==1.0 \\\n    --hash=sha256:00\n"
    pyproject = pyproject.replace('"packaging>=24",', '"no-such-package>=1",')
    with pytest.raises(ValueError, match=r"no licence found for \['no-such-package'\]"):
        render(pyproject, lock)


def test_runtime_follows_the_via_graph_from_runtime_requirements_only():
    assert via(LOCK_SAMPLE)["starlette"] == {"fastapi", "schemathesis"}
    assert runtime(PYPROJECT_SAMPLE, LOCK_SAMPLE) == {
        "fastapi": ["core"],
        "starlette": ["core"],
        "anyio": ["core"],
        "picows": ["snp"],
    }


def _meta(**fields):
    message = Message()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            message[key.replace("_", "-")] = item
    return message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"License_Expression": "MIT OR Apache-2.0", "License": "BSD"},
            "MIT OR Apache-2.0",
        ),
        ({"License": "BSD-3-Clause"}, "BSD-3-Clause"),
        (
            {
                "License": "Copyright (c) someone\nPermission is hereby granted...",
                "Classifier": [
                    "License :: OSI Approved :: Apache Software License",
                    "License :: OSI Approved :: BSD License",
                    "Programming Language :: Python",
                ],
            },
            "Apache Software License OR BSD License",
        ),
        ({"License": "UNKNOWN"}, ""),
        ({}, ""),
    ],
)
def test_licence_of_reads_expression_then_field_then_classifiers(fields, expected):
    assert licence_of(_meta(**fields)) == expected
