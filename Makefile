# Kinfolk: `make run` serves a development instance; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make run` serves plain http on localhost for development; tests and other targets set their own.
RUN_ENV := KINFOLK_PROTOCOL=$${KINFOLK_PROTOCOL:-http} KINFOLK_DOMAIN=$${KINFOLK_DOMAIN:-localhost:8000}

.PHONY: run test lint typecheck install migrate clean compat bench fuzz faults soak lock

# Installs the exact versions of requirements.lock, then the project itself (`make lock` renews it).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Resolve pyproject.toml's dependencies (with the dev extra) anew into requirements.lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/kinfolk migrate

run: $(STAMP)
	$(RUN_ENV) $(BIN)/kinfolk migrate
	$(RUN_ENV) $(BIN)/kinfolk serve

# The suite on every core (pytest-xdist, one module per worker at a time so that a module's
# servers start once), then alone the tests that time themselves (`serial`, tests/conftest.py).
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS)

# Faults survived (tests/faults, docs/reliability.md): real processes killed, a private PostgreSQL
# restarted, a private Redis stopped, the disk filled (a tmpfs: needs root). In CI.
faults: $(STAMP)
	KINFOLK_TEST_FAULTS=1 $(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

# A soak of mixed load on one `kinfolk serve` (bench/soak.py; not in CI): SOAK_MINUTES (30),
# SOAK_DATABASE=sqlite|postgresql. Memory growth, errors and the job queue in docs/reliability.md.
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $${SOAK_MINUTES:-30} --database $${SOAK_DATABASE:-sqlite}

# Mastodon.py's own test suite, live against a fresh server on localhost:3000 (see compat/README.md).
# COMPAT_TESTS="test_instance.py test_auth.py" runs a subset; COMPAT_KEEP=1 leaves the server running;
# COMPAT_RECORD=1 records Kinfolk's responses for compat/shapes.py.
compat: $(STAMP)
	COMPAT_TESTS="$(COMPAT_TESTS)" COMPAT_KEEP="$(COMPAT_KEEP)" COMPAT_RECORD="$(COMPAT_RECORD)" \
		$(BIN)/python compat/run.py

# The benchmark (bench/README-section.md), on 127.0.0.1 only: QUICK=1 for the short run,
# BENCH_SECTIONS=sqlite,servers,postgresql,scaled,media to choose. Installs Debian's wrk when it is
# missing and we may (root with apt-get); otherwise the Python load generator is used.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get install -y -qq wrk >/dev/null 2>&1; } || echo "wrk unavailable: using the Python load generator"
	$(BIN)/python -m bench $(if $(filter 1,$(QUICK)),--quick) $(if $(BENCH_SECTIONS),--sections $(BENCH_SECTIONS))

# Property-based fuzzing (fuzz/README.md): every route with Hypothesis, then Schemathesis with
# Mastodon's OpenAPI description against a live server; no input may get a 5xx. FUZZ_SECONDS,
# FUZZ_EXAMPLES, FUZZ_SEED, FUZZ_ROUTES; OPENAPI_SECONDS (0 skips Schemathesis), OPENAPI_EXAMPLES.
fuzz: $(STAMP)
	$(BIN)/python fuzz/routes.py
	[ "$${OPENAPI_SECONDS:-60}" = 0 ] || $(BIN)/python fuzz/openapi_run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
