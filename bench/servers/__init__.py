"""Baseline servers for the benchmark, each started as its own process by bench.run."""
