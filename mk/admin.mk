# The Django admin: demo data, the browser test's Chromium, the changelist benchmark.
# `make up` runs `manage.py migrate` and `manage.py bootstrap`; `admin-seed` adds the demo data.

MANAGE := $(PY) $(ROOT)/admin_project/manage.py

.PHONY: admin-seed admin-bootstrap admin-chromium admin-test admin-bench

admin-bootstrap:  ## collectstatic, superuser ADMIN_USERNAME/ADMIN_PASSWORD, groups support/finance
	@$(MANAGE) bootstrap

admin-seed:  ## fill the database with demo payments over 90 days (skips when already there)
	@if [ "$${BILLING_SKIP_DEMO:-0}" = 1 ]; then echo "admin-seed: skipped (BILLING_SKIP_DEMO=1)"; \
	else $(MANAGE) seed_demo; fi

admin-chromium:  ## install Debian's chromium for the browser test (no-op when present)
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

admin-test:  ## the admin's tests only (Django + browser; the browser test needs `make up`)
	@cd $(ROOT) && $(PY) -m pytest -p no:cacheprovider -ra tests/admin

admin-bench:  ## render the payments changelist over 1,000,000 rows (separate database)
	@cd $(ROOT) && $(PY) -m bench.admin_changelist
