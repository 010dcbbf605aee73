"""Benchmarks (`python -m benchmarks.<name>`), run from a clone; numbers go to docs/benchmarks.md."""
