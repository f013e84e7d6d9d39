"""The worker's `/metrics` for Prometheus: names, counts and times, never values."""
