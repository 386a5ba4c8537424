"""Global multi-granularity deduplication and the sampling weights it yields."""
