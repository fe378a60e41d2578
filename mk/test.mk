# The test suite against real Kafka and PostgreSQL. Unless the caller gives both
# KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, `make test` brings up the whole stack first
# (the end-to-end tests need every process). PYTEST_ARGS adds pytest arguments.

PYTEST_ARGS ?=
PYTEST_FLAGS := -p no:cacheprovider -ra --strict-markers
# When make test brings the stack up itself, a whole-stack test that finds no stack fails
# instead of skipping (tests/chaos/stack.py: stack_missing), so nothing passes by not running.
STACK_REQUIRED := $(if $(and $(KAFKA_BOOTSTRAP_SERVERS),$(DATABASE_URL)),0,1)

.PHONY: test test-stack

test: lint alerts-test test-stack  ## lint, the alert rules (promtool), then the whole test suite (brings the stack up when needed)
	@rc=0; cd $(ROOT) && BILLING_STACK_REQUIRED=$(STACK_REQUIRED) $(PY) -m pytest $(PYTEST_FLAGS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

test-stack:
ifeq ($(and $(KAFKA_BOOTSTRAP_SERVERS),$(DATABASE_URL)),)
	@BILLING_SKIP_DEMO=1 $(MAKE) --no-print-directory -f $(ROOT)/Makefile up
else
	@$(MAKE) --no-print-directory -f $(ROOT)/Makefile venv
	@echo "test: using the given KAFKA_BOOTSTRAP_SERVERS=$(KAFKA_BOOTSTRAP_SERVERS) and DATABASE_URL"
endif
