"""What every room shares: the domain records, errors, times, project ids and logging."""
