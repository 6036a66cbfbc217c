"""Hypothesis profiles of the fuzz tests: a short deterministic one and a long one.

``fuzz`` (the default) is what ``make test`` runs: derandomized (the same examples
on every run), no example database (nothing written beside the sources), a modest
budget. ``long`` is ``make fuzz``: random, a budget a hundred times larger, and
the database under ``$HYPOTHESIS_STORAGE_DIRECTORY`` so a failure replays. The
profile is chosen with ``HYPOTHESIS_PROFILE``; it applies to the tests of this
directory only (``strategies.budget`` reads it), never to the rest of the suite.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
# The explain phase traces every line (sys.settrace on 3.11): minutes per failure.
_PHASES = tuple(phase for phase in Phase if phase is not Phase.explain)

settings.register_profile(
    "fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    print_blob=True,
    phases=_PHASES,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "long",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(
        os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY", ".hypothesis") + "/examples"
    ),
    deadline=None,
    max_examples=10_000,
    print_blob=True,
    phases=_PHASES,
    suppress_health_check=_SLOW_OK,
)
