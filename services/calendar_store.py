"""Operator-loaded holiday schedules (``lawlink calendar load``), kept as files.

New workflows receive every loaded schedule in their start input (so their deadlines never
depend on a file read inside the workflow); running workflows get a ``calendar_updated`` signal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from contracts.workflow_io import YearScheduleIn
from workflows.deadlines import parse_year_schedule


def calendar_dir() -> Path:
    """Where schedules live (``LAWLINK_CALENDAR_DIR``, default ``.lawlink/calendar``)."""
    return Path(os.environ.get("LAWLINK_CALENDAR_DIR", ".lawlink/calendar"))


def read_schedule_file(path: Path) -> YearScheduleIn:
    """Parse and validate one schedule file; ValueError names the file and the field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    try:
        schedule = parse_year_schedule(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return YearScheduleIn(
        year=schedule.year,
        holidays=tuple(d.isoformat() for d in schedule.holidays),
        workdays=tuple(d.isoformat() for d in schedule.workdays),
    )


def save_schedule(schedule: YearScheduleIn, directory: Path | None = None) -> Path:
    """Store a validated schedule as ``<year>.json``."""
    directory = directory or calendar_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{schedule.year}.json"
    path.write_text(schedule.model_dump_json(indent=2), encoding="utf-8")
    return path


def load_schedules(directory: Path | None = None) -> tuple[YearScheduleIn, ...]:
    """Every stored schedule, by year (an unreadable file is an error, not a silent skip)."""
    directory = directory or calendar_dir()
    if not directory.exists():
        return ()
    return tuple(sorted((read_schedule_file(p) for p in directory.glob("*.json")), key=lambda s: s.year))
