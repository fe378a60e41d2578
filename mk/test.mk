# The test suite against real Kafka and PostgreSQL. Unless the caller gives both
# KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, `make test` brings up the whole stack first
# (the end-to-end tests need every process). PYTEST_ARGS adds pytest arguments.

PYTEST_ARGS ?=
PYTEST_FLAGS := -p no:cacheprovider -ra --strict-markers
# When make test brings the stack up itself, a whole-stack test that finds no stack fails
# instead of skipping (tests/chaos/stack.py: stack_missing), so nothing passes by not running.
STACK_REQUIRED := $(if $(and $(KAFKA_BOOTSTRAP_SERVERS),$(DATABASE_URL)),0,1)

# Without PYTEST_ARGS the unit tests (no stack needed) run while the stack starts, each
# one's output printed whole when it ends (--output-sync); then everything else.
SPLIT_UNIT := $(if $(strip $(PYTEST_ARGS)),,1)

.PHONY: test test-stack test-unit

test: lint alerts-test  ## lint, the alert rules (promtool), then the whole test suite (brings the stack up when needed)
ifeq ($(SPLIT_UNIT),1)
	@$(MAKE) --no-print-directory -f $(ROOT)/Makefile -j2 --output-sync=target test-unit test-stack
	@rc=0; cd $(ROOT) && BILLING_STACK_REQUIRED=$(STACK_REQUIRED) $(PY) -m pytest $(PYTEST_FLAGS) --ignore=tests/unit || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc
else
	@$(MAKE) --no-print-directory -f $(ROOT)/Makefile test-stack
	@rc=0; cd $(ROOT) && BILLING_STACK_REQUIRED=$(STACK_REQUIRED) $(PY) -m pytest $(PYTEST_FLAGS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc
endif

test-unit: venv  ## the unit tests alone: no Kafka, PostgreSQL or stack needed
	@cd $(ROOT) && $(PY) -m pytest $(PYTEST_FLAGS) tests/unit

test-stack:
ifeq ($(and $(KAFKA_BOOTSTRAP_SERVERS),$(DATABASE_URL)),)
	@BILLING_SKIP_DEMO=1 $(MAKE) --no-print-directory -f $(ROOT)/Makefile up
else
	@$(MAKE) --no-print-directory -f $(ROOT)/Makefile venv
	@echo "test: using the given KAFKA_BOOTSTRAP_SERVERS=$(KAFKA_BOOTSTRAP_SERVERS) and DATABASE_URL"
endif
