# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## start the service on the embedded SQLite store (var/valmius.sqlite3)
	$(BIN)/valmius serve

test: $(STAMP)  ## the whole suite, PostgreSQL tests included (they fail, never skip, if it is down)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## the write benchmark against PostgreSQL
	$(BIN)/python bench/write_throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache
