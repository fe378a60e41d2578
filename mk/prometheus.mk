# Prometheus: the supervised server (infra/prometheus/, started by `make up`) and its alert
# rules. `make test` runs alerts-test before the suite.

PROMETHEUS_DIR := $(ROOT)/infra/prometheus

.PHONY: alerts-test prometheus-config

alerts-test: system-deps  ## promtool: check the alert rules and run their unit tests
	promtool check rules $(PROMETHEUS_DIR)/alerts.yml
	cd $(PROMETHEUS_DIR) && promtool test rules alerts_test.yml

prometheus-config: venv  ## print the Prometheus configuration `make up` runs with (SCALE=N aware)
	@cd $(ROOT) && PYTHONPATH=$(ROOT) $(PY) infra/prometheus/render.py
