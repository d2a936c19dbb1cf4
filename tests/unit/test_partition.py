"""Replicas split the cases: every case has exactly one replica, and a new layout's consumers
start where the old layout's left off (services/partition.py)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig

from services.partition import Partition, PartitionError, ensure_consumer
from services.settings import StackSettings


def test_every_case_has_exactly_one_replica_and_the_split_is_even() -> None:
    replicas = [Partition(index=i, count=3) for i in range(3)]
    keys = [f"case_transfer/XZ-2026-{n:05d}" for n in range(3000)]
    owners = Counter()
    for key in keys:
        owning = [p.index for p in replicas if p.owns(key)]
        assert len(owning) == 1, key
        owners[owning[0]] += 1
    assert min(owners.values()) > 800, owners  # 1,000 each if even; crc32 spreads ids well
    # an unreadable message (no case) is answered by replica 0 alone
    assert [p.owns(None) for p in replicas] == [True, False, False]
    # one replica takes everything and keeps the old consumer name
    assert Partition().owns("anything") and Partition().durable("intake") == "intake"
    assert replicas[2].durable("intake") == "intake-2-of-3"


@pytest.mark.parametrize(
    ("index", "count", "expected"),
    [("1", 2, Partition(1, 2)), ("lawlink-intake-1", 2, Partition(1, 2)), ("0", 1, Partition())],
)
def test_the_index_is_a_number_or_a_statefulset_pod_name(
    index: str, count: int, expected: Partition, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAWLINK_REPLICA_INDEX", index)
    monkeypatch.setenv("LAWLINK_REPLICA_COUNT", str(count))
    assert Partition.from_settings(StackSettings()) == expected


@pytest.mark.parametrize(
    ("index", "count", "variable"),
    [("2", 2, "LAWLINK_REPLICA_INDEX"), ("intake", 2, "LAWLINK_REPLICA_INDEX")],
)
def test_a_wrong_index_is_refused_naming_the_variable(
    index: str, count: int, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAWLINK_REPLICA_INDEX", index)
    monkeypatch.setenv("LAWLINK_REPLICA_COUNT", str(count))
    with pytest.raises(PartitionError, match=variable):
        Partition.from_settings(StackSettings())


@pytest.fixture
async def stream(nats_server) -> AsyncIterator[tuple[JetStreamContext, str, str]]:  # noqa: ANN001
    """A fresh stream: (JetStream, its name, its subject)."""
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        name = f"PARTITION_{uuid.uuid4().hex[:8]}"
        subject = f"{name.lower()}.x"
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))
        yield js, name, subject
    finally:
        await nc.close()


async def test_new_consumers_start_after_the_old_layouts_lowest_ack_floor(
    stream: tuple[JetStreamContext, str, str],
) -> None:
    js, name, subject = stream
    for n in range(10):
        await js.publish(subject, str(n).encode())
    # The single replica's consumer handled the first 6 messages.
    old = await js.pull_subscribe(subject, durable="svc", stream=name)
    for msg in await old.fetch(6):
        await msg.ack()
    config = ConsumerConfig(filter_subject=subject, ack_wait=30)
    first = await ensure_consumer(js, name, Partition(0, 2), "svc", config)
    assert first == "svc-0-of-2"
    info = await js.consumer_info(name, first)
    assert info.config.opt_start_seq == 7, "the old consumer had handled 1..6"
    # A sibling of the same layout is not an earlier layout: replica 1, created after replica
    # 0 has handled everything, still starts from the old layout's floor, not from replica 0's.
    sub0 = await js.pull_subscribe_bind(durable=first, stream=name)
    for msg in await sub0.fetch(4):
        await msg.ack()
    second = await ensure_consumer(js, name, Partition(1, 2), "svc", config)
    assert (await js.consumer_info(name, second)).config.opt_start_seq == 7
    # An existing consumer keeps its place when the replica starts again.
    assert await ensure_consumer(js, name, Partition(0, 2), "svc", config) == first
    assert (await js.consumer_info(name, first)).ack_floor.stream_seq == 10


async def test_a_first_layout_of_several_replicas_reads_from_the_start(
    stream: tuple[JetStreamContext, str, str],
) -> None:
    js, name, subject = stream
    await js.publish(subject, b"1")
    durable = await ensure_consumer(js, name, Partition(1, 2), "svc", ConsumerConfig(filter_subject=subject))
    info = await js.consumer_info(name, durable)
    assert info.num_pending == 1 and not info.config.opt_start_seq
