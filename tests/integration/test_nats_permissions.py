"""The dev stack's NATS config: an agency publishes only as itself and reads only its own replies."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout

from services.devstack import render_nats_conf, resolve_ports
from tests.servers import binary, free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_agency_user_can_publish_only_its_own_subjects(tmp_path) -> None:  # noqa: ANN001
    port = free_port()
    ports = resolve_ports({"LAWLINK_NATS_PORT": str(port)})
    conf = tmp_path / "nats.conf"
    conf.write_text(
        render_nats_conf(ports, tmp_path / "js", "svc-pw", {"rz-scjgj": "a-pw", "rz-sthjj": "b-pw"})
    )
    log = tmp_path / "nats.log"
    proc = subprocess.Popen(  # noqa: ASYNC220 - the server under test, stopped in finally
        [binary("nats-server"), "-c", str(conf), "-l", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        # A server that could not start (its free port taken meanwhile) fails here, with its log.
        assert proc.poll() is None, f"nats-server exited ({proc.returncode}): {_tail(log)}"
        url = f"nats://127.0.0.1:{port}"
        errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            errors.append(exc)

        service = await nats.connect(url, user="lawlink", password="svc-pw")
        agency = await nats.connect(url, user="rz-scjgj", password="a-pw", error_cb=on_error)
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
    finally:
        proc.terminate()
        proc.wait(5)


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
