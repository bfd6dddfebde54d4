"""The Redis snapshot of every project: its store, the poll that refreshes it, and its reads."""
