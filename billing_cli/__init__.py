"""`billing`: the operator's command line — replays, dead letters, the reconciler, dev tokens."""
