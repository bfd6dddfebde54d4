# Two commands do all set-up: `make run` and `make test`. Both install into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=
# ruff reads no setup.cfg, so its settings live here: pyflakes, pycodestyle, imports, bugbear,
# pyupgrade. mypy's (strict on app and workers) are in setup.cfg.
RUFF := $(BIN)/ruff check --line-length 110 --target-version py311 --select E,F,W,I,B,UP,SIM

.PHONY: install run run-ha test test-fast chaos bench bench-scale lint fmt docs lock clean

install: $(INSTALLED)

# The locked versions (requirements-dev.lock, from setup.cfg by `make lock`), then the package.
$(INSTALLED): setup.cfg pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -c "import devtools.localredis as r; print('redis-server:', r.find_redis_server())"
	touch $@

run: install
	$(BIN)/python -m devtools.devrun

# make run with Redis as a master, a replica and three sentinels: kill $$REDIS_MASTER_PID to fail over.
run-ha: install
	REDIS_HA=1 $(BIN)/python -m devtools.devrun

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The unit and component tiers (no emulator, no processes): well under a minute.
test-fast: install
	$(BIN)/python -m pytest -m "unit or component" $(PYTEST_ARGS)

# Faults on real processes (worker kills, Redis restarts, outages…), about 3 minutes; writes
# docs/chaos.md.
chaos: install
	$(BIN)/python -m devtools.chaos

# Measurements on real processes (bench/), about 25 minutes; writes bench/RESULTS.md.
bench: install
	@command -v wrk >/dev/null || echo "wrk is not on PATH (apt-get install wrk): the load comes from an aiohttp client, which caps the figures and flatters the list ratios"
	$(BIN)/python -m bench

bench-scale: install
	$(BIN)/python -m bench.scale

lint: install
	$(RUFF) app workers emulator devtools tests bench
	$(BIN)/mypy app workers
	$(BIN)/hadolint Dockerfile

# The generated parts of docs/ (the settings table), written anew from the code.
docs: install
	$(BIN)/python -m devtools.docs

fmt: install
	$(RUFF) --fix app workers emulator devtools tests bench

# Refresh the lock files from setup.cfg: requirements.lock (the image) and requirements-dev.lock
# (make install), for every platform.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip compile setup.cfg --universal --python-version 3.11 --no-header -o requirements.lock
	$(BIN)/uv pip compile setup.cfg --universal --python-version 3.11 --no-header --extra dev \
		-o requirements-dev.lock

clean:
	rm -rf $(VENV) .run .pytest_cache .ruff_cache *.egg-info build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
