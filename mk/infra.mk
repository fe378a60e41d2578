# Local infrastructure: system packages, Kafka jars, supervisord and everything it runs.
# See README.md ("Running the stack") and infra/kafka/README.md.

KAFKA_LIBS := $(ROOT)/infra/kafka/libs

# The stack's shape (infra/supervisor/render.py): `make up SCALE=2 KAFKA_BROKERS=3` runs two
# instances of every scalable program on a three-node Kafka. Unset: what the running stack
# has, else 1 and 1. `make up PROVIDER_RECEIPTS_REQUIRED=1` (also kept until `make down`)
# makes the sandbox provider a 54-FZ shop that refuses payments and refunds without a receipt;
# `make test PROVIDER_RECEIPTS_REQUIRED=1` runs the whole suite against such a shop.
# Exported only when given: make exports an unset variable as an empty string, which the
# simulators' settings would read as a value.
$(foreach var,SCALE KAFKA_BROKERS PROVIDER_RECEIPTS_REQUIRED,$(if $(value $(var)),$(eval export $(var))))

.PHONY: system-deps kafka-jars up _up down ps logs status

system-deps:  ## apt-get install what the stack needs and the machine lacks (no-op if present)
	@$(ROOT)/infra/bin/system-deps

kafka-jars: $(KAFKA_LIBS)/.copied  ## fetch the Kafka broker and tools jars from Maven Central

# Old jars are removed first: two kafka-clients versions on one class path break the broker.
$(KAFKA_LIBS)/.copied: $(ROOT)/infra/kafka/pom.xml
	rm -rf $(KAFKA_LIBS)
	mvn -q -B -Dstyle.color=never -f $< dependency:copy-dependencies
	@touch $@

up:  ## start the whole stack (idempotent) and wait until it is healthy; SCALE=N KAFKA_BROKERS=3
	@mkdir -p $(RUN)/logs
	@chmod 0755 $(RUN)
	@flock -o $(RUN)/up.lock $(MAKE) --no-print-directory -f $(ROOT)/Makefile _up

_up: system-deps venv kafka-jars
	@$(ROOT)/infra/bin/up

down:  ## stop every process and supervisord
	@$(ROOT)/infra/supervisor/stop

ps:  ## NAME PID of every running process, nothing else (use make -s ps)
	@$(PY) $(ROOT)/infra/supervisor/ps.py

status:  ## supervisorctl status
	@$(SUPERVISORCTL) status || true

logs:  ## follow every log under .run/logs
	@tail -n 20 -F $(RUN)/logs/*.log
