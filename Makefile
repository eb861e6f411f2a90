# hop: make demo (try it on a local broker) and make test (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test test-realdata test-all test-oldest-newest demo docs lint typecheck unit bench tools clean

# pytest exits 5 when it ran no test: for every target here that is a failure, said plainly.
define pytest
$(BIN)/python -m pytest $(1) || { status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make: pytest ran no test ($(or $(1),the whole suite))" >&2; fi; \
	  exit $$status; }
endef

# pyenv's interpreters (versions/3.10.13/bin and so on) go on PATH, where nox looks for
# python3.10 ... python3.13; a Python that is missing fails its nox session.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null)
empty :=
space := $(empty) $(empty)
PYENV_BINS := $(subst $(space),:,$(strip $(wildcard $(PYENV_ROOT)/versions/3.1[0-9].*/bin)))
NOX := PATH="$(if $(PYENV_BINS),$(PYENV_BINS):)$$PATH" $(BIN)/nox

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
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
	$(BIN)/ruff check src tests benchmarks noxfile.py docs_hooks.py
	$(BIN)/ruff format --check src tests benchmarks noxfile.py docs_hooks.py

# The tests are type-checked as strictly as the package.
typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict src tests noxfile.py docs_hooks.py

test: $(VENV)/.installed-test tools lint typecheck
	$(call pytest)

unit: $(VENV)/.installed-test
	$(call pytest,tests/unit)

# The whole suite on every supported Python, each in its own virtualenv under .nox/.
test-all: $(VENV)/.installed-test tools
	$(NOX) -s tests

# The oldest and the newest supported Python (what CI runs besides make test).
test-oldest-newest: $(VENV)/.installed-test tools
	$(NOX) -s tests-3.10 tests-3.13

# The model checks over real-world alerts kept outside the repository.
HOP_SHARED_DATA ?= ../shared/data
test-realdata: $(VENV)/.installed-test
	@if [ ! -d "$(HOP_SHARED_DATA)" ]; then \
	  echo "make test-realdata: the real-world alerts are missing: no folder $(HOP_SHARED_DATA) (set HOP_SHARED_DATA)" >&2; \
	  exit 1; \
	fi
	HOP_SHARED_DATA="$(abspath $(HOP_SHARED_DATA))" $(call pytest,tests/realdata)

# The manual: the user guide (docs/) and the API reference (the docstrings), built strictly
# (a broken link or anchor, a missing page or object, a docstring that does not parse fails)
# into site/, fetching nothing; then every public name must be on its reference page.
# (Not --quiet: it hides the warnings from --strict, which then passes a broken build.)
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	$(BIN)/python -m tests.support.docs_site site

demo: $(VENV)/.installed-local
	$(BIN)/python examples/demo.py

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .nox build dist site src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
