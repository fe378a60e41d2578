"""Benchmark harness (scripts, not tests: they report figures)."""
