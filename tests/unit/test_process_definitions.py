"""The process definitions are the rules: every workflow refuses a step in a state its
definition does not list, and every step, state and label is complete."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contracts import catalog
from contracts.catalog import DEFINITIONS, EVENT_TYPES
from contracts.common import EventSpec
from contracts.envelope import Envelope
from contracts.process import Clock, Clocks, Process
from contracts.workflow_io import CaseStart
from tests.events import example
from workflows.case_transfer import CaseTransferWorkflow
from workflows.discipline_referral import DisciplineReferralWorkflow
from workflows.jurisdiction_dispute import JurisdictionDisputeWorkflow
from workflows.power_delegation import PowerDelegationWorkflow
from workflows.reverse_transfer import ReverseTransferWorkflow

WORKFLOWS = {
    "case_transfer": CaseTransferWorkflow,
    "reverse_transfer": ReverseTransferWorkflow,
    "jurisdiction_dispute": JurisdictionDisputeWorkflow,
    "discipline_referral": DisciplineReferralWorkflow,
    "power_delegation": PowerDelegationWorkflow,
}


def _cases() -> list[tuple[Process, EventSpec, str]]:
    return [
        (process, step, state.name)
        for process in DEFINITIONS
        for step in process.steps
        for state in process.states
        if state.name not in step.valid_in
    ]


def test_every_workflow_has_a_definition_and_every_step_one_process() -> None:
    assert {p.name for p in DEFINITIONS} == set(WORKFLOWS)
    for process in DEFINITIONS:
        assert process.workflow == WORKFLOWS[process.name].__temporal_workflow_definition.name  # type: ignore[attr-defined]
        assert process.states[0].name == "new", f"{process.name}: the first state is the one before anything"
        for step in process.steps:
            assert EVENT_TYPES[step.type] is step
            assert step.valid_in, f"{step.type} names no state it is valid in"
            assert step.opens == (step.valid_in == {"new"}) or "new" in step.valid_in, step.type


def test_every_state_and_process_is_named_in_both_languages() -> None:
    for process in DEFINITIONS:
        assert process.label_zh and process.label_en and all(process.short_label)
        for state in process.states:
            assert state.label_zh and state.label_en, f"{process.name}.{state.name}"
            assert state.label_zh != state.name, f"{process.name}.{state.name} has no Chinese name"


def test_closed_states_accept_no_step() -> None:
    for process in DEFINITIONS:
        for step in process.steps:
            assert not step.valid_in & process.closed_states, f"{step.type} valid in a closed state"


@pytest.mark.parametrize(
    ("process", "step", "state"),
    _cases(),
    ids=[f"{s.type}@{state}" for _, s, state in _cases()],
)
def test_the_workflow_refuses_a_step_outside_its_defined_states(
    process: Process, step: EventSpec, state: str
) -> None:
    """The workflow, put in ``state``, refuses the step's committed example there."""
    prefix, name = step.type.split(".", 1)
    env = Envelope.model_validate_json(json.dumps(example(prefix, name)))
    workflow = WORKFLOWS[process.name](CaseStart(process=process.name, case_id=env.case_id))
    workflow.s.state = state
    workflow.s.closed = state in process.closed_states
    _, refusal = workflow._check(env)
    assert refusal is not None, f"{step.type} accepted in state {state}"


def test_the_catalog_lists_the_definitions() -> None:
    assert catalog.PROCESSES == tuple(sorted(p.name for p in DEFINITIONS))
    assert catalog.definition("case_transfer") is DEFINITIONS[0]
    assert catalog.definition("nope") is None


@pytest.mark.parametrize("step", [s for p in DEFINITIONS for s in p.steps if s.opens], ids=lambda s: s.type)
def test_an_opening_step_is_accepted_in_the_state_before_anything(step: EventSpec) -> None:
    """The refusal check above can tell acceptance from refusal: each opening example is accepted
    by a fresh case."""
    prefix, name = step.type.split(".", 1)
    env = Envelope.model_validate_json(json.dumps(example(prefix, name)))
    workflow = WORKFLOWS[step.process](CaseStart(process=step.process, case_id=env.case_id))
    assert workflow._check(env) == (step.payload.model_validate(env.payload), None)


def test_every_time_limit_is_started_where_the_definition_says_with_whose_duty_it_is() -> None:
    """A reviewer finds for every limit the outcome that starts it, the party and who is told
    of a breach in the definition (and its rule book), not only in a handler."""
    for process in DEFINITIONS:
        for rule in process.rules:
            assert process.clock(rule.name) is not None, f"{rule.name}: no step or outcome starts it"


def test_every_case_role_a_definition_names_is_one_its_workflow_holds() -> None:
    for process in DEFINITIONS:
        workflow = WORKFLOWS[process.name](CaseStart(process=process.name, case_id="RZ-ROLES-1"))
        named = {r for step in process.steps for r in step.party}
        named |= {
            r
            for clocks in process.clocks.values()
            for clock in clocks.starts
            for r in (clock.party, *clock.escalate_to)
            if r is not None and not (clock.by_handler and r == clock.party)
        }
        for role in sorted(named):
            assert isinstance(workflow.holders(role), tuple), f"{process.name}: {role}"


def test_a_definition_refuses_a_clock_it_cannot_keep() -> None:
    """A clock on no step or outcome, of no rule of the process, or for a role nobody holds is
    refused when the definition is built, naming what is wrong."""
    base = catalog.DEFINITIONS[0]
    rule = base.rules[0].name
    outcome = base.domain_events[0].type
    cases = {
        "which is none of its steps or domain events": {"case_transfer.nothing": Clocks(meets=(rule,))},
        "names unknown time limits": {outcome: Clocks(meets=("case_transfer.no_such_limit",))},
        "names unknown case roles": {outcome: Clocks(starts=(Clock(rule, "nobody_at_all"),))},
    }
    for words, clocks in cases.items():
        with pytest.raises(ValueError, match=words):
            dataclasses.replace(base, clocks=clocks)


async def test_a_handler_cannot_start_a_limit_the_definition_does_not_declare() -> None:
    workflow = CaseTransferWorkflow(CaseStart(process="case_transfer", case_id="RZ-ROLES-2"))
    with pytest.raises(ValueError, match="no outcome of case_transfer starts this time limit"):
        await workflow.start_clock("case_transfer.no_such_limit")
