"""Accounts, passwords, sessions, CSRF tokens and the audit trail.

Passwords are hashed with argon2id (argon2-cffi's defaults). The session cookie carries only a
random session id signed with the session secret (itsdangerous), so a stolen database backup
holds no usable cookie and a forged cookie fails the signature before any query runs.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contracts.agencies import AgencyKind, get_agency
from services.field_refusal import FieldRefusal
from services.readmodel.accounts import LANGS, AuditEntry, ConsoleSession, ConsoleUser, Role

_HASHER = PasswordHasher()
# Verifying against this keeps a wrong username as slow as a wrong password (no user probing).
_DUMMY_HASH = _HASHER.hash("lawlink-dummy-password")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 10


class UserInputError(FieldRefusal, ValueError):
    """Bad account data; ``field`` names the form field it is about (the console shows the
    reason in the user's language, the CLI in English)."""


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user as request handlers see it (no ORM object leaves the session)."""

    id: int
    username: str
    display_name: str
    role: Role
    agency: str | None
    is_head: bool
    lang: str
    session_id: str
    csrf_token: str


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed stored hash is a mismatch, not a crash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def validate_user(username: str, role: str, agency: str | None, password: str) -> Role:
    """Check account fields; raises :class:`UserInputError` naming the field.

    Agency officers must be bound to a known agency (they see only its cases); coordinators
    name the coordinating office they work for (a justice bureau or a government).
    """
    if not USERNAME_RE.match(username):
        raise UserInputError(
            "username",
            "2-40 characters: lower-case letters, digits, '.', '_' or '-'",
            "用户名须为 2-40 个字符：小写字母、数字、“.”、“_”或“-”",
        )
    parsed = validate_account(role, agency)
    validate_password(password)
    return parsed


def validate_account(role: str, agency: str | None) -> Role:
    """Check a role and the agency it is bound to (on creation and on every change of either)."""
    try:
        parsed = Role(role)
    except ValueError:
        raise UserInputError(
            "role", f"must be one of: {', '.join(r.value for r in Role)}", "角色无效，请从列表中选择"
        ) from None
    if agency is not None and get_agency(agency) is None:
        raise UserInputError(
            "agency", f"unknown agency {agency!r} (see contracts/agencies.json)", f"未知的机关：{agency}"
        )
    if parsed is Role.AGENCY_OFFICER and agency is None:
        raise UserInputError(
            "agency", "an agency officer must be bound to one agency", "机关经办人必须绑定一个机关"
        )
    if parsed is Role.COORDINATOR:
        found = get_agency(agency) if agency else None
        if found is None or found.kind not in (AgencyKind.JUSTICE, AgencyKind.GOVERNMENT):
            raise UserInputError(
                "agency",
                "a coordinator works for a justice bureau or a government",
                "协调人须隶属司法局或人民政府",
            )
    return parsed


def validate_password(password: str) -> None:
    """A password long enough to resist guessing (the rule for new and reset passwords alike)."""
    if len(password) < MIN_PASSWORD:
        raise UserInputError(
            "password", f"must be at least {MIN_PASSWORD} characters", f"密码至少需要 {MIN_PASSWORD} 个字符"
        )


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    agency: str | None = None,
    is_head: bool = False,
    lang: str = "zh",
) -> ConsoleUser:
    """Add an account (the caller commits). Raises :class:`UserInputError` on bad input or a
    username that is taken."""
    parsed = validate_user(username, role, agency, password)
    if lang not in LANGS:
        raise UserInputError("lang", f"must be one of: {', '.join(LANGS)}", "界面语言无效")
    if session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first() is not None:
        raise UserInputError("username", f"{username!r} already exists", f"用户名 {username} 已存在")
    user = ConsoleUser(
        username=username,
        display_name=(display_name or username)[:50],
        role=parsed.value,
        agency=agency,
        is_head=is_head,
        password_hash=hash_password(password),
        lang=lang,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class AccountChange:
    """What an admin sets on an existing account; the fields are the account's whole new state."""

    role: str
    agency: str | None
    is_head: bool
    active: bool


def change_user(session: Session, username: str, change: AccountChange, *, by: str) -> list[str]:
    """Apply ``change`` to ``username``'s account (the caller commits) and return what changed,
    as ``field: old -> new`` lines for the audit trail.

    An admin cannot disable or demote their own account: only an active admin changes accounts,
    so this keeps at least one. Disabling ends the account's sessions.
    """
    user = _account(session, username)
    parsed = validate_account(change.role, change.agency)
    if username == by and (not change.active or parsed is not Role.ADMIN):
        raise UserInputError(
            "active" if not change.active else "role",
            "you cannot disable or demote your own account",
            "不能停用自己的账户或取消自己的管理员角色",
        )
    changed = [
        f"{field}: {old} -> {new}"
        for field, old, new in (
            ("role", user.role, parsed.value),
            ("agency", user.agency, change.agency),
            ("is_head", user.is_head, change.is_head),
            ("active", user.active, change.active),
        )
        if old != new
    ]
    user.role, user.agency, user.is_head, user.active = (
        parsed.value,
        change.agency,
        change.is_head,
        change.active,
    )
    session.add(user)
    if not change.active:
        _end_sessions(session, user)
    return changed


def reset_password(session: Session, username: str, password: str) -> None:
    """Give ``username`` a new password (the caller commits); their open sessions end, so a
    browser left signed in with the old one is signed out."""
    user = _account(session, username)
    validate_password(password)
    user.password_hash = hash_password(password)
    session.add(user)
    _end_sessions(session, user)


def _account(session: Session, username: str) -> ConsoleUser:
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
    if user is None:
        raise UserInputError("username", f"no account {username!r}", f"账户 {username} 不存在")
    return user


def _end_sessions(session: Session, user: ConsoleUser) -> None:
    for row in session.exec(select(ConsoleSession).where(ConsoleSession.user_id == user.id)).all():
        session.delete(row)


def authenticate(session: Session, username: str, password: str) -> ConsoleUser | None:
    """The active account with these credentials, or None (same cost either way)."""
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


class Sessions:
    """Server-side sessions behind a signed cookie."""

    COOKIE = "lawlink_session"

    def __init__(self, engine: Engine, secret: str, hours: float) -> None:
        self._engine = engine
        self._signer = URLSafeSerializer(secret, salt="lawlink-console-session")
        self._lifetime = timedelta(hours=hours)

    @property
    def max_age(self) -> int:
        """Cookie lifetime in seconds (the server-side row expires at the same time)."""
        return int(self._lifetime.total_seconds())

    def start(self, user_id: int, ip: str | None) -> tuple[str, str]:
        """Open a session; returns (signed cookie value, CSRF token)."""
        now = datetime.now(UTC)
        sid = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with Session(self._engine) as session:
            session.add(
                ConsoleSession(
                    id=sid,
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self._lifetime,
                    ip=ip,
                )
            )
            session.commit()
        return self._signer.dumps(sid), csrf

    def load(self, cookie: str | None) -> CurrentUser | None:
        """The user of a cookie, or None if unsigned, unknown, expired or disabled."""
        if not cookie:
            return None
        try:
            sid = self._signer.loads(cookie)
        except BadSignature:
            return None
        if not isinstance(sid, str):
            return None
        with Session(self._engine) as session:
            row = session.get(ConsoleSession, sid)
            if row is None or row.expires_at <= datetime.now(UTC):
                return None
            user = session.get(ConsoleUser, row.user_id)
            if user is None or not user.active or user.id is None:
                return None
            return CurrentUser(
                id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=Role(user.role),
                agency=user.agency,
                is_head=user.is_head,
                lang=user.lang if user.lang in LANGS else "zh",
                session_id=sid,
                csrf_token=row.csrf_token,
            )

    def end(self, session_id: str) -> None:
        """Log out: the session row goes, so the cookie is worthless even if kept."""
        with Session(self._engine) as session:
            row = session.get(ConsoleSession, session_id)
            if row is not None:
                session.delete(row)
                session.commit()


def csrf_ok(user: CurrentUser, token: str | None) -> bool:
    """Constant-time check of a form's CSRF token against the session's."""
    return bool(token) and hmac.compare_digest(user.csrf_token, token or "")


def set_language(engine: Engine, user_id: int, lang: str) -> None:
    """Persist a user's language choice; raises :class:`UserInputError` for an unknown one."""
    if lang not in LANGS:
        raise UserInputError("lang", f"must be one of: {', '.join(LANGS)}", "界面语言无效")
    with Session(engine) as session:
        user = session.get(ConsoleUser, user_id)
        if user is not None:
            user.lang = lang
            session.add(user)
            session.commit()


def audit(
    engine: Engine,
    *,
    action: str,
    outcome: str,
    user: CurrentUser | None = None,
    username: str | None = None,
    target: str | None = None,
    ip: str | None = None,
    detail: str | None = None,
) -> None:
    """Write one audit row in its own transaction, so it survives whatever the action did."""
    with Session(engine) as session:
        session.add(
            AuditEntry(
                at=datetime.now(UTC),
                username=user.username if user else username,
                role=user.role.value if user else None,
                action=action[:80],
                target=target[:200] if target else None,
                ip=ip,
                outcome=outcome[:20],
                detail=detail[:2000] if detail else None,
            )
        )
        session.commit()


def list_audit(
    session: Session, *, username: str | None = None, outcome: str | None = None, limit: int = 500
) -> list[AuditEntry]:
    """Audit rows, newest first, for the admin's page."""
    query = select(AuditEntry)
    if username:
        query = query.where(AuditEntry.username == username)
    if outcome:
        query = query.where(AuditEntry.outcome == outcome)
    return list(session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)).all())


def list_users(session: Session) -> list[ConsoleUser]:
    """Every account, by username."""
    return list(session.exec(select(ConsoleUser).order_by(col(ConsoleUser.username))).all())
