# Front door. `make demo` and `make test` each do ALL set-up on a fresh Debian machine:
# the .venv, the servers (Mosquitto from Debian, Kafka jars from Maven Central, influxd built from
# its Go module, cached under ~/.cache/industrial-brain by version), then start them.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
BRAIN := $(BIN)/brain
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

# $(call timed,STEP,COMMAND): run COMMAND and say how long the set-up step took.
timed = start=$$(date +%s); $(2); rc=$$?; echo "[setup] $(1): $$(( $$(date +%s) - start )) s (exit $$rc)"; exit $$rc

.PHONY: help venv servers up down status test unit lint demo bench clean

help:
	@echo "make demo   - set up everything, start the servers and run the demo"
	@echo "make test   - set up everything, start the servers and run the whole test suite"
	@echo "make unit   - the inner loop: ruff and the tests that need no server (a few minutes)"
	@echo "make bench  - run the benchmarks (docs/BENCHMARKS.md)"
	@echo "make up | down | status - the local servers (brain stack ...)"

$(STAMP): pyproject.toml scripts/venv.sh
	@$(call timed,python venv and project install,bash scripts/venv.sh $(VENV) && rm -f $(VENV)/.installed-* && touch $(STAMP))

venv: $(STAMP)

servers: venv
	@$(call timed,servers installed or built (cached by version),$(BRAIN) stack install)

up: servers
	@$(call timed,servers started and healthy,$(BRAIN) stack up)

down:
	@$(BRAIN) stack down

status:
	@$(BRAIN) stack status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint up
	@$(call timed,test suite,$(BIN)/pytest -m "not bench" --durations=15 $(PYTEST_ARGS))
	@echo "The servers are still running (make down stops them)."

# The inner loop: no server is started or needed (tests using one are marked `stack`, tests/conftest.py).
unit: lint
	@$(call timed,unit tests,$(BIN)/pytest -m "not stack and not faults and not bench" -q $(PYTEST_ARGS))

demo: up
	$(BRAIN) demo

bench: up
	$(BIN)/pytest -m bench -p no:randomly -s $(PYTEST_ARGS)

clean: down
	rm -rf .stack .pytest_cache .ruff_cache
