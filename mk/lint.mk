# Lint: ruff (rules and formatting) and mypy, `--strict` on the pure domain and common/.
# `make test` runs it first, so CI fails on a lint error before any test runs.

SOURCE_PACKAGES := domain schemas gateway processors consumers admin_project sandbox common billing_cli bench scripts
STRICT_PACKAGES := common domain

.PHONY: lint fmt

lint: venv  ## ruff check, ruff format --check, mypy (strict on the domain and common/)
	cd $(ROOT) && $(VENV)/bin/ruff check .
	cd $(ROOT) && $(VENV)/bin/ruff format --check .
	@$(MAKE) --no-print-directory -f $(ROOT)/Makefile -j2 --output-sync=target mypy mypy-strict

# The two mypy runs side by side (≈14 s each from a fresh clone, one core each), each with
# its own cache: in one cache the strict run's entries for common/ and domain/ would
# invalidate the other's every time (the options differ).
.PHONY: mypy mypy-strict
mypy: venv
	cd $(ROOT) && $(VENV)/bin/mypy $(SOURCE_PACKAGES)

mypy-strict: venv
	cd $(ROOT) && $(VENV)/bin/mypy --strict --cache-dir .mypy_cache/strict $(STRICT_PACKAGES)

fmt: venv  ## apply ruff's fixes and formatting
	cd $(ROOT) && $(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .
