"""Benchmarks run by `make bench` (see bench_predict.py)."""
