"""Who may open what: one table of endpoints by role, and the per-case rules.

Kept as data so the unit tests can walk every role against every endpoint and so a reviewer
reads the whole policy in one screen. Per-case rules come on top: an agency officer sees only
cases its agency opened, is a party to, or owes a deadline in; discipline referrals are
need-to-know (DESIGN.md security): their content only for discipline officers and the head of
the referring agency (the rule itself is issue 5's, in ``services.discipline.content``), everyone
else sees that the referral exists and its state, nothing more.
"""

from __future__ import annotations

from contracts.agencies import AgencyKind, get_agency
from contracts.catalog import CONFIDENTIAL_PROCESSES
from services.console.auth import CurrentUser
from services.console.live import Change
from services.console.tables import Role
from services.discipline.content import Referral
from services.discipline.content import can_read_content as discipline_rule
from services.discipline.content import can_read_entry as discipline_entry_rule
from services.notifier.queries import ROLE_SEES
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
    # The bell: everyone sees their own agency's notifications meant for their role (issue 9);
    # marking one read is checked per notification on top (its agency must be the user's).
    "notifications.view": EVERYONE,
    "notifications.read": EVERYONE,
    # Operators and admins watch every agency; they may list another agency's notifications.
    "notifications.any_agency": frozenset({OP, X}),
    # The daily digest: one's own agency; operators, coordinators and admins may pick any agency.
    "digest.view": EVERYONE,
    "digest.any_agency": frozenset({OP, C, X}),
    # Delegated items per township (issue 6): township officers their own township, the
    # supervising roles every township. Discipline officers have no business there.
    "townships.list": frozenset({A, OP, C, X}),
    "township.view": frozenset({A, OP, C, X}),
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


def is_township(agency_id: str | None) -> bool:
    """True when ``agency_id`` is a township or street office (乡镇人民政府 / 街道办事处)."""
    agency = get_agency(agency_id) if agency_id else None
    return agency is not None and agency.kind is AgencyKind.TOWNSHIP


def can_view_township(user: CurrentUser, township: str) -> bool:
    """May ``user`` open ``township``'s delegated items? Township officers: only their own;
    operators, coordinators and admins: every township; everyone else: none."""
    if not allowed(user, "township.view"):
        return False
    if user.role is Role.AGENCY_OFFICER:
        return bool(user.agency) and user.agency == township
    return True


def can_pick_agency(user: CurrentUser, permission: str, agency: str) -> bool:
    """May ``user`` look at ``agency``'s notifications or digest (``permission`` names the
    "any agency" grant)? Their own agency always; another one only with that grant."""
    return (bool(user.agency) and agency == user.agency) or allowed(user, permission)


def agency_filter(user: CurrentUser) -> str | None:
    """The agency whose cases alone the user may list (None: every case)."""
    return user.agency if user.role is Role.AGENCY_OFFICER else None


def can_open_case(
    user: CurrentUser, case: Case, deadline_parties: set[str] | frozenset[str] = frozenset()
) -> bool:
    """May ``user`` open this case's page at all?"""
    if user.role is not Role.AGENCY_OFFICER:
        return True
    agency = user.agency
    return bool(agency) and (
        case.agency == agency or agency in (case.parties or []) or agency in deadline_parties
    )


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


def sees_live(user: CurrentUser, change: Change) -> bool:
    """Which live messages ``user``'s SSE stream carries.

    A ring of the bell (``kind="notify"``) goes only to users of the notification's agency whose
    role the notification is meant for. A case change goes to everyone except agency officers,
    who hear only of cases their agency is a party to or acted in.
    """
    if change.kind == "notify":
        return (
            bool(user.agency)
            and change.agency == user.agency
            and change.audience in ROLE_SEES.get(user.role.value, frozenset())
        )
    if user.role is not Role.AGENCY_OFFICER:
        return True
    return bool(user.agency) and (user.agency in change.parties or user.agency == change.agency)
