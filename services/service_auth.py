"""Service-to-service authentication of the registry's and the notifier's HTTP APIs.

People come in through the console only; these APIs answer Lawlink's own services (the
console, the ``lawlink`` command) and nobody else. Every caller holds ``LAWLINK_SERVICE_TOKEN``
and sends ``Authorization: Bearer <service>.<mac>``, where ``mac`` is an HMAC-SHA256 of the
service's name under the token: the name is then part of what is verified, so an audit row can
say which service called, and the token itself never travels. The server recomputes the MAC for
the claimed name and compares in constant time.

A call that changes state also names the person it acts for in ``X-Lawlink-Actor`` (the
console its signed-in user, the CLI the OS user); without it the call is refused (400).

Outside development and test a server refuses to start without the token. In development or
test without one it logs a warning and stays open (every caller is "unauthenticated").
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.settings import StackSettings

TOKEN_VAR = "LAWLINK_SERVICE_TOKEN"
ACTOR_HEADER = "X-Lawlink-Actor"
MIN_TOKEN_CHARS = 32
# What the audit records as the caller while a development server runs without a token.
UNAUTHENTICATED = "unauthenticated"
SERVICE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
# Printable ASCII, no leading blank: it lands in audit rows and log lines as sent.
ACTOR_RE = re.compile(r"^[!-~][ -~]{0,79}$")
_MAC_CONTEXT = b"lawlink service credential\x00"

log = logging.getLogger("lawlink.service_auth")


class MissingServiceToken(RuntimeError):
    """A server was asked to start without a usable service token outside development."""


def credential(token: str, service: str) -> str:
    """The bearer credential of ``service`` under ``token``: ``<service>.<mac>``.

    Raises:
        ValueError: ``service`` is not a lower-case name (it is part of the credential).
    """
    if not SERVICE_NAME_RE.match(service):
        raise ValueError(f"service: {service!r} is not a service name (lower-case letters, digits, '-')")
    return f"{service}.{_mac(token, service)}"


def _mac(token: str, service: str) -> str:
    digest = hmac.new(token.encode(), _MAC_CONTEXT + service.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def service_headers(settings: StackSettings, service: str, actor: str | None = None) -> dict[str, str]:
    """The headers a Lawlink service sends to the registry or the notifier.

    Without a configured token there is no credential to send (a development server that runs
    open accepts that; any other answers 401, naming the variable).
    """
    headers: dict[str, str] = {}
    if settings.service_token:
        headers["Authorization"] = f"Bearer {credential(settings.service_token, service)}"
    if actor is not None:
        headers[ACTOR_HEADER] = actor
    return headers


def os_actor() -> str:
    """The person at a terminal, as the CLI names them to the services (the OS user)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER: still someone's shell
        name = "unknown"
    return name if ACTOR_RE.match(name) else name.encode("ascii", "backslashreplace").decode()[:80]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the verified service and, when sent, the person it acts for."""

    service: str
    actor: str | None


def _actor(request: Request) -> str | None:
    """The ``X-Lawlink-Actor`` of an authenticated request; 400 when it is malformed."""
    actor = request.headers.get(ACTOR_HEADER)
    if actor is not None and not ACTOR_RE.match(actor):
        raise HTTPException(
            400,
            detail={"field": ACTOR_HEADER, "reason": "1-80 printable ASCII characters, not starting blank"},
        )
    return actor


def resolve_token(settings: StackSettings, server: str) -> str | None:
    """The token ``server`` checks credentials against, or None to run open (development only).

    Raises:
        MissingServiceToken: the token is unset outside development/test, or too short.
    """
    token = settings.service_token
    if token:
        if len(token) < MIN_TOKEN_CHARS:
            raise MissingServiceToken(f"{TOKEN_VAR}: must be at least {MIN_TOKEN_CHARS} characters")
        return token
    if settings.development:
        log.warning(
            "%s is not set and LAWLINK_ENV=%s: the %s API is OPEN to anyone who reaches it. "
            "Set %s (`make run` generates one) to require service credentials.",
            TOKEN_VAR,
            settings.env,
            server,
            TOKEN_VAR,
        )
        return None
    raise MissingServiceToken(
        f"{TOKEN_VAR} is not set: the {server} refuses to start without it outside development "
        f"(`make run` generates one into .lawlink/secrets.env; LAWLINK_ENV=development runs open)"
    )


class ServiceAuth:
    """The FastAPI dependency that admits only Lawlink's services to an API.

    Use it on the router of every ``/api`` route, and :attr:`acting` on a route that changes
    state, which also needs to know on whose behalf.
    """

    def __init__(self, settings: StackSettings, *, server: str) -> None:
        """Raises :class:`MissingServiceToken` as :func:`resolve_token` does."""
        self.server = server
        self._token = resolve_token(settings, server)
        self._bearer = HTTPBearer(auto_error=False, scheme_name="LawlinkServiceCredential")
        self.acting: Callable[..., Caller] = self._acting_dependency()

    def _refuse(self, reason: str, error: str | None = None) -> HTTPException:
        challenge = f'Bearer realm="lawlink-{self.server}"'
        if error:
            challenge += f', error="{error}"'
        return HTTPException(
            401,
            detail={"field": "Authorization", "reason": reason},
            headers={"WWW-Authenticate": challenge},
        )

    async def __call__(self, request: Request) -> Caller:
        """The caller of ``request``; 401 without a valid credential, 400 for a malformed actor."""
        if self._token is None:
            return Caller(UNAUTHENTICATED, _actor(request))
        given: HTTPAuthorizationCredentials | None = await self._bearer(request)
        if given is None:
            raise self._refuse(
                f"a Lawlink service credential is required: Authorization: Bearer <service>.<mac>, "
                f"the mac derived from {TOKEN_VAR} (services/service_auth.py)"
            )
        service, _, mac = given.credentials.partition(".")
        # Compared even for a malformed name, so a refusal takes the same time whatever was sent.
        expected = _mac(self._token, service)
        if not (hmac.compare_digest(expected.encode(), mac.encode()) and SERVICE_NAME_RE.match(service)):
            client = request.client.host if request.client else "?"
            log.warning(
                "%s: refused a wrong service credential from %s on %s", self.server, client, request.url.path
            )
            raise self._refuse(
                f"the service credential is not valid: it was not derived from this {self.server}'s {TOKEN_VAR}",
                "invalid_token",
            )
        return Caller(service, _actor(request))

    def _acting_dependency(self) -> Callable[..., Caller]:
        # A default, not Annotated: the annotation is a string here and ``self`` is no global.
        def acting(caller: Caller = Depends(self)) -> Caller:  # noqa: B008
            """The caller of a state-changing route, which must say on whose behalf it acts."""
            if caller.actor is None:
                raise HTTPException(
                    400,
                    detail={
                        "field": ACTOR_HEADER,
                        "reason": "a call that changes state must name the person it acts for",
                    },
                )
            return caller

        return acting


def app_on_access(namespace: dict[str, Any], create: Callable[[], FastAPI]) -> Callable[[str], FastAPI]:
    """A module ``__getattr__`` that builds ``app`` when uvicorn first asks for it, not at import:
    importing a service's module (tests, other services) must not require its token, while
    ``uvicorn services.<name>.app:app`` still fails at start naming the missing variable."""

    def __getattr__(name: str) -> FastAPI:
        if name != "app":
            raise AttributeError(name)
        namespace["app"] = create()
        return namespace["app"]

    return __getattr__
