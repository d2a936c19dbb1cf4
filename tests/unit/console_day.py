"""A console over a read model of disputes at every stage a coordinator meets in a day, for the
tests of the words (test_console_words) and of the offered actions (test_console_actions).

The rows go through the registry's own projection, as in test_console_app; Temporal is faked
(``FakeActions``), so what is tested is what the pages offer and say.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from contracts.deadline_models import DeadlineInfo, DeadlineStatus
from contracts.domain import DomainEvent, EntryKind
from services.console.app import create_app
from services.console.auth import create_user
from services.console.settings import ConsoleSettings
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.servers import SERVICE_TOKEN, free_port
from tests.unit.test_console_app import NOW, PASSWORD, Env, FakeActions, _deadline, _ev, login

SH = ZoneInfo("Asia/Shanghai")
JD = "jurisdiction_dispute"
PARTIES = ("rz-scjgj", "rz-zhzfj")
# A working-day limit due at the midnight that starts 2026-12-10: its last day is the 9th.
DUE_10TH = datetime(2026, 12, 10, tzinfo=SH)
BREACHED_DUE = datetime(2026, 11, 20, tzinfo=SH)

# username -> (role, agency, is_head, lang)
USERS: dict[str, tuple[str, str | None, bool, str]] = {
    "coord": ("coordinator", "rz-sfj", False, "zh"),
    "coord2": ("coordinator", "rz-sfj", False, "zh"),
    "lead": ("coordinator", "rz-sfj", True, "zh"),
    "coord-en": ("coordinator", "rz-sfj", False, "en"),
    "admin": ("admin", None, False, "zh"),
    "officer": ("agency_officer", "rz-scjgj", False, "zh"),
    "officer-en": ("agency_officer", "rz-scjgj", False, "en"),
}

OPENED: dict[str, Any] = {
    "kind": "positive",
    "parties": list(PARTIES),
    "coordinator_office": "rz-sfj",
    "government": "rz-gov",
    "case_title": "某海鲜市场无证经营案",
    "enforcement_case_no": "日市监立〔2026〕120号",
    "summary": "两机关均主张管辖",
    "claims": [
        {
            "agency": "rz-scjgj",
            "position": "claims",
            "legal_basis": "第22条",
            "reasons": "",
            "filed_on": "2026-10-08",
        },
        {"agency": "rz-zhzfj", "position": "claims", "legal_basis": "第8条", "reasons": "", "filed_on": None},
    ],
    "suggestion": {
        "agency": None,
        "reason_zh": "部分争议方立案日期不明，无法确定最先立案机关（rz-scjgj 2026-10-08；rz-zhzfj 未立案）",
        "reason_en": "Some filing dates are unknown (rz-scjgj 2026-10-08; rz-zhzfj not filed)",
        "filing_dates": {"rz-scjgj": "2026-10-08", "rz-zhzfj": None},
    },
}


def _who(user: str) -> dict[str, str]:
    return {"coordinator": user, "coordinator_name": f"{user}-name", "coordinator_agency": "rz-sfj"}


def dispute(case_id: str, steps: list[tuple[str, str, dict[str, Any]]], **opened: Any) -> list[DomainEvent]:
    """A dispute opened between PARTIES, then ``steps`` of (type suffix or deadline.*, state, payload)."""
    out = [
        _ev(
            JD,
            case_id,
            1,
            f"{JD}.opened",
            "negotiating",
            actor="rz-scjgj",
            parties=PARTIES,
            payload={**OPENED, **opened},
        )
    ]
    for seq, (step, state, payload) in enumerate(steps, start=2):
        deadline = payload.pop("_deadline", None)
        kind = payload.pop("_kind", EntryKind.DEADLINE if deadline else EntryKind.STEP)
        actor = payload.pop("_actor", payload.get("coordinator"))
        out.append(
            _ev(
                JD,
                case_id,
                seq,
                step if "." in step else f"{JD}.{step}",
                state,
                kind=kind,
                actor=actor,
                parties=PARTIES,
                payload=payload,
                deadline=deadline,
                closed=payload.pop("_closed", False),
            )
        )
    return out


def designation(status: DeadlineStatus = DeadlineStatus.OPEN) -> DeadlineInfo:
    return _deadline(f"{JD}.designation", "rz-sfj", NOW + timedelta(days=9), status)


def accepted_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (
            "coordination_requested",
            "coordination_requested",
            {"reason": "协商五日未果", "_kind": EntryKind.RECEIVED, "_actor": "rz-zhzfj"},
        ),
        (
            "coordination_accepted",
            "coordinating",
            {"note": "予以受理", "_kind": EntryKind.RECEIVED, "_actor": "rz-sfj"},
        ),
        ("deadline.set", "coordinating", {"_deadline": designation()}),
    ]


def events() -> list[DomainEvent]:
    claimed = [*accepted_steps(), ("claimed", "coordinating", _who("coord"))]
    designated = [
        *claimed,
        ("extended", "coordinating", {**_who("coord"), "working_days": 5, "reason": "需补充调取执法记录"}),
        (
            "jurisdiction_designated",
            "designated",
            {**_who("coord"), "agency": "rz-scjgj", "reason": "违法行为发生地在其辖区"},
        ),
        ("deadline.met", "designated", {"_deadline": designation(DeadlineStatus.MET)}),
    ]
    head = _deadline("case_transfer.head_decision", "rz-scjgj", DUE_10TH)
    late = _deadline("case_transfer.police_decision", "rz-scjgj", BREACHED_DUE, DeadlineStatus.BREACHED)
    return [
        *dispute("JD-NEGO", []),
        *dispute("JD-OPEN", accepted_steps()),
        *dispute("JD-MINE", claimed),
        *dispute("JD-DONE", designated),
        *dispute(
            "JD-GOV",
            [
                *accepted_steps(),
                ("claimed", "coordinating", _who("coord")),
                (
                    "referred_to_government",
                    "referred_to_government",
                    {**_who("coord"), "government": "rz-gov", "reason": "协调不成"},
                ),
            ],
        ),
        _ev(
            "case_transfer",
            "CT-DUE",
            1,
            "case_transfer.crime_suspected",
            "opened",
            kind=EntryKind.RECEIVED,
            actor="rz-scjgj",
            parties=("rz-scjgj",),
            payload={"case_title": "某冷库销售过期冻品案"},
        ),
        _ev(
            "case_transfer",
            "CT-DUE",
            2,
            "deadline.set",
            "opened",
            kind=EntryKind.DEADLINE,
            parties=("rz-scjgj",),
            deadline=head,
        ),
        _ev(
            "case_transfer",
            "CT-DUE",
            3,
            "deadline.breached",
            "opened",
            kind=EntryKind.DEADLINE,
            parties=("rz-scjgj",),
            deadline=late,
        ),
        _ev(
            "reverse_transfer",
            "RT-1",
            1,
            "reverse_transfer.non_prosecution_decided",
            "handover_pending",
            kind=EntryKind.RECEIVED,
            actor="rz-jcy",
            parties=("rz-scjgj",),
        ),
    ]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path_factory.mktemp('console-day') / 'console.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, events())
        for username, (role, agency, is_head, _) in USERS.items():
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                agency=agency,
                is_head=is_head,
                display_name=f"{username}-name",
            )
        session.commit()
    with Session(engine) as session:
        from sqlmodel import select

        from services.readmodel.accounts import ConsoleUser

        for user in session.exec(select(ConsoleUser)).all():
            user.lang = USERS[user.username][3]
            session.add(user)
        session.commit()
    actions = FakeActions()
    settings = ConsoleSettings(
        DATABASE_URL=url,
        LAWLINK_SESSION_SECRET="s" * 32,
        LAWLINK_ENV="test",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
        LAWLINK_LOGIN_DELAY="30",
        TEMPORAL_UI_UPSTREAM=f"http://127.0.0.1:{free_port()}",
    )

    async def replayer(letter_id: int, actor: str) -> dict[str, Any]:
        return {"id": letter_id}

    app = create_app(settings, actions=actions, replayer=replayer, live=False)
    with TestClient(app):
        yield Env(app, engine, actions, [])
    engine.dispose()


@pytest.fixture(scope="module")
def people(day: Env) -> dict[str, TestClient]:
    out = {}
    for name in USERS:
        client = TestClient(day.app, follow_redirects=False)
        login(client, name)
        out[name] = client
    return out
