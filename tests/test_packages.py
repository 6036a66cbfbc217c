"""Tests that importing a parent package loads nothing heavy (asyncio above all).

Coverage's subprocess measurement (``patch = ["subprocess"]``, set on by
``pytest --cov=exporterhub.exporters.<name>``) starts in every spawned exporter
before the program runs, looks each measured package up with
``importlib.util.find_spec`` (which imports its parent packages) and then removes
every module that look-up loaded from ``sys.modules``. A parent package that
imports asyncio leaves the process with two copies of asyncio's Python modules
while the C accelerator ``_asyncio`` keeps the first: its tasks then raise a
``CancelledError`` that ``TaskGroup`` and ``except asyncio.CancelledError`` no
longer recognise, and a worker dies silently on its first lost connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from exporterhub.exporters import MODULES

PROBE = """
import importlib.util, json, sys

before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.util.find_spec(name)
loaded = set(sys.modules) - before
for module in loaded:  # as coverage's sys_modules_saved() does
    del sys.modules[module]

import asyncio

loop = asyncio.new_event_loop()
future = loop.create_future()
future.cancel()
try:
    future.result()
except BaseException as exc:
    raised = type(exc)
print(json.dumps({
    "asyncio_loaded": sorted(m for m in loaded if m.split(".")[0] == "asyncio"),
    "one_cancelled_error": raised is asyncio.CancelledError,
}))
"""


def test_a_coverage_probe_of_any_package_leaves_one_asyncio():
    """find_spec of every exporter, simulator and the core loads no asyncio."""
    names = [
        "exporterhub.core",
        *(f"exporterhub.exporters.{module}" for module in MODULES.values()),
        *(f"exporterhub.simulators.{module}" for module in MODULES.values()),
    ]
    # A fresh interpreter, without coverage's own probe, on these sources.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed script
        [sys.executable, "-c", PROBE, *names],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    found = json.loads(result.stdout)
    assert found["asyncio_loaded"] == []
    assert found["one_cancelled_error"] is True
