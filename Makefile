# Two commands: `make demo` and `make test`. Everything else here serves them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DOVECOT_PKGS := dovecot-imapd dovecot-lmtpd
BENCH_PKGS := isync
PYTEST_ARGS ?=

.PHONY: all venv servers bench-tools demo test lint bench fuzz soak clean

all: test

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mailtriage needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

# Dovecot is a system package: install it when we can (root + apt-get), otherwise say exactly what to run.
servers:
	@if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Dovecot ($(DOVECOT_PKGS)) for the real-server tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DOVECOT_PKGS) >/dev/null; \
	else \
	  echo "mailtriage: the tests need Dovecot; run: sudo apt-get install -y $(DOVECOT_PKGS)" >&2; exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# pytest exit 5 means "no tests collected": for this suite that is a failure, never a pass.
test: $(STAMP) servers lint
	@$(BIN)/python -m pytest -n auto $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing, failing" >&2; exit 1; fi; \
	exit $$rc

# The demo prefers Dovecot; without it (no root, no apt) it says so and uses the embedded server.
demo: $(STAMP)
	@-$(MAKE) --no-print-directory servers 2>/dev/null || true
	$(BIN)/mailtriage demo

# mbsync (Debian isync) is the reference the sync budgets are measured against.
bench-tools:
	@if command -v mbsync >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing mbsync ($(BENCH_PKGS)) for the sync benchmark"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_PKGS) >/dev/null; \
	else \
	  echo "mailtriage: the benchmark compares with mbsync; run: sudo apt-get install -y $(BENCH_PKGS) (skipping it)" >&2; \
	fi

bench: $(STAMP) servers bench-tools
	$(BIN)/python -m bench

# Long random fuzzing (the suite runs the same tests short and derandomized): docs/faults.md.
FUZZ_EXAMPLES ?= 5000
fuzz: $(STAMP)
	MAILTRIAGE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
		--hypothesis-show-statistics tests/fuzz tests/mime/test_properties.py

# Mail at 10/s for SOAK_MINUTES while two agents claim and reply (bench/soak.py --help).
SOAK_MINUTES ?= 10
soak: $(STAMP) servers
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo
