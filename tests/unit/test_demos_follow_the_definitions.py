"""The case-transfer demo's scripted paths are paths its process definition allows: each step is
one of the process's, valid in the state the previous one left, and the state the demo waits for
is one the step leads to. A definition changed under the demo fails here, not in front of a
newcomer running ``lawlink demo case-transfer``."""

from __future__ import annotations

import pytest

from contracts.catalog import DEFINITIONS
from services.demos.case_transfer import FORWARD, REVERSE

PATHS = {"case_transfer": FORWARD, "reverse_transfer": REVERSE}


@pytest.mark.parametrize("process_name", sorted(PATHS))
def test_the_demo_walks_a_path_the_definition_allows(process_name: str) -> None:
    process = next(p for p in DEFINITIONS if p.name == process_name)
    state = process.states[0].name
    for name, _changes, waits_for, _note in PATHS[process_name]:
        step = process.step(f"{process_name}.{name}")
        assert step is not None, f"{name} is no step of {process_name}"
        assert state in step.valid_in, f"{name} is not valid in {state}"
        assert waits_for in step.leads_to or waits_for == state, f"{name} cannot lead to {waits_for}"
        state = waits_for
    assert process.state(state) is not None and process.state(state).closed, f"the demo ends in {state}"
