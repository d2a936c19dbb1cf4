"""The Temporal Web UI's codec server: referral content decoded for those entitled to it.

Workflow histories hold every discipline-referral event sealed (services/temporal_codec.py), so
the Temporal UI shows ciphertext. The UI can send the payloads it displays to a codec server
(``temporal server start-dev --ui-codec-endpoint``; the UI's ``POST <endpoint>/decode`` with
``{"payloads": [...]}`` in protobuf JSON, cookies included). This server opens each sealed
payload and answers it decoded only when the console user behind the request's session cookie
may read that referral's content (the need-to-know rule of services/console/access.py, the same
as the case page); everyone else, and every request without a session, gets the ciphertext back
unchanged. Ordinary payloads are not sealed and pass through as they came.

Every decode of a sealed payload is audited in the console's audit log, allowed or refused.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.api.common.v1 import Payload, Payloads

from contracts.catalog import EVENT_TYPES
from contracts.envelope import Envelope
from services.console import access
from services.console.auth import CurrentUser, Sessions, audit
from services.console.settings import ConsoleSettings, check_production
from services.discipline.content import access_for
from services.discipline.crypto import ContentDecryptError, ContentKeyError, load_key
from services.readmodel.db import make_engine
from services.readmodel.models import Case
from services.temporal_codec import ENCRYPTED_ENCODING, ConfidentialPayloadCodec

log = logging.getLogger("lawlink.codec_server")

# Headers the Temporal UI sends with codec requests.
UI_HEADERS = ("content-type", "x-namespace", "authorization", "caller-type")
AUDIT_ACTION = "temporal.decode"


def _process_of(env: Envelope) -> str | None:
    spec = EVENT_TYPES.get(env.type)
    return spec.process if spec is not None else None


class Decoder:
    """Opens sealed payloads and decides, per payload, whether this user may see them open."""

    def __init__(self, engine: Engine, codec: ConfidentialPayloadCodec) -> None:
        self._engine = engine
        self.codec = codec

    def decode(self, user: CurrentUser | None, payloads: list[Payload], ip: str | None) -> list[Payload]:
        """Each payload decoded if it is ordinary or the user may read it, else as it came."""
        return [
            self._one(user, p, ip) if p.metadata.get("encoding") == ENCRYPTED_ENCODING else p
            for p in payloads
        ]

    def _one(self, user: CurrentUser | None, sealed: Payload, ip: str | None) -> Payload:
        try:
            opened = self.codec.open(sealed)
            env = _envelope_in(opened)
        except (ContentKeyError, ContentDecryptError) as exc:
            log.warning("a sealed payload did not open: %s", exc)
            return sealed
        target = f"{_process_of(env) or '?'}/{env.case_id}" if env is not None else "?"
        allowed = env is not None and user is not None and self._may_read(user, env)
        audit(
            self._engine,
            action=AUDIT_ACTION,
            outcome="allowed" if allowed else "refused",
            user=user,
            username=None if user else "(no session)",
            target=target,
            ip=ip,
        )
        return opened if allowed else sealed

    def _may_read(self, user: CurrentUser, env: Envelope) -> bool:
        process = _process_of(env)
        if process is None:
            return False
        with Session(self._engine) as session:
            case = session.get(Case, f"{process}/{env.case_id}")
            if case is None:  # not in the read model yet: nothing to decide the circle by
                return False
            return access.can_read_content(user, case, access_for(session, env.case_id))


def _envelope_in(payload: Payload) -> Envelope | None:
    """The envelope a sealed payload carries (alone, or first in a list or dict), if any."""
    try:
        value: Any = json.loads(payload.data)
    except ValueError:
        return None
    candidates = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
    for candidate in [value, *candidates]:
        try:  # in JSON mode: the envelope's ids and dates are strings there
            return Envelope.model_validate_json(json.dumps(candidate))
        except ValidationError:
            continue
    return None


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """The codec server on the console's database and session secret.

    ``LAWLINK_CODEC_ORIGINS`` lists the origins of the Temporal UI pages allowed to call it
    (CORS with credentials: the browser sends the console's session cookie).
    """
    settings = settings or ConsoleSettings()
    secret = check_production(settings)
    engine = make_engine(settings.database_url)
    sessions = Sessions(engine, secret, settings.session_hours)
    decoder = Decoder(engine, ConfidentialPayloadCodec(load_key()))

    app = FastAPI(title="Lawlink codec server for the Temporal Web UI")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.codec_origin_list,
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=list(UI_HEADERS),
    )

    async def payloads_of(request: Request) -> list[Payload] | JSONResponse:
        try:
            body = await request.json()
            message = ParseDict(body, Payloads())
        except (ValueError, ParseError) as exc:
            return JSONResponse(
                {
                    "field": "payloads",
                    "reason": f"expected protobuf JSON of temporal.api.common.v1.Payloads: {exc}",
                },
                status_code=400,
            )
        return list(message.payloads)

    def answer(payloads: list[Payload]) -> JSONResponse:
        return JSONResponse(MessageToDict(Payloads(payloads=payloads)))

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        """Decoded payloads for an entitled user; ciphertext for everyone else."""
        payloads = await payloads_of(request)
        if isinstance(payloads, JSONResponse):
            return payloads
        user = sessions.load(request.cookies.get(Sessions.COOKIE))
        ip = request.client.host if request.client else None
        return answer(decoder.decode(user, payloads, ip))

    @app.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        """Sealed as Lawlink's clients seal them (input a signed-in user types into the UI)."""
        if sessions.load(request.cookies.get(Sessions.COOKIE)) is None:
            return JSONResponse(
                {"field": Sessions.COOKIE, "reason": "sign in to the console first"}, status_code=401
            )
        payloads = await payloads_of(request)
        if isinstance(payloads, JSONResponse):
            return payloads
        return answer(await decoder.codec.encode(payloads))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def __getattr__(name: str) -> FastAPI:
    """``app`` is built on first use (uvicorn), so importing this module needs no secret."""
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
