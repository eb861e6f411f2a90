# hop: make demo (try it on a local broker) and make test (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test test-realdata demo lint typecheck unit bench tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[local]"
	touch $@

# stunnel4 and openssl run the TLS tests; install them from Debian's packages when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
tools:
	@if ! command -v stunnel4 >/dev/null 2>&1 && ! command -v stunnel >/dev/null 2>&1 \
	    || ! command -v openssl >/dev/null 2>&1; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "the TLS tests need stunnel4 (or stunnel) and openssl: install them, then run make test again" >&2; \
	    exit 1; \
	  fi; \
	  echo "installing stunnel4 and openssl for the TLS tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq stunnel4 openssl >/dev/null; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict src

test: $(VENV)/.installed-test tools lint typecheck
	$(BIN)/python -m pytest

unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/unit

# The model checks over real-world alerts kept outside the repository.
HOP_SHARED_DATA ?= ../shared/data
test-realdata: $(VENV)/.installed-test
	@if [ ! -d "$(HOP_SHARED_DATA)" ]; then \
	  echo "make test-realdata: the real-world alerts are missing: no folder $(HOP_SHARED_DATA) (set HOP_SHARED_DATA)" >&2; \
	  exit 1; \
	fi
	HOP_SHARED_DATA="$(abspath $(HOP_SHARED_DATA))" $(BIN)/python -m pytest tests/realdata

demo: $(VENV)/.installed-local
	$(BIN)/python examples/demo.py

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
