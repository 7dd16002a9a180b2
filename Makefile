# Two commands for a newcomer: `make run` and `make test`. Both use the git-ignored .venv/.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test venv install install-test lint bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: set up, migrate the SQLite database under instance/, load the demo, serve on 127.0.0.1:5000
run: install
	$(BIN)/flask --app wsgi demo setup --base-url http://$(HOST):$(PORT)
	$(BIN)/flask --app wsgi demo simulate iemdp-demo --participants 600 --waves 3 --seed 1 --unless-simulated --exclude-flagged
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## test: install the test dependencies, lint (ruff check, ruff format --check), run the whole suite
test: install-test lint
	$(BIN)/python -m pytest --durations=30

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: install benchmark extras (semopy) and run the benchmarks
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)
