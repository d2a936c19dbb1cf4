"""The retry logic that keeps services up through outages, without servers."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from temporalio.service import RPCError, RPCStatusCode

from services.discipline.crypto import ContentCipher
from services.registry.dead_letters import open_body, record_body
from services.resilience import (
    backoff_delay,
    health_body,
    may_be_unreachable,
    reconnect_handler,
    retry_while_unreachable,
)


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    assert backoff_delay(0, base=1, cap=30, rng=lambda: 0.0) == 0.5
    assert backoff_delay(3, base=1, cap=30, rng=lambda: 0.999) == pytest.approx(8 * 0.9995)
    assert backoff_delay(100, base=1, cap=30, rng=lambda: 0.999) < 30
    assert backoff_delay(100, base=1, cap=30, rng=lambda: 0.0) == 15
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1, base=1, cap=2)


def test_reconnect_handler_picks_the_least_tried_server() -> None:
    choose = reconnect_handler(0.1, 1.0)
    a, b = SimpleNamespace(reconnects=5), SimpleNamespace(reconnects=1)
    server, delay = choose([a, b], {})
    assert server is b and 0.1 <= delay <= 0.2


def test_unreachable_candidates_follow_the_cause_chain() -> None:
    class Transient(Exception):
        pass

    def wrapped(cause: BaseException) -> Exception:
        try:
            raise Transient("wrapped") from cause
        except Transient as exc:
            return exc

    assert may_be_unreachable(wrapped(RPCError("down", RPCStatusCode.UNAVAILABLE, b"")))
    assert may_be_unreachable(wrapped(TimeoutError()))
    assert not may_be_unreachable(wrapped(RPCError("bad", RPCStatusCode.INVALID_ARGUMENT, b"")))
    assert not may_be_unreachable(ValueError("the event's own fault"))


def test_health_names_what_is_down() -> None:
    assert health_body({"nats": True, "temporal": True})[0] == 200
    status, body = health_body({"nats": True, "temporal": False})
    assert status == 503 and body["down"] == ["temporal"] and body["checks"]["nats"] == "ok"


async def test_retry_holds_while_down_and_returns_own_failures() -> None:
    outcomes: list[Exception | None] = [TimeoutError(), TimeoutError(), None]
    holds: list[float] = []

    async def attempt() -> Exception | None:
        return outcomes.pop(0)

    async def down(_exc: Exception) -> list[str]:
        return ["temporal"]

    result = await retry_while_unreachable(
        attempt, down, stopped=asyncio.Event(), base=0.01, cap=0.02, on_hold=lambda e, d, s: holds.append(s)
    )
    assert result is None and len(holds) == 2 and all(h <= 0.02 for h in holds)

    own = ValueError("bad event")

    async def fails() -> Exception | None:
        return own

    async def nothing_down(_exc: Exception) -> list[str]:
        return []

    assert (
        await retry_while_unreachable(fails, nothing_down, stopped=asyncio.Event(), base=0.01, cap=0.02)
        is own
    )


async def test_retry_gives_up_at_once_when_stopping() -> None:
    stopped = asyncio.Event()
    err = TimeoutError()

    async def attempt() -> Exception | None:
        stopped.set()
        return err

    async def down(_exc: Exception) -> list[str]:
        return ["nats"]

    result = await asyncio.wait_for(
        retry_while_unreachable(attempt, down, stopped=stopped, base=60, cap=60), timeout=2
    )
    assert result is err


def test_dead_letter_bodies_never_raise() -> None:
    cipher = ContentCipher(b"k" * 32)
    subject = "lawlink.in.rz-scjgj.case_transfer.crime_suspected"
    deep = b'{"event_id": "abc-1", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    kept = record_body(deep, subject, 1, cipher)
    assert kept.event_id == "abc-1" and not kept.sealed and not kept.truncated
    assert "\ufffd" in record_body(b"\xff\xfe", subject, 2, cipher).body
    huge = record_body(b"x" * 1_000_000, subject, 3, cipher, limit=1000)
    assert huge.truncated and len(huge.body) < 1200 and "1000000 bytes" in huge.body
    secret = json.dumps({"allegation": "secret"}).encode()
    sealed = record_body(secret, "lawlink.in.rz-scjgj.discipline_referral.clue_identified", 4, cipher)
    assert sealed.sealed and "secret" not in sealed.body
    assert open_body(sealed.body, 4, cipher) == secret.decode()
    assert record_body(None, "odd", 5, cipher).body == ""
