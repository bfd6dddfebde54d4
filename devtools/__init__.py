"""Development tooling: the ``make run`` launcher, a local redis-server, child processes, and a
client that starts and steers the OpenStack emulator. The product never imports it."""
