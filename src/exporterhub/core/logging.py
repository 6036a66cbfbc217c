"""structlog setup: JSON lines in containers and pipes, a console renderer on a TTY.

Call ``configure_logging`` once at start-up. Event names are fixed snake_case strings
with context as key-values; this module must never log secrets itself.
"""

from __future__ import annotations

import logging
import sys
from typing import Final, TextIO

import structlog

__all__ = ["LEVELS", "configure_logging"]

LEVELS: Final = ("debug", "info", "warning", "error", "critical")


class _CurrentStream:
    """Writes to whatever ``sys.stderr`` (or ``sys.stdout``) is when writing.

    Capturing the stream at configuration time would keep writing to a stream that
    was replaced (and closed) since, as happens when a command runs in-process.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def write(self, text: str) -> int:
        stream: TextIO = getattr(sys, self._name)
        return stream.write(text)

    def flush(self) -> None:
        stream: TextIO = getattr(sys, self._name)
        stream.flush()


_STREAMS: Final = {
    "stderr": _CurrentStream("stderr"),
    "stdout": _CurrentStream("stdout"),
}


def configure_logging(
    level: str = "info", fmt: str = "auto", stream: str = "stderr"
) -> None:
    """Configure structlog and the stdlib root logger.

    Args:
        level: one of ``LEVELS`` (case-insensitive).
        fmt: ``json``, ``console`` or ``auto`` (console on a TTY, else JSON).
        stream: ``stderr`` (the default) or ``stdout`` (the Starlink service's
            requirement).

    Raises:
        ValueError: unknown level or format.
    """
    name = level.lower()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"unknown log format {fmt!r}; use auto, json or console")
    numeric = logging.getLevelNamesMapping()[name.upper()]
    out = _STREAMS[stream]
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (uvicorn, asyncio) get the
    # same renderer, so a log shipper sees one JSON object per line throughout.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.processors.format_exc_info,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_exporterhub", False):
            root.removeHandler(old)
    handler._exporterhub = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
    # httpx logs every request at INFO; that is the exporters' DEBUG.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
