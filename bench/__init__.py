"""Benchmarks: the full stack side by side with bare python-socketio, ASGI and Node baselines.

Run with `make bench` (or `make bench-quick`); see docs/performance.md for the method.
"""
