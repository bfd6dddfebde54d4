"""Creates and deletes as durable queued jobs: records, queues, execution, idempotency."""
