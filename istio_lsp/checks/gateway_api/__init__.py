"""Cross-resource checks of the Kubernetes Gateway API (routes, Gateways, ReferenceGrants, GatewayClasses),
each named after the status condition Istio's controller would set."""
