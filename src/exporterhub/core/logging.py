"""structlog setup: JSON lines in containers and pipes, a console renderer on a TTY.

Call ``configure_logging`` once at start-up. Event names are fixed snake_case strings
with context as key-values; this module must never log secrets itself.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

import structlog

__all__ = ["LEVELS", "configure_logging"]

LEVELS: Final = ("debug", "info", "warning", "error", "critical")


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing.

    Capturing the stream at configuration time would keep writing to a stream that
    was replaced (and closed) since, as happens when a command runs in-process.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR: Final = _CurrentStderr()


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog and the stdlib root logger.

    Args:
        level: one of ``LEVELS`` (case-insensitive).
        fmt: ``json``, ``console`` or ``auto`` (console on a TTY, else JSON).

    Raises:
        ValueError: unknown level or format.
    """
    name = level.lower()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"unknown log format {fmt!r}; use auto, json or console")
    numeric = logging.getLevelNamesMapping()[name.upper()]
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
        logger_factory=structlog.PrintLoggerFactory(file=_STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (uvicorn, asyncio) get the
    # same renderer, so a log shipper sees one JSON object per line throughout.
    handler = logging.StreamHandler(_STDERR)
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
