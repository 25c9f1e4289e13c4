"""The benchmark: `python -m bench.run` (see the README's Performance section)."""
