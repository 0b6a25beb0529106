"""Reproducible benchmarks (see ``BENCHMARKS.md``); each script writes JSON to ``results/``."""
