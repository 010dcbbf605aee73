"""Local tooling, used from a clone and never installed: the demo, the local control plane, process
supervision, the local Prometheus runner, load generation and the one synthetic-traffic model.

It may import every library; no library imports it (tests/test_architecture.py).
"""
