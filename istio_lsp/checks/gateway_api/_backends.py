"""The backendRefs of Gateway API routes, what Istio accepts as one, and what the checks say of the Services
they (and mesh routes' parentRefs) name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Severity, close_matches
from istio_lsp.checks.references._evidence import how_sure, same_name_elsewhere
from istio_lsp.findings import Fix, TextEdit
from istio_lsp.index.resolve import HostResolution
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match, service_fqdn
from istio_lsp.model.resources import GatewayBackendRef, KubernetesRoute, Resource, Service
from istio_lsp.syntax import Span

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


def set_port_fixes(uri: str, span: Span, ports: list[int]) -> list[Fix]:
    """ "Set the port to N" when exactly one port is the right one (the Service's, the listener's), else none."""
    if len(ports) != 1:
        return []
    return [Fix(f"Set the port to {ports[0]}", (TextEdit(uri, span, str(ports[0])),), preferred=True)]


def service_ports(services: list[Service]) -> list[int] | None:
    """The distinct ports of the Services (those of one name), sorted; None when some port is not known."""
    ports = [p.port for s in services for p in s.ports]
    if not ports or any(p is None for p in ports):
        return None
    return sorted({p for p in ports if p is not None})


@dataclass(frozen=True)
class MissingService:
    """What a finding about a Service the workspace lacks says: how sure it is and why, the Services of that
    namespace a typing mistake away, and the name as shown (`namespace/name`)."""

    severity: Severity
    why: str
    suggestions: list[str]
    shown: str


def missing_service(ctx: Context, route: KubernetesRoute, name: str, namespace: str) -> MissingService:
    fqdn = service_fqdn(name, namespace, ctx.settings.cluster_domain)
    same_ns = {
        s.name
        for s in ctx.index.of_kind(namespace, "Service")
        if isinstance(s, Service) and namespaces_match(s.namespace, namespace)
    }
    suggestions = close_matches(name, sorted(same_ns))
    elsewhere = same_name_elsewhere(ctx, name, namespace)
    resolution = HostResolution(name, [fqdn], [route.namespace])
    severity, why = how_sure(ctx, resolution, namespace, suggestions, elsewhere, referrer=route.kind)
    shown = name if namespace == ANY_NAMESPACE else f"{namespace}/{name}"
    return MissingService(severity, why, suggestions, shown)
