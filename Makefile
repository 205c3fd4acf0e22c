# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test tools bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## start the service on the embedded SQLite store (var/valmius.sqlite3 here, created on the first start)
	$(BIN)/valmius serve

test: $(STAMP) tools  ## the whole suite, PostgreSQL tests included (they fail, never skip, if it is down)
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium (Playwright never downloads a browser here) and the proxy test runs
# Debian's nginx in front of the service: what is missing is installed with apt-get where we may (as root, or with
# sudo that asks no password), otherwise the one command that does is named.
tools:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing=" chromium"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	[ -z "$$missing" ] || { \
	  install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's$$missing for the browser and proxy tests"; sh -c "$$install"; \
	  elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	    echo "installing Debian's$$missing for the browser and proxy tests"; sudo sh -c "$$install"; \
	  else \
	    echo "make test needs$$missing for the browser and proxy tests; install with: sudo apt-get install -y$$missing" >&2; \
	    exit 2; \
	  fi; }

bench: $(STAMP)  ## the write benchmark against PostgreSQL
	$(BIN)/python bench/write_throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache
