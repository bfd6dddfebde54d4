"""Component tests: one part of the service against a real Redis server, in the test process."""
