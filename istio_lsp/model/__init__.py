"""Typed, lenient views of Kubernetes and Istio resources, and Istio's host semantics."""
