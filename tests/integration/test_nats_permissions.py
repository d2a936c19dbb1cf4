"""The dev stack's NATS config: an agency publishes only as itself, on the one inbound subject
shape, reads only its own replies (its own ``_INBOX_<agency>``), and cannot query the streams."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NoStreamResponseError
from temporalio.service import RPCError, RPCStatusCode

from contracts import subjects
from services.devstack import render_nats_conf, resolve_ports
from tests.events import body, event, eventually, new_case_id, publish
from tests.servers import SERVICE_TOKEN, binary, environ, free_port, serve_asgi, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

AGENCY = "rz-scjgj"
OTHER = "rz-sthjj"
SERVICE_PASSWORD = "svc-pw"
PASSWORDS = {AGENCY: "a-pw", OTHER: "b-pw"}


@dataclass
class GeneratedNats:
    """A nats-server running the config ``make run`` generates."""

    url: str
    log: Path
    monitor_port: int


@contextmanager
def generated_nats(tmp_path: Path) -> Iterator[GeneratedNats]:
    """nats-server with :func:`render_nats_conf`'s config (and an HTTP monitor port)."""
    port, monitor = free_port(), free_port()
    ports = resolve_ports({"LAWLINK_NATS_PORT": str(port)})
    conf = tmp_path / "nats.conf"
    conf.write_text(render_nats_conf(ports, tmp_path / "js", SERVICE_PASSWORD, PASSWORDS))
    log = tmp_path / "nats.log"
    proc = subprocess.Popen(
        [binary("nats-server"), "-c", str(conf), "-l", str(log), "-m", str(monitor)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        # A server that could not start (its free port taken meanwhile) fails here, with its log.
        assert proc.poll() is None, f"nats-server exited ({proc.returncode}): {_tail(log)}"
        yield GeneratedNats(url=f"nats://127.0.0.1:{port}", log=log, monitor_port=monitor)
    finally:
        proc.terminate()
        proc.wait(5)


@dataclass
class Errors:
    """What the server told one client asynchronously (permission violations)."""

    seen: list[str] = field(default_factory=list)

    async def record(self, exc: Exception) -> None:
        """The client's ``error_cb``."""
        self.seen.append(str(exc).lower())

    async def wait_for(self, text: str, timeout: float = 10.0) -> str:
        """The first error containing ``text``: the server's refusal is the positive signal."""
        end = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < end:
            for seen in self.seen:
                if text.lower() in seen:
                    return seen
            await asyncio.sleep(0.05)
        raise AssertionError(f"no error containing {text!r}; errors: {self.seen}")


async def _connect_agency(url: str, errors: Errors | None = None) -> nats.NATS:
    """An agency's client as integrators are told to connect: its own inbox prefix."""
    return await nats.connect(
        url,
        user=AGENCY,
        password=PASSWORDS[AGENCY],
        inbox_prefix=subjects.inbox_prefix(AGENCY),
        error_cb=(errors or Errors()).record,
        max_reconnect_attempts=0,
    )


async def test_agency_user_can_publish_only_its_own_subjects(tmp_path) -> None:  # noqa: ANN001
    with generated_nats(tmp_path) as server:
        url, log = server.url, server.log
        errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            errors.append(exc)

        service = await nats.connect(url, user="lawlink", password="svc-pw")
        agency = await nats.connect(
            url, user="rz-scjgj", password="a-pw", error_cb=on_error, inbox_prefix="_INBOX_rz-scjgj"
        )
        seen = await service.subscribe("lawlink.in.>")
        # The subscription is live before anyone publishes. ``flush()`` alone does not ensure
        # it: nats-py 2.16 writes flush's PING straight to the socket while the SUB still waits
        # in its pending buffer, so the server could see the agency's publish first (the server
        # trace of a failed run showed PING, PONG, the agency's PUB, then the SUB).
        await service.publish("lawlink.in.probe", b"")
        probe = await seen.next_msg(timeout=10)
        assert probe.subject == "lawlink.in.probe"

        await agency.publish("lawlink.in.rz-scjgj.case_transfer.crime_suspected", b"{}")
        await agency.publish("lawlink.in.rz-sthjj.case_transfer.crime_suspected", b"{}")  # someone else's
        await agency.flush()
        try:
            msg = await seen.next_msg(timeout=10)
        except NatsTimeout:
            pytest.fail(
                f"the agency's own event never arrived; agency errors {errors}; server log: {_tail(log)}"
            )
        assert msg.subject == "lawlink.in.rz-scjgj.case_transfer.crime_suspected"
        with pytest.raises(NatsTimeout):
            await seen.next_msg(timeout=0.5)

        await agency.subscribe("lawlink.rejected.rz-sthjj")  # another agency's refusals
        await agency.flush()
        for _ in range(100):  # the server's refusal arrives asynchronously
            if any("permissions violation" in str(e).lower() for e in errors):
                break
            await asyncio.sleep(0.1)
        assert any("permissions violation" in str(e).lower() for e in errors)

        with pytest.raises(NatsError, match="Authorization Violation"):
            await nats.connect(
                url, user="rz-scjgj", password="wrong", max_reconnect_attempts=0, allow_reconnect=False
            )
        await agency.close()
        await service.close()


async def _delivered(sender: nats.NATS, sub: Subscription, subject: str, data: bytes) -> bool:
    """Whether ``data`` published on ``subject`` reaches ``sub`` within ten seconds."""
    for _ in range(50):
        await sender.publish(subject, data)
        try:
            return (await sub.next_msg(timeout=0.2)).data == data
        except NatsTimeout:
            continue
    return False


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def test_ports_are_configurable_and_validated() -> None:
    assert resolve_ports({}).nats == 4322  # never the usual 4222 a system NATS may hold
    assert resolve_ports({"LAWLINK_CONSOLE_PORT": "9000"}).console == 9000
    with pytest.raises(ValueError, match="LAWLINK_NATS_PORT"):
        resolve_ports({"LAWLINK_NATS_PORT": "abc"})
    with pytest.raises(ValueError, match="same port"):
        resolve_ports({"LAWLINK_NATS_PORT": "8380"})


async def test_agency_reads_only_its_own_inbox_and_cannot_query_the_streams(tmp_path) -> None:  # noqa: ANN001
    from services.connections import connect_nats, ensure_streams
    from services.settings import StackSettings

    with generated_nats(tmp_path) as server:
        service = await connect_nats(
            StackSettings(NATS_URL=server.url, NATS_USER="lawlink", NATS_PASSWORD=SERVICE_PASSWORD), "test"
        )
        await ensure_streams(service.jetstream())
        errors = Errors()
        agency = await _connect_agency(server.url, errors)
        try:
            # A JetStream publish needs only the agency's own inbox for its ack.
            data = event("case_transfer", "crime_suspected", agency=AGENCY)
            ack = await agency.jetstream().publish(
                subjects.inbound(AGENCY, data["type"]),
                body(data),
                stream=subjects.STREAM_IN,
                headers={"Nats-Msg-Id": data["event_id"]},
            )
            assert ack.stream == subjects.STREAM_IN and ack.seq >= 1

            own = await agency.subscribe(f"{subjects.inbox_prefix(AGENCY)}.probe")
            await agency.flush()
            # flush() does not prove the server has the SUB yet (see the test above), so the
            # service repeats its message until the agency's subscription receives one.
            assert await _delivered(service, own, f"{subjects.inbox_prefix(AGENCY)}.probe", b"for you")

            # The shared inbox (where JetStream used to deliver the services' pull consumers),
            # the services' own inbox and another agency's are all refused.
            for inbox in ("_INBOX.>", "_INBOX_lawlink.>", f"{subjects.inbox_prefix(OTHER)}.>"):
                await agency.subscribe(inbox)
                await errors.wait_for(f'permissions violation for subscription to "{inbox}"')

            # Stream info (every agency's subjects and counts) is not for agencies.
            with pytest.raises(NatsTimeout):
                await agency.jetstream(timeout=1.0).stream_info(subjects.STREAM_IN)
            await errors.wait_for(
                f'permissions violation for publish to "$JS.API.STREAM.INFO.{subjects.STREAM_IN}"'
            )
            await agency.publish("$JS.API.CONSUMER.LIST.LAWLINK_IN", b"")
            await errors.wait_for('permissions violation for publish to "$JS.API.CONSUMER.LIST.LAWLINK_IN"')

            # Only lawlink.in.<agency>.<process>.<event>: four or six tokens are refused by name.
            for subject in (
                f"lawlink.in.{AGENCY}.spoof",
                f"lawlink.in.{AGENCY}.case_transfer.crime_suspected.x",
            ):
                await agency.publish(subject, body(data))
                await errors.wait_for(f'permissions violation for publish to "{subject}"')
            # Not even a service can put another shape into the inbound stream.
            with pytest.raises(NoStreamResponseError):
                await service.jetstream(timeout=2.0).publish(f"lawlink.in.{AGENCY}.spoof", body(data))
        finally:
            await agency.close()
            await service.close()


@asynccontextmanager
async def _intake(server: GeneratedNats, temporal_address: str, queue: str) -> AsyncIterator[None]:
    """Intake logged in as the services' user of the generated config."""
    from services.intake.app import create_app
    from services.settings import IntakeSettings

    env = {
        "NATS_URL": server.url,
        "NATS_USER": "lawlink",
        "NATS_PASSWORD": SERVICE_PASSWORD,
        "TEMPORAL_ADDRESS": temporal_address,
        "LAWLINK_TASK_QUEUE": queue,
        "INTAKE_MAX_DELIVER": "3",
        "INTAKE_BACKOFF": "[0.2, 0.2, 0.2]",
        "LAWLINK_SERVICE_TOKEN": SERVICE_TOKEN,
    }
    with environ(env):
        srv, task = await serve_asgi(create_app(IntakeSettings()), free_port())
        try:
            yield
        finally:
            srv.should_exit = True
            await task


async def _no_workflow(temporal_dev, workflow_id: str) -> bool:  # noqa: ANN001
    try:
        await temporal_dev.client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False


@pytest.mark.timeout(90)
async def test_intake_refuses_4_and_6_token_subjects_naming_them(temporal_dev, tmp_path) -> None:  # noqa: ANN001
    """A deployment from before the subject shape was enforced: its LAWLINK_IN took
    ``lawlink.in.>`` and its intake consumer filtered on that, and it holds police events that
    rz-scjgj sent on subjects of 4 and 6 tokens. Intake (started on it, updating the stream)
    refuses each naming its subject, answered to rz-scjgj, and opens no case in the police's name;
    a correct event still goes through, delivered to the services' own inbox."""
    from services.connections import INTAKE_DURABLE, connect_nats
    from services.settings import StackSettings

    with generated_nats(tmp_path) as server:
        service = await connect_nats(
            StackSettings(NATS_URL=server.url, NATS_USER="lawlink", NATS_PASSWORD=SERVICE_PASSWORD), "test"
        )
        js = service.jetstream()
        await js.add_stream(StreamConfig(name=subjects.STREAM_IN, subjects=["lawlink.in.>"]))
        await js.add_consumer(
            subjects.STREAM_IN, ConsumerConfig(durable_name=INTAKE_DURABLE, filter_subject="lawlink.in.>")
        )
        spoofs = {}
        for subject in (
            f"lawlink.in.{AGENCY}.spoof",
            f"lawlink.in.{AGENCY}.reverse_transfer.police_no_crime_found.x",
        ):
            data = event("reverse_transfer", "police_no_crime_found", case_id=new_case_id("SPOOF"))
            assert data["source_agency"] == "rz-dg-gaj"  # the police, not the publisher
            await js.publish(subject, body(data), headers={"Nats-Msg-Id": data["event_id"]})
            spoofs[subject] = data

        agency = await _connect_agency(server.url)
        refusals = await agency.subscribe(subjects.rejected(AGENCY))
        await agency.flush()
        queue = f"perm-{uuid.uuid4()}"
        target = temporal_dev.client.service_client.config.target_host
        try:
            async with _intake(server, target, queue):
                info = await js.stream_info(subjects.STREAM_IN)
                assert info.config.subjects == [subjects.IN_ALL]

                valid = event("case_transfer", "crime_suspected", agency=AGENCY, case_id=new_case_id("OK"))
                await publish(agency, valid)

                answered = {}
                while len(answered) < len(spoofs):
                    msg = await refusals.next_msg(timeout=20)
                    rejection = json.loads(msg.data)
                    named = [s for s in spoofs if repr(s) in rejection["reason"]]
                    assert named, rejection
                    assert rejection["field"] == "subject"
                    assert "lawlink.in.<agency>.<process>.<event>" in rejection["reason"]
                    answered[named[0]] = rejection
                assert set(answered) == set(spoofs)

                await eventually(
                    lambda: _no_workflow(temporal_dev, f"case_transfer/{valid['case_id']}"),
                    lambda missing: not missing,
                )
                for data in spoofs.values():
                    assert await _no_workflow(temporal_dev, f"reverse_transfer/{data['case_id']}")

                # Every reply inbox on the server is an identity's own: none is the shared _INBOX.
                async with httpx.AsyncClient() as http:
                    connz = (
                        await http.get(f"http://127.0.0.1:{server.monitor_port}/connz", params={"subs": "1"})
                    ).json()
                inboxes = {
                    sub.split(".")[0]
                    for conn in connz["connections"]
                    for sub in conn.get("subscriptions_list", [])
                    if sub.startswith("_INBOX")
                }
                assert "_INBOX" not in inboxes, inboxes
                # Intake's consumer fetches (and got the events above) through its own prefix.
                assert "_INBOX_intake" in inboxes and subjects.inbox_prefix(AGENCY) in inboxes
        finally:
            await agency.close()
            await service.close()


async def test_lawlink_emit_as_an_agency_gets_its_ack_through_the_agency_inbox(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from services.cli import app as cli
    from services.connections import connect_nats, ensure_streams
    from services.settings import StackSettings

    with generated_nats(tmp_path) as server:
        service = await connect_nats(
            StackSettings(NATS_URL=server.url, NATS_USER="lawlink", NATS_PASSWORD=SERVICE_PASSWORD), "test"
        )
        await ensure_streams(service.jetstream())
        await service.close()
        data = event("case_transfer", "crime_suspected", agency=AGENCY)
        envelope_file = tmp_path / "event.json"
        envelope_file.write_bytes(body(data))
        monkeypatch.chdir(tmp_path)  # not the checkout: the CLI would load make run's .lawlink/*.env
        result = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["emit", str(envelope_file)],
            env={"NATS_URL": server.url, "NATS_USER": AGENCY, "NATS_PASSWORD": PASSWORDS[AGENCY]},
        )
        assert result.exit_code == 0, result.output
        assert "stream seq 1" in result.output and subjects.inbound(AGENCY, data["type"]) in result.output
