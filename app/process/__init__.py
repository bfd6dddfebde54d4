"""A process of the service: settings, start-up checks, the composition root, heartbeats."""
