"""The backendRefs of Gateway API routes, and what Istio accepts as one."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.model.resources import GatewayBackendRef, KubernetesRoute, Resource

# (group, kind) of the backends Istio's controller resolves; any other is InvalidKind
SUPPORTED_BACKENDS = frozenset(
    {
        ("", "Service"),
        ("networking.istio.io", "Hostname"),
        ("multicluster.x-k8s.io", "ServiceImport"),
        ("inference.networking.k8s.io", "InferencePool"),
        ("inference.networking.x-k8s.io", "InferencePool"),
        ("gateway.networking.x-k8s.io", "XBackend"),
    }
)


def backends(route: KubernetesRoute) -> Iterator[GatewayBackendRef]:
    for rule in route.rules:
        yield from rule.backends


def target_namespace(referrer: Resource, ref: GatewayBackendRef) -> str:
    return ref.namespace.value if ref.namespace is not None else referrer.namespace


def group_kind(ref: GatewayBackendRef) -> tuple[str, str]:
    return ("" if ref.group == "core" else ref.group, ref.kind)
