# Billing — top Makefile. Each area keeps its targets in mk/<area>.mk, included below;
# fragments may use ROOT, VENV, PY, RUN and SUPERVISORCTL. `make help` lists the targets.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
RUN := $(ROOT)/.run
SUPERVISORCTL := $(ROOT)/infra/supervisor/ctl

export BILLING_ROOT := $(ROOT)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

.PHONY: help venv clean constraints

help:  ## list the targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort -u \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

venv: $(VENV)/.installed  ## the Python venv with the project and its dev tools

# Re-installed whenever pyproject.toml changes; the stamp records the last install.
$(VENV)/.installed: $(ROOT)/pyproject.toml $(ROOT)/constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c '$(ROOT)/constraints.txt' -e '$(ROOT)[dev]'
	@touch $@

constraints:  ## re-pin constraints.txt to what the venv resolved from pyproject.toml
	$(PY) -m pip install -q --disable-pip-version-check -U -e '$(ROOT)[dev]'
	{ echo "# Exact versions the project is tested with (pip install -c constraints.txt -e '.[dev]')."; \
	  echo "# Regenerate after changing pyproject.toml: make constraints"; \
	  $(PY) -m pip freeze --exclude-editable; } > $(ROOT)/constraints.txt

clean:  ## stop the stack and delete its state (.run) and caches; keeps .venv and the jars
	@$(ROOT)/infra/supervisor/stop
	rm -rf $(RUN) $(ROOT)/.pytest_cache $(ROOT)/.mypy_cache $(ROOT)/.ruff_cache
	find $(ROOT) -name __pycache__ -type d -not -path '$(VENV)/*' -prune -exec rm -rf {} +

include $(sort $(wildcard $(ROOT)/mk/*.mk))
