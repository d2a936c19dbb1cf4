# Lawlink: `make run` brings the whole stack up, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test bench chaos lint install schemas docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lawlink dev

# The full-length outage tests (marker long) run in a second pytest beside the rest.
test: $(STAMP)
	$(BIN)/python -m tests.suite $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m tests.bench $(if $(QUICK),--quick,) $(if $(SHARED_CORES),--shared-cores,)

# Every fault in turn (kill -9 of each process, NATS down 150 s, Temporal frozen 180 s) under a
# load of 1,000 events; prints sent/accepted/lost/duplicated/seconds to converge per fault.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schemas: $(STAMP)
	$(BIN)/python -m contracts.export
	$(BIN)/python -m services.asyncapi

# The rule book a legal officer reviews (contracts/rulebook/), written from the process definitions.
docs: $(STAMP)
	$(BIN)/python -m services.rulebook

clean:
	rm -rf $(VENV) .lawlink
