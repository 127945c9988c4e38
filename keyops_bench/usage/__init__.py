"""Evaluation sets for the usage anomaly engine (keyops.usage)."""
