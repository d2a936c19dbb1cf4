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
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
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
    # JSON columns (payloads, parties) are parsed by pydantic's Rust parser: the standard
    # library's makes parsing a large part of reading a long timeline.
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


# Held by ``lawlink db upgrade`` on PostgreSQL while it migrates, so two upgrades started at once
# (a Job retried while the first still runs, an operator beside it) run one after the other.
_UPGRADE_LOCK_KEY = 0x4C41574C494E4B  # "LAWLINK"


def migrate(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision (``lawlink db upgrade``; the services
    only check it, :func:`require_current_schema`)."""
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config(url)
    if not url.startswith("postgresql"):
        command.upgrade(config, "heads")
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
            try:
                command.upgrade(config, "heads")
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK_KEY})
    finally:
        engine.dispose()


class SchemaNotCurrent(RuntimeError):
    """The read model's schema is older (or newer) than this release's migrations."""


def schema_revisions(url: str) -> tuple[set[str], set[str]]:
    """``(applied, expected)``: the revisions recorded in the database at ``url`` (none on an
    empty database) and the newest revisions of this release's migrations."""
    url = normalise_url(url)
    expected = _recorded_heads(ScriptDirectory.from_config(alembic_config(url)))
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return set(), expected
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            applied = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return applied, expected


def require_current_schema(url: str, service: str) -> None:
    """Refuse to start ``service`` on a read model that ``lawlink db upgrade`` has not brought to
    this release's schema: its queries would fail later, on some request, with an obscure SQL
    error, or (several replicas migrating at start-up) race each other's DDL.

    Raises:
        SchemaNotCurrent: naming the database, the revisions found and expected, and the command.
    """
    applied, expected = schema_revisions(url)
    if applied == expected:
        return
    where = normalise_url(url).split("@")[-1]
    found = ", ".join(sorted(applied)) or "no Lawlink schema"
    unknown = applied - _known_revisions(url)
    advice = (
        "this release is older than the database: deploy the newer release"
        if unknown
        else "run `lawlink db upgrade` first (make run does; in Kubernetes the lawlink-migrate Job)"
    )
    raise SchemaNotCurrent(
        f"{service}: the read model at {where} has {found}; this release needs revision "
        f"{', '.join(sorted(expected))}: {advice} (DATABASE_URL names the database)"
    )


def _known_revisions(url: str) -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()}


def _recorded_heads(script: ScriptDirectory) -> set[str]:
    """The revisions Alembic records once every migration is applied: the heads of the scripts,
    less any head that another revision names in ``depends_on`` (applying that one applies it,
    and only the dependent is recorded)."""
    heads = set(script.get_heads())
    stood_on: set[str] = set()
    for head in heads:
        stood_on |= _ancestors(script, head)
    return heads - stood_on


def _ancestors(script: ScriptDirectory, name: str) -> set[str]:
    """Every revision ``name`` stands on, through ``down_revision`` and ``depends_on``."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        revision = script.get_revision(todo.pop())
        if revision is None:
            continue
        for parents in (revision.down_revision, revision.dependencies):
            for parent in (parents,) if isinstance(parents, str) else parents or ():
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
    return seen


def database_ok(engine: Engine) -> bool:
    """Whether the read model's database answers a trivial query (the services' health checks)."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure is "down"
        return False
