"""case lists: case_index (search words, next due date), case_agency, full-text search, list indexes

The console's lists page, sort, filter and search on the server. ``case_index`` and
``case_agency`` are kept by the registry's projection (services/readmodel/case_index.py); this
revision fills them for the cases already in the read model, from the case, deadline and
timeline rows. Search: SQLite gets the FTS5 table ``case_search`` (external content over
``case_index.terms``, kept in step by triggers), PostgreSQL a stored generated column
``terms_tsv = to_tsvector('simple', terms)`` with a GIN index. The words are cut by the same
function the projection uses, so rows filled here and rows projected later are found alike.

Revision ID: 0013_list_search
Revises: 0011_timeline_trace
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.readmodel.case_index import NO_DUE, CaseIndex, document_numbers, refresh
from services.readmodel.models import UTCDateTime

revision = "0013_list_search"
down_revision = "0011_timeline_trace"
branch_labels = None
# audit_entry comes from 0005, deadline.nature from 0008.
depends_on = ("0005_console", "0010_breach_history")  # and 0008_step_times below it

_BATCH = 2000
_TITLE_KEYS = ("case_title", "title")


def _create_tables() -> None:
    op.create_table(
        "case_index",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workflow_id", sa.String(length=110), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("parties_seq", sa.Integer(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("deadlines", sa.JSON(), nullable=False),
        sa.Column("agencies", sa.JSON(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=False),
        sa.Column("next_due_counting", sa.String(length=20), nullable=True),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.UniqueConstraint("workflow_id", name="uq_case_index_workflow_id"),
    )
    op.create_index("ix_case_index_next_due", "case_index", ["next_due_at"])
    op.create_table(
        "case_agency",
        sa.Column("workflow_id", sa.String(length=110), primary_key=True),
        sa.Column("agency", sa.String(length=40), primary_key=True),
    )
    op.create_index("ix_case_agency_agency", "case_agency", ["agency", "workflow_id"])
    op.create_index("ix_case_process_updated", "case", ["process", "updated_at"])
    # The audit trail is filtered by outcome and action and read newest first.
    op.create_index("ix_audit_entry_outcome_id", "audit_entry", ["outcome", "id"])
    op.create_index("ix_audit_entry_action_id", "audit_entry", ["action", "id"])


def _backfill(bind: sa.Connection) -> None:
    """One case_index row (and its case_agency rows) per case already projected."""
    case, deadline, timeline = _source_tables()
    index = CaseIndex.__table__
    agency_table = sa.table("case_agency", sa.column("workflow_id"), sa.column("agency"))
    cases = bind.execute(sa.select(case).order_by(case.c.workflow_id)).mappings().all()
    for start in range(0, len(cases), _BATCH):
        chunk = cases[start : start + _BATCH]
        ids = [c["workflow_id"] for c in chunk]
        values, links = _index_rows(chunk, _deadlines(bind, deadline, ids), _texts(bind, timeline, ids))
        bind.execute(sa.insert(index), values)
        if links:
            bind.execute(sa.insert(agency_table), links)


def _source_tables() -> tuple[sa.Table, sa.Table, sa.Table]:
    """The columns the backfill reads of case, deadline and timeline_entry, as they stand at
    this revision (not the models, which later revisions change)."""
    meta = sa.MetaData()
    case = sa.Table(
        "case",
        meta,
        sa.Column("workflow_id", sa.String),
        sa.Column("process", sa.String),
        sa.Column("case_id", sa.String),
        sa.Column("agency", sa.String),
        sa.Column("title", sa.String),
        sa.Column("confidential", sa.Boolean),
        sa.Column("parties", sa.JSON),
        sa.Column("last_seq", sa.Integer),
    )
    deadline = sa.Table(
        "deadline",
        meta,
        sa.Column("workflow_id", sa.String),
        sa.Column("deadline_id", sa.String),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("status", sa.String),
        sa.Column("nature", sa.String),
        sa.Column("party", sa.String),
        sa.Column("updated_seq", sa.Integer),
        sa.Column("counting", sa.String),
    )
    timeline = sa.Table(
        "timeline_entry",
        meta,
        sa.Column("workflow_id", sa.String),
        sa.Column("seq", sa.Integer),
        sa.Column("payload", sa.JSON),
    )
    return case, deadline, timeline


def _deadlines(bind: sa.Connection, deadline: sa.Table, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each case's deadlines in the shape the projection keeps in ``case_index.deadlines``."""
    deadlines: dict[str, dict[str, Any]] = defaultdict(dict)
    for d in bind.execute(sa.select(deadline).where(deadline.c.workflow_id.in_(ids))).mappings():
        deadlines[d["workflow_id"]][d["deadline_id"]] = [
            d["due_at"].isoformat(),
            d["status"],
            d["nature"],
            d["party"],
            d["updated_seq"],
            d["counting"],
        ]
    return deadlines


def _texts(bind: sa.Connection, timeline: sa.Table, ids: list[str]) -> dict[str, list[str]]:
    """Each case's searchable texts (document numbers and titles from its entries' payloads),
    in timeline order without repeats, as the projection gathers them."""
    texts: dict[str, list[str]] = defaultdict(list)
    rows = bind.execute(
        sa.select(timeline.c.workflow_id, timeline.c.payload)
        .where(timeline.c.workflow_id.in_(ids))
        .order_by(timeline.c.workflow_id, timeline.c.seq)
    )
    for workflow_id, stored in rows:
        payload: dict[str, Any] = stored or {}
        found = document_numbers(payload)
        title = next((payload[k] for k in _TITLE_KEYS if isinstance(payload.get(k), str)), None)
        found += [title[:200]] if title and title.strip() else []
        texts[workflow_id] += [t for t in found if t not in texts[workflow_id]]
    return texts


def _index_rows(
    chunk: Sequence[sa.RowMapping], deadlines: dict[str, dict[str, Any]], texts: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The case_index and case_agency rows of ``chunk``, computed by the projection's own
    :func:`refresh`, so rows filled here and rows projected later are found alike."""
    values: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    for c in chunk:
        row = CaseIndex(
            workflow_id=c["workflow_id"],
            case_id=c["case_id"],
            confidential=bool(c["confidential"]),
            agency=c["agency"],
            parties=list(c["parties"] or []),
            parties_seq=c["last_seq"] or 0,
            texts=[] if c["confidential"] else texts[c["workflow_id"]][:40],
            deadlines=deadlines[c["workflow_id"]],
            next_due_at=NO_DUE,
        )
        refresh(row)
        values.append(row.model_dump(exclude={"id"}))
        links += [{"workflow_id": row.workflow_id, "agency": a} for a in row.agencies]
    return values, links


def upgrade() -> None:
    _create_tables()
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE case_index ADD COLUMN terms_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, terms)) STORED"
        )
        op.execute("CREATE INDEX ix_case_index_terms ON case_index USING gin (terms_tsv)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE case_search USING fts5("
        "terms, content='case_index', content_rowid='id', tokenize='ascii')"
    )
    op.execute("INSERT INTO case_search(case_search) VALUES ('rebuild')")
    op.execute(
        "CREATE TRIGGER case_index_search_insert AFTER INSERT ON case_index BEGIN "
        "INSERT INTO case_search(rowid, terms) VALUES (new.id, new.terms); END"
    )
    op.execute(
        "CREATE TRIGGER case_index_search_delete AFTER DELETE ON case_index BEGIN "
        "INSERT INTO case_search(case_search, rowid, terms) VALUES ('delete', old.id, old.terms); END"
    )
    op.execute(
        "CREATE TRIGGER case_index_search_update AFTER UPDATE OF terms ON case_index BEGIN "
        "INSERT INTO case_search(case_search, rowid, terms) VALUES ('delete', old.id, old.terms); "
        "INSERT INTO case_search(rowid, terms) VALUES (new.id, new.terms); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS case_index_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS case_search")
    op.drop_index("ix_audit_entry_action_id", table_name="audit_entry")
    op.drop_index("ix_audit_entry_outcome_id", table_name="audit_entry")
    op.drop_index("ix_case_process_updated", table_name="case")
    op.drop_index("ix_case_agency_agency", table_name="case_agency")
    op.drop_table("case_agency")
    op.drop_index("ix_case_index_next_due", table_name="case_index")
    op.drop_table("case_index")
