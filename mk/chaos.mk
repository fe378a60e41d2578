# The long chaos run (docs/chaos-report.md keeps its last report). The short run is a test
# (tests/chaos/test_short_chaos.py) and runs with `make test`.
# Override: make chaos CHAOS_PAYMENTS=... CHAOS_SEED=... CHAOS_DURATION=... CHAOS_ARGS=...

CHAOS_PAYMENTS ?= 5000
CHAOS_SEED ?= 1
CHAOS_DURATION ?= 600
CHAOS_KILLS ?= 60
CHAOS_ARGS ?=

.PHONY: chaos

chaos: up  ## the long chaos run against the stack (≥5,000 payments, ≥50 kills, ≈10 min)
	cd $(ROOT) && $(PY) -m tests.chaos --payments $(CHAOS_PAYMENTS) --seed $(CHAOS_SEED) \
	  --duration $(CHAOS_DURATION) --kills $(CHAOS_KILLS) --concurrency 200 \
	  --report $(ROOT)/docs/chaos-report.md $(CHAOS_ARGS)
