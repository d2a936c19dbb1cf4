"""Engine and schema of the read model: SQLite by default, PostgreSQL through DATABASE_URL.

Alembic owns the schema (never ``create_all``), so PostgreSQL in production and SQLite in
development have the same tables and indexes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pydantic_core
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _create_private(path: Path) -> None:
    """Create a missing SQLite file readable by its owner only (SQLite gives its -wal and -shm
    files the database file's permissions); an existing file keeps the mode its owner chose."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL so the console reads while the registry writes."""
    url = normalise_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        _create_private(Path(url.removeprefix("sqlite:///")))
    # JSON columns (payloads, parties) are parsed by pydantic's Rust parser: with the standard
    # library's, parsing was a third of reading a 10,000-entry timeline (``make bench``).
    engine = create_engine(url, pool_pre_ping=True, json_deserializer=pydantic_core.from_json)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=10000")  # first, so the WAL switch waits for a writer
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def alembic_config(url: str) -> Config:
    """Alembic configured for ``url`` without an ini file on disk."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision."""
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "heads")
