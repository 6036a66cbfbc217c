"""Migrates an original database in a process of its own that dies at a chosen step.

    python -m tests.exporters.snp.migrator DB_PATH STEP

Runs ``migrate`` with a hook that sends SIGKILL to this very process when the
named step completes: files are left exactly as a crash there leaves them (open
WAL files, a held lock, a half-renamed backup). Exits 0 when the step never
comes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import structlog

from exporterhub.exporters.snp.migrate import migrate


def main() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    path, wanted = Path(sys.argv[1]), sys.argv[2]

    def hook(step: str) -> None:
        if step == wanted:
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(migrate(path, interval=5.0, hook=hook))


if __name__ == "__main__":
    main()
