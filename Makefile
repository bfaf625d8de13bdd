# End-to-end checks in a real Airflow deployment (PostgreSQL, api-server, scheduler, dag-processor,
# triggerer) against the vidjobs simulator. See tests/e2e/README.md.
#
#   make e2e                              # uses $(PYTHON) if it has Airflow, else builds $(E2E_VENV)
#   make e2e PYTHON=/path/to/venv/bin/python
#   make e2e E2E_ARGS='-k triggerer'      # extra pytest arguments
#
# The unit suite (`python -m pytest tests`) never collects tests/e2e: its conftest ignores the
# directory unless VIDJOBS_E2E=1, which only this Makefile sets.

PYTHON ?= python3
E2E_VENV ?= .venv
AIRFLOW_VERSION ?= 3.3.2
E2E_ARGS ?=

# The interpreter that runs the deployment: $(PYTHON) when it can import Airflow, else the venv.
E2E_PY := $(shell $(PYTHON) -c "import airflow" >/dev/null 2>&1 && echo $(PYTHON) || echo $(E2E_VENV)/bin/python)

.PHONY: e2e e2e-deps mutate mutate-deps

e2e: e2e-deps
	VIDJOBS_E2E=1 $(E2E_PY) -m pytest tests/e2e -v -p no:cacheprovider $(E2E_ARGS)

# Python side only; PostgreSQL (Debian's package) is installed by the harness itself when missing.
e2e-deps:
	@if [ ! -x "$(E2E_PY)" ] && ! command -v "$(E2E_PY)" >/dev/null; then \
		echo "creating $(E2E_VENV) with apache-airflow==$(AIRFLOW_VERSION)"; \
		$(PYTHON) -m venv $(E2E_VENV) && \
		$(E2E_VENV)/bin/python -m pip install -q --upgrade pip && \
		$(E2E_VENV)/bin/python -m pip install -q "apache-airflow==$(AIRFLOW_VERSION)" -e '.[test]'; \
	fi
	@$(E2E_PY) -c "import airflow_provider_vidjobs, psycopg2, asyncpg" 2>/dev/null || \
		$(E2E_PY) -m pip install -q -e '.[test]' psycopg2-binary asyncpg

# Mutation score of the modules where a silent break costs money, keys or API calls (CONTRIBUTING.md,
# "Mutation score"). One worker; the work happens in copies under .mutation-work/, never in the tree.
#
#   make mutate                  # every module in mutation/modules/
#   make mutate MODULE=polling   # one (or several: MODULE='polling retry')
MUT_VENV ?= .venv-mut
MODULE ?=

mutate: mutate-deps
	$(MUT_VENV)/bin/python mutation/run.py $(MODULE)

mutate-deps:
	@if [ ! -x "$(MUT_VENV)/bin/mutmut" ]; then \
		echo "creating $(MUT_VENV) with apache-airflow==$(AIRFLOW_VERSION) and mutmut"; \
		$(PYTHON) -m venv $(MUT_VENV) && \
		$(MUT_VENV)/bin/python -m pip install -q uv && \
		$(MUT_VENV)/bin/uv pip install -q --python $(MUT_VENV)/bin/python \
			"apache-airflow==$(AIRFLOW_VERSION)" -e '.[mutation]'; \
	fi
