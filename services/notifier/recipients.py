"""The ONE table of who must hear about each domain event, and what they are told.

A deadline only helps if the party that must act hears about it in time, so every domain event
type in :data:`contracts.catalog.DOMAIN_EVENT_TYPES` has a row in :data:`RECIPIENTS` (the unit
test fails for a type without one). A row lists rules (:class:`Who`): a selector that picks
agencies from the event, why they are told (:class:`~contracts.notifications.Reason`) and
what they must do, in zh-CN and English. An empty row means "nobody needs to be told" and says
why in a comment; usually the deadline that the same step opens (``deadline.set``) is what
tells the acting party.

General rules, applied to every row:

* the agency that acted (``event.actor``) is never told about its own action;
* an agency picked by several rules gets ONE notification, with the strongest reason
  (act > supervise > coordinate > inform); the key is ``<domain_event_id>:<recipient>``;
* ids that are not agencies of the registry are dropped (they could not be a subject token);
* confidential processes (``CONFIDENTIAL_PROCESSES``) carry ids and states only: the texts use
  the event's label, the state and the deadline's label, never the payload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from contracts.agencies import AgencyKind, get_agency
from contracts.catalog import CONFIDENTIAL_PROCESSES, DEFINITIONS, DOMAIN_EVENT_TYPES
from contracts.deadline_models import DeadlineInfo
from contracts.domain import DomainEvent, EntryKind
from contracts.notifications import REASON_RANK, Audience, Notification, Reason
from contracts.recipients import COMMON_TELLS, PARTIES, Who, act, inform, kind_of
from services.due_words import due_words
from services.i18n import COUNTING_LABELS
from services.readmodel.notification_queries import console_link

log = logging.getLogger("lawlink.notifier")

PROCESS_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({p.name: p.short_label for p in DEFINITIONS})

RECIPIENTS: Mapping[str, tuple[Who, ...]] = MappingProxyType(
    {**COMMON_TELLS, **{t: row for process in DEFINITIONS for t, row in process.tells.items()}}
)


# Used at run time only for a type that has no row yet (CI's recipient test fails for it first):
# better a generic notification than a silent one.
FALLBACK_BY_KIND: Mapping[str, tuple[Who, ...]] = MappingProxyType(
    {
        EntryKind.DEADLINE.value: RECIPIENTS["deadline.set"],
        EntryKind.ESCALATION.value: RECIPIENTS["escalation.raised"],
        EntryKind.REQUEST.value: (act(PARTIES, "请办理", "Action requested"),),
    }
)


def missing_rows(types: Iterable[str] | None = None) -> list[str]:
    """Domain event types of the catalog (or ``types``) without a row, sorted."""
    return sorted(t for t in (DOMAIN_EVENT_TYPES if types is None else types) if t not in RECIPIENTS)


def row_for(event_type: str, kind: str = "") -> tuple[Who, ...]:
    """The rules for ``event_type``, falling back by entry kind (with a warning) when it has no row."""
    row = RECIPIENTS.get(event_type)
    if row is not None:
        return row
    log.warning(
        "no recipient row for domain event type %r; using the %r fallback", event_type, kind or "inform"
    )
    return FALLBACK_BY_KIND.get(kind, (inform(PARTIES),))


# ----- resolution and texts -------------------------------------------------------------------------


def recipients_for(event: DomainEvent) -> list[tuple[str, Who]]:
    """Who hears about ``event``: one (agency, rule) per agency, strongest reason first-come.

    Never raises on a payload it does not understand: a notification is a side effect of a step
    that has already happened and must not stop the consumer.
    """
    chosen: dict[str, Who] = {}
    for who in row_for(event.type, event.kind.value):
        try:
            if not who.applies(event):
                continue
            picked = who.pick(event)
        except Exception:  # noqa: BLE001 - an odd payload must not block the rest of the row
            log.exception("selector %s failed on %s", who.pick.name, event.event_id)
            continue
        for agency in picked:
            if agency == event.actor or get_agency(agency) is None:
                continue
            current = chosen.get(agency)
            if current is None or REASON_RANK[who.reason] < REASON_RANK[current.reason]:
                chosen[agency] = who
    return list(chosen.items())


def due_texts(info: DeadlineInfo) -> tuple[str, str]:
    """The due date in words (zh, en): the last day for day limits, the instant for hour limits,
    with the counting and whether it is provisional."""
    zh, en = due_words(info.due_at, info.counting)
    c_zh, c_en = COUNTING_LABELS.get(info.counting, (info.counting, info.counting))
    zh += f"（{info.length}{c_zh}"
    en += f" ({info.length} {c_en}"
    if info.provisional:
        zh += "，暂定：该年度节假日安排尚未公布"
        en += ", provisional: that year's official holiday schedule is not yet published"
    return zh + "）", en + ")"


def _confidential(event: DomainEvent) -> bool:
    """Need-to-know when the case's process or the event type's own prefix is confidential
    (a hotline complaint feeds a referral; a case transfer proposes one)."""
    return event.process in CONFIDENTIAL_PROCESSES or event.type.split(".", 1)[0] in CONFIDENTIAL_PROCESSES


def _audience(event: DomainEvent, agency: str, who: Who) -> Audience:
    if who.reason is Reason.COORDINATE:
        return Audience.COORDINATOR
    if _confidential(event) and kind_of(agency) is AgencyKind.DISCIPLINE:
        return Audience.DISCIPLINE_OFFICER
    return Audience.AGENCY_OFFICER


def _fill(template: str | None, values: Mapping[str, str]) -> str | None:
    if template is None:
        return None

    class _Keep(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return ""

    return template.format_map(_Keep(values))


def notifications_for(event: DomainEvent, *, console_url: str) -> list[Notification]:
    """One notification per recipient of ``event``, ids ``<domain_event_id>:<recipient>``."""
    confidential = _confidential(event)
    spec = DOMAIN_EVENT_TYPES.get(event.type)
    label_zh, label_en = (spec.label_zh, spec.label_en) if spec else (event.type, event.type)
    p_zh, p_en = PROCESS_LABELS.get(event.process, (event.process, event.process))
    d = event.deadline
    values = {"deadline_zh": "", "deadline_en": "", "due_zh": "", "due_en": ""}
    if d is not None:
        due_zh, due_en = due_texts(d)
        values = {"deadline_zh": d.label_zh, "deadline_en": d.label_en, "due_zh": due_zh, "due_en": due_en}
    title_zh = f"【{p_zh}·{event.case_id}】{label_zh}"
    title_en = f"[{p_en} {event.case_id}] {label_en}"
    if d is not None:
        title_zh += f"：{d.label_zh}"
        title_en += f": {d.label_en}"
    case_title = None
    if not confidential:
        raw_title = event.payload.get("case_title")
        case_title = raw_title[:200] if isinstance(raw_title, str) else None
    out: list[Notification] = []
    for agency, who in recipients_for(event):
        out.append(
            Notification(
                notification_id=f"{event.event_id}:{agency}",
                recipient=agency,
                reason=who.reason,
                audience=_audience(event, agency, who),
                domain_event_id=event.event_id,
                event_type=event.type,
                process=event.process,
                case_id=event.case_id,
                workflow_id=event.workflow_id,
                seq=event.seq,
                occurred_at=event.occurred_at,
                state=event.state,
                actor=event.actor,
                title_zh=title_zh,
                title_en=title_en,
                action_zh=_fill(who.action_zh, values),
                action_en=_fill(who.action_en, values),
                deadline_id=d.deadline_id if d else None,
                deadline_rule=d.rule if d else None,
                deadline_label_zh=d.label_zh if d else None,
                deadline_label_en=d.label_en if d else None,
                due_at=d.due_at if d else None,
                counting=d.counting if d else None,
                provisional=d.provisional if d else None,
                link=console_link(console_url, event.process, event.case_id),
                confidential=confidential,
                case_title=case_title,
            )
        )
    return out
