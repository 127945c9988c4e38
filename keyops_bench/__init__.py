"""Evaluation generators, scorers and benchmarks: tools, not product (not shipped with keyops)."""
