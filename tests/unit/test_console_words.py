"""Every word the console shows: one due-date wording everywhere, Chinese (and English) for every
value the code knows, and form errors in the page's language naming the field by its label."""

# ruff: noqa: F811 - the tests take the fixtures imported from tests.unit.console_day

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
import typing
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic_core.core_schema import ErrorType

import contracts
from contracts.agencies import agencies
from contracts.catalog import DOMAIN_EVENT_TYPES, PROCESSES
from contracts.deadline_models import DeadlineInfo
from contracts.dispute_rules import DisputeFacts, check_designate
from contracts.jurisdiction_dispute import DesignateInput, State
from services import i18n
from services.console.access import POLICY
from services.console.actions import ACTIONS
from services.console.case_views import content_text, with_names
from services.console.web import TEMPLATES
from services.notifier import recipients as rc
from services.update_refusals import ActionRefused
from tests.unit.console_day import BREACHED_DUE, DUE_10TH, day, people  # noqa: F401 - fixtures
from tests.unit.test_console_app import Env, csrf

CONSOLE = Path(i18n.__file__).parent / "console"


def _info(due_at, counting: str = "working_days") -> DeadlineInfo:  # noqa: ANN001
    return DeadlineInfo(
        deadline_id="r",
        rule="r",
        label_zh="时限",
        label_en="limit",
        source="s",
        party="rz-scjgj",
        starts_at=due_at,
        due_at=due_at,
        warn_at=None,
        counting=counting,
        length=3,
        provisional=False,
        status="open",
    )


# ----- one due-date wording -------------------------------------------------------------------


def test_case_agency_and_digest_pages_name_the_last_day_as_the_notifier_does(
    people: dict[str, TestClient],
) -> None:
    said_zh, said_en = rc.due_texts(_info(DUE_10TH))
    assert said_zh.startswith("2026-12-09当日结束前") and said_en.startswith("the end of 2026-12-09")
    case_page = people["officer"].get("/cases/case_transfer/CT-DUE").text
    table = case_page[case_page.index('id="open-deadlines"') :]
    assert "2026-12-09当日结束前" in table and "2026-12-10" not in table
    agency_page = people["officer"].get("/agency").text
    todo = agency_page[agency_page.index('id="todo"') : agency_page.index('id="agency-cases"')]
    assert "2026-12-09当日结束前" in todo and "2026-12-10" not in todo
    assert "2026-11-19当日结束前" in todo  # the breached one, due at the midnight starting the 20th
    digest = people["officer"].get("/digest").text
    overdue = digest[digest.index('id="digest-overdue"') :]
    assert rc.due_texts(_info(BREACHED_DUE))[0].split("（")[0] in overdue and "2026-11-20" not in overdue
    english = people["officer-en"].get("/cases/case_transfer/CT-DUE").text
    assert "the end of 2026-12-09" in english


def test_the_filter_list_pages_use_is_the_notifiers_wording() -> None:
    template = TEMPLATES.env.from_string("{{ due | due_text(counting) }}")
    for due, counting in ((DUE_10TH, "working_days"), (DUE_10TH.replace(hour=14, minute=30), "hours")):
        zh, en = rc.due_texts(_info(due, counting))
        assert zh.startswith(template.render(due=due, counting=counting, lang="zh"))
        assert en.startswith(template.render(due=due, counting=counting, lang="en"))
    assert TEMPLATES.env.from_string("{{ none | due_text('hours') }}").render(none=None, lang="zh") == "—"


# ----- labels for everything the code knows ------------------------------------------------------


def _contract_enums() -> list[type[enum.Enum]]:
    found = []
    for info in pkgutil.iter_modules(contracts.__path__):
        module = importlib.import_module(f"contracts.{info.name}")
        found += [
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, enum.Enum) and v.__module__ == module.__name__
        ]
    return found


def _workflow_states(process: str) -> set[str]:
    """The states a process's workflow module names (its lower-case state constants)."""
    module = importlib.import_module(f"workflows.{process}")
    return {
        v
        for k, v in vars(module).items()
        if k.isupper()
        and k != "PROCESS"
        and isinstance(v, str)
        and not isinstance(v, enum.Enum)
        and re.fullmatch(r"[a-z][a-z_]*", v)
    }


def _console_literals(keyword: str) -> set[str]:
    """Literal ``keyword="..."`` values the console's routes (and the codec endpoint served with
    it) pass to audit()."""
    sources = [*CONSOLE.glob("*.py"), CONSOLE.parent / "codec_server.py"]
    text = "\n".join(p.read_text() for p in sources)
    return set(re.findall(rf'{keyword}="([a-z_.]+)"', text))


def _both(pair: tuple[str, str] | None) -> bool:
    return pair is not None and all(isinstance(w, str) and w.strip() for w in pair)


def test_every_value_the_code_knows_has_a_chinese_and_an_english_label() -> None:
    missing: list[str] = []
    for kind in _contract_enums():
        if kind is State:
            continue  # the dispute's states are checked with every process's states below
        for member in kind:
            if not _both(i18n.ENUM_LABELS.get(kind.__name__, {}).get(member.value)):
                missing.append(f"enum {kind.__name__}.{member.value}")
    states = {p: _workflow_states(p) for p in PROCESSES}
    states["jurisdiction_dispute"] |= {s.value for s in State}
    for process, names in states.items():
        for state in names:
            zh, en = i18n.state_label(process, state, "zh"), i18n.state_label(process, state, "en")
            if state in (zh, en) and not re.search(r"[\u4e00-\u9fff]", zh):
                missing.append(f"state {process}/{state}")
            elif not re.search(r"[\u4e00-\u9fff]", zh):
                missing.append(f"state {process}/{state} (no Chinese)")
    for event_type, spec in DOMAIN_EVENT_TYPES.items():
        if not (_both((spec.label_zh, spec.label_en)) and re.search(r"[\u4e00-\u9fff]", spec.label_zh)):
            missing.append(f"event {event_type}")
    actions = set(POLICY) | _console_literals("action") | {f"dispute.{a}" for a in ACTIONS}
    missing += [f"audit action {a}" for a in sorted(actions) if not _both(i18n.AUDIT_ACTION_LABELS.get(a))]
    outcomes = _console_literals("outcome")
    missing += [f"audit outcome {o}" for o in sorted(outcomes) if not _both(i18n.AUDIT_OUTCOME_LABELS.get(o))]
    missing += [
        f"validation {t}" for t in typing.get_args(ErrorType) if not _both(i18n.VALIDATION_MESSAGES.get(t))
    ]
    for _, model in ACTIONS.values():
        missing += [
            f"field {model.__name__}.{f}" for f in model.model_fields if not _both(i18n.FIELD_LABELS.get(f))
        ]
    missing += [f"process {p}" for p in PROCESSES if not _both(i18n.PROCESS_LABELS.get(p))]
    missing += [f"agency {a.id}" for a in agencies().values() if not (a.name_zh and a.name_en)]
    assert not missing, missing
    assert "favouritism" in i18n.ENUM_LABELS["MisconductKind"]  # the walk really reached the contracts


def test_raw_values_are_shown_by_their_labels(people: dict[str, TestClient]) -> None:
    page = people["coord"].get("/cases/reverse_transfer/RT-1").text
    assert "待检察机关内部移交" in page and "handover_pending" not in page
    assert (
        content_text("discipline_referral.clue_identified", "misconduct", "favouritism", "zh")
        == "徇私舞弊（以罚代刑、不移送）"
    )
    assert (
        content_text("discipline_referral.clue_identified", "source", "case_file_review", "en")
        == "case-file review"
    )
    assert with_names("rz-gaj is not a party", "zh") == "日照市公安局 is not a party"
    dispute = people["coord"].get("/disputes/JD-OPEN").text
    suggestion = dispute[dispute.index('id="suggestion"') :][:600]
    assert "日照市市场监督管理局" in suggestion and "rz-scjgj" not in suggestion
    # The event type's machine name is an operator's tool, not a coordinator's.
    assert '<code class="muted">jurisdiction_dispute.opened</code>' not in dispute


# ----- errors in the page's language -------------------------------------------------------------


def test_form_errors_are_chinese_on_chinese_pages_and_name_the_field(
    day: Env, people: dict[str, TestClient]
) -> None:
    coord, english = people["coord"], people["coord-en"]
    calls = len(day.actions.calls)
    resp = coord.post(
        "/disputes/JD-MINE/extend",
        data={"csrf_token": csrf(coord, "/disputes/JD-MINE"), "working_days": "20", "reason": "材料多"},
    )
    assert resp.status_code == 422
    assert "工作日数：须不大于 10" in resp.text and "Input should be" not in resp.text
    resp = coord.post(
        "/disputes/JD-MINE/designate",
        data={"csrf_token": csrf(coord, "/disputes/JD-MINE"), "agency": "NOT AN ID", "reason": "理由"},
    )
    assert "机关：格式不正确" in resp.text and "String should match pattern" not in resp.text
    resp = english.post(
        "/disputes/JD-MINE/extend",
        data={"csrf_token": csrf(english, "/disputes/JD-MINE"), "working_days": "0", "reason": "x"},
    )
    assert "Working days must be at least 1" in resp.text
    assert len(day.actions.calls) == calls  # nothing reached the workflow


def test_a_refusal_by_the_workflow_is_said_in_chinese(day: Env, people: dict[str, TestClient]) -> None:
    facts = DisputeFacts(
        case_id="JD-OPEN",
        state="coordinating",
        closed=False,
        kind="positive",
        parties=("rz-scjgj", "rz-zhzfj"),
        office="rz-sfj",
        government="rz-gov",
    )
    refusal = check_designate(
        facts,
        DesignateInput(coordinator="coord", coordinator_agency="rz-sfj", agency="rz-scjgj", reason="理由"),
    )
    assert refusal is not None and refusal.reason == "claim the dispute before acting on it"
    coord = people["coord"]
    day.actions.refuse = ActionRefused("coordinator", refusal.reason, refusal.reason_zh)
    try:
        resp = coord.post(
            "/disputes/JD-MINE/designate",
            data={"csrf_token": csrf(coord, "/disputes/JD-MINE"), "agency": "rz-scjgj", "reason": "理由"},
        )
        page = coord.get(resp.headers["location"]).text
        day.actions.refuse = ActionRefused("temporal", "Temporal is not reachable: connection refused")
        resp = coord.post(
            "/disputes/JD-MINE/designate",
            data={"csrf_token": csrf(coord, "/disputes/JD-MINE"), "agency": "rz-scjgj", "reason": "理由"},
        )
        unreachable = coord.get(resp.headers["location"]).text
    finally:
        day.actions.refuse = None
    assert "协调人 — 请先认领本争议再办理" in page and "claim the dispute" not in page
    assert "工作流服务暂时无法连接" in unreachable and "not reachable" not in unreachable


def test_error_pages_for_a_bad_address_are_chinese_on_chinese_pages(people: dict[str, TestClient]) -> None:
    coord, english = people["coord"], people["coord-en"]
    bad = coord.get("/statistics?period=2026-13")
    assert bad.status_code == 422 and "统计期间：期间格式无效" in bad.text
    missing = coord.get("/cases/jurisdiction_dispute/JD-NOSUCH")
    assert missing.status_code == 404 and "未找到案件 JD-NOSUCH" in missing.text
    csv = coord.get("/statistics/export.csv")
    assert csv.status_code == 422 and "统计部分：请指定要导出的统计部分" in csv.text
    for page in (bad, missing, csv):
        body = page.text[page.text.index("<main>") :]
        assert not re.search(r"\b(no|must|period|unknown|name one of)\b", body), body[:600]
    assert "Period:" in english.get("/statistics?period=2026-13").text
    assert (
        "no jurisdiction_dispute case JD-NOSUCH" in english.get("/cases/jurisdiction_dispute/JD-NOSUCH").text
    )


def test_the_timeline_drawing_says_in_words_what_it_shows(people: dict[str, TestClient]) -> None:
    page = people["coord"].get("/cases/jurisdiction_dispute/JD-MINE").text
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg"') :]
    svg = svg[: svg.index("</svg>")]
    assert 'aria-labelledby="tl-title tl-desc"' in svg
    desc = re.search(r'<desc id="tl-desc">([^<]+)</desc>', svg).group(1)
    assert desc.startswith("状态：协商中 → 待受理 → 协调中。") and "条记录" in desc and "，进行中。" in desc
    titles = re.findall(r'<g class="tl-deadline[^"]*"><title>([^<]+)</title>', svg)
    assert titles and all(t.endswith("· 进行中") for t in titles)  # the status by its label
    assert all(re.search(r"届满 \d{4}-\d{2}-\d{2} \d{2}:\d{2}前 ·", t) for t in titles), titles


def test_the_audit_list_names_actions_and_outcomes_in_words(people: dict[str, TestClient]) -> None:
    page = people["admin"].get("/audit").text
    table = page[page.index('id="audit-table"') :]
    cells = re.findall(r'<td title="([^"]+)">([^<]+)</td>', table)
    assert cells and all(code != shown for code, shown in cells), cells[:5]
    assert "登录" in table and ">login<" not in table and ">ok<" not in table
