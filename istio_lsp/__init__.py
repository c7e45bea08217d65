"""istio-lsp: a language server and CI checker for Istio and Kubernetes manifests."""

__version__ = "0.1.0"
