"""The console's settings: the session secret and how long a sign-in lasts.

The session secret signs every cookie; a default one would let anyone forge a coordinator's
session, so outside development and tests the console refuses to start without
``LAWLINK_SESSION_SECRET`` (full-stack template ``core/config.py`` does the same).
"""

from __future__ import annotations

import logging
import secrets

from pydantic import Field

from services.settings import StackSettings

log = logging.getLogger("lawlink.console")

DEV_ENVS: frozenset[str] = frozenset({"development", "test"})


class ConsoleSettings(StackSettings):
    """Where the console finds its secret and its neighbours."""

    session_secret: str | None = Field(default=None, alias="LAWLINK_SESSION_SECRET")
    env: str = Field(default="production", alias="LAWLINK_ENV")
    session_hours: float = Field(default=10.0, alias="LAWLINK_SESSION_HOURS", gt=0, le=24 * 30)
    cookie_secure: bool = Field(default=False, alias="LAWLINK_COOKIE_SECURE")
    live_nats: bool = Field(default=True, alias="LAWLINK_CONSOLE_LIVE_NATS")
    # Failed sign-ins for one username within the window before it must wait (services/console/throttle.py).
    login_max_failures: int = Field(default=5, alias="LAWLINK_LOGIN_MAX_FAILURES", ge=1)
    login_window_minutes: float = Field(default=15.0, alias="LAWLINK_LOGIN_WINDOW_MINUTES", gt=0)


class MissingSecret(RuntimeError):
    """The console was asked to start without a session secret outside development."""


def resolve_session_secret(settings: ConsoleSettings) -> str:
    """The secret that signs session cookies.

    Raises:
        MissingSecret: ``LAWLINK_SESSION_SECRET`` is unset (or shorter than 16 characters)
            and ``LAWLINK_ENV`` is not ``development`` or ``test``.
    """
    secret = settings.session_secret
    if secret:
        if len(secret) < 16:
            raise MissingSecret("LAWLINK_SESSION_SECRET: must be at least 16 characters")
        return secret
    if settings.env in DEV_ENVS:
        log.warning(
            "LAWLINK_SESSION_SECRET is not set; LAWLINK_ENV=%s, so an ephemeral secret was generated: "
            "sessions end when the console restarts",
            settings.env,
        )
        return secrets.token_urlsafe(32)
    raise MissingSecret(
        "LAWLINK_SESSION_SECRET is not set: the console refuses to start without it "
        "(`make run` generates one; set LAWLINK_ENV=development for an ephemeral secret)"
    )
