# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## start the service on the embedded SQLite store (var/valmius.sqlite3 here, created on the first start)
	$(BIN)/valmius serve

test: $(STAMP) chromium  ## the whole suite, PostgreSQL tests included (they fail, never skip, if it is down)
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium (Playwright never downloads a browser here): installed with apt-get
# where we may (as root, or with sudo that asks no password), otherwise the one command that does is named.
INSTALL_CHROMIUM := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; $(INSTALL_CHROMIUM); \
	  elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; sudo sh -c '$(INSTALL_CHROMIUM)'; \
	  else \
	    echo "make test needs Chromium for the browser tests; install it with: sudo apt-get install -y chromium" >&2; \
	    exit 2; \
	  fi; }

bench: $(STAMP)  ## the write benchmark against PostgreSQL
	$(BIN)/python bench/write_throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache
