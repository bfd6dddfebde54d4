"""``make bench``: measurements on real processes, written to ``bench/RESULTS.md``."""
