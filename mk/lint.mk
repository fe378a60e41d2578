# Lint: ruff (rules and formatting) and mypy, `--strict` on the pure domain and common/.
# `make test` runs it first, so CI fails on a lint error before any test runs.

SOURCE_PACKAGES := domain schemas gateway processors consumers admin_project sandbox common billing_cli bench scripts
STRICT_PACKAGES := common domain

.PHONY: lint fmt

lint: venv  ## ruff check, ruff format --check, mypy (strict on the domain and common/)
	cd $(ROOT) && $(VENV)/bin/ruff check .
	cd $(ROOT) && $(VENV)/bin/ruff format --check .
	cd $(ROOT) && $(VENV)/bin/mypy $(SOURCE_PACKAGES)
	cd $(ROOT) && $(VENV)/bin/mypy --strict $(STRICT_PACKAGES)

fmt: venv  ## apply ruff's fixes and formatting
	cd $(ROOT) && $(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .
