"""What a case is about, read from its events' payloads: the facts, the document numbers (文号),
the attached documents, and every timeline row's fields, each by its label.

Which fields are shown comes from the contracts' payload models, not from templates: the facts
are the fields of the event that opened the case plus the later steps' key fields named in
:data:`SUBSTANCE`; a field is a document number when the contract calls it one (its name ends in
``_no``/``_nos`` or its description says 文号); a document is an :class:`Attachment` record. A
value is shown by what its field holds: an enum by its label, an agency id by the agency's name,
an amount in yuan, a time in Beijing time.

Need-to-know is the caller's: only entries and referral content the user may read are passed in.
"""

from __future__ import annotations

import enum
import json
import re
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from contracts.agencies import get_agency
from contracts.catalog import EVENT_TYPES
from contracts.common import Attachment, Officer
from contracts.domain import EntryKind
from services.i18n import (
    PAYLOAD_VALUE_LABELS,
    agency_label,
    enum_label,
    event_label,
    payload_label,
    pick,
    process_label,
    state_label,
    word,
)
from workflows.deadlines import RULES

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The later steps' key fields of each process, in the order the facts show them; the fields of
# the event that opened the case come first whatever this says.
SUBSTANCE: dict[str, tuple[str, ...]] = {
    "case_transfer": (
        "case_title",
        "enforcement_case_no",
        "suspected_offence",
        "amount_involved",
        "facts",
        "summary",
        "officers",
        "police_agency",
        "procuratorate_copy",
        "forwarded_to",
        "decision",
        "outcome",
        "penalty_imposed",
        "fine_amount",
    ),
    "reverse_transfer": (
        "case_title",
        "criminal_case_no",
        "offence_considered",
        "administrative_violation",
        "agency",
        "prosecutors",
        "recommendation",
        "adoption",
        "measures",
    ),
    "jurisdiction_dispute": (
        "case_title",
        "enforcement_case_no",
        "kind",
        "summary",
        "claims",
        "agreed_agency",
    ),
    "power_delegation": ("township", "effective_date", "items"),
    "discipline_referral": (
        "source",
        "clue_no",
        "officials",
        "misconduct",
        "allegation",
        "managing_level",
        "commission",
        "forwarded_to",
        "disposition",
        "outcome_summary",
        "rectification_items",
    ),
}

# Rows of the workflow's own bookkeeping, folded on the case page: time limits being set, met,
# warned about, recomputed or cancelled, and a coordinator taking or releasing a dispute. A
# breach (or a window that lapsed unused) is news and stays in view.
SYSTEM_STEP_TYPES: frozenset[str] = frozenset(
    {"jurisdiction_dispute.claimed", "jurisdiction_dispute.unclaimed"}
)
NEWS_DEADLINE_TYPES: frozenset[str] = frozenset({"deadline.breached", "deadline.lapsed"})

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")
_SAFE_URI = re.compile(r"^https?://", re.IGNORECASE)
_PROCESS_FIELDS = frozenset({"process", "related_process"})
_STATE_FIELDS = frozenset({"state", "previous"})


def is_system(kind: str, event_type: str) -> bool:
    """Is this timeline row bookkeeping (folded by default) rather than a step of the case?"""
    if event_type in SYSTEM_STEP_TYPES:
        return True
    return kind == EntryKind.DEADLINE.value and event_type not in NEWS_DEADLINE_TYPES


@dataclass(frozen=True)
class Document:
    """An attached document by reference: the bytes stay in the agency's system."""

    name: str
    kind: str
    sha256: str
    uri: str | None  # only http(s) addresses are offered as links
    step: str = ""


@dataclass(frozen=True)
class Shown:
    """A payload value in words: a text, a record of labelled fields, a list, or a document."""

    text: str = ""
    fields: tuple[Labelled, ...] = ()
    items: tuple[Shown, ...] = ()
    document: Document | None = None

    @property
    def kind(self) -> str:
        """How the template draws it."""
        if self.document is not None:
            return "document"
        if self.fields:
            return "record"
        if self.items:
            return "list"
        return "text"


@dataclass(frozen=True)
class Labelled:
    """One field: its name, its label in the page's language, its value."""

    name: str
    label: str
    value: Shown


@dataclass(frozen=True)
class Fact:
    """One field of the facts, with the step it was last given by."""

    label: str
    value: Shown
    step: str
    name: str = ""  # the payload field it comes from


@dataclass(frozen=True)
class DocumentNumber:
    """One document number (文号) and the step whose document it numbers."""

    label: str
    number: str
    step: str
    occurred_at: datetime


@dataclass(frozen=True)
class Substance:
    """What the case page shows of the case itself."""

    facts: tuple[Fact, ...]
    numbers: tuple[DocumentNumber, ...]
    documents: tuple[Document, ...]


@dataclass(frozen=True)
class Step:
    """One event as this module reads it: a timeline entry or a decrypted referral event."""

    type: str
    process: str
    kind: str
    payload: dict[str, Any]
    occurred_at: datetime


def _flat(annotation: Any) -> list[Any]:
    out, stack = [], [annotation]
    while stack:
        t = stack.pop()
        out.append(t)
        stack.extend(typing.get_args(t))
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for t in _flat(annotation):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _enums_in(annotation: Any) -> list[type[enum.Enum]]:
    return [t for t in _flat(annotation) if isinstance(t, type) and issubclass(t, enum.Enum)]


def _holds(annotation: Any, kind: type) -> bool:
    return any(t is kind for t in _flat(annotation))


def model_of(event_type: str) -> type[BaseModel] | None:
    """The payload model of an inbound event type (steps of the workflow have none)."""
    spec = EVENT_TYPES.get(event_type)
    return spec.payload if spec is not None else None


@cache
def _annotations_by_name() -> dict[str, tuple[Any, ...]]:
    """Every annotation a field of this name has in some payload model: how a step's value
    (published by the workflow without a model) is read, e.g. an enum value by its label."""
    found: dict[str, list[Any]] = {}
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            found.setdefault(name, []).append(info.annotation)
            nested = _model_in(info.annotation)
            if nested is not None:
                walk(nested)

    for spec in EVENT_TYPES.values():
        walk(spec.payload)
    return {k: tuple(v) for k, v in found.items()}


def payload_fields() -> dict[str, set[str]]:
    """Every field of every inbound payload model, nested records included, by model name (what
    must have a label)."""
    out: dict[str, set[str]] = {}

    def walk(model: type[BaseModel]) -> None:
        if model.__name__ in out:
            return
        out[model.__name__] = set(model.model_fields)
        for info in model.model_fields.values():
            nested = _model_in(info.annotation)
            if nested is not None:
                walk(nested)

    for spec in EVENT_TYPES.values():
        walk(spec.payload)
    return out


def is_document_number(name: str, info: FieldInfo | None) -> bool:
    """Does the contract call this field a document number (文号)? An officer's certificate
    number identifies a person, not a document."""
    if "certificate" in name:
        return False
    return name.endswith(("_no", "_nos")) or "文号" in ((info.description or "") if info else "")


def _is_documents(info: FieldInfo | None, value: Any) -> bool:
    if info is not None:
        return _model_in(info.annotation) is Attachment
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(isinstance(v, dict) and {"name", "kind", "sha256"} <= set(v) for v in items)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


class Reader:
    """Reads payloads in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    # ----- one value ------------------------------------------------------------------------

    def document(self, value: dict[str, Any], step: str = "") -> Document:
        """An attachment record as the page lists it."""
        uri = str(value.get("uri") or "")
        return Document(
            name=str(value.get("name") or "—"),
            kind=enum_label("AttachmentKind", str(value.get("kind") or ""), self.lang),
            sha256=str(value.get("sha256") or ""),
            uri=uri if _SAFE_URI.match(uri) else None,
            step=step,
        )

    def show(self, value: Any, annotation: Any, name: str, process: str) -> Shown:
        """``value`` of field ``name`` (typed ``annotation``, None for a workflow step's) in words."""
        if _empty(value):
            return Shown(text="—")
        model = _model_in(annotation) if annotation is not None else None
        if isinstance(value, list):
            return Shown(items=tuple(self.show(v, annotation, name, process) for v in value))
        if isinstance(value, dict):
            if model is Attachment or (model is None and _is_documents(None, value)):
                return Shown(document=self.document(value))
            if model is Officer:
                return Shown(text=self._officer(value))
            return Shown(fields=self.record(value, model, process))
        return Shown(text=self.text(value, annotation, name, process))

    def _officer(self, value: dict[str, Any]) -> str:
        number = value.get("certificate_no")
        label = payload_label("certificate_no", self.lang)
        return f"{value.get('name') or '—'}（{label} {number}）" if number else str(value.get("name") or "—")

    def text(self, value: Any, annotation: Any, name: str, process: str) -> str:
        """A single value in words."""
        if isinstance(value, bool):
            return word("yes" if value else "no", self.lang)
        candidates = (annotation,) if annotation is not None else _annotations_by_name().get(name, ())
        raw = str(value)
        for kind in (e for a in candidates for e in _enums_in(a)):
            if raw in kind._value2member_map_:
                return enum_label(kind.__name__, raw, self.lang)
        if raw in PAYLOAD_VALUE_LABELS.get(name, {}):
            return pick(PAYLOAD_VALUE_LABELS[name][raw], self.lang)
        if name == "rule" and raw in RULES:
            rule = RULES[raw]
            return rule.label_zh if self.lang == "zh" else rule.label_en
        if name == "late_seconds" and isinstance(value, int):
            return _late_words(value, self.lang)
        if name in _PROCESS_FIELDS:
            return process_label(raw, self.lang)
        if name in _STATE_FIELDS:
            return state_label(process, raw, self.lang)
        if isinstance(value, str) and get_agency(value) is not None:
            return agency_label(value, self.lang)
        if any(_holds(a, Decimal) for a in candidates):
            try:
                amount = Decimal(raw)
            except InvalidOperation:
                return raw
            return f"{amount:,.2f} {word('yuan', self.lang)}"
        if isinstance(value, str) and _ISO_TIME.match(value):
            return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return raw

    def record(
        self, payload: dict[str, Any], model: type[BaseModel] | None, process: str, step: str | None = None
    ) -> tuple[Labelled, ...]:
        """A payload's fields, labelled, in the model's order (a step's in the order given);
        empty ones left out. A workflow step's fields may be labelled for that step (``step``:
        its type), where it reuses a name for something else."""
        fields = model.model_fields if model is not None else {}
        names = [n for n in fields if n in payload] + [n for n in payload if n not in fields]
        owner = model.__name__ if model is not None else step
        return tuple(
            Labelled(
                n,
                payload_label(n, self.lang, owner),
                self.show(payload[n], fields[n].annotation if n in fields else None, n, process),
            )
            for n in names
            if not _empty(payload[n])
        )

    # ----- a timeline row ---------------------------------------------------------------------

    def row_fields(self, step: Step) -> tuple[Labelled, ...]:
        """What a timeline row expands to: its payload's fields, labelled."""
        return self.record(step.payload, model_of(step.type), step.process, step.type)

    # ----- the case -----------------------------------------------------------------------------

    def substance(self, process: str, steps: Sequence[Step]) -> Substance:
        """The facts, document numbers and documents of a case from its steps (oldest first).

        A fact is taken from the latest inbound event that carries it; a workflow step's copy
        only when no inbound event does (a step may reuse a name for something else, such as
        the number of officers). A document number of the opening event stays the opening's:
        it names the case, where a later step's names that step's document.
        """
        opening = next(
            (s for s in steps if (spec := EVENT_TYPES.get(s.type)) is not None and spec.opens), None
        )
        opened_with = model.model_fields if opening and (model := model_of(opening.type)) else {}
        names = [n for n, info in opened_with.items() if not _is_documents(info, None)]
        names += [n for n in SUBSTANCE.get(process, ()) if n not in names]
        facts: list[Fact] = []
        for name in names:
            carrying = [s for s in steps if not _empty(s.payload.get(name))]
            inbound = [s for s in carrying if model_of(s.type) is not None]
            source = (inbound or carrying or [None])[-1]
            if opening in carrying and is_document_number(name, opened_with.get(name)):
                source = opening  # the case's own number; later ones are in the numbers' table
            if source is None:
                continue
            model = model_of(source.type)
            info = model.model_fields.get(name) if model is not None else None
            facts.append(
                Fact(
                    label=payload_label(name, self.lang, model.__name__ if model is not None else None),
                    value=self.show(
                        source.payload[name], info.annotation if info else None, name, source.process
                    ),
                    step=event_label(source.type, self.lang),
                    name=name,
                )
            )
        return Substance(tuple(facts), tuple(self.numbers(steps)), tuple(self.documents(steps)))

    def numbers(self, steps: Iterable[Step]) -> list[DocumentNumber]:
        """Every document number the steps carry, each once (a workflow step repeats the number
        of the event it answers)."""
        out: list[DocumentNumber] = []
        seen: set[str] = set()
        for s in steps:
            model = model_of(s.type)
            fields = model.model_fields if model is not None else {}
            for name, value in s.payload.items():
                if _empty(value) or not is_document_number(name, fields.get(name)):
                    continue
                for number in value if isinstance(value, list) else [value]:
                    if not isinstance(number, str) or number in seen:
                        continue
                    seen.add(number)
                    out.append(
                        DocumentNumber(
                            label=payload_label(name, self.lang, model.__name__ if model else None),
                            number=number,
                            step=event_label(s.type, self.lang),
                            occurred_at=s.occurred_at,
                        )
                    )
        return out

    def documents(self, steps: Iterable[Step]) -> list[Document]:
        """Every attached document the steps carry, each once (by checksum and name)."""
        out: list[Document] = []
        seen: set[tuple[str, str]] = set()
        for s in steps:
            model = model_of(s.type)
            fields = model.model_fields if model is not None else {}
            for name, value in s.payload.items():
                if _empty(value) or not _is_documents(fields.get(name), value):
                    continue
                for item in value if isinstance(value, list) else [value]:
                    if not isinstance(item, dict):
                        continue
                    key = (str(item.get("sha256")), str(item.get("name")))
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(self.document(item, event_label(s.type, self.lang)))
        return out


def shown_json(value: Shown) -> Any:
    """A value of the facts as the page words it: a text, a list, a record of labelled fields
    (``name``, ``label``, ``value``) or a document."""
    if value.document is not None:
        d = value.document
        return {"name": d.name, "kind": d.kind, "sha256": d.sha256, "uri": d.uri}
    if value.fields:
        return [{"name": f.name, "label": f.label, "value": shown_json(f.value)} for f in value.fields]
    if value.items:
        return [shown_json(v) for v in value.items]
    return value.text


def substance_json(substance: Substance) -> dict[str, Any]:
    """The case page's facts, document numbers and attached documents, in the page's language."""
    return {
        "facts": [
            {"name": f.name, "label": f.label, "value": shown_json(f.value), "step": f.step}
            for f in substance.facts
        ],
        "document_numbers": [
            {"label": n.label, "number": n.number, "step": n.step, "occurred_at": n.occurred_at.isoformat()}
            for n in substance.numbers
        ],
        "documents": [
            {"name": d.name, "kind": d.kind, "sha256": d.sha256, "uri": d.uri, "step": d.step}
            for d in substance.documents
        ],
    }


def _late_words(seconds: int, lang: str) -> str:
    """How late a step was, as officials count it: started days, or started hours under a day."""
    if seconds <= 0:
        return word("no", lang)
    if seconds >= 86400:
        return word("late_days", lang).format(n=-(-seconds // 86400))
    return word("late_hours", lang).format(n=-(-seconds // 3600))


def raw_json(payload: dict[str, Any]) -> str:
    """A row's payload as the workflow published it (for operators tracing a problem)."""
    return json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)
