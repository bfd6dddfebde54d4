"""The HTTP handlers: load the request with its schema, call the domain, shape the answer."""
