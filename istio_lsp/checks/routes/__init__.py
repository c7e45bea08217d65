"""Route semantics: what Envoy does with a VirtualService's routes, one module per check."""
