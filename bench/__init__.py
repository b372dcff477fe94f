"""Benchmarks: ``python -m bench [--quick] [--repeat N] [--check]`` (see :mod:`bench.run`)."""
