"""Who may do what: bearer tokens scoped to projects, and the check of a request's project."""
