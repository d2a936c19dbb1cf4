"""A sixth process from its definition alone: a plug-in package (tests/sixth_process: a
definition and its workflow's handlers) is routed by intake, checked by the workflow, timed,
told and named like the five built-in processes, with no other file of Lawlink touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.catalog import PLUGINS_ENV

ROOT = Path(__file__).resolve().parents[2]
P = "rectification_notice."


@pytest.fixture(scope="module")
def report() -> dict:
    """What the plug-in process did, driven end to end in a process started with the plug-in
    (every table is built at import, as in a deployed service)."""
    env = {**os.environ, PLUGINS_ENV: "tests.sixth_process"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.sixth_process.run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_intake_routes_the_new_process_to_its_workflow(report: dict) -> None:
    assert report["route"] == "RectificationNotice"
    assert report["opened"] == "accepted"


def test_a_step_in_the_wrong_state_and_from_the_wrong_sender_is_refused(report: dict) -> None:
    assert report["second_notice"] == [f"{P}notice_issued is not valid in state notified (valid in: new)"]
    assert report["wrong_sender"]["outcome"] == "rejected"
    assert report["wrong_sender"]["field"] == "source_agency"
    assert "only rz-dg-shijiu" in report["wrong_sender"]["reason"]


def test_its_deadline_is_warned_breached_and_escalated_and_its_recipient_told(report: dict) -> None:
    assert report["published"][:6] == [
        f"{P}notice_issued",
        f"{P}opened",
        "deadline.set",
        "deadline.warning",
        "deadline.breached",
        "escalation.raised",
    ]
    assert report["escalated_to"] == ["rz-dg-scjgj"]
    assert report["told"] == [["rz-dg-shijiu", "act", "收到整改通知，请按期整改"]]
    assert report["reported"] == "accepted"
    assert report["final"] == ["rectification_notice.rectification_reported", "deadline.met", "case.closed"]


def test_the_console_names_it_from_its_definition(report: dict) -> None:
    assert report["labels"] == {
        "process": "整改通知",
        "state": "待整改",
        "state_en": "awaiting rectification",
        "event": "整改通知已下达",
    }


def test_without_the_plug_in_lawlink_knows_nothing_of_it() -> None:
    from contracts.catalog import EVENT_TYPES, PROCESSES

    assert "rectification_notice" not in PROCESSES and f"{P}notice_issued" not in EVENT_TYPES
