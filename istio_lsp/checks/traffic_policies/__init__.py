"""Traffic policies: what Envoy makes of a DestinationRule's policy for the pods behind it, one module per check."""
