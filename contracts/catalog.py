"""Every event type Lawlink knows, gathered from the process modules into one lookup.

A process module contributes ``EVENTS`` (inbound types with payload model and allowed senders)
and ``DOMAIN_EVENTS`` (what its workflow publishes). Adding a process means adding its module to
``PROCESS_MODULES`` and nothing else here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType

from contracts import (
    case_transfer,
    discipline_referral,
    hotline,
    jurisdiction_dispute,
    power_delegation,
    reverse_transfer,
)
from contracts.common import DomainEventSpec, EventSpec
from contracts.domain import COMMON_DOMAIN_EVENTS

PROCESS_MODULES: tuple[ModuleType, ...] = (
    case_transfer,
    jurisdiction_dispute,
    power_delegation,
    reverse_transfer,
    discipline_referral,
    hotline,
)


def _build_events() -> Mapping[str, EventSpec]:
    specs: dict[str, EventSpec] = {}
    for module in PROCESS_MODULES:
        for spec in module.EVENTS:
            if spec.type in specs:
                raise ValueError(f"event type {spec.type!r} declared twice")
            specs[spec.type] = spec
    return MappingProxyType(specs)


def _build_domain_events() -> Mapping[str, DomainEventSpec]:
    specs: dict[str, DomainEventSpec] = {s.type: s for s in COMMON_DOMAIN_EVENTS}
    for module in PROCESS_MODULES:
        for spec in getattr(module, "DOMAIN_EVENTS", ()):
            if spec.type in specs:
                raise ValueError(f"domain event type {spec.type!r} declared twice")
            specs[spec.type] = spec
    # Every accepted inbound event is also recorded on lawlink.out as a RECEIVED entry.
    for spec in _build_events().values():
        specs.setdefault(spec.type, DomainEventSpec(spec.type, spec.label_zh, spec.label_en, ("received",)))
    return MappingProxyType(specs)


EVENT_TYPES: Mapping[str, EventSpec] = _build_events()
DOMAIN_EVENT_TYPES: Mapping[str, DomainEventSpec] = _build_domain_events()
# Processes whose content is need-to-know (DESIGN.md security): the bus carries ids and states only.
CONFIDENTIAL_PROCESSES: frozenset[str] = frozenset(
    getattr(m, "PROCESS", "") for m in PROCESS_MODULES if getattr(m, "CONFIDENTIAL", False)
)
PROCESSES: tuple[str, ...] = tuple(sorted({spec.process for spec in EVENT_TYPES.values()}))


def spec_for(event_type: str) -> EventSpec | None:
    """The spec of an inbound type, or None when Lawlink does not know it."""
    return EVENT_TYPES.get(event_type)


def label(event_type: str, lang: str = "zh") -> str:
    """Human name of any event type (inbound or domain) for timelines; the type itself if unknown."""
    spec = DOMAIN_EVENT_TYPES.get(event_type)
    if spec is None:
        return event_type
    return spec.label_zh if lang == "zh" else spec.label_en
