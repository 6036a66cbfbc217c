"""A second process writing targets through TargetStore, for the store tests.

    python -m tests.core.store.writer STORE KIND COUNT [KEY_FILE]

Prints ``ready`` once the store is open, then ``created <name>`` after each create
has returned (so the parent knows the write was committed), and stops after COUNT.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import structlog
from pydantic import SecretStr

from exporterhub.core.store import TargetStore


async def write(location: str, kind: str, count: int, key_file: Path | None) -> None:
    store = await TargetStore.open(location, key_file=key_file)
    try:
        print("ready", flush=True)
        for n in range(count):
            name = f"t{n:05d}"
            await store.create(kind, name, {"n": n, "password": SecretStr(f"pw{n}")})
            print(f"created {name}", flush=True)
    finally:
        await store.close()


def main() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    location, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    key_file = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    asyncio.run(write(location, kind, count, key_file))


if __name__ == "__main__":
    main()
