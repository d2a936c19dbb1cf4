"""The console's settings: secrets, cookies, trusted proxies and the sign-in throttle.

The session secret signs every cookie; a default one would let anyone forge a coordinator's
session, so outside development and tests the console refuses to start without
``LAWLINK_SESSION_SECRET`` (full-stack template ``core/config.py`` does the same), and with
``LAWLINK_ENV=production`` (the default) it also refuses every other weak default: cookies not
marked ``Secure``, no content key, no service token, no NATS credentials
(:func:`production_problems`).
"""

from __future__ import annotations

import logging
import secrets

from pydantic import Field, field_validator

from services.console.proxies import Network, parse_networks
from services.settings import StackSettings

log = logging.getLogger("lawlink.console")


class ConsoleSettings(StackSettings):
    """Where the console finds its secret and its neighbours."""

    session_secret: str | None = Field(default=None, alias="LAWLINK_SESSION_SECRET")
    session_hours: float = Field(default=10.0, alias="LAWLINK_SESSION_HOURS", gt=0, le=24 * 30)
    # Unset: Secure outside development. Production refuses an explicit false.
    cookie_secure: bool | None = Field(default=None, alias="LAWLINK_COOKIE_SECURE")
    # Reverse proxies whose X-Forwarded-For is believed (services/console/proxies.py).
    trusted_proxies: str = Field(default="", alias="LAWLINK_TRUSTED_PROXIES")
    # Where the Temporal UI listens (loopback, started with --ui-public-path /temporal); people
    # reach it only through the console's /temporal route (routes_temporal.py).
    temporal_ui_upstream: str = Field(default="http://127.0.0.1:8333", alias="TEMPORAL_UI_UPSTREAM")
    # Origins (comma-separated) of the pages that show the Temporal UI and may call the codec
    # server with the console's cookie: the console's own, as it serves the UI at /temporal.
    codec_origins: str = Field(default="http://127.0.0.1:8380", alias="LAWLINK_CODEC_ORIGINS")
    # Where an operator opens a trace from a timeline row: a URL with {trace_id} (Jaeger's
    # /trace/{trace_id}, Grafana Tempo's explore link...); unset: the id is shown without a link.
    trace_url: str = Field(default="", alias="LAWLINK_TRACE_URL")
    live_nats: bool = Field(default=True, alias="LAWLINK_CONSOLE_LIVE_NATS")
    # The sign-in throttle (services/console/throttle.py): failures of one username from one
    # address before it must wait, the first wait and its cap (it doubles per failure), the
    # failures one address may make across all usernames, and how long failures are remembered.
    login_free_failures: int = Field(default=3, alias="LAWLINK_LOGIN_FREE_FAILURES", ge=0)
    login_delay_seconds: float = Field(default=1.0, alias="LAWLINK_LOGIN_DELAY", gt=0)
    login_max_delay_seconds: float = Field(default=300.0, alias="LAWLINK_LOGIN_MAX_DELAY", gt=0)
    login_address_max_failures: int = Field(default=20, alias="LAWLINK_LOGIN_ADDRESS_MAX_FAILURES", ge=1)
    login_window_minutes: float = Field(default=15.0, alias="LAWLINK_LOGIN_WINDOW_MINUTES", gt=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def proxy_networks(self) -> tuple[Network, ...]:
        """``LAWLINK_TRUSTED_PROXIES`` as networks (empty: believe no forwarded header)."""
        return parse_networks(self.trusted_proxies)

    @property
    def codec_origin_list(self) -> list[str]:
        """``LAWLINK_CODEC_ORIGINS`` as a list, blanks dropped."""
        return [o.strip().rstrip("/") for o in self.codec_origins.split(",") if o.strip()]

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry ``Secure``: always outside development, unless told otherwise
        (which :func:`production_problems` refuses)."""
        return self.cookie_secure if self.cookie_secure is not None else not self.development


class MissingSecret(RuntimeError):
    """The console was asked to start without a session secret outside development."""


class WeakProductionSettings(RuntimeError):
    """``LAWLINK_ENV=production`` with a setting only development may use; names each one."""


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
    if settings.development:
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


def production_problems(settings: ConsoleSettings) -> list[str]:
    """What stops this configuration from running outside development, one line per variable.

    Besides the session secret (:func:`resolve_session_secret`): cookies must be ``Secure``, the
    content key that opens referral content must be set (no per-process key), the service token
    the registry asks of the console must be set, and a console that listens to NATS must sign
    in to it.
    """
    if settings.development:
        return []
    from services.discipline.crypto import ContentKeyError, load_key
    from services.service_auth import MissingServiceToken, resolve_token

    problems: list[str] = []
    if settings.cookie_secure is False:
        problems.append(f"LAWLINK_COOKIE_SECURE=false is not allowed with LAWLINK_ENV={settings.env}")
    try:
        load_key(allow_ephemeral=False)
    except ContentKeyError as exc:
        problems.append(str(exc))
    try:
        resolve_token(settings, "console")
    except MissingServiceToken as exc:
        problems.append(f"{exc} (the console replays dead letters through the registry)")
    if settings.live_nats and not (settings.nats_user and settings.nats_password):
        problems.append(
            "NATS_USER and NATS_PASSWORD are required (the console reads lawlink.out.> as a user)"
        )
    return problems


def check_production(settings: ConsoleSettings) -> str:
    """The session secret, after refusing every weak default outside development.

    Raises:
        MissingSecret: no usable session secret.
        WeakProductionSettings: any of :func:`production_problems`.
    """
    secret = resolve_session_secret(settings)
    problems = production_problems(settings)
    if problems:
        raise WeakProductionSettings(
            f"the console refuses to start with LAWLINK_ENV={settings.env}: " + "; ".join(problems)
        )
    return secret
