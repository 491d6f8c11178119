# The two commands of the README:
#   make demo   JupyterLab on copies of the tour notebooks (in demo/, ignored by git);
#               extra JupyterLab flags with LAB_ARGS="--port=8890 --no-browser"
#   make test   lint, type checks and the whole test suite (installs what it needs)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup lint check pytest browser-deps swift-deps pg-deps clean bench-blobs js-lint js-test js-build bench bench-compare bench-server bench-server-split

# The widget's frontend (js/): dependencies pinned by package-lock.json, bundled by esbuild
# into registry_widget/static/ (the wheel's build hook does the same for `pip install`).
JS_STAMP := js/node_modules/.package-lock.json
BUNDLE   := registry_widget/static/widget.js
JS_SRC   := $(wildcard js/src/*.js js/src/*.css js/src/views/*.js) js/build.mjs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# `npm ci` installs exactly what the lock file pins and never rewrites it, so a fresh clone
# stays clean. The lock file lists every platform's optional binaries (esbuild, biome,
# rollup); npm installs only this machine's. After changing package.json, run
# `npm install` in js/ and commit the lock file it writes.
$(JS_STAMP): js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund
	touch $(JS_STAMP)

$(BUNDLE): $(JS_STAMP) $(JS_SRC)
	cd js && npm run build

js-build: $(BUNDLE)

setup: $(STAMP) $(BUNDLE)

# The demo opens copies of the notebooks, so JupyterLab's autosave never touches the tracked
# ones. A copy is refreshed only when its notebook in notebooks/ is newer (your edits stay).
# JupyterLab refuses to start as root without --allow-root (containers, cloud notebooks).
DEMO_DIR  ?= demo
LAB_ARGS  ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
DEMO_NBS  := $(patsubst notebooks/%,$(DEMO_DIR)/%,$(wildcard notebooks/*.ipynb))

$(DEMO_DIR)/%.ipynb: notebooks/%.ipynb
	@mkdir -p $(DEMO_DIR)
	cp $< $@

demo: setup $(DEMO_NBS)
	cd $(DEMO_DIR) && $(abspath $(BIN))/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) 01-quickstart.ipynb

# Debian's Chromium for the real-browser tests (Playwright cannot download a browser here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# OpenStack Swift with its S3 API, which the tests start on loopback as a real object store.
# It lives in a venv of its own: a server (eventlet, pyeclib, lxml…) that the library and
# its users never import. The S3 client (boto3) is in the project venv, from the s3 extra.
SWIFT_VENV  ?= .venv-swift
SWIFT_STAMP := $(SWIFT_VENV)/.installed

$(SWIFT_STAMP):
	$(PYTHON) -m venv $(SWIFT_VENV)
	$(SWIFT_VENV)/bin/python -m pip install --quiet "swift==2.38.3"
	touch $(SWIFT_STAMP)

swift-deps: $(SWIFT_STAMP)

# Debian's PostgreSQL 15 (with contrib), which the tests start themselves on loopback as a
# throwaway server (tests/servers/postgres.py). Installed only when missing, as root; a
# normal user is told what to install.
PG_BIN ?= /usr/lib/postgresql/15/bin

pg-deps:
	@test -x $(PG_BIN)/initdb || { \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "PostgreSQL 15 is missing ($(PG_BIN)/initdb): as root, run" \
	      "'apt-get install postgresql postgresql-contrib', then make again" >&2; \
	    exit 1; \
	  fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq postgresql postgresql-contrib >/dev/null; }

lint: setup js-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/vulture

js-lint: $(JS_STAMP)
	cd js && npm run lint

js-test: $(JS_STAMP)
	cd js && npm test

pytest: setup browser-deps swift-deps pg-deps
	SWIFT_VENV=$(SWIFT_VENV) PG_BIN=$(PG_BIN) $(BIN)/python -m pytest

test: lint js-test pytest

# Benchmarks (BENCHMARKS.md workload): N = 1k and 10k; add BENCH_ARGS=--full for 100k.
# bench-compare also runs MLflow and Trackio, installed once into benchmarks/.peers-venv.
bench: setup
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

bench-compare: setup
	$(BIN)/python -m benchmarks.run --compare $(BENCH_ARGS)

# The team-server workload: a throwaway PostgreSQL (fsync on) on loopback, ours over
# postgresql:// and MLflow's registry on the same server (psycopg2 in the peers' venv).
# N = 1k and 10k for both; BENCH_ARGS="--n 1000 10000 100000" adds 100k for ours.
bench-server: setup pg-deps
	PG_BIN=$(PG_BIN) $(BIN)/python -m benchmarks.run --server $(BENCH_ARGS)

# Where a durable server write's time goes: client CPU and server CPU per log, link and
# log + link, with the row-level security policies and without (a throwaway server).
bench-server-split: setup pg-deps
	PG_BIN=$(PG_BIN) $(BIN)/python -m benchmarks.server_split $(BENCH_ARGS)

# Artifact files: log+download of 1 GiB in one file and of 10,000 small files, folder vs S3
# (a Swift started on loopback for the run).
bench-blobs: setup swift-deps
	SWIFT_VENV=$(SWIFT_VENV) $(BIN)/python -m benchmarks.blobs $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(SWIFT_VENV) .pytest_cache .mypy_cache .ruff_cache js/node_modules registry_widget/static
