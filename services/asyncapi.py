"""The AsyncAPI 3.0 document of Lawlink's bus, for integrators: ``contracts/asyncapi.json``.

Generated from the services' FastStream apps (their subscribers and declared publishers, with
FastStream's own AsyncAPI factory) and completed from the contracts: the apps' handlers take the
raw message (intake reads the body itself to bound and seal it), so the payload models come from
the pydantic contracts, and what AsyncAPI's NATS binding cannot carry (JetStream stream, retention,
de-duplication header and window) is written into each channel's description from the very
stream configurations the services create. ``make schemas`` writes it; a unit test fails when the
committed copy is stale.

Run: ``python -m services.asyncapi``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from faststream.specification import AsyncAPI
from nats.js.api import StreamConfig
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

import contracts
from contracts import subjects
from contracts.domain import DomainEvent
from contracts.envelope import Envelope
from contracts.notifications import Notification
from contracts.validation import Rejection
from services.connections import stream_configs
from services.environ import temporary_environ

OUTPUT = Path(contracts.__file__).parent / "asyncapi.json"
VERSION = "1.0.0"
DESCRIPTION = (
    "Lawlink's NATS JetStream bus. Agencies publish events on lawlink.in.<agency>.<process>.<step> "
    "(JetStream, header Nats-Msg-Id = event_id; each agency's NATS user may publish only its own "
    "subjects and read only _INBOX_<agency>.>), and read refusals on lawlink.rejected.<agency> and "
    "notifications on lawlink.notify.<agency>. Every event type's full schema (the envelope with "
    "that type's payload) is in contracts/schemas/<type>.schema.json; the envelope here is the "
    "common shape. Lawlink's own services consume lawlink.in and lawlink.out."
)
# Channel prefix -> (the model of its messages, the stream that keeps them, the dedup id).
CHANNELS: dict[str, tuple[type[BaseModel], str, str]] = {
    "lawlink.in.": (Envelope, subjects.STREAM_IN, "the event's event_id"),
    "lawlink.out.": (DomainEvent, subjects.STREAM_OUT, "<workflow_id>:<seq> of the domain event"),
    "lawlink.rejected.": (Rejection, "LAWLINK_REJECTED", "rejected:<agency>:<hash of the refused body>"),
    "lawlink.notify.": (Notification, subjects.STREAM_NOTIFY, "the notification_id"),
}


def _documentation_environment() -> contextlib.AbstractContextManager[None]:
    """Settings the apps need to be built (not run): throwaway secrets, restored afterwards."""
    from services.discipline.crypto import generate_key

    return temporary_environ(
        {
            "LAWLINK_ENV": "development",
            "LAWLINK_SERVICE_TOKEN": "documentation-only-token-not-used-anywhere",
            "LAWLINK_CONTENT_KEY": generate_key(),
            "LAWLINK_CREDENTIAL_KEK": generate_key(),
            "NATS_URL": "nats://nats.example:4222",
        }
    )


def _stream_text(config: StreamConfig) -> str:
    window = config.duplicate_window or 0
    within = f"{window / 3600:g} h" if window >= 3600 else f"{window:g} s"
    age = f"kept {config.max_age / 86400:g} days" if config.max_age else "kept without age limit"
    return (
        f"JetStream stream {config.name} (subjects {', '.join(config.subjects or [])}; "
        f"{(config.retention.value if config.retention else 'limits')} retention, {age}; "
        f"file storage; duplicates of one Nats-Msg-Id dropped within {within})."
    )


def _schemas() -> dict[str, Any]:
    """The message models as components, refs pointing into components/schemas."""
    models = [(model, "serialization") for model, _, _ in CHANNELS.values()]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    return top.get("$defs", {})


def build() -> dict[str, Any]:
    """The document as a JSON-ready dict (stable key order, so the committed file diffs well)."""
    from services.intake.app import create_app as intake
    from services.notifier.app import create_app as notifier
    from services.registry.app import create_app as registry

    with _documentation_environment():
        brokers = [create().state.broker for create in (intake, registry, notifier)]
    with warnings.catch_warnings():
        # The registry and the notifier both consume lawlink.out: one channel, as it should be.
        warnings.filterwarnings("ignore", message="Overwrite broker channel", category=RuntimeWarning)
        text = (
            AsyncAPI(
                *brokers,
                title="Lawlink bus (行政执法协同平台消息总线)",
                version=VERSION,
                description=DESCRIPTION,
                schema_version="3.0.0",
            )
            .to_specification()
            .to_json()
        )
    doc: dict[str, Any] = json.loads(text)
    streams = {config.name: config for config in stream_configs()}
    components = doc.setdefault("components", {})
    schemas = {k: v for k, v in components.get("schemas", {}).items() if k != "EmptyPayload"}
    schemas.update(_schemas())
    components["schemas"] = schemas
    for channel in doc.get("channels", {}).values():
        address = channel.get("address", "")
        match = next(((p, c) for p, c in CHANNELS.items() if address.startswith(p)), None)
        if match is None:
            continue
        model, stream, dedup = match[1]
        channel["description"] = " ".join(
            part
            for part in (
                channel.get("description", ""),
                _stream_text(streams[stream]),
                f"Nats-Msg-Id: {dedup}.",
            )
            if part
        )
        for ref in channel.get("messages", {}).values():
            name = unquote(ref["$ref"].rsplit("/", 1)[-1])
            message = components["messages"][name]
            message["payload"] = {"$ref": f"#/components/schemas/{model.__name__}"}
            message.pop("correlationId", None)  # Lawlink correlates by event_id, not a header
            message["headers"] = {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": f"De-duplication id: {dedup}."}
                },
                "required": ["Nats-Msg-Id"],
            }
    return doc


def render() -> str:
    """The file's text."""
    return json.dumps(build(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Write ``contracts/asyncapi.json``."""
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(Path.cwd()) if OUTPUT.is_relative_to(Path.cwd()) else OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
