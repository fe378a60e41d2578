# The long version of tests/integration/processors/test_group_commit.py (its short run, one
# kill point per processor, is in `make test`): group commit killed with SIGKILL at every
# point of a batch (before BEGIN, after the first body, between the journal and COMMIT, after
# COMMIT) in both processors, each restarted; ≈ 1.5–2.5 min.
.PHONY: test-group-kills

test-group-kills:  ## group commit killed at every point of a batch, both processors (long proof)
	@BILLING_SKIP_DEMO=1 $(MAKE) --no-print-directory -f $(ROOT)/Makefile up
	cd $(ROOT) && GROUP_KILLS=all $(PY) -m pytest -p no:cacheprovider -ra \
	  tests/integration/processors/test_group_commit.py
