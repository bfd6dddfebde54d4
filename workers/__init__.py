"""Background workers: the Nova poller, the job runner and the webhook sender."""
