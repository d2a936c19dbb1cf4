"""The operator's dead letters: what each is about (case, event type, agency, the body, a
confidential one's body withheld), the replayed ones out of the way by default, and a replay of
one or of a selection only after a confirmation. The console is ``test_console_app``'s (its own
copy), whose registry replay is faked."""

from __future__ import annotations

import json
import re

from sqlmodel import Session

from services.i18n import event_label
from services.readmodel.models import DeadLetter
from tests.unit.test_console_app import NOW, Env, csrf, env  # noqa: F401 - fixture by name


def _letter(env: Env, seq: int, subject: str, body: dict[str, object], replays: int = 0) -> int:  # noqa: F811
    with Session(env.engine) as session:
        row = DeadLetter(
            stream_seq=seq,
            subject=subject,
            deliveries=5,
            last_error="workflow refused: no open case",
            body=json.dumps(body, ensure_ascii=False),
            recorded_at=NOW,
            replay_count=replays,
            replayed_at=NOW if replays else None,
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _rows(page: str) -> dict[str, str]:
    table = page[page.index('id="dead-letters-table"') :]
    table = table[: table.index("</table>")]
    return {
        m: table[table.index(f'<tr data-letter="{m}"') :].split("</tr>")[0]
        for m in re.findall(r'<tr data-letter="(\d+)"', table)
    }


def test_each_letter_says_what_it_is_and_a_confidential_body_stays_hidden(env: Env) -> None:  # noqa: F811
    plain = _letter(
        env,
        901,
        "lawlink.in.rz-scjgj.case_transfer.crime_suspected",
        {
            "event_id": "ev-dl-1",
            "type": "case_transfer.crime_suspected",
            "case_id": "CT-DL-1",
            "source_agency": "rz-scjgj",
            "payload": {"case_title": "某公司非法经营案"},
        },
    )
    secret = _letter(
        env,
        902,
        "lawlink.in.rz-scjgj.discipline_referral.clue_referred",
        {
            "event_id": "ev-dl-2",
            "type": "discipline_referral.clue_referred",
            "case_id": "DR-DL-1",
            "source_agency": "rz-scjgj",
            "payload": {"clue": "某科长收受礼金"},
        },
    )
    rows = _rows(env.client("oper").get("/dashboard").text)
    assert (
        'href="/cases/case_transfer/CT-DL-1"' in rows[str(plain)]
        and "日照市市场监督管理局" in rows[str(plain)]
    )
    assert "某公司非法经营案" in rows[str(plain)]  # the body, behind its <details>
    assert f"<td>{event_label('case_transfer.crime_suspected', 'zh')}<br>" in rows[str(plain)]
    assert "DR-DL-1" in rows[str(secret)] and "保密内容，不予显示" in rows[str(secret)]
    assert "某科长收受礼金" not in rows[str(secret)]


def test_replayed_letters_are_out_of_the_way_unless_asked_for(env: Env) -> None:  # noqa: F811
    done = _letter(
        env,
        903,
        "lawlink.in.rz-scjgj.case_transfer.crime_suspected",
        {"event_id": "ev-dl-3", "type": "case_transfer.crime_suspected", "case_id": "CT-DL-3"},
        replays=1,
    )
    oper = env.client("oper")
    assert str(done) not in _rows(oper.get("/dashboard").text)
    page = oper.get("/dashboard?dl_all=true").text
    assert str(done) in _rows(page) and "只显示未重投的死信" in page


def test_selected_letters_are_replayed_together_after_the_confirmation(env: Env) -> None:  # noqa: F811
    first = _letter(
        env,
        904,
        "lawlink.in.rz-scjgj.case_transfer.crime_suspected",
        {"event_id": "ev-dl-4", "type": "case_transfer.crime_suspected", "case_id": "CT-DL-4"},
    )
    second = _letter(
        env,
        905,
        "lawlink.in.rz-scjgj.case_transfer.crime_suspected",
        {"event_id": "ev-dl-5", "type": "case_transfer.crime_suspected", "case_id": "CT-DL-5"},
    )
    oper = env.client("oper")
    before = list(env.replayed)
    token = csrf(oper, "/dashboard")
    unconfirmed = oper.post(
        "/dead-letters/replay", data={"csrf_token": token, "ids": [str(first), str(second)]}
    )
    assert unconfirmed.status_code == 303 and env.replayed == before
    resp = oper.post(
        "/dead-letters/replay", data={"csrf_token": token, "ids": [str(first), str(second)], "confirm": "on"}
    )
    assert resp.status_code == 303 and env.replayed[len(before) :] == [first, second]
    assert "已重新投递 2 条死信" in oper.get(resp.headers["location"]).text
    audited = [r for r in env.audit() if r.action == "dead_letter.replay"][-2:]
    assert [(r.target, r.outcome) for r in audited] == [
        (f"dead_letter/{first}", "ok"),
        (f"dead_letter/{second}", "ok"),
    ]
    none = oper.post("/dead-letters/replay", data={"csrf_token": token, "confirm": "on"})
    assert none.status_code == 422 and "请先勾选要重投的死信" in none.text
    assert env.client("coord").post("/dead-letters/replay", data={"csrf_token": token}).status_code == 403
