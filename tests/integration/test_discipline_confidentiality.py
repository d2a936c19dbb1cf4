"""A whole discipline referral through the real stack: no clue content on lawlink.out.> or
lawlink.notify.>, ciphertext in the read model, content only for the need-to-know circle.

Path: a 12345 complaint proposes a clue → the district justice bureau confirms it → its head
approves → referred to the district commission → received → disposed → outcome → rectified.
The notifier runs beside the stack (own durable, own database) so ``lawlink.notify.>`` carries
what it really would.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from contracts import subjects
from services.discipline.content import ReferralContent
from services.discipline.content_api import content_router
from services.discipline.crypto import cipher_from_env
from services.readmodel.db import make_engine
from tests.events import event, example, new_case_id, publish
from tests.servers import SERVICE_TOKEN, api_headers, free_port, migrated, serve_asgi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

P = "discipline_referral"
COMMISSION = "rz-dg-jwjw"
JUSTICE = "rz-dg-sfj"


def _secrets() -> list[str]:
    """Distinctive content of the examples this test sends (names, phone, facts, reasons...)."""
    complaint = example("hotline", "complaint_received")["payload"]
    clue = example(P, "clue_identified")["payload"]
    return [
        complaint["complainant"]["name"],
        complaint["complainant"]["phone"],
        complaint["summary"],
        complaint["official_description"],
        complaint["ticket_no"],
        clue["officials"][0]["name"],
        clue["officials"][0]["position"],
        clue["allegation"],
        clue["clue_no"],
        clue["evidence"][0]["sha256"],
        clue["evidence"][0]["uri"],
        example(P, "referral_approved")["payload"]["approved_by"],
        example(P, "referred")["payload"]["referral_letter_no"],
        example(P, "referral_received")["payload"]["receipt_no"],
        example(P, "disposition_decided")["payload"]["remarks"],
        example(P, "outcome_reported")["payload"]["outcome_summary"],
        example(P, "outcome_reported")["payload"]["rectification_items"][0],
        example(P, "rectified")["payload"]["measures"],
    ]


async def _state(stack: Any, case_id: str) -> str | None:
    async with httpx.AsyncClient(base_url=stack.registry_url, headers=api_headers()) as http:
        resp = await http.get(f"/api/cases/{case_id}", params={"process": P})
        return resp.json()["case"]["state"] if resp.status_code == 200 else None


async def _until_state(stack: Any, case_id: str, state: str, timeout: float = 30.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < end:
        last = await _state(stack, case_id)
        if last == state:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"referral {case_id} did not reach {state!r}; last state {last!r}")


async def _content_rows(
    database_url: str, case_id: str, n: int, timeout: float = 20.0
) -> list[ReferralContent]:
    engine = make_engine(database_url)
    try:
        end = asyncio.get_running_loop().time() + timeout
        while True:
            with Session(engine) as session:
                rows = list(
                    session.exec(select(ReferralContent).where(ReferralContent.case_id == case_id)).all()
                )
            if len(rows) >= n or asyncio.get_running_loop().time() > end:
                return rows
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()


async def test_referral_content_never_crosses_the_bus(stack, tmp_path: Path) -> None:  # noqa: ANN001
    from services.notifier.app import create_app as create_notifier
    from services.notifier.config import NotifierSettings

    notifier_settings = NotifierSettings(
        NATS_URL=stack.nats_url,
        DATABASE_URL=migrated(f"sqlite:///{tmp_path / 'notifier.db'}"),
        NOTIFIER_DURABLE=f"notifier-t5-{uuid.uuid4().hex[:8]}",
        LAWLINK_SERVICE_TOKEN=SERVICE_TOKEN,
    )
    notifier_server, notifier_task = await serve_asgi(create_notifier(notifier_settings), free_port())

    case_id = new_case_id("HOT")
    nc = await nats.connect(stack.nats_url)
    seen: list[tuple[str, bytes]] = []

    async def record(msg: Any) -> None:
        seen.append((msg.subject, msg.data))

    out_sub = await nc.subscribe(subjects.OUT_ALL, cb=record)
    notify_sub = await nc.subscribe(subjects.NOTIFY_ALL, cb=record)
    try:
        steps: list[tuple[str, str, str, dict[str, Any]]] = [
            ("hotline", "complaint_received", "proposed", {}),
            (
                P,
                "clue_identified",
                "identified",
                {
                    "agency": JUSTICE,
                    "source": "hotline_complaint",
                    "proposal_id": case_id,
                    "officials": [
                        {**example(P, "clue_identified")["payload"]["officials"][0], "agency": "rz-dg-zhzfj"}
                    ],
                    "managing_level": "district",
                },
            ),
            (P, "referral_approved", "approved", {"agency": JUSTICE}),
            (
                P,
                "referred",
                "referred",
                {"agency": JUSTICE, "commission": COMMISSION, "managing_level": "district"},
            ),
            (P, "referral_received", "received", {"agency": COMMISSION}),
            (P, "disposition_decided", "verification", {"agency": COMMISSION}),
            (P, "outcome_reported", "rectifying", {"agency": COMMISSION}),
            (P, "rectified", "rectified", {"agency": JUSTICE}),
        ]
        sent = []
        for process, name, state, changes in steps:
            data = event(process, name, case_id=case_id, **changes)
            await publish(nc, data)
            sent.append(data)
            await _until_state(stack, case_id, state)

        # The notifier has had the whole referral; give the last notifications a moment.
        await asyncio.sleep(2.0)
        mine = [(s, d) for s, d in seen if case_id in d.decode("utf-8", "replace") or s.endswith(case_id)]
        out_msgs = [d for s, d in mine if s.startswith("lawlink.out.")]
        notify_msgs = [d for s, d in mine if s.startswith("lawlink.notify.")]
        assert len(out_msgs) >= 20, "the referral's domain events were not all seen"
        assert notify_msgs, "the notifier published nothing about the referral"

        text = "\n".join(d.decode("utf-8") for _, d in seen)
        leaked = [s for s in _secrets() if s in text]
        assert not leaked, f"clue content on lawlink.out/notify: {leaked}"
        for _, d in mine:  # no escaped form either (\\uXXXX in JSON)
            decoded = json.dumps(json.loads(d), ensure_ascii=False)
            assert not [s for s in _secrets() if s in decoded]

        # The read model holds each accepted event's payload as ciphertext only.
        rows = await _content_rows(stack.database_url, case_id, len(sent))
        assert {r.event_id for r in rows} == {d["event_id"] for d in sent}
        for row in rows:
            for secret in _secrets():
                assert secret.encode() not in row.ciphertext
        engine = make_engine(stack.database_url)
        try:
            with engine.connect() as conn:
                dumped = "\n".join(
                    str(r)
                    for r in conn.exec_driver_sql(
                        "SELECT * FROM timeline_entry WHERE case_id = ?", (case_id,)
                    ).fetchall()
                )
                dumped += "\n".join(
                    str(r)
                    for r in conn.exec_driver_sql(
                        'SELECT * FROM "case" WHERE case_id = ?', (case_id,)
                    ).fetchall()
                )
            assert not [s for s in _secrets() if s in dumped]

            # The content API (as the console calls it) answers by the need-to-know rule.
            api = FastAPI()
            api.include_router(content_router(lambda: engine, cipher_from_env()))
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
                url = f"/api/referrals/{case_id}/content"

                async def get(role: str, agency: str | None = None, head: bool = False) -> httpx.Response:
                    headers = {"X-Lawlink-Role": role, "X-Lawlink-Head": "true" if head else "false"}
                    if agency:
                        headers["X-Lawlink-Agency"] = agency
                    return await http.get(url, headers=headers)

                for role, agency, head in [
                    ("operator", None, False),
                    ("coordinator", JUSTICE, False),
                    ("admin", None, False),
                    ("agency_officer", JUSTICE, False),
                    ("agency_officer", "rz-dg-zhzfj", True),
                    ("discipline_officer", "rz-ls-jwjw", False),
                ]:
                    resp = await get(role, agency, head)
                    assert resp.status_code == 403, (role, agency, head, resp.text)
                officer = await get("discipline_officer", COMMISSION)
                assert officer.status_code == 200
                contents = {e["type"]: e["content"] for e in officer.json()["entries"]}
                assert contents["hotline.complaint_received"]["complainant"]["phone"] == "13800006387"
                assert f"{P}.disposition_decided" in contents
                head = await get("agency_officer", JUSTICE, head=True)
                assert head.status_code == 200
                assert f"{P}.disposition_decided" not in {e["type"] for e in head.json()["entries"]}
                assert (await get("discipline_officer", COMMISSION)).status_code == 200
                missing = await http.get(
                    "/api/referrals/NO-SUCH-1/content",
                    headers={"X-Lawlink-Role": "discipline_officer", "X-Lawlink-Agency": COMMISSION},
                )
                assert missing.status_code == 404
        finally:
            engine.dispose()
    finally:
        await out_sub.unsubscribe()
        await notify_sub.unsubscribe()
        await nc.close()
        notifier_server.should_exit = True
        await notifier_task


async def test_referral_content_is_encrypted_in_temporal_history(stack) -> None:  # noqa: ANN001
    """Temporal's history (the dev server's SQLite, the production PostgreSQL, the Web UI) holds
    every event a workflow took: read with a client that has no codec, none of the referral's
    content shows, while ordinary payloads (the workflow input) stay readable for operators."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from contracts.envelope import Envelope
    from contracts.workflow_io import CaseStart, CaseStatus
    from services.temporal_codec import ENCRYPTED_ENCODING

    case_id = new_case_id("HOT")
    nc = await nats.connect(stack.nats_url)
    try:
        for process, name, state, changes in [
            ("hotline", "complaint_received", "proposed", {}),
            (
                P,
                "clue_identified",
                "identified",
                {
                    "agency": JUSTICE,
                    "source": "hotline_complaint",
                    "proposal_id": case_id,
                    "officials": [
                        {**example(P, "clue_identified")["payload"]["officials"][0], "agency": "rz-dg-zhzfj"}
                    ],
                    "managing_level": "district",
                },
            ),
            (P, "referral_approved", "approved", {"agency": JUSTICE}),
            (
                P,
                "referred",
                "referred",
                {"agency": JUSTICE, "commission": COMMISSION, "managing_level": "district"},
            ),
        ]:
            await publish(nc, event(process, name, case_id=case_id, **changes))
            await _until_state(stack, case_id, state)
    finally:
        await nc.close()

    workflow_id = f"{P}/{case_id}"
    # The workflow still works through the codec: its own status says where the referral is.
    status = await stack.temporal.get_workflow_handle(workflow_id).query("status", result_type=CaseStatus)
    assert status.state == "referred"

    target = stack.temporal.service_client.config.target_host
    plain_client = await Client.connect(target, data_converter=pydantic_data_converter)
    history = await plain_client.get_workflow_handle(workflow_id).fetch_history()
    raw = b"".join(e.SerializeToString() for e in history.events)
    secrets = _secrets()
    leaked = [s for s in secrets if s.encode() in raw or json.dumps(s).encode() in raw]
    assert not leaked, f"referral content readable in Temporal's history: {leaked}"

    # Every event the workflow took (the opening one, in the start input; each receive Update)
    # is sealed...
    start = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    updates = [
        p
        for e in history.events
        for p in (
            *e.workflow_execution_signaled_event_attributes.input.payloads,
            *e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads,
        )
    ]
    assert len(updates) == 3
    assert all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in (start, *updates))
    # ...and opens again with the stack's key (so the check above is not vacuous).
    [opened] = await stack.temporal.data_converter.decode([start], [CaseStart])
    assert opened.case_id == case_id and opened.opening is not None
    assert opened.opening.payload["complainant"]["phone"] in secrets
    [step] = await stack.temporal.data_converter.decode([updates[0]], [Envelope])
    assert step.type == f"{P}.clue_identified"
