"""What Istio's admission webhook rejects (error) or warns about (warning), one module per rule group."""
