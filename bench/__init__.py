"""Benchmarks: `python -m bench NAME` (see bench/__main__.py); results in docs/benchmarks.md."""
