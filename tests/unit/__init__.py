"""Unit tests: pure logic, no Redis, no process, no socket."""
