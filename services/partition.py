"""Which cases a replica of a consuming service takes, so several replicas keep each case in order.

JetStream hands a shared durable consumer's messages to whichever replica asks next. Two
replicas on one consumer would then work on one case's events at the same time and in either
order: a case's second event could reach Temporal before its first and be refused for good,
and two registries would write one case row at once. Instead each replica has a durable
consumer of its own over the whole stream and takes only the cases of its partition, acking the
others' messages unread. A case's events stay in stream order in one process, and the replicas
share the cases between them.

A replica that is down stalls its own cases until it runs again (its consumer keeps their
place; nothing is lost); the others go on. Kubernetes runs such a service as a StatefulSet, so a
replica comes back with its ordinal (``LAWLINK_REPLICA_INDEX`` may be the pod's name).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import zlib
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from services.settings import StackSettings

log = logging.getLogger(__name__)

_ORDINAL = re.compile(r"(?:^|-)(\d+)$")
_LAYOUT = re.compile(r"-(\d+)-of-(\d+)$")


class PartitionError(ValueError):
    """The replica settings do not name one replica of the set; the message names the variable."""


def partition_of(key: str, count: int) -> int:
    """The partition of ``key`` (a case's workflow id, the same in every service) among
    ``count``: stable across processes, hosts and restarts."""
    return zlib.crc32(key.encode()) % count


@dataclass(frozen=True)
class Partition:
    """Replica ``index`` of ``count``; a single replica (the default) takes every case."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise PartitionError(f"LAWLINK_REPLICA_COUNT: must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise PartitionError(
                f"LAWLINK_REPLICA_INDEX: {self.index} is not a replica of {self.count} "
                f"(0 to {self.count - 1}, LAWLINK_REPLICA_COUNT)"
            )

    @classmethod
    def from_settings(cls, settings: StackSettings) -> Partition:
        """The replica the environment names; the index may be a StatefulSet pod's name (``…-1``).

        Raises:
            PartitionError: naming the variable, for an index that is no number or out of range.
        """
        match = _ORDINAL.search(settings.replica_index.strip())
        if match is None:
            raise PartitionError(
                f"LAWLINK_REPLICA_INDEX: {settings.replica_index!r} is not a number nor a name ending in -<number>"
            )
        return cls(index=int(match.group(1)), count=settings.replica_count)

    def owns(self, key: str | None) -> bool:
        """Whether this replica takes the case of ``key``; a message with no readable case
        (refused for it wherever it is taken) belongs to replica 0, so it is answered once."""
        if self.count == 1:
            return True
        if key is None:
            return self.index == 0
        return partition_of(key, self.count) == self.index

    def durable(self, base: str) -> str:
        """This replica's consumer name: ``base`` alone for a single replica (so a service that
        gains replicas keeps its old consumer's name for replica 0 of 1)."""
        return base if self.count == 1 else f"{base}-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"replica {self.index} of {self.count}"


async def ensure_consumer(
    js: JetStreamContext, stream: str, partition: Partition, base: str, config: ConsumerConfig
) -> str:
    """Create this replica's durable consumer if it is new, starting where the layout it
    replaces left off; returns its name.

    A consumer is created once: an existing one keeps its place (and its configuration, as the
    client binds to it). A new one of a set of ``count`` starts after the lowest ack floor of the
    service's consumers of any other layout (``base``, or ``base-i-of-m`` with ``m != count``):
    the messages every one of them had handled are not handled again, and those some had not
    are (each service de-duplicates by event id). With no earlier layout it reads the stream
    from its start, as a single replica's first consumer does.
    """
    name = partition.durable(base)
    if partition.count == 1:
        return name
    try:
        await js.consumer_info(stream, name)
        return name
    except NotFoundError:
        pass
    floors = [
        info.ack_floor.stream_seq if info.ack_floor and info.ack_floor.stream_seq else 0
        for info in await js.consumers_info(stream)
        if _earlier_layout(info.name, base, partition.count)
    ]
    created = dataclasses.replace(config, durable_name=name, name=name)
    if floors:
        created = dataclasses.replace(
            created, deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=min(floors) + 1
        )
    await js.add_consumer(stream, config=created)
    log.info(
        "created consumer %s on %s (%s), from %s",
        name,
        stream,
        partition,
        created.opt_start_seq or "the start",
    )
    return name


def _earlier_layout(name: str | None, base: str, count: int) -> bool:
    if name == base:
        return True
    if not name or not name.startswith(f"{base}-"):
        return False
    layout = _LAYOUT.search(name)
    return layout is not None and name[: layout.start()] == base and int(layout.group(2)) != count
