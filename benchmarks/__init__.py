"""Benchmarks: ratios against baselines measured in the same run (see benchmarks/__main__.py)."""
