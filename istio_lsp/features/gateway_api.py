"""Navigation and hover for the Kubernetes Gateway API kinds (Gateway, ListenerSet, the routes).

- a route's `parentRefs[].name` (a ListenerSet's `parentRef.name`) → the Gateway or ListenerSet
  it names (a Service for a mesh route); its `sectionName` → that listener, its `port` → the
  listeners on that port;
- a `backendRefs[].name` → the Service (or the ServiceEntry that registers the name; for a
  `Hostname` backend, the ServiceEntry hosts), its `port` → the Service's port;
- references of a Gateway API Gateway (its name) → the parentRefs naming it, of a listener
  (its `name`) → the `sectionName`s selecting it. Istio's `networking.istio.io` Gateways are
  other objects: their references (VirtualService `gateways`) never mix with these;
- hover on a listener → the routes attached to it and those refused, with the reason; on a
  parentRef → which listeners accept the route, or why none does.

Attachment is decided by the checks' own logic (`checks/gateway_api/_attach.py`), so a hover
says what the findings say.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from istio_lsp.checks.base import Context
from istio_lsp.checks.gateway_api._attach import (
    attachment,
    is_gateway_parent,
    is_listener_set_parent,
    is_service_parent,
    kubernetes_gateways,
    listener_sets,
    parent_namespace,
)
from istio_lsp.checks.gateway_api._backends import group_kind, target_namespace
from istio_lsp.features.locate import (
    BACKEND_NAME,
    BACKEND_PORT,
    LISTENER_NAME,
    PARENT_NAME,
    PARENT_PORT,
    RESOURCE_NAME,
    SECTION_NAME,
    Located,
    Site,
    locate,
    resource_at,
    unique_sites,
)
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import stand_in_referrer
from istio_lsp.index.summary import digest_of
from istio_lsp.model.hosts import ANY_NAMESPACE, host_candidates, host_matches, namespaces_match, service_fqdn
from istio_lsp.model.resources import (
    GatewayBackendRef,
    GatewayListener,
    GatewayParentRef,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    Ref,
    Resource,
    Service,
    ServiceEntry,
)
from istio_lsp.routing.engine import follow_destination
from istio_lsp.routing.render import path_summary
from istio_lsp.syntax import Span

Owner = KubernetesGateway | ListenerSet  # what holds listeners
MAX_LISTED = 20


# ---- what a reference names ---------------------------------------------------------


def parents_named(index: WorkspaceIndex, referrer: Resource, parent: GatewayParentRef) -> list[Resource]:
    """The Gateways, ListenerSets or (mesh routes) Services a parentRef names, found as the checks find them."""
    if parent.name is None:
        return []
    namespace = parent_namespace(referrer, parent)
    name = parent.name.value
    if is_gateway_parent(parent):
        return list(kubernetes_gateways(Context(index), namespace, name))
    if is_listener_set_parent(parent):
        return list(listener_sets(Context(index), namespace, name))
    if is_service_parent(parent):
        return [r for r in index.named(name) if isinstance(r, Service) and namespaces_match(r.namespace, namespace)]
    return []


def selected_listeners(owner: Resource, parent: GatewayParentRef) -> list[GatewayListener]:
    """The listeners of a Gateway or ListenerSet a parentRef's `sectionName` and `port` select."""
    if not isinstance(owner, (KubernetesGateway, ListenerSet)):
        return []
    return [
        listener
        for listener in owner.listeners
        if (parent.section_name is None or listener.name == parent.section_name.value)
        and (parent.port is None or listener.port == parent.port)
    ]


def backend_targets(index: WorkspaceIndex, route: KubernetesRoute, ref: GatewayBackendRef) -> list[Resource]:
    """The Services (and ServiceEntries) a backendRef resolves to, as the BackendNotFound check reads it."""
    candidates = _backend_candidates(index, route, ref)
    return [*index.services_for(candidates), *index.service_entries_for(candidates)]


def _backend_candidates(index: WorkspaceIndex, route: KubernetesRoute, ref: GatewayBackendRef) -> list[str]:
    """The host names a backendRef may be: a Service's (in its namespace), or a `Hostname` as written."""
    if ref.name is None:
        return []
    domain = index.settings.cluster_domain
    group_and_kind = group_kind(ref)
    if group_and_kind == ("", "Service"):
        return [service_fqdn(ref.name.value, target_namespace(route, ref), domain)]
    if group_and_kind == ("networking.istio.io", "Hostname"):
        return host_candidates(ref.name.value, route.namespace, domain)
    return []


def service_refs(index: WorkspaceIndex, route: KubernetesRoute, fqdns: list[str]) -> list[Site]:
    """A route's backendRefs and mesh parentRefs that name one of some Services (or hosts)."""
    wanted = {f.strip().lower() for f in fqdns}
    domain = index.settings.cluster_domain
    found: list[Site] = []
    for rule in route.rules:
        for ref in rule.backends:
            if ref.name is not None and wanted.intersection(_backend_candidates(index, route, ref)):
                found.append(Site(route.uri, ref.name.span, route, ref.name))
    for parent in route.parents:
        if is_service_parent(parent) and parent.name is not None:
            fqdn = service_fqdn(parent.name.value, parent_namespace(route, parent), domain)
            if fqdn in wanted:
                found.append(Site(route.uri, parent.name.span, route, parent.name))
    return found


def service_patterns(index: WorkspaceIndex, located: Located) -> list[str] | None:
    """The host names of what a backendRef or a mesh parentRef names, for finding its references."""
    r = located.resource
    if not isinstance(r, KubernetesRoute):
        return None
    if located.what == BACKEND_NAME and located.backend is not None:
        return _backend_candidates(index, r, located.backend) or None
    parent = located.parent
    if located.what == PARENT_NAME and parent is not None and parent.name is not None and is_service_parent(parent):
        return [service_fqdn(parent.name.value, parent_namespace(r, parent), index.settings.cluster_domain)]
    return None


# ---- definition -------------------------------------------------------------------------


def definition_sites(index: WorkspaceIndex, located: Located) -> list[Site] | None:
    """Where a Gateway API reference leads; None when the position is not one."""
    r = located.resource
    what = located.what
    parent = located.parent
    if what == PARENT_NAME and parent is not None:
        return unique_sites(Site(p.uri, p.name_span, p) for p in parents_named(index, r, parent))
    if what in (SECTION_NAME, PARENT_PORT) and parent is not None:
        owners = parents_named(index, r, parent)
        return unique_sites(
            [
                *(
                    _listener_site(o, listener, what == PARENT_PORT)
                    for o in owners
                    for listener in selected_listeners(o, parent)
                ),
                *_port_sites(
                    [o for o in owners if isinstance(o, Service)], parent.port if what == PARENT_PORT else None
                ),
            ]
        )
    if what == BACKEND_NAME and located.backend is not None and isinstance(r, KubernetesRoute):
        candidates = _backend_candidates(index, r, located.backend)
        sites: list[Site] = []
        for target in backend_targets(index, r, located.backend):
            if isinstance(target, ServiceEntry):
                hosts = [h for h in target.hosts if any(host_matches(h.value.strip().lower(), c) for c in candidates)]
                sites.extend(Site(target.uri, h.span, target, h) for h in hosts)
                if not hosts:
                    sites.append(Site(target.uri, target.name_span, target))
            else:
                sites.append(Site(target.uri, target.name_span, target))
        return unique_sites(sites)
    if what == BACKEND_PORT and located.backend is not None and isinstance(r, KubernetesRoute):
        services = [s for s in backend_targets(index, r, located.backend) if isinstance(s, Service)]
        return unique_sites(_port_sites(services, located.backend.port))
    if what == LISTENER_NAME:
        return [located.site()]
    return None


def _port_sites(services: list[Service], number: int | None) -> list[Site]:
    return [
        Site(s.uri, p.span or s.name_span, s)
        for s in services
        for p in s.ports
        if number is not None and p.port == number
    ]


def _listener_site(owner: Resource, listener: GatewayListener, port: bool) -> Site:
    span = (listener.port_span if port else listener.name_span) or listener.name_span or listener.span
    return Site(owner.uri, span or owner.name_span, owner)


# ---- references -------------------------------------------------------------------------


@dataclass
class Uses:
    """A Gateway API Gateway, ListenerSet or listener: where it is declared, and the refs naming it."""

    declarations: list[Site]
    references: list[Site]


def owner_of(index: WorkspaceIndex, located: Located) -> tuple[Owner, GatewayListener | None] | None:
    """The Gateway or ListenerSet (and listener) a position names: its declaration, or a reference to it
    that resolves to exactly one."""
    r = located.resource
    if located.what == RESOURCE_NAME and isinstance(r, (KubernetesGateway, ListenerSet)):
        return r, None
    if located.what == LISTENER_NAME and isinstance(r, (KubernetesGateway, ListenerSet)) and located.listener:
        return r, located.listener
    parent = located.parent
    if parent is None or located.what not in (PARENT_NAME, SECTION_NAME):
        return None
    owners = [o for o in parents_named(index, r, parent) if isinstance(o, (KubernetesGateway, ListenerSet))]
    if len(owners) != 1:
        return None
    if located.what == PARENT_NAME:
        return owners[0], None
    listeners = selected_listeners(owners[0], parent)
    return (owners[0], listeners[0]) if len(listeners) == 1 else None


def uses(index: WorkspaceIndex, owner: Owner, listener: GatewayListener | None = None) -> Uses:
    """The parentRefs naming a Gateway (or ListenerSet), or the `sectionName`s naming one of its listeners."""
    if listener is None:
        declarations = [Site(owner.uri, owner.name_span, owner)]
    else:
        span = listener.name_span or listener.span or owner.name_span
        declarations = [Site(owner.uri, span, owner, Ref(listener.name or "", span))]
    found: list[Site] = []
    for referrer, parent in referring_parents(index, owner):
        if listener is None and parent.name is not None:
            found.append(Site(referrer.uri, parent.name.span, referrer, parent.name))
        elif listener is not None and parent.section_name is not None and parent.section_name.value == listener.name:
            found.append(Site(referrer.uri, parent.section_name.span, referrer, parent.section_name))
    return Uses(declarations, unique_sites(found))


def referring_parents(index: WorkspaceIndex, owner: Owner) -> list[tuple[Resource, GatewayParentRef]]:
    """(route or ListenerSet, parentRef) for each parentRef naming a Gateway or ListenerSet."""
    kind_matches = is_gateway_parent if isinstance(owner, KubernetesGateway) else is_listener_set_parent
    uris = index.readers([f"gw:{owner.namespace}/{owner.name}"])
    found: list[tuple[Resource, GatewayParentRef]] = []
    for uri in sorted(uris):
        for resource in index.resources_in(uri):
            if isinstance(resource, KubernetesRoute):
                parents = list(resource.parents)
            elif isinstance(resource, ListenerSet) and resource.parent is not None:
                parents = [resource.parent]
            else:
                continue  # a VirtualService names Istio's Gateways, never these
            for parent in parents:
                if (
                    parent.name is not None
                    and parent.name.value == owner.name
                    and kind_matches(parent)
                    and namespaces_match(parent_namespace(resource, parent), owner.namespace)
                ):
                    found.append((resource, parent))
    return found


# ---- hover --------------------------------------------------------------------------------


@dataclass
class Verdict:
    route: KubernetesRoute
    parent: GatewayParentRef
    listener: GatewayListener
    accepted: bool | None  # None: the files cannot say
    reason: str = ""


def verdict(
    index: WorkspaceIndex, route: KubernetesRoute, parent: GatewayParentRef, listener: GatewayListener
) -> Verdict:
    """Whether one listener accepts a route through one of its parentRefs, decided by the checks' logic on the
    parentRef narrowed to that listener."""
    narrowed = replace(parent, section_name=Ref(listener.name or "", parent.span), port=None)
    found = attachment(Context(index), route, narrowed)
    if found.stage == "ok":
        return Verdict(route, parent, listener, True)
    if found.stage == "allowed":
        return Verdict(route, parent, listener, False, "; ".join(found.refusals) or "refused")
    if found.stage == "hostname":
        shown = ", ".join(f"`{h.value}`" for h in route.hostnames)
        written = f"`{listener.hostname.value}`" if listener.hostname is not None else "any"
        return Verdict(
            route, parent, listener, False, f"no route hostname ({shown}) matches the listener's hostname {written}"
        )
    return Verdict(
        route, parent, listener, None, "the files cannot say (a namespace known only at deploy, a selector not judged)"
    )


def listener_markdown(index: WorkspaceIndex, owner: Owner, listener: GatewayListener) -> str:
    """The routes a listener takes, and those it refuses with the reason."""
    head = f"**listener {listener.name}** of {owner.display}: {_describe(listener)}"
    verdicts = [
        verdict(index, route, parent, listener)
        for route, parent in referring_parents(index, owner)
        if isinstance(route, KubernetesRoute) and listener in selected_listeners(owner, parent)
    ]
    if not verdicts:
        return f"{head}\n\nNo route in the workspace attaches to it."
    lines = [head, ""]
    for v in verdicts[:MAX_LISTED]:
        if v.accepted:
            lines.append(f"- attached: {v.route.display}")
        elif v.accepted is False:
            lines.append(f"- **refused**: {v.route.display}: {v.reason}")
        else:
            lines.append(f"- maybe: {v.route.display}: {v.reason}")
    if len(verdicts) > MAX_LISTED:
        lines.append(f"- … and {len(verdicts) - MAX_LISTED} more")
    return "\n".join(lines)


def parent_markdown(index: WorkspaceIndex, route: KubernetesRoute, parent: GatewayParentRef) -> str | None:
    """Which listeners of the parent accept a route, or why none does."""
    if parent.name is None:
        return None
    namespace = parent_namespace(route, parent)
    shown = parent.name.value if namespace == ANY_NAMESPACE else f"{namespace}/{parent.name.value}"
    if is_service_parent(parent):
        services = parents_named(index, route, parent)
        where = "declared in the workspace" if services else "**not declared in the workspace**"
        return f"**Service {shown}** (mesh route: the route applies to traffic sent to it) · {where}"
    if not (is_gateway_parent(parent) or is_listener_set_parent(parent)):
        return None
    owners = parents_named(index, route, parent)
    label = "ListenerSet" if is_listener_set_parent(parent) else "Gateway"
    if not owners:
        return f"**{label} {shown}**: not declared in the workspace (NoMatchingParent)."
    lines = [f"**{label} {shown}** (Gateway API)", ""]
    for owner in owners:
        selected = selected_listeners(owner, parent)
        if not selected:
            listed = ", ".join(f"`{x.name}` ({x.port})" for x in getattr(owner, "listeners", []))
            lines.append(
                f"- no listener matches this sectionName/port (NoMatchingParent); listeners: {listed or 'none'}"
            )
            continue
        for listener in selected:
            v = verdict(index, route, parent, listener)
            state = "accepts" if v.accepted else "**refuses**" if v.accepted is False else "may accept"
            why = f": {v.reason}" if v.reason else ""
            lines.append(f"- listener `{listener.name}` ({_describe(listener)}) {state} this route{why}")
    return "\n".join(lines)


def _describe(listener: GatewayListener) -> str:
    host = f" · {listener.hostname.value}" if listener.hostname is not None else ""
    return f"{listener.protocol or '?'} {listener.port if listener.port is not None else '?'}{host}"


def hover_markdown(index: WorkspaceIndex, uri: str, text: str, line: int, character: int) -> str | None:
    """Hover on a listener (its item's first line or its name) or a route's parentRef, when the index holds
    this text (else its positions would be stale)."""
    summary = index.files.get(uri)
    if summary is None or summary.digest != digest_of(text):
        return None
    r = resource_at(index, uri, line, character)
    located = locate(index, uri, line, character)
    if isinstance(r, (KubernetesGateway, ListenerSet)):
        for listener in r.listeners:
            name_line = listener.name_span.start_line if listener.name_span else None
            if listener.span is not None and _on_item(listener.span, line, character, name_line):
                return listener_markdown(index, r, listener)
    if isinstance(r, KubernetesRoute):
        for parent in r.parents:
            on_ref = located is not None and located.parent is parent
            if on_ref or _on_item(parent.span, line, character, None):
                return parent_markdown(index, r, parent)
        for rule in r.rules:
            for ref in rule.backends:
                name_line = ref.name.span.start_line if ref.name is not None else None
                if _on_item(ref.span, line, character, name_line):
                    return backend_markdown(index, r, ref)
    return None


def backend_markdown(index: WorkspaceIndex, route: KubernetesRoute, ref: GatewayBackendRef) -> str | None:
    """Where a Service backend leads, as the routing engine follows it: DestinationRule, traffic policy
    and pods, or what answers 500 (the same steps as `istio-lsp trace`)."""
    namespace = target_namespace(route, ref)
    if group_kind(ref) != ("", "Service") or ref.name is None or namespace == ANY_NAMESPACE:
        return None
    fqdn = service_fqdn(ref.name.value, namespace, index.settings.cluster_domain)
    _, steps = follow_destination(
        index, stand_in_referrer(route.namespace, route), fqdn, None, ref.port, missing_code=500
    )
    port = f":{ref.port}" if ref.port is not None else ""
    path = path_summary(steps)
    head = f"**backend** `{fqdn}{port}`"
    return head if path is None else f"{head}\n\n**Path** → {path}"


def _on_item(span: Span, line: int, character: int, name_line: int | None) -> bool:
    """Whether a position is on a list item's first line (its `- ` too) or on its name's line."""
    if line not in (span.start_line, name_line):
        return False
    return span.contains(line, character) or (line == span.start_line and character < span.start_char)


# ---- completion ------------------------------------------------------------------------------


def parent_candidates(index: WorkspaceIndex, namespace: str, kind: str) -> list[Resource]:
    """What a parentRef of `kind` (Gateway when not written) in a namespace may name (ANY_NAMESPACE: any)."""
    if kind == "Service":
        return [r for r in index.of_kind(namespace, "Service") if isinstance(r, Service)]
    if kind in ("ListenerSet", "XListenerSet"):
        return [
            r
            for k in ("ListenerSet", "XListenerSet")
            for r in index.of_kind(namespace, k)
            if isinstance(r, ListenerSet)
        ]
    return [r for r in index.of_kind(namespace, "Gateway") if isinstance(r, KubernetesGateway)]


def backend_candidates(index: WorkspaceIndex, namespace: str) -> list[Resource]:
    """The Services of a namespace and the ServiceEntries a `Hostname` backend may name."""
    services = [r for r in index.of_kind(namespace, "Service") if isinstance(r, Service)]
    entries = [r for r in index.of_kind(ANY_NAMESPACE, "ServiceEntry") if isinstance(r, ServiceEntry)]
    return [*services, *entries]
