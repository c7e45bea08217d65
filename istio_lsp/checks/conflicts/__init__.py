"""Conflicts: resources that claim the same host, workload, port or certificate as another, one module per check."""
