# FaceROC — two commands on a fresh machine (Python 3.11):
#   make run    set up .venv and start the dashboard on the bundled demo
#   make test   set up .venv (+ Debian's chromium and postgresql for their tests), run the linters and every test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test lint setup chromium postgresql bench demo-models clean

# FaceROC is installed into .venv as a package (editable: the checkout's code runs), with its Dask, dev,
# PostgreSQL-store and MLflow extras
$(STAMP): pyproject.toml requirements.txt requirements-dev.txt requirements-dask.txt requirements-postgres.txt requirements-mlflow.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dask,dev,postgres,mlflow]"
	touch $(STAMP)

# the demo's results, computed once so the dashboard's first screen shows its chart at once
DEMO_RESULT := $(VENV)/.demo-result
$(DEMO_RESULT): $(STAMP) $(wildcard faceroc_core/*.py faceroc_core/*/*.py ui/*.py demo/*.toml demo/*.py demo/models/*)
	$(BIN)/python demo/precompute.py || echo "the demo will be computed when the dashboard opens"
	touch $(DEMO_RESULT)

setup: $(STAMP)

run: $(STAMP) $(DEMO_RESULT)
	FACEROC_HISTORY=all $(BIN)/python -m streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser test will be skipped"; }

# the PostgreSQL store's test starts its own server in a temporary folder (initdb, pg_ctl)
postgresql:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the PostgreSQL store's test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	  || echo "could not install postgresql: the PostgreSQL store's test will be skipped"; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP) chromium postgresql lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py

demo-models: $(STAMP)
	$(BIN)/python demo/make_demo_models.py

clean:
	rm -rf $(VENV) .pytest_cache
