"""Annotations: Istio annotations that are unknown, misplaced, malformed, deprecated or alpha, one module per check."""
