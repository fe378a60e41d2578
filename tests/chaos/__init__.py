"""The chaos harness: a real workload, real faults, invariants checked against ground truth.

Run it as ``python -m tests.chaos --payments N --seed S --duration T`` against the stack of
``make up``. Modules: ``workload`` (what the clients do), ``stack`` (URLs, processes,
consumer lag), ``faults`` and ``killer`` (what goes wrong), ``truth`` (what the world holds
afterwards), ``invariants`` (pure checks of truth against what the clients saw), ``report``.
"""
