"""The bench's CPU layout: the Temporal dev server on its own CPUs, everything else on the rest.

``make bench`` judges the ingest with this split and measures the shared layout beside it; a
layout that silently put both sides on the same CPUs would make the two figures the same thing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import stack as bench_stack
from tests.bench.stack import CpuLayout, cpu_layout, pin_process


def _allowed(monkeypatch: pytest.MonkeyPatch, cpus: set[int]) -> None:
    monkeypatch.setattr(bench_stack.os, "sched_getaffinity", lambda pid: set(cpus))


def test_two_cpus_give_the_engine_one_and_the_rest_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    _allowed(monkeypatch, {0, 1})
    layout = cpu_layout(split=True)
    assert layout == CpuLayout(frozenset({0}), frozenset({1}))
    assert layout.split
    assert layout.describe() == {"temporal": [0], "everything_else": [1]}


def test_the_split_halves_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    _allowed(monkeypatch, {2, 3, 6, 7, 9})
    layout = cpu_layout(split=True)
    assert layout.engine == {2, 3}
    assert layout.others == {6, 7, 9}


def test_one_cpu_or_no_split_shares_every_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _allowed(monkeypatch, {4})
    assert not cpu_layout(split=True).split
    _allowed(monkeypatch, {0, 1, 2, 3})
    shared = cpu_layout(split=False)
    assert shared == CpuLayout(frozenset({0, 1, 2, 3}), frozenset({0, 1, 2, 3}))
    assert not shared.split


def test_shared_puts_both_sides_on_every_cpu_of_the_split(monkeypatch: pytest.MonkeyPatch) -> None:
    _allowed(monkeypatch, {0, 1, 2, 3})
    shared = cpu_layout(split=True).shared()
    assert shared.engine == shared.others == {0, 1, 2, 3}


def _affinity_of_every_thread(pid: int) -> list[set[int]]:
    return [os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_pin_process_moves_every_running_thread_and_new_threads_follow() -> None:
    """A server's existing threads all move, and the threads it starts later inherit the CPUs."""
    target = frozenset({min(os.sched_getaffinity(0))})
    script = (
        "import sys, threading, time\n"
        "stop = threading.Event()\n"
        "threading.Thread(target=stop.wait, daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "threading.Thread(target=stop.wait, daemon=True).start()\n"
        "print('more', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        assert len(os.listdir(f"/proc/{proc.pid}/task")) >= 2
        pin_process(proc.pid, target)
        assert _affinity_of_every_thread(proc.pid) == [set(target)] * len(
            os.listdir(f"/proc/{proc.pid}/task")
        )
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "more"
        threads = _affinity_of_every_thread(proc.pid)
        assert len(threads) >= 3
        assert all(cpus == set(target) for cpus in threads)
    finally:
        proc.kill()
        proc.wait(10)


def test_pin_process_of_a_finished_process_is_a_no_op() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(10)
    pin_process(proc.pid, frozenset(os.sched_getaffinity(0)))  # gone: nothing to move, no error
