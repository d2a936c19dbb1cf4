"""How Lawlink's services write their log lines: time, level and logger on every line.

An operator reading why a case's event waited must be able to line intake's lines up with the
worker's and the engines' logs; without a handler of its own, a service's warnings went out
through Python's last-resort handler with neither time nor level.
"""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVEL_VARIABLE = "LAWLINK_LOG_LEVEL"


def configure_service_logging() -> None:
    """Give the ``lawlink`` loggers one stderr handler with :data:`FORMAT`, at the level
    ``LAWLINK_LOG_LEVEL`` names (INFO by default); a second call changes nothing.

    The records still propagate, so a test's log capture sees them; the root logger has no
    handler in a service process, so no line is written twice.
    """
    logger = logging.getLogger("lawlink")
    if any(getattr(h, "lawlink_service", False) for h in logger.handlers):
        return
    level = os.environ.get(LEVEL_VARIABLE, "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"{LEVEL_VARIABLE}: {level!r} is not a log level (DEBUG, INFO, WARNING, ERROR)")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.lawlink_service = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
