"""One sub-package per exporter, each with the same module names inside."""
