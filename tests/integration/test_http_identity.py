"""HTTP intake knows its sender by a signed request, against real NATS and the Temporal dev server.

Two intake replicas share the ``stack``'s NATS, Temporal and task queue (the stack's worker runs
the cases) and a key-encryption key, as a deployment's replicas do; keys are issued with the
real ``lawlink agencies`` command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
import pytest_asyncio
from nats.js.errors import NotFoundError
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner

from contracts import subjects
from contracts.http_signing import KEY_ID_HEADER, SIGNATURE_HEADER, signed_headers
from contracts.workflow_io import workflow_id
from services.cli import app as cli
from services.discipline.crypto import generate_key
from services.intake.credentials import IssuedKey
from services.settings import IntakeSettings
from tests.events import body, event, eventually, new_case_id
from tests.http_intake import agency_key, post_signed
from tests.servers import free_port, serve_asgi

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

README = Path(__file__).resolve().parents[2] / "README.md"
KEK = generate_key()
CACHE_SECONDS = 0.5


@dataclass
class Replicas:
    """Two intake replicas and the settings that sealed their keys."""

    urls: tuple[str, str]
    settings: IntakeSettings
    nats_url: str


def _settings(stack) -> IntakeSettings:  # noqa: ANN001
    return IntakeSettings(
        NATS_URL=stack.nats_url,
        TEMPORAL_ADDRESS=stack.temporal.service_client.config.target_host,
        LAWLINK_TASK_QUEUE=stack.task_queue,
        LAWLINK_CREDENTIAL_KEK=KEK,
        LAWLINK_CREDENTIAL_CACHE_SECONDS=str(CACHE_SECONDS),
    )


@pytest_asyncio.fixture(scope="module")
async def replicas(stack) -> AsyncIterator[Replicas]:  # noqa: ANN001
    from services.intake.app import create_app

    settings = _settings(stack)
    servers = [await serve_asgi(create_app(settings), free_port()) for _ in range(2)]
    try:
        yield Replicas(
            urls=tuple(f"http://127.0.0.1:{s.config.port}" for s, _ in servers),  # type: ignore[arg-type]
            settings=settings,
            nats_url=stack.nats_url,
        )
    finally:
        for server, task in servers:
            server.should_exit = True
            await task


@asynccontextmanager
async def _watching(nats_url: str, agency: str) -> AsyncIterator[tuple[nats.NATS, list[dict]]]:
    """A connection and the rejections published for ``agency`` while the block runs."""
    nc = await nats.connect(nats_url)
    seen: list[dict] = []

    async def keep(msg) -> None:  # noqa: ANN001
        seen.append(json.loads(msg.data))

    await nc.subscribe(subjects.rejected(agency), cb=keep)
    await nc.flush()
    try:
        yield nc, seen
    finally:
        await nc.close()


async def _inbound_event_ids(nc: nats.NATS, after: int, upto: int) -> set[str]:
    """The event ids of the LAWLINK_IN messages with stream sequence in (after, upto]."""
    js = nc.jetstream()
    found: set[str] = set()
    for seq in range(after + 1, upto + 1):
        try:
            msg = await js.get_msg(subjects.STREAM_IN, seq)
        except NotFoundError:
            continue  # erased (a confidential message), nothing of this test
        try:
            found.add(json.loads(msg.data)["event_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return found


async def _last_inbound_seq(nc: nats.NATS) -> int:
    return (await nc.jetstream().stream_info(subjects.STREAM_IN)).state.last_seq


async def _no_workflow(stack, process: str, case_id: str) -> bool:  # noqa: ANN001
    try:
        await stack.temporal.get_workflow_handle(workflow_id(process, case_id)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False


def _cli(args: list[str], replicas: Replicas) -> tuple[int, str]:
    """Run ``lawlink`` as an operator would (in a thread: it runs its own event loop)."""
    env = {
        "NATS_URL": replicas.nats_url,
        "LAWLINK_CREDENTIAL_KEK": KEK,
        "INTAKE_URL": replicas.urls[0],
    }
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.output


async def _cli_issue(agency: str, replicas: Replicas) -> IssuedKey:
    code, output = await asyncio.to_thread(_cli, ["agencies", "issue-key", agency], replicas)
    assert code == 0, output
    key_id = re.search(r"^key id:\s+(\S+)$", output, re.M)
    secret = re.search(r"^secret:\s+(\S+)$", output, re.M)
    assert key_id and secret, output
    assert "X-Lawlink-Signature" in output and "revoke-key" in output
    return IssuedKey(key_id=key_id[1], agency=agency, created_at=datetime.now(UTC), secret=secret[1])


def _assert_401(resp: httpx.Response, field: str, problem: str) -> dict:
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"].startswith("Lawlink-HMAC-SHA256 ")
    assert f'error="{problem}"' in resp.headers["www-authenticate"]
    refusal = resp.json()
    assert refusal["field"] == field and refusal["errors"] == [{"field": field, "reason": refusal["reason"]}]
    return refusal


async def test_anonymous_and_wrong_key_events_are_refused_and_change_nothing(  # noqa: ANN001
    stack, replicas, caplog
) -> None:
    key = await agency_key(replicas.nats_url, "rz-scjgj", replicas.settings)
    case_id = new_case_id("ANON")
    opening = event("case_transfer", "crime_suspected", case_id=case_id)
    # What an attacker sent: a refusal in the police's name, with the police's agency header.
    refusal = event("case_transfer", "police_decided", case_id=new_case_id("ANONPOL"), agency="rz-gaj")
    wrong_secret = IssuedKey(key.key_id, key.agency, key.created_at, "lls_guessed")
    unknown = IssuedKey("lk_00000000deadbeef", key.agency, key.created_at, key.secret)
    refused_ids = {opening["event_id"], refusal["event_id"]}
    caplog.set_level(logging.WARNING, logger="lawlink.intake")
    async with _watching(replicas.nats_url, "rz-scjgj") as (nc, rejections):
        before = await _last_inbound_seq(nc)
        async with httpx.AsyncClient(base_url=replicas.urls[0], timeout=10) as http:
            anonymous = await http.post("/v1/events", content=body(opening))
            got = _assert_401(anonymous, KEY_ID_HEADER, "missing_credentials")
            assert got["event_id"] == opening["event_id"] and "X-Lawlink-Signature" in got["reason"]
            as_police = await http.post(
                "/v1/events", content=body(refusal), headers={"X-Lawlink-Agency": "rz-gaj"}
            )
            _assert_401(as_police, KEY_ID_HEADER, "missing_credentials")
            _assert_401(
                await post_signed(http, body(opening), wrong_secret), SIGNATURE_HEADER, "bad_signature"
            )
            _assert_401(await post_signed(http, body(refusal), unknown), KEY_ID_HEADER, "unknown_key")
            # The positive signal: a signed event after them is on the bus, and a signed invalid
            # one is answered on the rejected subject; the refused ones are in neither.
            good = event("case_transfer", "crime_suspected", case_id=new_case_id("ANONOK"))
            accepted = await post_signed(http, body(good), key)
            assert accepted.status_code == 202, accepted.text
            invalid = event("case_transfer", "crime_suspected", case_id=new_case_id("ANONBAD"))
            invalid["payload"]["amount_involved"] = "-5"
            assert (await post_signed(http, body(invalid), key)).status_code == 422

        async def answered() -> list[dict]:
            return rejections

        await eventually(answered, lambda r: any(x["event_id"] == invalid["event_id"] for x in r))
        assert not refused_ids & {r["event_id"] for r in rejections}
        on_bus = await _inbound_event_ids(nc, before, accepted.json()["stream_seq"])
        assert good["event_id"] in on_bus and not refused_ids & on_bus
    assert await _no_workflow(stack, "case_transfer", case_id)
    audit = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit: refused HTTP event")]
    assert len(audit) == 4, audit
    assert "agency claimed 'rz-gaj'" in audit[1] and "client 127.0.0.1" in audit[1]
    assert key.key_id in audit[2] and "bad_signature" in audit[2] and "'rz-scjgj'" in audit[2]


async def test_a_key_of_one_agency_cannot_send_as_another(stack, replicas) -> None:  # noqa: ANN001
    key = await agency_key(replicas.nats_url, "rz-scjgj", replicas.settings)
    case_id = new_case_id("ASB")
    as_police = event("case_transfer", "crime_suspected", case_id=case_id, agency="rz-gaj")
    async with httpx.AsyncClient(base_url=replicas.urls[0], timeout=10) as http:
        # The agency header is no identity: naming the envelope's agency in it changes nothing.
        resp = await post_signed(http, body(as_police), key, **{"X-Lawlink-Agency": "rz-gaj"})
    assert resp.status_code == 403, resp.text
    assert resp.json()["field"] == "source_agency"
    assert "'rz-gaj'" in resp.json()["reason"] and "'rz-scjgj'" in resp.json()["reason"]
    assert await _no_workflow(stack, "case_transfer", case_id)


async def test_a_signed_event_is_accepted_and_its_case_starts(stack, replicas) -> None:  # noqa: ANN001
    key = await agency_key(replicas.nats_url, "rz-scjgj", replicas.settings)
    case_id = new_case_id("SIGNED")
    raw = body(event("case_transfer", "crime_suspected", case_id=case_id))
    async with httpx.AsyncClient(base_url=replicas.urls[1], timeout=10) as http:
        resp = await post_signed(http, raw, key)
    assert resp.status_code == 202, resp.text
    assert resp.json()["subject"] == "lawlink.in.rz-scjgj.case_transfer.crime_suspected"
    handle = stack.temporal.get_workflow_handle(workflow_id("case_transfer", case_id))
    await eventually(lambda: _no_workflow(stack, "case_transfer", case_id), lambda gone: not gone)
    assert (await handle.describe()).id == workflow_id("case_transfer", case_id)


async def test_a_request_is_accepted_once_by_any_replica(replicas) -> None:  # noqa: ANN001
    key = await agency_key(replicas.nats_url, "rz-scjgj", replicas.settings)
    raw = body(event("case_transfer", "crime_suspected", case_id=new_case_id("REPLAY")))
    headers = signed_headers(key.key_id, key.secret, raw)
    async with httpx.AsyncClient(timeout=10) as http:
        first = await http.post(f"{replicas.urls[0]}/v1/events", content=raw, headers=headers)
        assert first.status_code == 202, first.text
        for url in replicas.urls:
            again = await http.post(f"{url}/v1/events", content=raw, headers=headers)
            _assert_401(again, SIGNATURE_HEADER, "replayed")


async def test_a_key_issued_and_revoked_by_the_command_line(replicas, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)  # no .lawlink/ of a developer's own stack here
    unknown_code, unknown_out = await asyncio.to_thread(
        _cli, ["agencies", "issue-key", "rz-nowhere"], replicas
    )
    assert unknown_code == 2 and "'rz-nowhere'" in unknown_out
    old = await _cli_issue("rz-gaj", replicas)
    new = await _cli_issue("rz-gaj", replicas)
    code, listed = await asyncio.to_thread(_cli, ["agencies", "keys", "rz-gaj"], replicas)
    assert code == 0 and old.key_id in listed and new.key_id in listed
    assert old.secret not in listed and new.secret not in listed
    async with httpx.AsyncClient(base_url=replicas.urls[0], timeout=10) as http:

        def opening() -> bytes:
            return body(event("case_transfer", "crime_suspected", case_id=new_case_id("ROT")))

        for key in (old, new):  # both valid during the rotation
            # An agency of the police may not open a transfer: 403 shows the key authenticated.
            assert (await post_signed(http, opening(), key)).status_code == 403
        code, out = await asyncio.to_thread(_cli, ["agencies", "revoke-key", old.key_id], replicas)
        assert code == 0 and f"key {old.key_id} of rz-gaj revoked" in out

        async def with_old() -> httpx.Response:
            return await post_signed(http, opening(), old)

        revoked = await eventually(with_old, lambda r: r.status_code == 401, timeout=CACHE_SECONDS + 10)
        _assert_401(revoked, KEY_ID_HEADER, "revoked_key")
        assert (await post_signed(http, opening(), new)).status_code == 403
    code, listed = await asyncio.to_thread(_cli, ["agencies", "keys", "rz-gaj"], replicas)
    rows = {
        key.key_id: next(line for line in listed.splitlines() if key.key_id in line) for key in (old, new)
    }
    assert rows[old.key_id].count(str(datetime.now(UTC).year)) == 2, listed  # created and revoked
    assert "—" in rows[new.key_id] and "—" not in rows[old.key_id], listed


def _readme_block(language: str) -> str:
    """The first ``language`` code block of the README's "Sending events over HTTP" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Sending events over HTTP", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, re.S)
    return blocks[0] if language == "python" else next(b for b in blocks if "curl" in b)


async def test_the_readme_curl_and_python_examples_are_accepted(stack, replicas, tmp_path) -> None:  # noqa: ANN001
    key = await agency_key(replicas.nats_url, "rz-scjgj", replicas.settings)
    curl_case, python_case = new_case_id("CURL"), new_case_id("PY")
    (tmp_path / "event.json").write_bytes(body(event("case_transfer", "crime_suspected", case_id=curl_case)))
    env = {
        **os.environ,
        "LAWLINK_KEY_ID": key.key_id,
        "LAWLINK_KEY_SECRET": key.secret,
        "INTAKE_URL": replicas.urls[0],
    }

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=tmp_path, env=env, input=stdin, capture_output=True, text=True, timeout=30
        )

    shell = await asyncio.to_thread(run, ["bash", "-eo", "pipefail", "-c", _readme_block("sh")])
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert json.loads(shell.stdout)["status"] == "queued"
    envelope = event("case_transfer", "crime_suspected", case_id=python_case)
    program = _readme_block("python") + f"\nimport json, sys\nprint(json.dumps(send({envelope!r})))\n"
    python = await asyncio.to_thread(run, [sys.executable, "-"], program)
    assert python.returncode == 0, python.stdout + python.stderr
    assert json.loads(python.stdout)["status"] == "queued"
    for case_id in (curl_case, python_case):
        await eventually(lambda c=case_id: _no_workflow(stack, "case_transfer", c), lambda gone: not gone)
