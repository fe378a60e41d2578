# Benchmarks against the running stack (not part of `make test`); docs/performance.md says
# how to read them. Override: make bench BENCH_FLOWS=... BENCH_CONCURRENCY=... BENCH_ARGS=...
# (BENCH_ARGS=--throughput adds bench.throughput's figures, ≈2 min more).

BENCH_FLOWS ?= 400
BENCH_CONCURRENCY ?= 100
BENCH_ARGS ?=

.PHONY: bench bench-profile bench-compare bench-stack bench-same-key bench-http

bench: bench-stack  ## N full flows through the stack + same-run baselines; JSON in .run/bench/
	cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.stack --flows $(BENCH_FLOWS) \
	  --concurrency $(BENCH_CONCURRENCY) $(BENCH_ARGS)

bench-profile: bench-stack  ## make bench with py-spy on every Python program during the flows
	cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.stack --flows $(BENCH_FLOWS) \
	  --concurrency $(BENCH_CONCURRENCY) --profile $(BENCH_ARGS)

bench-compare:  ## compare the last two runs of make bench (or A=... B=... JSON files)
	@cd $(ROOT) && a="$${A:-$$(ls -1 $(RUN)/bench/*.json | tail -2 | head -1)}"; \
	  b="$${B:-$$(ls -1 $(RUN)/bench/*.json | tail -1)}"; \
	  $(PY) -m bench.stack --compare "$$a" "$$b"

bench-stack:
	@BILLING_SKIP_DEMO=1 $(MAKE) --no-print-directory -f $(ROOT)/Makefile up

bench-same-key:  ## 64 clients, same and distinct Idempotency-Keys, 60 s: 5xx and split groups
	@cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.same_key_load

bench-http:  ## the provider's HTTP client candidates side by side at 50 ms latency (no stack)
	@cd $(ROOT) && $(PY) -m bench.http_clients

BENCH_REPLAY_EVENTS ?= 100000

.PHONY: bench-replay
bench-replay: bench-stack  ## rewind every consumer group to 0 over ≥ N events: msgs/s, zero effects
	cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.replay \
	  --events $(BENCH_REPLAY_EVENTS) $(BENCH_ARGS)

BENCH_IDLE_SECONDS ?= 60

.PHONY: bench-idle
bench-idle:  ## CPU of every program of the running, idle stack over N s (/proc); JSON in .run/bench/
	@cd $(ROOT) && $(PY) -m bench.idle --seconds $(BENCH_IDLE_SECONDS)

BENCH_POST_ARGS ?=
BENCH_POST_CPU_ARGS ?=

.PHONY: bench-post
bench-post:  ## POST /api/v1/payments vs the bare FastAPI + JWT endpoint, same run; CPU ms per POST
	@cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.post $(BENCH_POST_ARGS)

.PHONY: bench-post-cpu
bench-post-cpu:  ## the gateway's own CPU per POST, app called in process (A/B of its code); /proc for PG, Kafka
	@cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -W ignore -m bench.post_inproc $(BENCH_POST_CPU_ARGS)

.PHONY: bench-broker
bench-broker: bench-stack  ## 100 flows: Kafka's and PostgreSQL's CPU, requests, commits, statements per flow
	cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.broker_cost \
	  $(if $(KAFKA_JMX_URL),--jmx-url $(KAFKA_JMX_URL)) $(BENCH_ARGS)
