"""How a Gateway API route attaches to its parents, as Istio's controller decides it: shared by the
parentRef checks, each of which reports one stage (no parent, no listener, refused, no hostname)."""

from __future__ import annotations

from dataclasses import dataclass, field

from istio_lsp.checks.base import Context
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.resources import (
    GatewayListener,
    GatewayParentRef,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    Resource,
)

GATEWAY_GROUP = "gateway.networking.k8s.io"
ISTIO_GROUP = "networking.istio.io"

# the route kinds a listener accepts when `allowedRoutes.kinds` is not written, by protocol
DEFAULT_KINDS: dict[str, tuple[str, ...]] = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute", "TCPRoute"),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}


@dataclass
class Attachment:
    """Where a parentRef stands: `stage` is the first step that fails ("parent", "listener", "allowed",
    "hostname"), "ok" when some listener accepts the route, or "unknown" when the files cannot say."""

    stage: str
    gateways: list[Resource] = field(default_factory=list)
    listeners: list[GatewayListener] = field(default_factory=list)  # those the sectionName/port select
    refusals: list[str] = field(default_factory=list)  # why each selected listener refuses the route


def is_gateway_parent(parent: GatewayParentRef) -> bool:
    return parent.group == GATEWAY_GROUP and parent.kind == "Gateway"


def is_listener_set_parent(parent: GatewayParentRef) -> bool:
    return parent.group in (GATEWAY_GROUP, "gateway.networking.x-k8s.io") and parent.kind in (
        "ListenerSet",
        "XListenerSet",
    )


def is_service_parent(parent: GatewayParentRef) -> bool:
    return parent.group in ("", "core") and parent.kind == "Service"


def parent_namespace(route: Resource, parent: GatewayParentRef) -> str:
    return parent.namespace.value if parent.namespace is not None else route.namespace


def kubernetes_gateways(ctx: Context, namespace: str, name: str) -> list[KubernetesGateway]:
    """Gateway API Gateways `namespace/name` (ANY_NAMESPACE: of that name anywhere)."""
    return [
        r
        for r in ctx.index.named(name)
        if isinstance(r, KubernetesGateway) and namespaces_match(r.namespace, namespace)
    ]


def listener_sets(ctx: Context, namespace: str, name: str) -> list[ListenerSet]:
    return [r for r in ctx.index.named(name) if isinstance(r, ListenerSet) and namespaces_match(r.namespace, namespace)]


def attachment(ctx: Context, route: KubernetesRoute, parent: GatewayParentRef) -> Attachment:
    """Whether a route's Gateway (or ListenerSet) parentRef attaches, and if not, at which step it fails."""
    if parent.name is None:
        return Attachment("unknown")
    namespace = parent_namespace(route, parent)
    name = parent.name.value
    found: list[Resource]
    if is_gateway_parent(parent):
        found = list(kubernetes_gateways(ctx, namespace, name))
    elif is_listener_set_parent(parent):
        found = list(listener_sets(ctx, namespace, name))
    else:
        return Attachment("unknown")
    if not found:
        return Attachment("parent")
    # the same Gateway in several builds (overlays): the route attaches if it attaches to any of them
    return max((_attach_to(ctx, route, parent, owner) for owner in found), key=lambda a: _RANK[a.stage])


_RANK = {"parent": 0, "listener": 1, "allowed": 2, "hostname": 3, "ok": 4, "unknown": 5}


def _attach_to(ctx: Context, route: KubernetesRoute, parent: GatewayParentRef, owner: Resource) -> Attachment:
    listeners = owner.listeners if isinstance(owner, (KubernetesGateway, ListenerSet)) else []
    if not listeners:
        return Attachment("unknown", [owner])
    selected = [
        listener
        for listener in listeners
        if (parent.section_name is None or listener.name == parent.section_name.value)
        and (parent.port is None or listener.port == parent.port)
    ]
    if not selected:
        return Attachment("listener", [owner], list(listeners))
    refusals: list[str] = []
    unknown = False
    allowed: list[GatewayListener] = []
    for listener in selected:
        why = _refusal(ctx, route, owner, listener)
        if why is None:
            allowed.append(listener)
        elif why == "":
            unknown = True
        else:
            refusals.append(why)
    if not allowed:
        return Attachment("unknown" if unknown else "allowed", [owner], selected, refusals)
    hostnames = route.kind in ("HTTPRoute", "GRPCRoute", "TLSRoute") and route.hostnames
    if hostnames and not any(_listener_takes_hosts(listener, route) for listener in allowed):
        return Attachment("hostname", [owner], allowed)
    return Attachment("ok", [owner], allowed)


def _listener_takes_hosts(listener: GatewayListener, route: KubernetesRoute) -> bool:
    if listener.hostname is None or (listener.protocol or "").upper() in ("TCP", "UDP"):
        return True
    return any(hostnames_intersect(h.value, listener.hostname.value) for h in route.hostnames)


def _refusal(ctx: Context, route: KubernetesRoute, owner: Resource, listener: GatewayListener) -> str | None:
    """Why a listener refuses a route (None: it accepts it; "": the files cannot say)."""
    if not kind_allowed(listener, route.kind):
        kinds = ", ".join(k for _, k in listener.allowed_kinds) or ", ".join(supported_kinds(listener) or ())
        return f"listener `{listener.name}` accepts only {kinds or 'no route kind'}"
    return namespace_refusal(ctx, route.namespace, owner.namespace, listener)


def kind_allowed(listener: GatewayListener, route_kind: str) -> bool:
    kind = route_kind.removeprefix("X")
    if listener.allowed_kinds:
        return any(group == GATEWAY_GROUP and k == kind for group, k in listener.allowed_kinds)
    supported = supported_kinds(listener)
    return supported is None or kind in supported


def supported_kinds(listener: GatewayListener) -> tuple[str, ...] | None:
    """The route kinds (of the Gateway API group) a listener's protocol carries in Istio; None for a protocol
    of an extension (not judged). TCPRoutes ride TLS listeners that terminate TLS."""
    protocol = (listener.protocol or "").upper()
    if protocol == "TLS" and (listener.tls_mode or "Terminate") == "Passthrough":
        return ("TLSRoute",)
    return DEFAULT_KINDS.get(protocol)


def namespace_refusal(ctx: Context, route_ns: str, gateway_ns: str, listener: GatewayListener) -> str | None:
    """Whether `allowedRoutes.namespaces` admits routes of `route_ns` (None: yes; "": the files cannot say;
    else the reason it does not)."""
    routes_from = listener.routes_from
    if routes_from == "All":
        return None
    if ANY_NAMESPACE in (route_ns, gateway_ns):
        return ""
    if routes_from == "Same":
        if route_ns == gateway_ns:
            return None
        return (
            f"listener `{listener.name}` accepts routes of its own namespace `{gateway_ns}` only "
            "(allowedRoutes from Same)"
        )
    if routes_from == "Selector":
        admitted = selector_admits(ctx, route_ns, listener.routes_selector)
        if admitted is None or admitted:
            return "" if admitted is None else None
        return (
            f"listener `{listener.name}` selects namespaces labelled {_labels(listener.routes_selector or {})}, and "
            f"`{route_ns}` has no such labels"
        )
    if routes_from == "None":
        return f"listener `{listener.name}` accepts no routes (allowedRoutes from None)"
    return ""


def selector_admits(ctx: Context, namespace: str, selector: dict[str, str] | None) -> bool | None:
    """Whether a namespace selector's matchLabels pick a namespace, by the labels of its Namespace object in
    the workspace (None: the files cannot say: matchExpressions, no Namespace object, several)."""
    if selector is None or namespace == ANY_NAMESPACE:
        return None
    objects = [r for r in ctx.index.named(namespace) if r.kind == "Namespace"]
    if len(objects) != 1:
        # Kubernetes labels every namespace with its name: a selector of that label alone needs no object
        if not objects and selector and set(selector) == {"kubernetes.io/metadata.name"}:
            return selector["kubernetes.io/metadata.name"] == namespace
        return None
    labels = {**objects[0].labels, "kubernetes.io/metadata.name": namespace}
    return all(labels.get(k) == v for k, v in selector.items())


def _labels(selector: dict[str, str]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in selector.items()) or "(any)"


def host_covers(pattern: str, host: str) -> bool:
    """Whether a Gateway API hostname (`*.example.com`: any name with that suffix) covers another."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return pattern == host


def hostnames_intersect(a: str, b: str) -> bool:
    a, b = a.strip().lower(), b.strip().lower()
    return a == b or host_covers(a, b) or host_covers(b, a)


def routes_of(summary_resources: list[Resource]) -> list[KubernetesRoute]:
    return [r for r in summary_resources if isinstance(r, KubernetesRoute)]
