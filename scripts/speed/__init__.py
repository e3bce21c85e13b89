"""The speed benchmarks behind scripts/bench.py, one module per thing measured."""
