"""What the files say about ambient mode, shared by the ambient checks and the selector checks: whether a
Namespace or a workload's pods run in ambient mode, and which waypoint a Namespace, Service, ServiceEntry
or workload sends its traffic through (`istio.io/use-waypoint`).

Istio reads these labels as follows. A pod is captured by ambient when it or its Namespace carries
`istio.io/dataplane-mode: ambient`, the pod does not opt out with `none`, and it gets no sidecar. A
Namespace, Service, ServiceEntry, pod or WorkloadEntry names its waypoint with `istio.io/use-waypoint`
(a Gateway API Gateway, in its own namespace unless `istio.io/use-waypoint-namespace` says another);
`none` opts out of the Namespace's waypoint. A waypoint serves the traffic its `istio.io/waypoint-for`
label names (on the Gateway, else on its GatewayClass; `service` when neither says).
"""

from __future__ import annotations

from dataclasses import dataclass

from istio_lsp.checks.pods import built_labels
from istio_lsp.checks.ports._protocols import without_sidecar
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.resources import KubernetesGateway, LabelValue, Resource, Workload

DATAPLANE_MODE = "istio.io/dataplane-mode"
AMBIENT = "ambient"
NONE = "none"
REDIRECTION_ENABLED = "enabled"  # `ambient.istio.io/redirection` on a pod the CNI captured
INJECTION = "istio-injection"
REVISION = "istio.io/rev"
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
WAYPOINT_FOR = "istio.io/waypoint-for"
WAYPOINT_CLASS = "istio-waypoint"
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"
GATEWAY_CLASS = "gateway.networking.k8s.io/gateway-class-name"
# the traffic a waypoint can serve (`istio.io/waypoint-for`); `service` when nothing says
TRAFFIC_TYPES = ("service", "workload", "all", "none")
DEFAULT_TRAFFIC = "service"
# the kinds whose `istio.io/use-waypoint` label Istio reads, and the traffic each sends through the waypoint
SERVICE_KINDS = frozenset({"Service", "ServiceEntry"})
WORKLOAD_ENTRY = "WorkloadEntry"


def ambient_namespace(namespace: Resource) -> bool:
    """A Namespace whose pods ambient captures by default: `istio.io/dataplane-mode: ambient`, and no label
    that makes the injector give them sidecars instead."""
    labels = namespace.labels
    if labels.get(INJECTION) == "enabled" or labels.get(REVISION):
        return False
    return labels.get(DATAPLANE_MODE) == AMBIENT


def _asks_for_sidecar(w: Workload) -> bool:
    """The pod asks the injector for a sidecar itself (honoured when its Namespace has no injection label)."""
    return (w.sidecar_inject or "").strip().lower() == "true" or bool(w.pod_labels.get(REVISION))


def injected(index: WorkspaceIndex, w: Workload, namespaces: list[Resource]) -> bool | None:
    """Whether the injector gives the workload's pods a sidecar; None when the files cannot tell (no
    Namespace object, or copies of it that disagree)."""
    if without_sidecar(index, w):
        return False
    if not namespaces:
        return True if _asks_for_sidecar(w) else None
    verdicts = set()
    for namespace in namespaces:
        labels = namespace.labels
        if INJECTION in labels:
            verdicts.add(labels[INJECTION] == "enabled")
        elif labels.get(REVISION):
            verdicts.add(True)
        else:
            verdicts.add(_asks_for_sidecar(w))
    return verdicts.pop() if len(verdicts) == 1 else None


def ambient_mode(index: WorkspaceIndex, w: Workload, namespaces: list[Resource]) -> bool | None:
    """Whether the workload's pods run in ambient mode: True, False, or None when they are labelled for it but
    their Namespace is not in the files (it may enable sidecar injection, which wins)."""
    if (w.ambient_redirection or "").strip() == REDIRECTION_ENABLED:
        return True  # a running pod the CNI captured
    mode = built_labels(index, w).get(DATAPLANE_MODE)
    in_ambient_namespace = bool(namespaces) and all(n.labels.get(DATAPLANE_MODE) == AMBIENT for n in namespaces)
    if mode == "none" or (mode != AMBIENT and not in_ambient_namespace):
        return False
    gets_sidecar = injected(index, w, namespaces)
    return None if gets_sidecar is None else not gets_sidecar


def label(resource: Resource, key: str) -> LabelValue | None:
    """An ambient label the resource carries (a workload's: on its pod template), with where it is written."""
    return next((lv for lv in resource.ambient_labels if lv.key == key), None)


@dataclass(frozen=True)
class WaypointUse:
    """An `istio.io/use-waypoint` label: the waypoint it names, where (`namespace`: ANY_NAMESPACE when the
    labelled object's namespace is only known at deploy time), and the labels as written."""

    name: str
    namespace: str
    use: LabelValue
    namespace_label: LabelValue | None  # `istio.io/use-waypoint-namespace`, when written


def waypoint_use(resource: Resource) -> WaypointUse | None:
    """The waypoint the resource's own label names; None without the label, or with `none` (which opts
    out of its Namespace's waypoint)."""
    use = label(resource, USE_WAYPOINT)
    if use is None or use.value.value.strip() in ("", NONE):
        return None
    other = label(resource, USE_WAYPOINT_NAMESPACE)
    home = resource.name if resource.kind == "Namespace" else resource.namespace
    namespace = other.value.value.strip() if other is not None and other.value.value.strip() else home
    return WaypointUse(use.value.value.strip(), namespace, use, other)


def gateways_named(index: WorkspaceIndex, namespace: str, name: str) -> list[KubernetesGateway]:
    """The Gateway API Gateways `namespace/name` (either side may be ANY_NAMESPACE)."""
    return [
        r for r in index.named(name) if isinstance(r, KubernetesGateway) and namespaces_match(r.namespace, namespace)
    ]


def all_gateways(index: WorkspaceIndex) -> list[KubernetesGateway]:
    """Every Gateway API Gateway of the workspace."""
    key = "ambient_kubernetes_gateways"
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [
            r for r in index.of_kind(ANY_NAMESPACE, "Gateway") if isinstance(r, KubernetesGateway)
        ]
    return list(found)


def traffic_type(index: WorkspaceIndex, gateway: KubernetesGateway) -> tuple[str, Resource | None]:
    """The traffic a waypoint serves (`istio.io/waypoint-for`, as written, lowercased by nobody: Istio
    compares it as is), and the object that says so (the Gateway, its GatewayClass, or None: the default)."""
    own = gateway.labels.get(WAYPOINT_FOR)
    if own is not None:
        return own, gateway
    if gateway.class_name:
        classes = [r for r in index.named(gateway.class_name) if r.kind == "GatewayClass"]
        said = {c.labels[WAYPOINT_FOR] for c in classes if WAYPOINT_FOR in c.labels}
        if len(said) == 1:
            return said.pop(), next(c for c in classes if WAYPOINT_FOR in c.labels)
    return DEFAULT_TRAFFIC, None
