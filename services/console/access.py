"""Who may open what: one table of endpoints by role, and the per-case rules.

Kept as data so the unit tests can walk every role against every endpoint and so a reviewer
reads the whole policy in one screen. Per-case rules come on top: an agency officer sees only
cases its agency opened, is a party to, or owes a deadline in; discipline referrals are
need-to-know (DESIGN.md security): their content only for discipline officers and the head of
the referring agency (the rule itself is issue 5's, in ``services.discipline.content``), everyone
else sees that the referral exists and its state, nothing more.
"""

from __future__ import annotations

from contracts.catalog import CONFIDENTIAL_PROCESSES
from services.console.auth import CurrentUser
from services.console.tables import Role
from services.discipline.content import Referral
from services.discipline.content import can_read_content as discipline_rule
from services.discipline.content import can_read_entry as discipline_entry_rule
from services.registry.models import Case

C, OP, A, X = Role.COORDINATOR, Role.OPERATOR, Role.AGENCY_OFFICER, Role.ADMIN
EVERYONE = frozenset(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "cases.list": EVERYONE,
    "case.view": EVERYONE,
    "inbox.view": frozenset({C}),
    "dispute.view": frozenset({C, X}),
    "dispute.act": frozenset({C}),
    "dashboard.view": frozenset({OP, X}),
    "dead_letter.replay": frozenset({OP}),
    "agency.view": frozenset({A}),
    "audit.view": frozenset({X}),
    "users.view": frozenset({X}),
    "users.add": frozenset({X}),
    "lang.set": EVERYONE,
    "live.stream": EVERYONE,
}

# Processes whose content is need-to-know; the catalog marks them once the process module lands.
CONFIDENTIAL: frozenset[str] = frozenset(CONFIDENTIAL_PROCESSES | {"discipline_referral"})


def allowed(user: CurrentUser, permission: str) -> bool:
    """True when ``user``'s role holds ``permission`` (an unknown permission holds for nobody)."""
    return user.role in PERMISSIONS.get(permission, frozenset())


def home_for(user: CurrentUser) -> str:
    """Where a user lands after signing in: the page of their daily work."""
    return {
        Role.COORDINATOR: "/inbox",
        Role.OPERATOR: "/dashboard",
        Role.AGENCY_OFFICER: "/agency",
        Role.ADMIN: "/audit",
    }.get(user.role, "/")


def agency_filter(user: CurrentUser) -> str | None:
    """The agency whose cases alone the user may list (None: every case)."""
    return user.agency if user.role is Role.AGENCY_OFFICER else None


def can_open_case(user: CurrentUser, case: Case, deadline_parties: set[str] | frozenset[str] = frozenset()) -> bool:
    """May ``user`` open this case's page at all?"""
    if user.role is not Role.AGENCY_OFFICER:
        return True
    agency = user.agency
    return bool(agency) and (case.agency == agency or agency in (case.parties or []) or agency in deadline_parties)


def is_confidential(case: Case) -> bool:
    """True for need-to-know processes (the read model also flags the row)."""
    return case.confidential or case.process in CONFIDENTIAL


def can_read_content(user: CurrentUser, case: Case, referral: Referral | None = None) -> bool:
    """Need-to-know: may ``user`` read this case's content (timeline, parties, deadlines, the
    clue itself)? Non-confidential cases: yes. Referrals: issue 5's rule
    (:func:`services.discipline.content.can_read_content`): discipline officers of a commission
    that had the clue (or the city commission) and the head of the referring body.

    ``referral`` is the referral's need-to-know circle from the read model; without one, the
    agency that raised the case is taken as the referring body.
    """
    if not is_confidential(case):
        return True
    circle = referral if referral is not None else Referral(referring_agency=case.agency)
    return discipline_rule(user.role.value, user.agency, user.is_head, circle)


def can_read_entry(user: CurrentUser, case: Case, event_type: str) -> bool:
    """Within a readable referral, the commission's internal steps are for discipline officers."""
    return not is_confidential(case) or discipline_entry_rule(user.role.value, event_type)
