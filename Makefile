# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   install, then run both pipelines against the WMS simulator into SQLite
#   make test   install, then run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Compile bytecode at install time (uv and Meltano's uv-backed plugin venvs read this): with
# PYTHONDONTWRITEBYTECODE set, as on our machines, every tap/target/meltano start would
# otherwise recompile SQLAlchemy, the SDK and Meltano from source (measured 1.7 -> 0.8 CPU-s
# for `target-oracle --about`, 3.8 -> 1.4 for `meltano --version`).
export UV_COMPILE_BYTECODE := 1
PYTEST_ARGS ?=
SCALE ?= 1000000
# The production-latency profile (benchmarks/production.py): records over the three entities.
PROD_SCALE ?= 200000

.PHONY: install demo test test-e2e lint bench clean

# The project venv: the plugins' code (editable), Meltano, and the test tools. uv makes the
# install (and Meltano's own plugin venvs, venv.backend: uv) take seconds instead of minutes.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $@

# Meltano's plugin venvs (.meltano/), rebuilt when the plugin definitions change.
.meltano/.installed: $(BIN)/.installed meltano.yml plugins/*.meltano.yml
	$(BIN)/meltano install
	touch $@

install: .meltano/.installed

demo: install
	$(BIN)/python scripts/demo.py

test: install
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-e2e: install
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# The CPU-bound steps, then the same pipelines against a simulator charging production latency.
bench: install
	$(BIN)/python -m benchmarks --scale $(SCALE)
	$(BIN)/python -m benchmarks --profile production --scale $(PROD_SCALE)

clean:
	rm -rf $(VENV) .meltano output site
