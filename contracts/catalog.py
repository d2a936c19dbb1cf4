"""Every event type Lawlink knows, gathered from the process definitions into one lookup.

Each process is one :class:`~contracts.process.Process` value (``DEFINITION`` in its contracts
module); ``DEFINITIONS`` lists them. Its steps are the inbound types (payload model, senders,
valid states) and its domain events what its workflow publishes. Adding a process means adding
its definition to ``DEFINITIONS`` and nothing else here.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import MappingProxyType

from contracts import (
    case_transfer,
    discipline_referral,
    jurisdiction_dispute,
    power_delegation,
    reverse_transfer,
)
from contracts.common import DomainEventSpec, EventSpec
from contracts.domain import COMMON_DOMAIN_EVENTS
from contracts.process import Process

PLUGINS_ENV = "LAWLINK_PROCESS_PLUGINS"
"""Comma-separated packages that each add one process without editing Lawlink: ``<package>.definition``
holds its ``DEFINITION`` (and payload models), ``<package>.workflow`` its ``WORKFLOW`` class. Every
service of a stack must see the same list."""


def plugin_modules(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The packages :data:`PLUGINS_ENV` names, in order."""
    return tuple(name.strip() for name in environ.get(PLUGINS_ENV, "").split(",") if name.strip())


def _plugins() -> tuple[Process, ...]:
    found = []
    for name in plugin_modules():
        definition = getattr(importlib.import_module(f"{name}.definition"), "DEFINITION", None)
        if not isinstance(definition, Process):
            raise ValueError(f"{PLUGINS_ENV}: {name}.definition defines no DEFINITION = Process(...)")
        found.append(definition)
    return tuple(found)


DEFINITIONS: tuple[Process, ...] = (
    case_transfer.DEFINITION,
    jurisdiction_dispute.DEFINITION,
    power_delegation.DEFINITION,
    reverse_transfer.DEFINITION,
    discipline_referral.DEFINITION,
    *_plugins(),
)


def _build_events() -> Mapping[str, EventSpec]:
    specs: dict[str, EventSpec] = {}
    for process in DEFINITIONS:
        for spec in process.steps:
            if spec.type in specs:
                raise ValueError(f"event type {spec.type!r} declared twice")
            if spec.process != process.name:
                raise ValueError(f"{spec.type!r} is a step of {process.name} but routes to {spec.process}")
            specs[spec.type] = spec
    return MappingProxyType(specs)


def _build_domain_events() -> Mapping[str, DomainEventSpec]:
    specs: dict[str, DomainEventSpec] = {s.type: s for s in COMMON_DOMAIN_EVENTS}
    for process in DEFINITIONS:
        for spec in process.domain_events:
            if spec.type in specs:
                raise ValueError(f"domain event type {spec.type!r} declared twice")
            specs[spec.type] = spec
    # Every accepted inbound event is also recorded on lawlink.out as a RECEIVED entry.
    for spec in _build_events().values():
        specs.setdefault(spec.type, DomainEventSpec(spec.type, spec.label_zh, spec.label_en, ("received",)))
    return MappingProxyType(specs)


EVENT_TYPES: Mapping[str, EventSpec] = _build_events()
DOMAIN_EVENT_TYPES: Mapping[str, DomainEventSpec] = _build_domain_events()
BY_NAME: Mapping[str, Process] = MappingProxyType({p.name: p for p in DEFINITIONS})
# Need-to-know processes (DESIGN.md security): the bus carries ids and states only. The set
# holds each such process and the subject prefix of every event feeding it (the hotline's).
CONFIDENTIAL_PROCESSES: frozenset[str] = frozenset(
    name
    for p in DEFINITIONS
    if p.confidential
    for name in (p.name, *(s.type.split(".", 1)[0] for s in p.steps))
)
PROCESSES: tuple[str, ...] = tuple(sorted(BY_NAME))


def definition(process: str) -> Process | None:
    """The definition of ``process``, or None when Lawlink has no such process."""
    return BY_NAME.get(process)


def spec_for(event_type: str) -> EventSpec | None:
    """The spec of an inbound type, or None when Lawlink does not know it."""
    return EVENT_TYPES.get(event_type)


def label(event_type: str, lang: str = "zh") -> str:
    """Human name of any event type (inbound or domain) for timelines; the type itself if unknown."""
    spec = DOMAIN_EVENT_TYPES.get(event_type)
    if spec is None:
        return event_type
    return spec.label_zh if lang == "zh" else spec.label_en
