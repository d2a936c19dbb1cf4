"""The case lists' index: what a case is searched, filtered and sorted by, kept current from domain
events (the projector :func:`project_case_index`, run by :mod:`services.readmodel.projection`).

``case_index`` holds one row per case: the words it is found by (case id, titles, document
numbers 文号, the parties' names), its next duty's due date, and the agencies it involves;
``case_agency`` lists those agencies one row each, so "the cases my scope reaches" is an index
lookup instead of reading every case. Like the rest of the read model the rows are rebuilt by
replaying ``LAWLINK_OUT``: sets only grow, the parties and each deadline keep the report with
the newest workflow sequence number, so arrival order does not matter.

Chinese has no spaces, and neither SQLite's FTS5 trigram tokenizer (three characters at
least) nor PostgreSQL's ``to_tsvector('simple')`` (one token per unbroken run) finds 环境 in
某公司环境污染案. So the text is cut here, in Python, into overlapping pairs of characters plus
the last character of each run (:func:`search_terms`), and each database indexes those tokens:
SQLite in the FTS5 table ``case_search`` (created by the migration, kept in step by triggers),
PostgreSQL in a GIN index on the stored column ``terms_tsv = to_tsvector('simple', terms)``. A query is cut the same way into
phrases (:func:`fts5_query`, :func:`tsquery`), so both databases find every substring of two
characters or more, and one character as a prefix of a pair.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, column, func, literal_column, table
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, delete, select

from contracts.agencies import get_agency
from contracts.catalog import CONFIDENTIAL_PROCESSES
from contracts.domain import DomainEvent, EntryKind
from services.readmodel.models import Case, UTCDateTime

# Sorts after every real date, so "soonest due first" reads the index in order and a case without
# a pending duty comes last; shown as no date.
NO_DUE: datetime = datetime(9999, 12, 31, tzinfo=UTC)
# Deadline statuses that still ask for the duty to be done.
_PENDING = ("open", "breached")
_CACHE = "lawlink.case_index"
_MAX_TEXTS = 40
_IN_CHUNK = 500


class CaseIndex(SQLModel, table=True):
    """A case's search words, next due date and involved agencies (one row per workflow)."""

    __tablename__ = "case_index"
    # Search indexes live beside the table, made by the migration for one database each: on
    # SQLite the FTS5 table ``case_search``; on PostgreSQL the stored column ``terms_tsv``
    # (``to_tsvector('simple', terms)``, generated) with a GIN index. Stored, because a phrase
    # is checked against each candidate row's vector, which must then not be recomputed.
    __table_args__ = (Index("ix_case_index_next_due", "next_due_at"),)

    # The FTS5 table's rowid: an integer key that VACUUM does not renumber.
    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=110, unique=True)
    case_id: str = Field(max_length=64)
    confidential: bool = False
    agency: str | None = Field(default=None, max_length=40)
    parties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    parties_seq: int = 0
    texts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # deadline id -> [due_at ISO, status, nature, party, seq, counting]
    deadlines: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    agencies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    next_due_at: datetime = Field(default=NO_DUE, sa_column=Column(UTCDateTime(), nullable=False))
    # How that deadline counts (an hour limit is shown with its time, a day limit by its last day).
    next_due_counting: str | None = Field(default=None, max_length=20)
    terms: str = Field(default="", sa_column=Column(Text, nullable=False))


class CaseAgency(SQLModel, table=True):
    """One agency a case involves: the one that raised it, a party, or one that owes a deadline
    in it (what :func:`services.console.access.case_agencies` looks at)."""

    __tablename__ = "case_agency"
    __table_args__ = (Index("ix_case_agency_agency", "agency", "workflow_id"),)

    workflow_id: str = Field(primary_key=True, max_length=110)
    agency: str = Field(primary_key=True, max_length=40)


# Lists filter by process and sort by the last change; this index serves both at once.
CASE_PROCESS_UPDATED = Index("ix_case_process_updated", Case.__table__.c.process, Case.__table__.c.updated_at)


def _runs(text: str) -> list[str]:
    """Unbroken runs of letters or digits of one script family (ASCII or not), lower-cased and
    NFKC-normalised (full-width digits of a 文号 become ASCII digits)."""
    runs: list[str] = []
    current: list[str] = []
    ascii_run: bool | None = None
    for ch in unicodedata.normalize("NFKC", text).lower():
        cat = unicodedata.category(ch)
        if not (cat.startswith("L") or cat == "Nd"):
            if current:
                runs.append("".join(current))
            current, ascii_run = [], None
            continue
        if current and ch.isascii() != ascii_run:
            runs.append("".join(current))
            current = []
        current.append(ch)
        ascii_run = ch.isascii()
    if current:
        runs.append("".join(current))
    return runs


def _pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def search_terms(texts: list[str]) -> str:
    """The tokens a case is indexed by: for each run, its overlapping character pairs and then
    its last character alone (which marks where the run ends)."""
    tokens: list[str] = []
    for text in texts:
        for run in _runs(text):
            tokens.extend(_pairs(run))
            tokens.append(run[-1])
    return " ".join(tokens)


def _query_phrases(needle: str) -> list[tuple[list[str], bool]]:
    """Each whitespace-separated term of a search as (tokens, last token is a prefix).

    A run followed by another run in the term must end where the indexed run ends (its pairs,
    then its last character); a run after another must start where the indexed run starts (it
    follows that run's last character); a lone character is a prefix of a pair.
    """
    phrases: list[tuple[list[str], bool]] = []
    for term in needle.split():
        runs = _runs(term)
        tokens: list[str] = []
        prefix = False
        for i, run in enumerate(runs):
            last = i == len(runs) - 1
            if not last:
                tokens.extend(_pairs(run))
                tokens.append(run[-1])
            elif len(run) == 1:
                tokens.append(run)
                prefix = True
            else:
                tokens.extend(_pairs(run))
        if tokens:
            phrases.append((tokens, prefix))
    return phrases


def fts5_query(needle: str) -> str | None:
    """The FTS5 MATCH expression of a search (None: nothing searchable in it)."""
    phrases = _query_phrases(needle)
    if not phrases:
        return None
    return " AND ".join('"' + " ".join(tokens) + '"' + ("*" if prefix else "") for tokens, prefix in phrases)


def tsquery(needle: str) -> str | None:
    """The PostgreSQL ``to_tsquery('simple', ...)`` text of a search (None: nothing searchable)."""
    phrases = _query_phrases(needle)
    if not phrases:
        return None
    parts = []
    for tokens, prefix in phrases:
        quoted = [f"'{t}'" for t in tokens]
        if prefix:
            quoted[-1] += ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " & ".join(parts)


def matches(dialect: str, needle: str) -> ColumnElement[bool] | None:
    """A condition on ``case_index`` that holds for the rows ``needle`` finds (None: no search
    words in it, so no condition)."""
    if dialect == "postgresql":
        query = tsquery(needle)
        if query is None:
            return None
        vector = literal_column("case_index.terms_tsv")
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), query))
    query = fts5_query(needle)
    if query is None:
        return None
    fts = table("case_search", column("rowid"))
    hits = select(fts.c.rowid).where(literal_column("case_search").op("MATCH")(query))
    return col(CaseIndex.id).in_(hits)


def document_numbers(payload: dict[str, Any]) -> list[str]:
    """The document numbers (文号) an event carries: its ``*_no`` text fields."""
    return [v for k, v in payload.items() if k.endswith("_no") and isinstance(v, str) and v.strip()]


def _texts_of(event: DomainEvent) -> list[str]:
    if event.process in CONFIDENTIAL_PROCESSES:
        return []  # need-to-know: a referral is found by its case id only
    found = document_numbers(event.payload)
    title = event.payload.get("case_title") or event.payload.get("title")
    if isinstance(title, str) and title.strip():
        found.append(title[:200])
    return found


def _agency_words(agency_id: str) -> list[str]:
    found = get_agency(agency_id)
    return [agency_id, found.name_zh] if found is not None else [agency_id]


def refresh(row: CaseIndex, *, words: bool = True) -> None:
    """Recompute the derived columns (involved agencies, next due date and, with ``words``, the
    search words); a column whose value stays is not written, so the search index is only
    touched when its words change."""
    involved = {row.agency, *row.parties, *(d[3] for d in row.deadlines.values())}
    agencies = sorted(a for a in involved if a)
    pending = [
        (datetime.fromisoformat(d[0]), d[5] if len(d) > 5 else None)
        for d in row.deadlines.values()
        if d[1] in _PENDING and d[2] == "duty"
    ]
    due, counting = min(pending, key=lambda p: p[0], default=(NO_DUE, None))
    for name, value in (("agencies", agencies), ("next_due_at", due), ("next_due_counting", counting)):
        if getattr(row, name) != value:
            setattr(row, name, value)
    if not words:
        return
    found = [row.case_id]
    if not row.confidential:
        found += row.texts
        for agency in sorted({a for a in (row.agency, *row.parties) if a}):
            found += _agency_words(agency)
    terms = search_terms(found)
    if row.terms != terms:
        row.terms = terms


def _row(session: Session, event: DomainEvent) -> CaseIndex:
    """This case's row: from this session's own cache (rows added in this batch are not yet
    flushed), else the database, else a new one.

    A case the projection has just created (its case row is not in the session's identity
    map, where the projection put every existing case of the batch) has no row yet, so no
    query; for the first existing one, the rows of every case in the identity map are read in
    one query per few hundred, as the projection reads its own.
    """
    cache: dict[str, CaseIndex | None] = session.info.setdefault(_CACHE, {})
    row = cache.get(event.workflow_id)
    if row is not None and row in session:
        return row
    if session.identity_map.get(identity_key(Case, (event.workflow_id,))) is not None:
        if event.workflow_id not in cache or row is not None:
            _prefetch(session, cache, event.workflow_id)
        row = cache.get(event.workflow_id)
    if row is None or row not in session:
        # Every field given: SQLModel computing the list and dict defaults cost more than the rest.
        row = CaseIndex(
            workflow_id=event.workflow_id,
            case_id=event.case_id,
            confidential=event.process in CONFIDENTIAL_PROCESSES,
            agency=None,
            parties=[],
            parties_seq=0,
            texts=[],
            deadlines={},
            agencies=[],
            next_due_at=NO_DUE,
            next_due_counting=None,
            terms="",
        )
        session.add(row)
    cache[event.workflow_id] = row
    return row


def _prefetch(session: Session, cache: dict[str, CaseIndex | None], wanted: str) -> None:
    """Read the rows of ``wanted`` and of every other case the session holds and has not asked for."""
    ids = {wanted} | {
        obj.workflow_id
        for obj in list(session.identity_map.values())
        if isinstance(obj, Case) and obj.workflow_id not in cache
    }
    ordered = sorted(ids)
    with session.no_autoflush:
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            found = session.exec(select(CaseIndex).where(col(CaseIndex.workflow_id).in_(chunk))).all()
            cache.update(dict.fromkeys(chunk))
            cache.update({r.workflow_id: r for r in found})


def apply(row: CaseIndex, event: DomainEvent) -> None:
    """Fold one event into ``row`` (the same rules as the case row: the opening agency's event
    names the agency, the newest event the parties; each deadline keeps its newest report)."""
    words = not row.terms
    if (
        event.kind == EntryKind.RECEIVED
        and (row.agency is None or event.seq == 1)
        and row.agency != event.actor
    ):
        row.agency = event.actor
        words = True
    if event.seq > row.parties_seq:
        row.parties_seq = event.seq
        if list(event.parties) != row.parties:
            row.parties = list(event.parties)
            words = True
    texts = [t for t in _texts_of(event) if t not in row.texts]
    if texts:
        row.texts = (row.texts + texts)[:_MAX_TEXTS]
        words = True
    info = event.deadline
    if info is not None:
        known = row.deadlines.get(info.deadline_id)
        if known is None or event.seq > known[4]:
            report = [
                info.due_at.isoformat(),
                info.status.value,
                info.nature,
                info.party,
                event.seq,
                info.counting,
            ]
            row.deadlines = {**row.deadlines, info.deadline_id: report}
    refresh(row, words=words)


def sync_agencies(session: Session, workflow_id: str, before: list[str], after: list[str]) -> None:
    """Bring ``case_agency`` from the agencies ``before`` to those ``after``."""
    gone = set(before) - set(after)
    if gone:
        session.exec(  # type: ignore[call-overload]
            delete(CaseAgency).where(
                col(CaseAgency.workflow_id) == workflow_id, col(CaseAgency.agency).in_(sorted(gone))
            )
        )
    for agency in sorted(set(after) - set(before)):
        session.add(CaseAgency(workflow_id=workflow_id, agency=agency))


def project_case_index(session: Session, event: DomainEvent) -> None:
    """Keep the case's ``case_index`` and ``case_agency`` rows current (a PROJECTORS hook)."""
    row = _row(session, event)
    before = list(row.agencies)
    apply(row, event)
    if row.agencies != before:
        sync_agencies(session, row.workflow_id, before, row.agencies)
