"""Who may see and do what in the console: one table of role × resource × scope.

:data:`POLICY` says, for each resource and action (``case.view``, ``dispute.act``...), which roles
hold it and over which records (:class:`Scope`): every record, their own agency's, their
district's, or the agencies their discipline commission supervises. A role missing from an
entry is refused. :data:`ROUTES` names the entry every console route is checked against, so the
unit tests walk every route for every role and a new route without an entry fails them.

Need-to-know comes on top: discipline referrals show their content only to discipline officers
and the head of the referring agency (the rule is ``services.discipline.content``); everyone
else who may open the case sees that the referral exists and its state, nothing more.

A refusal carries its reason as a (zh, en) pair, so the 403 says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from contracts.agencies import AgencyKind, AgencyLevel, agencies, get_agency, supervisor_of
from contracts.catalog import CONFIDENTIAL_PROCESSES
from services.console.auth import CurrentUser
from services.console.live import Change
from services.discipline.content import Referral
from services.discipline.content import can_read_content as discipline_rule
from services.discipline.content import can_read_entry as discipline_entry_rule
from services.readmodel.accounts import Role
from services.readmodel.models import Case
from services.readmodel.notification_queries import ROLE_SEES


class Scope(StrEnum):
    """Which records of a resource a role reaches, judged by the agencies a record involves."""

    ALL = "all"  # every record (or the resource has no per-record owner)
    OWN_AGENCY = "own_agency"  # records the user's agency raised, is a party to or owes a deadline in
    DISTRICT = "district"  # records involving an agency of the user's district (city level: all)
    SUPERVISED = "supervised"  # records involving an agency the user's commission supervises


C, OP, A, D, X = Role.COORDINATOR, Role.OPERATOR, Role.AGENCY_OFFICER, Role.DISCIPLINE_OFFICER, Role.ADMIN

_CASES = {C: Scope.DISTRICT, OP: Scope.ALL, A: Scope.OWN_AGENCY, D: Scope.SUPERVISED, X: Scope.ALL}
_ANYONE = {role: Scope.ALL for role in Role}

POLICY: Final = MappingProxyType(
    {
        # Ordinary cases, disputes, delegations and referrals alike; referral content is
        # need-to-know on top (can_read_content).
        "cases.list": _CASES,
        "case.view": _CASES,
        "inbox.view": {C: Scope.DISTRICT},
        "dispute.view": {C: Scope.DISTRICT, X: Scope.ALL},
        "dispute.act": {C: Scope.DISTRICT},
        # The reviewer's decision on a delegation's yearly review: coordinators work for a justice
        # bureau; whether their bureau is the review's decider is the workflow's rule.
        "delegation.review": {C: Scope.DISTRICT},
        "dashboard.view": {OP: Scope.ALL, X: Scope.ALL},
        "dead_letter.replay": {OP: Scope.ALL},
        "agency.view": {A: Scope.OWN_AGENCY},
        "audit.view": {X: Scope.ALL},
        "users.view": {X: Scope.ALL},
        "users.add": {X: Scope.ALL},
        "users.edit": {X: Scope.ALL},
        "lang.set": _ANYONE,
        "session.end": _ANYONE,
        # The stream itself is everyone's; each change is filtered by case.view (sees_live).
        "live.stream": _ANYONE,
        # The bell: one's own agency's notifications meant for one's role; operators and admins
        # watch every agency. Marking one read is always about one's own agency's.
        "notifications.view": {
            C: Scope.OWN_AGENCY,
            OP: Scope.ALL,
            A: Scope.OWN_AGENCY,
            D: Scope.OWN_AGENCY,
            X: Scope.ALL,
        },
        "notifications.read": {role: Scope.OWN_AGENCY for role in Role},
        # The daily digest of an agency.
        "digest.view": {
            C: Scope.DISTRICT,
            OP: Scope.ALL,
            A: Scope.OWN_AGENCY,
            D: Scope.OWN_AGENCY,
            X: Scope.ALL,
        },
        # Items delegated to townships: a township's officers their own, coordinators their
        # district's; discipline officers have no business there.
        "townships.list": {A: Scope.OWN_AGENCY, OP: Scope.ALL, C: Scope.DISTRICT, X: Scope.ALL},
        "township.view": {A: Scope.OWN_AGENCY, OP: Scope.ALL, C: Scope.DISTRICT, X: Scope.ALL},
        # The Temporal Web UI (proxied behind the console's sign-in): it can cancel and
        # terminate workflows.
        "temporal_ui.use": {OP: Scope.ALL, X: Scope.ALL},
        # Supervision statistics and their exports: an agency officer's figures are forced to
        # their own agency, a district coordinator's to their district. Referral figures come on
        # top only where case.view reaches every referral they count (sees_referral_figures).
        "statistics.view": {OP: Scope.ALL, C: Scope.DISTRICT, X: Scope.ALL, A: Scope.OWN_AGENCY},
    }
)

PUBLIC: Final = "public"
"""Marks a route anyone may call (signing in, health, static assets)."""

SERVICE: Final = "service"
"""Marks a route for Lawlink's services, not people: it takes the service credential
(services/service_auth.py) and no session (``/metrics``, scraped by Prometheus)."""

# (method, route path) -> the POLICY entry its handler checks, or PUBLIC.
ROUTES: Final = MappingProxyType(
    {
        ("GET", "/login"): PUBLIC,
        ("POST", "/login"): PUBLIC,
        ("GET", "/healthz"): PUBLIC,
        ("GET", "/metrics"): SERVICE,
        ("GET", "/static"): PUBLIC,
        ("POST", "/logout"): "session.end",
        ("POST", "/lang"): "lang.set",
        ("GET", "/"): "cases.list",
        ("GET", "/api/cases"): "cases.list",
        ("GET", "/cases/{process}/{case_id}"): "case.view",
        ("GET", "/api/cases/{process}/{case_id}"): "case.view",
        ("GET", "/agency"): "agency.view",
        ("GET", "/api/agency"): "agency.view",
        ("GET", "/inbox"): "inbox.view",
        ("GET", "/api/inbox"): "inbox.view",
        ("GET", "/disputes/{case_id}"): "dispute.view",
        ("POST", "/disputes/{case_id}/{action}"): "dispute.act",
        ("GET", "/delegations/{case_id}/review"): "delegation.review",
        ("POST", "/delegations/{case_id}/review"): "delegation.review",
        ("GET", "/dashboard"): "dashboard.view",
        ("GET", "/api/dashboard"): "dashboard.view",
        ("POST", "/dead-letters/{letter_id}/replay"): "dead_letter.replay",
        ("POST", "/dead-letters/replay"): "dead_letter.replay",
        ("GET", "/audit"): "audit.view",
        ("GET", "/api/audit"): "audit.view",
        ("GET", "/users"): "users.view",
        ("POST", "/users"): "users.add",
        ("POST", "/users/{username}/edit"): "users.edit",
        ("POST", "/users/{username}/password"): "users.edit",
        ("GET", "/notifications"): "notifications.view",
        ("GET", "/notifications/bell"): "notifications.view",
        ("GET", "/api/notifications"): "notifications.view",
        ("GET", "/api/notifications/unread-count"): "notifications.view",
        ("POST", "/notifications/read-all"): "notifications.read",
        ("POST", "/notifications/{notification_id}/read"): "notifications.read",
        ("POST", "/api/notifications/{notification_id}/read"): "notifications.read",
        ("GET", "/digest"): "digest.view",
        ("GET", "/api/digest"): "digest.view",
        ("GET", "/townships"): "townships.list",
        ("GET", "/api/townships"): "townships.list",
        ("GET", "/townships/{agency_id}"): "township.view",
        ("GET", "/api/townships/{agency_id}"): "township.view",
        ("GET", "/events"): "live.stream",
        ("GET", "/statistics"): "statistics.view",
        ("GET", "/api/statistics"): "statistics.view",
        ("GET", "/statistics/report"): "statistics.view",
        ("GET", "/statistics/export.xlsx"): "statistics.view",
        ("GET", "/statistics/export.csv"): "statistics.view",
        ("GET", "/temporal"): "temporal_ui.use",
        **{
            (m, "/temporal/{path:path}"): "temporal_ui.use" for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
        },
    }
)

# Why a refusal happened, Chinese first (the 403 page and JSON say it).
ROLE_REFUSED: Final = ("您的角色无权执行此操作", "your role may not do this")
SCOPE_REFUSED: Final = MappingProxyType(
    {
        Scope.OWN_AGENCY: ("该记录不属于您所在的机关", "the record is not your agency's"),
        Scope.DISTRICT: ("该记录不在您所在区县的范围内", "the record is outside your district"),
        Scope.SUPERVISED: (
            "所涉机关不在您所在纪委监委的监督范围内",
            "no agency involved is supervised by your commission",
        ),
        Scope.ALL: ROLE_REFUSED,
    }
)
CSRF_REFUSED: Final = (
    "表单已失效，请刷新页面后重试",
    "the form's CSRF token is missing or wrong; reload the page",
)
AUDIENCE_REFUSED: Final = ("此通知不是发给您的角色的", "the notification is not meant for your role")
NO_AGENCY_REFUSED: Final = ("您的账户未绑定机关", "your account is bound to no agency")
NOT_TOWNSHIP_REFUSED: Final = (
    "只有乡镇（街道）的经办人可查看赋权事项",
    "only a township's officers see delegated items",
)
CROSS_SITE_REFUSED: Final = ("拒绝来自其他站点的请求", "a request from another site is refused")

# Processes whose content is need-to-know; the catalog marks them once the process module lands.
CONFIDENTIAL: frozenset[str] = frozenset(CONFIDENTIAL_PROCESSES | {"discipline_referral"})


def scope_of(user: CurrentUser, permission: str) -> Scope | None:
    """The scope ``user``'s role holds ``permission`` over, or None if it does not hold it."""
    return POLICY.get(permission, {}).get(user.role)


def allowed(user: CurrentUser, permission: str) -> bool:
    """True when ``user``'s role holds ``permission`` over some records (an unknown permission
    holds for nobody)."""
    return scope_of(user, permission) is not None


def reaches_everything(user: CurrentUser, permission: str) -> bool:
    """True when ``user`` holds ``permission`` over every record (e.g. may pick any agency)."""
    return scope_of(user, permission) is Scope.ALL


def picks_other_agencies(user: CurrentUser, permission: str) -> bool:
    """True when ``user`` holds ``permission`` beyond their own agency (the page offers a picker)."""
    return scope_of(user, permission) not in (None, Scope.OWN_AGENCY)


def supervising_commissions(agency_id: str) -> frozenset[str]:
    """The discipline commissions that supervise ``agency_id``: its territory's commission and,
    above a district commission, the city commission that leads it."""
    own = supervisor_of(agency_id, AgencyKind.DISCIPLINE)
    if own is None:
        return frozenset()
    found = {own.id}
    if own.level is AgencyLevel.DISTRICT:
        city = supervisor_of("rz-gov", AgencyKind.DISCIPLINE)
        if city is not None:
            found.add(city.id)
    return frozenset(found)


def covers(user: CurrentUser, scope: Scope, agencies: Iterable[str | None]) -> bool:
    """Does ``scope``, held by ``user``, reach a record involving ``agencies``?"""
    if scope is Scope.ALL:
        return True
    involved = {a for a in agencies if a}
    own = get_agency(user.agency) if user.agency else None
    if own is None:
        return False
    if scope is Scope.OWN_AGENCY:
        return own.id in involved
    if scope is Scope.DISTRICT:
        if own.district is None:
            return own.level is AgencyLevel.CITY
        return any((found := get_agency(a)) is not None and found.district == own.district for a in involved)
    if own.kind is not AgencyKind.DISCIPLINE:
        return False
    return any(own.id in supervising_commissions(a) for a in involved)


def permits(user: CurrentUser, permission: str, agencies: Iterable[str | None]) -> bool:
    """May ``user`` do ``permission`` on a record involving ``agencies``?"""
    scope = scope_of(user, permission)
    return scope is not None and covers(user, scope, agencies)


def refusal(user: CurrentUser, permission: str) -> tuple[str, str]:
    """Why ``user`` was refused ``permission`` on a record: their role lacks it, or the record
    lies outside the scope their role holds it over."""
    scope = scope_of(user, permission)
    return ROLE_REFUSED if scope is None else SCOPE_REFUSED[scope]


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
    """May ``user`` open ``township``'s delegated items (``township.view`` over that township)?"""
    return permits(user, "township.view", (township,))


def case_agencies(case: Case, deadline_parties: Iterable[str] = ()) -> set[str]:
    """The agencies a case involves: the one that raised it, its parties, those owing a deadline."""
    return {a for a in (case.agency, *(case.parties or []), *deadline_parties) if a}


def can_open_case(
    user: CurrentUser,
    case: Case,
    deadline_parties: Iterable[str] = (),
    referral: Referral | None = None,
) -> bool:
    """May ``user`` open this case's page at all? Within the scope of ``case.view``; a referral
    also for whoever is in its need-to-know circle (a commission it was forwarded to)."""
    if permits(user, "case.view", case_agencies(case, deadline_parties)):
        return True
    return is_confidential(case) and allowed(user, "case.view") and can_read_content(user, case, referral)


def is_confidential(case: Case) -> bool:
    """True for need-to-know processes (the read model also flags the row)."""
    return case.confidential or case.process in CONFIDENTIAL


def can_read_content(user: CurrentUser, case: Case, referral: Referral | None = None) -> bool:
    """Need-to-know: may ``user`` read this case's content (timeline, parties, deadlines, the
    clue itself)? Non-confidential cases: yes. Referrals: the rule of
    :func:`services.discipline.content.can_read_content`: discipline officers of a commission
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


def sees_referral_figures(user: CurrentUser, counted: Iterable[str] | None) -> bool:
    """Need-to-know for statistics: referral counts (by state and source, never content) still
    say that referrals exist, so they are shown only to a user whose ``case.view`` reaches
    every agency whose referrals they count (``counted``; None: every agency), i.e. one who
    would see each of those referrals listed among their cases anyway."""
    scope = scope_of(user, "case.view")
    if scope is None:
        return False
    if scope is Scope.ALL:
        return True
    pool = agencies().keys() if counted is None else counted
    return all(covers(user, scope, (a,)) for a in pool)


def sees_live(user: CurrentUser, change: Change) -> bool:
    """Which live messages ``user``'s SSE stream carries.

    A ring of the bell (``kind="notify"``) goes only to users of the notification's agency whose
    role the notification is meant for. A case change goes to those whose ``case.view`` reaches
    the agencies it involves.
    """
    if change.kind == "notify":
        return (
            bool(user.agency)
            and change.agency == user.agency
            and change.audience in ROLE_SEES.get(user.role.value, frozenset())
        )
    return permits(user, "case.view", (change.agency, *change.parties))
