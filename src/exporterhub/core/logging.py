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
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(message)s")
    logging.getLogger().setLevel(numeric)
