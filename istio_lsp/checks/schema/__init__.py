"""Structural validation against the JSON Schemas generated from Istio's CRDs."""
