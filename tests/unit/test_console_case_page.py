"""The case page shows the case itself: the facts of the opening event and the later steps' key
fields, the document numbers (文号) and attached documents, each by its label; every timeline row
opens to its payload in words (operators also see it raw), and bookkeeping rows are folded
behind a toggle that needs no JavaScript. Referral content stays need-to-know.

The rows are the contracts' committed example payloads, projected by the registry's own
projection; the referral is the notifications tests' one, whose content is really encrypted.
"""

# ruff: noqa: F811 - the tests take the fixtures imported from tests.unit.test_console_notifications

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.domain import DomainEvent, EntryKind
from services import i18n
from services.console.app import create_app
from services.console.auth import create_user
from services.console.case_facts import payload_fields
from services.console.settings import ConsoleSettings
from services.readmodel.accounts import ConsoleUser
from services.readmodel.db import make_engine, migrate
from services.readmodel.projection import project
from tests.events import example
from tests.unit.test_console_app import NOW, PASSWORD, Env, FakeActions, _deadline, _ev
from tests.unit.test_console_notifications import REFERRAL, clients, env  # noqa: F401 - fixtures
from tests.unit.test_console_review import NO_REVIEW, UNDER_REVIEW, _delegation
from tests.unit.test_console_review import USERS as REVIEW_USERS
from tests.unit.test_console_townships import Env as TownEnv
from tests.unit.test_console_townships import console_over

CT, JD, DR = "case_transfer", "jurisdiction_dispute", "discipline_referral"
CSS = Path(i18n.__file__).parent / "console" / "static" / "console.css"

# username -> (role, agency, lang)
USERS: dict[str, tuple[str, str | None, str]] = {
    "oper": ("operator", None, "zh"),
    "coord": ("coordinator", "rz-sfj", "zh"),
    "officer": ("agency_officer", "rz-scjgj", "zh"),
    "officer-en": ("agency_officer", "rz-scjgj", "en"),
}


def _payload(process: str, name: str) -> dict[str, Any]:
    return example(process, name)["payload"]


Row = tuple[str, str, EntryKind, dict[str, Any], Any]  # type, actor, kind, payload, deadline


def _case(
    process: str, case_id: str, state: str, parties: tuple[str, ...], rows: list[Row]
) -> list[DomainEvent]:
    """One case's domain events, an hour apart, numbered from 1."""
    return [
        _ev(
            process,
            case_id,
            seq,
            type_,
            state,
            kind=kind,
            actor=actor or None,
            parties=parties,
            payload=payload,
            deadline=deadline,
            at=NOW - timedelta(hours=20 - seq),
        )
        for seq, (type_, actor, kind, payload, deadline) in enumerate(rows, start=1)
    ]


def _transfer() -> list[DomainEvent]:
    """A transfer from the crime suspected to the police's breach, with the examples' payloads."""
    head = _deadline(f"{CT}.head_decision", "rz-scjgj", NOW + timedelta(days=3))
    police = _deadline(f"{CT}.police_decision", "rz-gaj", NOW - timedelta(days=1))
    rows: list[Row] = [
        (f"{CT}.crime_suspected", "rz-scjgj", EntryKind.RECEIVED, _payload(CT, "crime_suspected"), None),
        (
            f"{CT}.opened",
            "rz-scjgj",
            EntryKind.STEP,
            {"agency": "rz-scjgj", "case_title": "日照某商贸"},
            None,
        ),
        (f"{CT}.team_assigned", "rz-scjgj", EntryKind.STEP, {"officers": 2}, None),
        ("deadline.set", "", EntryKind.DEADLINE, {}, head),
        (
            f"{CT}.transfer_report_submitted",
            "rz-scjgj",
            EntryKind.RECEIVED,
            _payload(CT, "transfer_report_submitted"),
            None,
        ),
        (f"{CT}.head_decided", "rz-scjgj", EntryKind.RECEIVED, _payload(CT, "head_decided"), None),
        ("deadline.met", "", EntryKind.DEADLINE, {"late": False, "late_seconds": 0}, head),
        (f"{CT}.transferred", "rz-scjgj", EntryKind.RECEIVED, _payload(CT, "transferred"), None),
        ("deadline.set", "", EntryKind.DEADLINE, {}, police),
        ("deadline.breached", "", EntryKind.DEADLINE, {}, police),
    ]
    return _case(CT, "CT-FULL", "transferred", ("rz-scjgj", "rz-gaj"), rows)


def _busy_dispute() -> list[DomainEvent]:
    """A dispute whose coordinator took it, let it go and took it again while its clock ran."""
    designation = _deadline(f"{JD}.designation", "rz-sfj", NOW + timedelta(days=9))
    opinion = _deadline(f"{JD}.opinion", "rz-hyfzj", NOW - timedelta(days=1))
    who = {"coordinator": "coord", "coordinator_name": "陈刚", "coordinator_agency": "rz-sfj"}
    raised = _payload(JD, "dispute_raised")
    rows: list[Row] = [
        (f"{JD}.dispute_raised", "rz-scjgj", EntryKind.RECEIVED, raised, None),
        (f"{JD}.opened", "rz-scjgj", EntryKind.STEP, {**raised, "coordinator_office": "rz-sfj"}, None),
        (f"{JD}.coordination_requested", "rz-hyfzj", EntryKind.RECEIVED, {"reason": "协商未果"}, None),
        (f"{JD}.coordination_accepted", "rz-sfj", EntryKind.RECEIVED, {"note": "予以受理"}, None),
        ("deadline.set", "", EntryKind.DEADLINE, {}, designation),
        (f"{JD}.claimed", "coord", EntryKind.STEP, who, None),
        (f"{JD}.unclaimed", "coord", EntryKind.STEP, {**who, "reason": "出差"}, None),
        (f"{JD}.claimed", "coord", EntryKind.STEP, who, None),
        ("deadline.warning", "", EntryKind.DEADLINE, {}, designation),
        ("deadline.breached", "", EntryKind.DEADLINE, {}, opinion),
    ]
    return _case(JD, "JD-BUSY", "coordinating", ("rz-hyfzj", "rz-scjgj"), rows)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path_factory.mktemp('console-case-page') / 'console.db'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        project(session, [*_transfer(), *_busy_dispute()])
        for username, (role, agency, _) in USERS.items():
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                agency=agency,
                display_name=f"{username}-name",
            )
        session.commit()
        for user in session.exec(select(ConsoleUser)).all():
            user.lang = USERS[user.username][2]
            session.add(user)
        session.commit()
    settings = ConsoleSettings(DATABASE_URL=url, LAWLINK_SESSION_SECRET="c" * 32, LAWLINK_ENV="test")
    app = create_app(settings, actions=FakeActions(), live=False)
    with TestClient(app):
        yield Env(app, engine, FakeActions(), [])
    engine.dispose()


@pytest.fixture(scope="module")
def people(cases: Env) -> dict[str, TestClient]:
    return {name: cases.client(name) for name in USERS}


def _part(page: str, element_id: str) -> str:
    """The element with ``element_id`` up to the end of its section."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def _rows(page: str) -> dict[int, str]:
    """The timeline table's rows by their number (#)."""
    table = _part(page, "timeline-table")
    return {
        int(m.group(1)): m.group(0) for m in re.finditer(r'<tr id="entry-(\d+)".*?</tr>', table, flags=re.S)
    }


# ----- the facts ---------------------------------------------------------------------------------


def test_the_case_page_shows_the_facts_offence_amount_and_officers(people: dict[str, TestClient]) -> None:
    facts = _part(people["officer"].get(f"/cases/{CT}/CT-FULL").text, "case-facts")
    opening = _payload(CT, "crime_suspected")
    for label, value in (
        ("案件名称", opening["case_title"]),
        ("行政执法案件文号", "日市监立〔2026〕15号"),
        ("涉嫌罪名", "销售伪劣产品罪"),
        ("涉案金额", "186,000.00 元"),
        ("涉嫌犯罪的事实概要", opening["facts"]),
        ("承办人员", "王磊（执法证号 37110020260015）"),
        ("核实情况与移送建议", _payload(CT, "transfer_report_submitted")["summary"]),
        ("接受移送的公安机关", "日照市公安局"),
        ("决定", "批准移送"),
    ):
        assert re.search(rf"<dt>{re.escape(label)}</dt><dd>.*?{re.escape(value)}", facts, re.S), label
    # A later step's workflow copy (the team's size) never stands in for the officers named.
    assert '<span class="payload-text">2</span>' not in facts
    team = _rows(people["officer"].get(f"/cases/{CT}/CT-FULL").text)[3]
    assert '<dt>专案组人数</dt><dd><span class="payload-text">2</span>' in team
    english = _part(people["officer-en"].get(f"/cases/{CT}/CT-FULL").text, "case-facts")
    assert "<dt>Suspected offence</dt>" in english and "186,000.00 yuan" in english
    assert "<dt>Amount involved</dt>" in english and "Beijing" not in english


def test_document_numbers_and_attached_documents_are_listed_once_each(people: dict[str, TestClient]) -> None:
    page = people["coord"].get(f"/cases/{CT}/CT-FULL").text
    numbers = _part(page, "document-numbers")
    for number in (
        "日市监立〔2026〕15号",
        "日市监移报〔2026〕15号",
        "日市监批〔2026〕15号",
        "日市监移〔2026〕15号",
    ):
        assert numbers.count(number) == 1, number
    assert "执法证号" not in numbers and "37110020260015" not in numbers  # a person, not a document
    documents = _part(page, "attachments")
    for sent in _payload(CT, "transferred")["attachments"]:
        assert documents.count(sent["sha256"]) == 1 and sent["name"] in documents
    # The investigation report came with the report and again with the transfer: listed once.
    assert documents.count("涉嫌犯罪案件情况调查报告.pdf") == 2  # its link text and its aria-label
    assert "<td>移送书</td>" in documents and "transfer_letter" not in documents
    assert 'href="https://scjgj.rizhao.example/cases/2026-15/letter.pdf"' in documents
    assert 'aria-label="打开附件 涉嫌犯罪案件移送书.pdf（CT-FULL）"' in documents


def test_a_dispute_shows_its_parties_claims_by_their_labels(people: dict[str, TestClient]) -> None:
    page = people["coord"].get(f"/cases/{JD}/JD-BUSY").text
    facts = _part(page, "case-facts")
    assert '<dt>争议类型</dt><dd><span class="payload-text">积极争议' in facts and "positive" not in facts
    assert "<dt>各方主张</dt>" in facts and "日照市海洋发展局" in facts and "rz-hyfzj" not in facts
    assert "<dt>法律依据</dt>" in facts and "《中华人民共和国渔业法》第六条" in facts
    assert "争议情况说明.pdf" in _part(page, "attachments")


# ----- timeline rows ----------------------------------------------------------------------------


def test_every_row_opens_to_its_payload_in_words_and_only_operators_see_it_raw(
    people: dict[str, TestClient],
) -> None:
    rows = _rows(people["coord"].get(f"/cases/{CT}/CT-FULL").text)
    transferred = rows[8]
    assert '<details class="row-details" id="details-8"' in transferred
    assert 'aria-label="第 8 条“向公安机关移送”的明细（CT-FULL）"' in transferred
    assert "<dt>移送书文号</dt>" in transferred and "日市监移〔2026〕15号" in transferred
    assert '<dt>是否已作出行政处罚决定</dt><dd><span class="payload-text">否</span>' in transferred
    assert "涉嫌犯罪案件移送书.pdf" in transferred and "transfer_letter" not in transferred
    assert "raw-payload" not in "".join(rows.values()) and '"police_agency"' not in "".join(rows.values())
    raw = _rows(people["oper"].get(f"/cases/{CT}/CT-FULL").text)[8]
    assert "<dt>移送书文号</dt>" in raw and 'class="raw-payload"' in raw
    assert "&#34;police_agency&#34;: &#34;rz-gaj&#34;" in raw  # the JSON as published, escaped


def test_system_rows_are_folded_behind_a_toggle_that_needs_no_javascript(
    people: dict[str, TestClient],
) -> None:
    page = people["coord"].get(f"/cases/{JD}/JD-BUSY").text
    rows = _rows(page)
    folded = {n for n, row in rows.items() if "system-row" in row}
    # The clock being set and warned about, the claim taken, released, taken again.
    assert folded == {5, 6, 7, 8, 9}
    assert "system-row" not in rows[10] and "row-breached" in rows[10]  # the breach stays in view
    section = _part(page, "timeline-table-title")
    toggle = re.search(r'<input type="checkbox" class="show-system" id="show-system"[^>]*>', section, re.S)
    assert toggle is not None and "checked" not in toggle.group(0)
    assert 'aria-label="显示系统记录（5 条）：案件 JD-BUSY 的时限登记、认领等"' in toggle.group(0)
    assert '<label for="show-system" class="show-system-label">显示系统记录（5 条）</label>' in section
    assert section.index("show-system") < section.index('id="timeline-table"')  # the rule's ~ needs it first
    css = CSS.read_text(encoding="utf-8")
    assert re.search(
        r"\.show-system:not\(:checked\) ~ #timeline-table tr\.system-row \{ display:none; \}", css
    )
    opened = _part(people["coord"].get(f"/cases/{JD}/JD-BUSY?system=1").text, "timeline-table-title")
    assert re.search(r'id="show-system"[^>]* checked', opened)
    # The dispute page draws the same timeline.
    assert "显示系统记录（5 条）" in people["coord"].get("/disputes/JD-BUSY").text


# ----- need-to-know ------------------------------------------------------------------------------


def test_an_operator_sees_that_a_referral_exists_but_not_its_content(
    clients: dict[str, TestClient],
) -> None:
    path = f"/cases/{DR}/{REFERRAL}"
    oper = clients["oper"].get(path).text
    assert 'id="need-to-know"' in oper and 'id="case-state"' in oper and REFERRAL in oper
    assert 'id="case-facts"' not in oper and 'id="document-numbers"' not in oper
    for secret in ("赵某明", "日市监纪线〔2026〕3号", "案卷评查意见书.pdf", "以罚代刑", "徇私舞弊"):
        assert secret not in oper, secret
    disc = clients["disc"].get(path).text
    facts = _part(disc, "case-facts")
    assert re.search(
        r"<dt>涉及人员</dt><dd>.*?<dt>姓名</dt><dd><span class=\"payload-text\">赵某明", facts, re.S
    )
    assert (
        "<dt>问题类型</dt>" in facts
        and "徇私舞弊（以罚代刑、不移送）" in facts
        and "favouritism" not in facts
    )
    assert "日市监纪线〔2026〕3号" in _part(disc, "document-numbers")
    assert "日市监移纪〔2026〕2号" in _part(disc, "document-numbers")
    assert "案卷评查意见书.pdf" in _part(disc, "attachments")


# ----- labels -------------------------------------------------------------------------------------


def test_every_payload_field_of_every_contract_has_a_chinese_and_an_english_label() -> None:
    missing = []
    for model, names in payload_fields().items():
        for name in names:
            zh, en = i18n.payload_label(name, "zh", model), i18n.payload_label(name, "en", model)
            if zh == name or en == name or not re.search(r"[\u4e00-\u9fff]", zh) or not en.strip():
                missing.append(f"{model}.{name}")
    assert not missing, missing
    assert "ClueIdentified" in payload_fields() and "Officer" in payload_fields()  # nested ones too
    for key in ("yes", "no", "yuan", "case_facts", "show_system_rows", "row_details_of"):
        assert all(w.strip() for w in i18n.WORDS[key]), key


# ----- the case's JSON ----------------------------------------------------------------------------


def test_the_case_api_carries_the_facts_the_page_shows(people: dict[str, TestClient]) -> None:
    body = people["officer"].get(f"/api/cases/{CT}/CT-FULL").json()
    facts = {f["label"]: f for f in body["substance"]["facts"]}
    assert facts["涉嫌罪名"]["value"] == "销售伪劣产品罪" and facts["涉嫌罪名"]["name"] == "suspected_offence"
    assert facts["涉案金额"]["value"] == "186,000.00 元"
    assert facts["承办人员"]["value"][0] == "王磊（执法证号 37110020260015）"
    assert facts["决定"]["value"] == "批准移送"
    page = _part(people["officer"].get(f"/cases/{CT}/CT-FULL").text, "case-facts")
    for label, fact in facts.items():
        assert f"<dt>{label}</dt>" in page and fact["step"] in page, label
    numbers = [n["number"] for n in body["substance"]["document_numbers"]]
    assert numbers == [
        "日市监立〔2026〕15号",
        "日市监移报〔2026〕15号",
        "日市监批〔2026〕15号",
        "日市监移〔2026〕15号",
    ]
    documents = {d["name"]: d for d in body["substance"]["documents"]}
    assert (
        documents["涉嫌犯罪案件移送书.pdf"]["uri"] == "https://scjgj.rizhao.example/cases/2026-15/letter.pdf"
    )
    assert documents["涉嫌犯罪案件移送书.pdf"]["kind"] == "移送书"
    english = people["officer-en"].get(f"/api/cases/{CT}/CT-FULL").json()
    assert "Suspected offence" in {f["label"] for f in english["substance"]["facts"]}


def test_the_case_api_keeps_a_referrals_facts_need_to_know(clients: dict[str, TestClient]) -> None:
    path = f"/api/cases/{DR}/{REFERRAL}"
    disc = clients["disc"].get(path).json()
    facts = {f["name"]: f for f in disc["substance"]["facts"]}
    officials = facts["officials"]["value"]
    assert {"name": "name", "label": "姓名", "value": "赵某明"} in officials[0]
    assert "徇私舞弊（以罚代刑、不移送）" in str(facts["misconduct"]["value"])
    assert "日市监纪线〔2026〕3号" in [n["number"] for n in disc["substance"]["document_numbers"]]
    resp = clients["oper"].get(path)
    oper = resp.json()
    assert resp.status_code == 200 and oper["case_id"] == REFERRAL and oper["confidential"] is True
    assert "substance" not in oper
    for secret in ("赵某明", "日市监纪线〔2026〕3号", "案卷评查意见书.pdf", "徇私舞弊"):
        assert secret not in resp.text, secret


# ----- the delegation's yearly review -------------------------------------------------------------


@pytest.fixture(scope="module")
def delegations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    """The review tests' delegations (one under review, one not) and their users."""
    events = [*_delegation(UNDER_REVIEW, True), *_delegation(NO_REVIEW, False)]
    app, engine = console_over(tmp_path_factory.mktemp("case-page-review"), events, REVIEW_USERS)
    with TestClient(app):
        env = TownEnv(app, engine)
        yield {name: env.client(name) for name in ("coord-dg", "coord", "oper", "town")}
    engine.dispose()


def test_the_case_page_links_the_review_to_a_reviewer_who_may_decide_it_now(
    delegations: dict[str, TestClient],
) -> None:
    reviewer = delegations["coord-dg"]
    page = reviewer.get(f"/cases/power_delegation/{UNDER_REVIEW}").text
    link = re.search(
        rf'<a href="(/delegations/{UNDER_REVIEW}/review)" id="review-link"[^>]*>([^<]+)</a>', page
    )
    assert link is not None and link.group(2) == "作出评估决定"
    assert 'id="form-review"' in reviewer.get(link.group(1)).text
    assert 'id="review-done"' not in page
    sent = reviewer.get(f"/cases/power_delegation/{UNDER_REVIEW}?done=review").text
    assert re.search(r'<p class="notice ok" id="review-done"[^>]*>评估决定已提交，页面将随事件更新</p>', sent)
    # No review waiting, or not this review's decider (the city's bureau), or no such role.
    for who, case_id in (
        ("coord-dg", NO_REVIEW),
        ("coord", UNDER_REVIEW),
        ("oper", UNDER_REVIEW),
        ("town", UNDER_REVIEW),
    ):
        resp = delegations[who].get(f"/cases/power_delegation/{case_id}")
        assert resp.status_code == 200 and 'id="case-state"' in resp.text, (who, case_id)
        assert 'id="review-link"' not in resp.text and "/review" not in resp.text, (who, case_id)
