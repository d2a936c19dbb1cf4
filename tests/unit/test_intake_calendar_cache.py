"""Intake reads the operator's holiday schedules once, and again as soon as a file changes.

Every opening event carries the schedules into its new workflow, so intake caches them; an
operator who runs ``lawlink calendar load`` relies on the very next case using the new file,
without restarting intake, and on a broken file being refused rather than silently ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contracts.workflow_io import YearScheduleIn
from services.calendar_store import load_schedules
from services.intake.core import CachedSchedules


def _write(directory: Path, year: int, holidays: list[str]) -> Path:
    path = directory / f"{year}.json"
    path.write_text(json.dumps({"year": year, "holidays": holidays, "workdays": []}), encoding="utf-8")
    return path


class _CountingLoad:
    """The real loader, counting how often intake went to the files."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, directory: Path) -> tuple[YearScheduleIn, ...]:
        self.calls += 1
        return load_schedules(directory)


def test_schedules_are_read_once_while_nothing_changes(tmp_path: Path) -> None:
    _write(tmp_path, 2027, ["2027-01-01"])
    load = _CountingLoad()
    cached = CachedSchedules(load=load, directory=lambda: tmp_path)

    first = [cached() for _ in range(5)]

    assert load.calls == 1
    assert first[0] == (YearScheduleIn(year=2027, holidays=("2027-01-01",), workdays=()),)
    assert all(value == first[0] for value in first)


def test_a_new_or_changed_file_is_used_by_the_next_event(tmp_path: Path) -> None:
    path = _write(tmp_path, 2027, ["2027-01-01"])
    load = _CountingLoad()
    cached = CachedSchedules(load=load, directory=lambda: tmp_path)
    cached()

    _write(tmp_path, 2028, ["2028-01-01"])
    assert [s.year for s in cached()] == [2027, 2028]

    _write(tmp_path, 2027, ["2027-01-01", "2027-10-01"])
    # Same size and mtime would hide an edit; make the change visible as an editor's save would.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cached()[0].holidays == ("2027-01-01", "2027-10-01")
    assert load.calls == 3


def test_other_files_do_not_cause_a_reload(tmp_path: Path) -> None:
    _write(tmp_path, 2027, ["2027-01-01"])
    load = _CountingLoad()
    cached = CachedSchedules(load=load, directory=lambda: tmp_path)
    cached()

    (tmp_path / "README.txt").write_text("notes", encoding="utf-8")
    cached()

    assert load.calls == 1


def test_a_missing_directory_means_no_schedules_until_it_appears(tmp_path: Path) -> None:
    directory = tmp_path / "calendar"
    cached = CachedSchedules(directory=lambda: directory)
    assert cached() == ()

    directory.mkdir()
    _write(directory, 2027, ["2027-01-01"])
    assert [s.year for s in cached()] == [2027]


def test_a_broken_file_is_refused_on_every_event(tmp_path: Path) -> None:
    _write(tmp_path, 2027, ["2027-01-01"])
    cached = CachedSchedules(directory=lambda: tmp_path)
    cached()

    (tmp_path / "2028.json").write_text("{not json", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ValueError, match="2028.json"):
            cached()
