"""Cross-browser drivers, end-to-end tests and the benchmark of the wasmlm chat page."""
