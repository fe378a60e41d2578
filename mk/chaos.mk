# The long chaos run (docs/chaos-report.md keeps its last report). The short run is a test
# (tests/chaos/test_short_chaos.py) and runs with `make test`.
# Override: make chaos CHAOS_PAYMENTS=... CHAOS_SEED=... CHAOS_DURATION=... CHAOS_ARGS=...
# `make chaos SCALE=2 KAFKA_BROKERS=3` brings the stack up in that shape first; the harness
# then adds the takeover and broker-failure proofs by itself (tests/chaos/takeover.py, brokers.py).

CHAOS_PAYMENTS ?= 5000
CHAOS_SEED ?= 1
CHAOS_DURATION ?= 600
CHAOS_KILLS ?= 60
CHAOS_ARGS ?=
# A run with SCALE or KAFKA_BROKERS keeps its own report; docs/chaos-report.md links to it.
CHAOS_REPORT ?= $(if $(SCALE)$(KAFKA_BROKERS),docs/chaos-report-scale.md,docs/chaos-report.md)

.PHONY: chaos

# The harness reads the stack's settings (tests/chaos/renewals.py), which refuse the dev
# secrets of `make up` unless the profile says dev (common/settings.py): as bench.mk does.
chaos: up  ## the long chaos run against the stack (≥5,000 payments, ≥50 kills, ≈10 min)
	cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m tests.chaos --payments $(CHAOS_PAYMENTS) --seed $(CHAOS_SEED) \
	  --duration $(CHAOS_DURATION) --kills $(CHAOS_KILLS) --concurrency 200 \
	  --report $(ROOT)/$(CHAOS_REPORT) $(CHAOS_ARGS)

# The scale proofs (issue 14): the stack as SCALE=2 KAFKA_BROKERS=3, then one chaos run that
# also kills one instance of each worker (kept down until its work is taken over), each
# broker in turn, and two brokers at once. Too slow for `make test` (a restart of the stack
# in that shape + ≈6 min); `make chaos SCALE=2 KAFKA_BROKERS=3` is the long version.
.PHONY: test-scale

test-scale:  ## the rebalance + broker-failure proofs on `make up SCALE=2 KAFKA_BROKERS=3`
	@BILLING_SKIP_DEMO=1 $(MAKE) --no-print-directory -f $(ROOT)/Makefile up SCALE=2 KAFKA_BROKERS=3
	cd $(ROOT) && $(PY) -m pytest -p no:cacheprovider -ra tests/unit/infra tests/chaos/test_scale_chaos.py

# The long version of tests/stack/test_renewal_kills.py (its short run is in `make test`):
# renewals on a plan of seconds while the scheduler, processor-commands and
# consumer-subscriptions are killed with SIGKILL; one provider charge per (subscription, period).
RENEWAL_KILLS_DURATION ?= 300
RENEWAL_KILLS_USERS ?= 20
RENEWAL_KILLS_KILLS ?= 60
.PHONY: chaos-renewals

chaos-renewals: up  ## SIGKILLs during renewals for RENEWAL_KILLS_DURATION s (≈6 min): one charge per period
	cd $(ROOT) && RENEWAL_KILLS_DURATION=$(RENEWAL_KILLS_DURATION) RENEWAL_KILLS_USERS=$(RENEWAL_KILLS_USERS) \
	  RENEWAL_KILLS_KILLS=$(RENEWAL_KILLS_KILLS) $(PY) -m pytest -p no:cacheprovider -ra \
	  tests/stack/test_renewal_kills.py
