"""The faults the chaos suite injects, each a break and a mend of one component of the stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.chaos.stack import SERVICES, ChaosStack


@dataclass(frozen=True)
class Fault:
    """One fault: ``breaks`` the stack, ``outage`` seconds pass, ``mends`` brings it back.

    A crash has no outage of its own: the process is restarted at once, and the fault lasts
    as long as the new process takes to start.
    """

    name: str
    breaks: Callable[[ChaosStack], None]
    mends: Callable[[ChaosStack], None]
    outage: float = 0.0


def _kill(name: str) -> Fault:
    return Fault(
        f"kill -9 {name}",
        lambda s: s.kill_service(name),
        lambda s: s.start_service(name),
    )


def crashes() -> list[Fault]:
    """``kill -9`` and restart of every Lawlink service and of both engines."""
    return [
        *(_kill(name) for name in SERVICES),
        Fault("kill -9 nats-server", ChaosStack.kill_nats, ChaosStack.start_nats),
        Fault("kill -9 temporal", ChaosStack.kill_temporal, ChaosStack.start_temporal),
    ]


def nats_down(seconds: float) -> Fault:
    """nats-server gone (killed) for ``seconds``, then back on the same port and store."""
    return Fault(f"NATS down {seconds:g} s", ChaosStack.kill_nats, ChaosStack.start_nats, seconds)


def temporal_paused(seconds: float) -> Fault:
    """The dev server frozen by SIGSTOP for ``seconds``, then SIGCONT."""
    return Fault(
        f"Temporal SIGSTOP {seconds:g} s", ChaosStack.freeze_temporal, ChaosStack.thaw_temporal, seconds
    )


def worker_down(seconds: float) -> Fault:
    """The Temporal worker gone (killed) for ``seconds``, then started again: Temporal answers,
    but nothing takes the workflows' tasks."""
    return Fault(
        f"worker down {seconds:g} s",
        lambda s: s.kill_service("worker"),
        lambda s: s.start_service("worker"),
        seconds,
    )


def every_fault(nats_outage: float, temporal_pause: float, worker_outage: float) -> list[Fault]:
    """What ``make chaos`` runs, in this order."""
    return [
        *crashes(),
        nats_down(nats_outage),
        temporal_paused(temporal_pause),
        worker_down(worker_outage),
    ]
