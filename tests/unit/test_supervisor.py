"""``make run`` survives a crash (services/supervisor.py): a process killed with ``kill -9`` is
logged and started again after its back-off while the others keep running, and Ctrl-C still
stops everything. The processes are small Python loops that record their pid on each start.

``.lawlink/secrets.env`` and ``stack.env`` are sourced by bash exactly as Lawlink reads them.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.devstack import load_or_create_secrets, write_stack_env
from services.devstack import resolve_ports as dev_ports
from services.env_file import read_env_file, write_env_file
from services.supervisor import FIRST_BACKOFF, MAX_BACKOFF, STABLE_SECONDS, next_backoff, parse_procfile

ROOT = Path(__file__).resolve().parents[2]

LOOP = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); print('up', flush=True); time.sleep(600)"


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _until(condition, timeout: float, what: str) -> None:  # noqa: ANN001 - a predicate
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): it is dead for our purpose.
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split(")")[-1].split()[0] != "Z"


def test_a_killed_process_comes_back_and_the_others_keep_running(tmp_path: Path) -> None:
    py = shlex.quote(sys.executable)
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "".join(
            f"{name}: {py} -c {shlex.quote(LOOP)} {tmp_path / name}.pids\n" for name in ("worker", "console")
        )
    )
    log = tmp_path / "supervisor.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "services.supervisor", str(procfile), "--grace", "5"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        worker, console = tmp_path / "worker.pids", tmp_path / "console.pids"
        _until(lambda: _pids(worker) and _pids(console), 20, "the processes never started")
        (first_worker,), (first_console,) = _pids(worker), _pids(console)

        os.kill(first_worker, signal.SIGKILL)
        _until(lambda: len(_pids(worker)) == 2, 20, "the killed worker was not started again")
        text = log.read_text()
        assert "worker killed by SIGKILL" in text and f"restarting in {FIRST_BACKOFF:.0f}s" in text, text
        assert _pids(worker)[1] != first_worker and _alive(_pids(worker)[1])
        assert _pids(console) == [first_console] and _alive(first_console)  # never restarted
        assert supervisor.poll() is None

        supervisor.send_signal(signal.SIGINT)  # Ctrl-C
        assert supervisor.wait(timeout=15) == 0
        _until(
            lambda: not _alive(_pids(worker)[1]) and not _alive(first_console), 5, "a process outlived Ctrl-C"
        )
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    lines = log.read_text().splitlines()
    assert any(line.split("| ", 1)[-1] == "up" and " worker " in line for line in lines)  # prefixed output


def test_back_off_doubles_up_to_its_cap_and_resets_after_a_stable_run() -> None:
    waits = [FIRST_BACKOFF]
    for _ in range(8):
        waits.append(next_backoff(waits[-1], ran_for=0.5))
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and waits[-1] == MAX_BACKOFF
    assert next_backoff(MAX_BACKOFF, ran_for=STABLE_SECONDS) == FIRST_BACKOFF
    assert next_backoff(None, ran_for=0) == FIRST_BACKOFF


def test_a_malformed_procfile_names_the_line() -> None:
    assert parse_procfile("# comment\nnats: exec x --y\n\nworker: python -m w\n") == {
        "nats": "exec x --y",
        "worker": "python -m w",
    }
    with pytest.raises(ValueError, match="line 2"):
        parse_procfile("nats: x\nno command here\n")
    with pytest.raises(ValueError, match="defined twice"):
        parse_procfile("a: x\na: y\n")


def _sourced(path: Path, names: list[str]) -> dict[str, str]:
    """What ``source path`` in a clean bash exports, read back through the environment."""
    script = (
        f"set -eu; source {shlex.quote(str(path))}; exec {shlex.quote(sys.executable)} -c "
        + shlex.quote(f"import json, os; print(json.dumps({{k: os.environ[k] for k in {names!r}}}))")
    )
    done = subprocess.run(
        ["bash", "-c", script], env={"PATH": os.environ["PATH"]}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_secrets_env_and_stack_env_can_be_sourced_in_bash(tmp_path: Path) -> None:
    secrets_env = tmp_path / "secrets.env"
    values = load_or_create_secrets(secrets_env)
    # The agency passwords are JSON (quotes, braces, spaces), the keys base64 (+, /, =).
    assert '"' in values["LAWLINK_AGENCY_PASSWORDS"]
    assert all(line.startswith(("#", "export ")) for line in secrets_env.read_text().splitlines())
    assert _sourced(secrets_env, list(values)) == values
    assert read_env_file(secrets_env) == values
    assert secrets_env.stat().st_mode & 0o077 == 0

    stack_env = tmp_path / "stack.env"
    endpoints = write_stack_env(stack_env, dev_ports({}), f"sqlite:///{tmp_path / 'a b' / 'lawlink.db'}")
    assert _sourced(stack_env, list(endpoints)) == endpoints


def test_an_older_unquoted_secrets_env_keeps_its_values_and_becomes_sourceable(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text('# old\nNATS_PASSWORD=abc-123\nLAWLINK_AGENCY_PASSWORDS={"rz-a": "x"}\n')
    values = load_or_create_secrets(path)
    assert values["NATS_PASSWORD"] == "abc-123" and values["LAWLINK_AGENCY_PASSWORDS"] == '{"rz-a": "x"}'
    assert _sourced(path, ["NATS_PASSWORD", "LAWLINK_AGENCY_PASSWORDS"]) == {
        "NATS_PASSWORD": "abc-123",
        "LAWLINK_AGENCY_PASSWORDS": '{"rz-a": "x"}',
    }


def test_a_value_with_a_quote_survives_the_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    write_env_file(path, {"A": 'it\'s $HOME `x` "y"'}, "test", private=True)
    assert read_env_file(path) == {"A": 'it\'s $HOME `x` "y"'}
    assert _sourced(path, ["A"]) == {"A": 'it\'s $HOME `x` "y"'}
    assert path.stat().st_mode & 0o777 == 0o600
