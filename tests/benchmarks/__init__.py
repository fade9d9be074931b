"""Benchmarks of the DeSAM SDK: ``nox -s bench`` (or ``PYTHONPATH=tests python -m benchmarks``).

Every figure is printed next to a reference measured in the same run on the same
machine (a raw generated stub, a constant-answer servicer, ``hashlib``...), and the
ratio between the two is what the goals are stated in. See ``docs/performance.md``.

This is not a test suite: nothing here asserts on time.
"""
