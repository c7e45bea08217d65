"""What the port-protocol rules share: the protocol Istio reads from a Service port, whether a
Service or workload is Istio's own or outside the mesh, and what the files say a port carries."""

from __future__ import annotations

from dataclasses import dataclass

from istio_lsp.checks.base import Fix, TextEdit
from istio_lsp.checks.namespaces import namespace_objects
from istio_lsp.index.resolve import selected_workloads
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Resource, Service, ServicePort, Workload
from istio_lsp.syntax import Span

# Istio's protocol names, by the lowercase word that declares them (a port name's prefix, appProtocol)
PROTOCOLS: dict[str, str] = {
    "http": "HTTP",
    "http2": "HTTP2",
    "https": "HTTPS",
    "grpc": "GRPC",
    "grpc-web": "GRPC-Web",
    "http_proxy": "HTTP_PROXY",
    "tcp": "TCP",
    "tls": "TLS",
    "udp": "UDP",
    "mongo": "Mongo",
    "mysql": "MySQL",
    "redis": "Redis",
}
# appProtocol values of Kubernetes' own that Istio maps (they cannot be port names)
_KUBERNETES_APP_PROTOCOLS = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS"}
# ports whose protocol is TCP when nothing declares one: their servers speak first, sniffing would stall
_SERVER_FIRST_PORTS = frozenset({25, 53, 3306, 27017})
# what an Envoy sidecar does with a port's connections, by declared protocol
_HTTP1 = frozenset({"HTTP", "HTTP_PROXY"})
_HTTP2 = frozenset({"HTTP2", "GRPC", "GRPC-Web"})
# protocols Envoy proxies as opaque bytes: nothing in them (Host header, SNI) tells destinations apart
OPAQUE_TCP = frozenset({"TCP", "Mongo", "MySQL", "Redis"})

# namespaces istioctl never analyses and Istio never injects
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})
_MANAGED_LABEL = "gateway.istio.io/managed"  # Services Istio itself creates for gateways and waypoints


@dataclass(frozen=True)
class Declared:
    """What a Service port declares about its protocol, as Istio reads it."""

    protocol: str | None  # Istio's protocol; None: nothing it recognises (it sniffs the traffic)
    source: str  # "appProtocol", "name", "port number" or "" (nothing)
    unknown: bool = False  # a placeholder: nothing can be said


def declared(port: ServicePort) -> Declared:
    """Istio's reading of a port: appProtocol when set (the name is then not read), else the name's
    prefix before its first `-` (`grpc-web` whole); a server-first port number (25, 53, 3306, 27017)
    is TCP when neither says anything. UDP ports are UDP whatever their name."""
    if (port.protocol or "").upper() == "UDP":
        return Declared("UDP", "protocol")
    app = port.app_protocol
    text = app if app else (port.name or "")
    if is_placeholder(text):
        return Declared(None, "", unknown=True)
    if app and app in _KUBERNETES_APP_PROTOCOLS:
        return Declared(_KUBERNETES_APP_PROTOCOLS[app], "appProtocol")
    found = parse(text)
    if found is not None:
        return Declared(found, "appProtocol" if app else "name")
    if port.port in _SERVER_FIRST_PORTS:
        return Declared("TCP", "port number")
    return Declared(None, "appProtocol" if app else "")


def parse(text: str) -> str | None:
    """The protocol a port name or appProtocol declares by its prefix, None when none."""
    lowered = text.lower()
    if lowered.startswith("grpc-web"):
        return "GRPC-Web"
    return PROTOCOLS.get(lowered.partition("-")[0])


def handling(protocol: str | None) -> str | None:
    """How a sidecar handles a pod port's connections: "HTTP/1.1", "HTTP/2", "TCP" (opaque bytes), or
    "sniffed" (no declared protocol); None for UDP, which Envoy does not proxy."""
    if protocol is None:
        return "sniffed"
    if protocol == "UDP":
        return None
    if protocol in _HTTP1:
        return "HTTP/1.1"
    if protocol in _HTTP2:
        return "HTTP/2"
    return "TCP"


def proxied(port: ServicePort) -> bool:
    """Whether Envoy proxies the port at all (UDP and SCTP it does not)."""
    return (port.protocol or "TCP").upper() not in ("UDP", "SCTP")


def istio_own(service: Resource) -> str | None:
    """Why a Service or workload is Istio's own (its control plane, a gateway or waypoint it manages),
    or in a namespace Istio never injects; None when it is the user's."""
    if service.namespace in SYSTEM_NAMESPACES:
        return f"it is in the system namespace `{service.namespace}`"
    if "istio" in service.labels or service.labels.get("release") == "istio":
        return "it is part of Istio's control plane (label `istio` or `release: istio`)"
    if _MANAGED_LABEL in service.labels:
        return "Istio manages it (label `gateway.istio.io/managed`)"
    return None


def namespace_injection_disabled(index: WorkspaceIndex, namespace: str, near: Resource) -> bool:
    """Whether the workspace's Namespace turns sidecar injection off (`istio-injection: disabled`): the
    Namespaces of that name deployed with `near` if any, else all of them, and every one says so."""
    found = namespace_objects(index, namespace, near)
    return bool(found) and all(r.labels.get("istio-injection") == "disabled" for r in found)


def without_sidecar(index: WorkspaceIndex, workload: Workload) -> bool:
    """Whether the files say the workload's pods get no sidecar: `sidecar.istio.io/inject: "false"`,
    injection disabled on its Namespace (and not asked for by the pod), or a waypoint Istio manages."""
    if workload.labels.get(_MANAGED_LABEL) or workload.namespace in SYSTEM_NAMESPACES:
        return True
    inject = (workload.sidecar_inject or "").strip().lower()
    if inject == "false":
        return True
    return inject != "true" and namespace_injection_disabled(index, workload.namespace, workload)


def workloads_behind(index: WorkspaceIndex, service: Service) -> list[Workload]:
    """The workloads the Service selects, those deployed with it when there are any: copies of an
    application elsewhere in the workspace (other releases, other samples) are not its pods."""
    found = selected_workloads(index, service)
    together = [w for w in found if index.deployed_together(w.uri, service.uri)]
    return together or found


def outside_mesh(index: WorkspaceIndex, service: Service) -> bool:
    """Whether the files say the Service's pods are outside the mesh: every workload behind it has no
    sidecar (there is at least one), or its Namespace disables injection."""
    if namespace_injection_disabled(index, service.namespace, service):
        return True
    workloads = workloads_behind(index, service)
    return bool(workloads) and all(without_sidecar(index, w) for w in workloads)


def copies(index: WorkspaceIndex, resource: Resource) -> list[Resource]:
    """The resource as each build that deploys its file places it (itself when one way).

    A finding some builds have and others not is raised to a warning by the core ("the other
    builds resolve it"); a rule whose findings are information decides on every copy at once."""
    variants = index.variants(resource.uri)
    for variant in variants:
        for position, placed in enumerate(variant.resources):
            if placed is resource:
                return [v.resources[position] for v in variants if position < len(v.resources)]
    return [resource]


# ---- what the files say a port carries ---------------------------------------------


@dataclass(frozen=True)
class Evidence:
    protocol: str  # the lowercase word that declares it (`http`, `grpc`, …)
    what: str  # for messages: "its name `web-http`"


def evident_protocol(index: WorkspaceIndex, service: Service, port: ServicePort) -> Evidence | None:
    """A protocol the files state for a port without declaring it the way Istio reads: a protocol word
    later in its name (`web-http`), a named targetPort (`http`), or the name of the container port
    it leads to in every workload the Service selects. None unless exactly one protocol is stated."""
    found: list[Evidence] = []
    name = port.name or ""
    # a later `tcp` says the transport, not the application protocol (OpenShift names ports `8080-tcp`)
    words = {w for w in name.lower().split("-")[1:] if w in PROTOCOLS and w not in ("tcp", "udp")}
    if len(words) == 1:
        found.append(Evidence(next(iter(words)), f"its name `{name}`"))
    target = (port.target_port or "").strip()
    if target and not target.isdigit() and not is_placeholder(target):
        word = _word(target)
        if word is not None:
            found.append(Evidence(word, f"its targetPort `{target}`"))
    else:
        number = int(target) if target.isdigit() else port.port
        names = _container_port_names(index, service, number)
        if names is not None:
            words = {w for w in (_word(n) for n in names) if w is not None}
            if len(words) == 1 and all(_word(n) is not None for n in names):
                listed = ", ".join(f"`{n}`" for n in sorted(names))
                found.append(Evidence(next(iter(words)), f"the container port {number} it leads to (named {listed})"))
    protocols = {e.protocol for e in found}
    return found[0] if len(protocols) == 1 else None


def _word(name: str) -> str | None:
    """The protocol word a name starts with, as Istio reads port names (`grpc-web` whole)."""
    lowered = name.lower()
    if lowered.startswith("grpc-web"):
        return "grpc-web"
    word = lowered.partition("-")[0]
    return word if word in PROTOCOLS and word != "udp" else None


def _container_port_names(index: WorkspaceIndex, service: Service, number: int | None) -> set[str] | None:
    """The names of container port `number` in the workloads the Service selects, when every one of
    them declares that port with a name; None otherwise."""
    if number is None:
        return None
    workloads = workloads_behind(index, service)
    if not workloads:
        return None
    names: set[str] = set()
    for workload in workloads:
        named = {p.name for p in workload.container_ports if p.number == number and p.name}
        if len(named) != 1:
            return None
        names |= named
    return names


# ---- fixes -------------------------------------------------------------------------

_MAX_PORT_NAME = 15  # a Service port name is an IANA service name: at most 15 characters


def protocol_fixes(uri: str, port: ServicePort, evidence: Evidence, *, rename: bool = True) -> list[Fix]:
    """Set `appProtocol` to the evident protocol (preferred: no name changes, so nothing that refers
    to the port by name breaks), and name the port `<protocol>-<rest>` when appProtocol does not
    hide the name and the new name is a valid port name."""
    word = evidence.protocol
    fixes: list[Fix] = []
    set_app = _set_app_protocol(uri, port, word)
    if set_app is not None:
        fixes.append(Fix(f"Set appProtocol: {word}", (set_app,), preferred=True, safe=False))
    if rename and not port.app_protocol:
        renamed = _rename(uri, port, word)
        if renamed is not None:
            title, edit = renamed
            fixes.append(Fix(title, (edit,), preferred=set_app is None, safe=False))
    return fixes


def _set_app_protocol(uri: str, port: ServicePort, value: str) -> TextEdit | None:
    if port.app_protocol_span is not None:
        return TextEdit(uri, port.app_protocol_span, value)
    return _insert_key(uri, port, "appProtocol", value)


def _insert_key(uri: str, port: ServicePort, key: str, value: str) -> TextEdit | None:
    """`key: value` before the item's first key: on a line of its own in block style (keeping the
    item's indentation), as a first entry in flow style."""
    at = port.first_key_span
    if at is None:
        return None
    start = Span(at.start_line, at.start_char, at.start_line, at.start_char)
    if port.flow:
        return TextEdit(uri, start, f"{key}: {value}, ")
    return TextEdit(uri, start, f"{key}: {value}\n{' ' * at.start_char}")


def _rename(uri: str, port: ServicePort, word: str) -> tuple[str, TextEdit] | None:
    name = port.name or ""
    rest = "-".join(w for w in name.split("-") if w and w.lower() != word)
    new = f"{word}-{rest}" if rest else word
    if len(new) > _MAX_PORT_NAME:
        return None
    if port.name_span is not None:
        return f"Name the port `{new}`", TextEdit(uri, port.name_span, new)
    edit = _insert_key(uri, port, "name", new)
    return (f"Name the port `{new}`", edit) if edit is not None else None
