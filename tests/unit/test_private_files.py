"""The state directory and the read model's file are readable by their owner only: they hold
officers' names, case facts, the JetStream store and the generated secrets."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from services.devstack import make_private
from services.readmodel.db import make_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_read_model_is_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "state" / "lawlink.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
    assert _mode(db) == 0o600
    for companion in tmp_path.glob("state/lawlink.db-*"):
        assert _mode(companion) & 0o077 == 0, companion


def test_an_existing_state_directory_is_made_private(tmp_path: Path) -> None:
    state = tmp_path / ".lawlink"
    (state / "jetstream" / "streams").mkdir(parents=True)
    state.chmod(0o755)
    (state / "jetstream").chmod(0o755)
    readable = state / "lawlink.db"
    readable.write_bytes(b"facts")
    readable.chmod(0o644)
    script = state / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)

    assert make_private(state) == state

    assert _mode(state) == 0o700
    assert _mode(state / "jetstream") == 0o700
    assert _mode(readable) == 0o600
    assert _mode(script) == 0o700  # the owner keeps what it had
