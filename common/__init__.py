"""Shared plumbing: settings, logging, Kafka and PostgreSQL factories. Nothing domain-specific."""
