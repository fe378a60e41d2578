# Load runs against the running stack (`make up`); never part of `make test`.

.PHONY: bench-same-key

bench-same-key:  ## 64 clients, same and distinct Idempotency-Keys, 60 s: 5xx and split groups
	@cd $(ROOT) && BILLING_ENV=$${BILLING_ENV:-dev} $(PY) -m bench.same_key_load
