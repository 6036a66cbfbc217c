"""Tests of the malloc tuning done once at start (glibc's mmap threshold)."""

from __future__ import annotations

import subprocess
import sys

from exporterhub.core import memory


def test_set_on_glibc():
    """On this machine's glibc the threshold is held (mallopt answers 1)."""
    assert memory.fix_mmap_threshold() is True


def test_the_users_own_setting_wins(monkeypatch):
    """MALLOC_MMAP_THRESHOLD_ in the environment: left as the user chose."""
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert memory.fix_mmap_threshold() is False


SCRIPT = """
import sys
from exporterhub.core.memory import fix_mmap_threshold

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

if sys.argv[1] == "fixed":
    fix_mmap_threshold()
first = b"x" * (8 << 20)  # mmapped, then freed: glibc raises its threshold
del first
base = rss()
pins = []
for _ in range(8):  # a body of 1 MiB made and freed, 100 kB kept after it
    body = b"x" * (1 << 20)
    pins.append(b"y" * 100_000)
    del body
print(rss() - base)
"""


def test_freed_bodies_leave_the_process():
    """Freed 1 MiB bodies go back to the system; only what is kept stays.

    Without the fixed threshold (the "dynamic" run) glibc serves them from the
    heap after the first free, and the hole a body leaves stays resident.
    """
    grown = {
        mode: int(
            subprocess.run(  # noqa: S603 - this interpreter
                [sys.executable, "-c", SCRIPT, mode],
                check=True,
                capture_output=True,
                text=True,
                env={"PATH": "/usr/bin:/bin"},
            ).stdout
        )
        for mode in ("fixed", "dynamic")
    }
    kept = 8 * 100_000 // 1024  # KiB
    assert grown["fixed"] < kept + 256, grown
    assert grown["dynamic"] >= grown["fixed"] + 512, grown  # what it saves
