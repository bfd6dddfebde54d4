"""The Cloud Servers API: run OpenStack virtual machines over a small REST API."""
