"""The coordinator's decisions, sent to the dispute's workflow as Temporal Updates.

The console never changes a dispute itself: it asks the workflow, whose validator may refuse
(then the page shows the validator's reason and nothing changed), and learns the outcome from
the domain events like every other reader. :class:`DisputeActions` is the seam the tests fake.

What a page offers comes from the workflow's own rules (:mod:`contracts.dispute_rules`) applied
to the read model (:func:`facts_from_read_model`, :func:`offers_for`), so a refusal is the
exception (the read model lagging a decision taken a moment ago), not the rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel
from temporalio.client import Client

from contracts.agencies import agencies
from contracts.dispute_rules import (
    DisputeFacts,
    actor_refusal,
    designation_refusal,
    extend_open,
    interim_agency_refusal,
    interim_open,
    opinion_refusal,
    refer_open,
)
from contracts.jurisdiction_dispute import (
    PROCESS,
    ClaimInput,
    CoordinatorActionResult,
    CoordinatorInput,
    DesignateInput,
    ExtendInput,
    InterimAgencyInput,
    ReassignInput,
    ReferInput,
    RequestOpinionsInput,
    UnclaimInput,
)
from contracts.refusal import Refusal
from services.disputes import client as disputes
from services.update_refusals import ActionRefused, UpdateSender

# Form action name -> (the client call that sends its Update, input model).
ACTIONS: dict[
    str, tuple[Callable[[Client, str, Any], Awaitable[CoordinatorActionResult]], type[CoordinatorInput]]
] = {
    "claim": (disputes.claim, ClaimInput),
    "unclaim": (disputes.unclaim, UnclaimInput),
    "reassign": (disputes.reassign, ReassignInput),
    "request_opinions": (disputes.request_opinions, RequestOpinionsInput),
    "extend": (disputes.extend, ExtendInput),
    "designate": (disputes.designate, DesignateInput),
    "refer": (disputes.refer_to_government, ReferInput),
    "interim": (disputes.name_interim_agency, InterimAgencyInput),
}


class DisputeActions(Protocol):
    """Sends one coordinator decision to a dispute."""

    async def run(self, action: str, case_id: str, data: BaseModel) -> CoordinatorActionResult:
        """Apply ``action`` or raise :class:`ActionRefused`."""
        ...


class TemporalDisputeActions(UpdateSender):
    """Updates on ``jurisdiction_dispute/<case_id>`` through :mod:`services.disputes.client`."""

    async def run(self, action: str, case_id: str, data: BaseModel) -> CoordinatorActionResult:
        """Execute the Update; the form's ``request_id`` is its id, so a double submit acts once."""
        if action not in ACTIONS:
            raise ActionRefused("action", f"unknown action {action!r}")
        function, _ = ACTIONS[action]
        return await self.send(lambda client: function(client, case_id, data), field="action")


# ----- what a page may offer ------------------------------------------------------------------

DESIGNATION = f"{PROCESS}.designation"
OPINION = f"{PROCESS}.opinion"
_HOLDER_EVENTS = {f"{PROCESS}.claimed", f"{PROCESS}.unclaimed", f"{PROCESS}.reassigned"}


def claim_holder(entries: Iterable[Any]) -> tuple[str | None, str | None]:
    """Who holds the claim (id, name) after the dispute's timeline ``entries``: the newest
    claim, release, reassignment or referral (which ends the office's claim) decides."""
    holder: tuple[str | None, str | None] = (None, None)
    for e in sorted(entries, key=lambda e: e.seq):
        if e.type == f"{PROCESS}.claimed":
            holder = (e.payload.get("coordinator"), e.payload.get("coordinator_name"))
        elif e.type == f"{PROCESS}.reassigned":
            holder = (e.payload.get("to_coordinator"), e.payload.get("to_coordinator_name"))
        elif e.type in (f"{PROCESS}.unclaimed", f"{PROCESS}.referred_to_government"):
            holder = (None, None)
    return holder


def facts_from_read_model(
    case_id: str,
    state: str,
    closed: bool,
    opened: dict[str, Any],
    entries: Iterable[Any],
    deadlines: Iterable[Any],
) -> DisputeFacts:
    """The dispute as the workflow's rules see it, rebuilt from the read model: the opening
    payload, the timeline (claim, extension) and the deadline rows (designation, opinions)."""
    rows = list(entries)
    holder, holder_name = claim_holder(rows)
    extended = next(
        (
            {"working_days": e.payload.get("working_days"), "coordinator": e.payload.get("coordinator")}
            for e in rows
            if e.type == f"{PROCESS}.extended"
        ),
        None,
    )
    live = [d for d in deadlines if d.status in ("open", "breached")]
    return DisputeFacts(
        case_id=case_id,
        state=state,
        closed=closed,
        kind=opened.get("kind"),
        parties=tuple(opened.get("parties") or ()),
        office=str(opened.get("coordinator_office") or ""),
        government=opened.get("government"),
        claimed_by=holder,
        claimed_by_name=holder_name,
        extended=extended,
        designation_open=any(d.rule == DESIGNATION and d.status == "open" for d in live),
        opinions_pending=tuple(d.party for d in live if d.rule == OPINION and d.party),
    )


@dataclass(frozen=True)
class Offers:
    """The decisions a page offers one user on one dispute, and the agencies each may name."""

    claim: bool = False
    unclaim: bool = False
    reassign: bool = False
    request_opinions: tuple[str, ...] = ()
    extend: bool = False
    designate: tuple[str, ...] = ()
    refer: bool = False
    interim: tuple[str, ...] = ()
    # Why the user can do nothing now (shown instead of the forms), when that is so.
    why_not: Refusal | None = None

    @property
    def decisions(self) -> bool:
        """Whether any decision beyond claiming and releasing is open."""
        return bool(self.request_opinions or self.extend or self.designate or self.refer or self.interim)


def offers_for(
    facts: DisputeFacts, *, username: str, agency: str | None, acts: bool, leads: bool, admin: bool
) -> Offers:
    """What to offer: each form only where the workflow's rule would accept it from this user.

    Args:
        acts: the user's role may decide disputes (``dispute.act``).
        leads: the user leads the coordinating office (its head coordinator).
        admin: the user is an administrator (reassigns, never decides).
    """
    office = agency or ""
    reassign = (leads or admin) and actor_refusal("reassign", facts, username, office, as_admin=admin) is None
    if not acts:
        return Offers(reassign=reassign)
    claim_refusal = actor_refusal("claim", facts, username, office)

    def agencies_passing(candidates: Iterable[str], rule: Any) -> tuple[str, ...]:
        return tuple(a for a in dict.fromkeys(candidates) if rule(a) is None)

    parties = facts.parties
    # Naming an interim agency needs no claim of one's own (urgent measures cannot wait).
    interim = (
        agencies_passing(parties, interim_agency_refusal)
        if interim_open(facts, username, office) is None
        else ()
    )
    if facts.claimed_by != username:
        return Offers(
            claim=claim_refusal is None,
            reassign=reassign,
            interim=interim,
            why_not=claim_refusal,
        )
    may = {a: actor_refusal(a, facts, username, office) is None for a in ("request_opinions", "designate")}
    return Offers(
        unclaim=actor_refusal("unclaim", facts, username, office) is None,
        reassign=reassign,
        request_opinions=agencies_passing(parties, lambda a: opinion_refusal(facts, a))
        if may["request_opinions"]
        else (),
        extend=extend_open(facts, username, office) is None,
        designate=agencies_passing([*parties, *agencies()], lambda a: designation_refusal(facts, a))
        if may["designate"]
        else (),
        refer=refer_open(facts, username, office) is None,
        interim=interim,
    )


def task_offers(task: Any, user: Any) -> Offers:
    """What an inbox row may offer ``user`` (claim, release), from the row alone: the same rule
    as the dispute page, for pages that list disputes (``dispute_offers`` in templates)."""
    facts = DisputeFacts(
        case_id=task.case_id,
        state=task.state,
        closed=task.closed,
        kind=task.kind,
        parties=tuple(task.parties or ()),
        office=task.coordinator_office or "",
        government=task.referred_to,
        claimed_by=task.claimed_by,
        claimed_by_name=task.claimed_by_name,
    )
    role = getattr(user.role, "value", user.role)
    return offers_for(
        facts,
        username=user.username,
        agency=user.agency,
        acts=role == "coordinator",
        leads=role == "coordinator" and bool(user.is_head),
        admin=role == "admin",
    )
