"""Composed YAML documents → typed resources. Lenient: wrong shapes are skipped, never raised."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence

from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import has_placeholder_text
from istio_lsp.model.resources import (
    CLUSTER_SCOPED_KINDS,
    ISTIO_KINDS,
    WORKLOAD_KINDS,
    Container,
    ContainerPort,
    Delegate,
    Destination,
    DestinationRule,
    EnvoyFilter,
    EnvoyPatch,
    Gateway,
    GatewayBackendRef,
    GatewayClass,
    GatewayListener,
    GatewayParentRef,
    GatewayServer,
    HttpRule,
    JwtKeySource,
    KubernetesGateway,
    KubernetesRoute,
    KubernetesRouteRule,
    LabelValue,
    ListenerSet,
    MeshConfigSource,
    OutlierPolicy,
    PolicyTargetRef,
    PortSetting,
    ProviderUse,
    Ref,
    ReferenceGrant,
    Resource,
    RouteRule,
    RuleValue,
    Scaler,
    SelectorPolicy,
    Service,
    ServiceEntry,
    ServiceEntryEndpoint,
    ServiceEntryPort,
    ServicePort,
    Subset,
    TlsMode,
    VirtualService,
    Workload,
    WorkloadEntry,
    WorkloadGroup,
)
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode, Span, YamlDocument
from istio_lsp.syntax.nodes import get, integer, is_null, is_plain, items, key_node, pairs, path, scalar, string_map
from istio_lsp.syntax.parser import parse_document

MAX_DEPTH = 10_000
# istioctl's annotation that silences analyzer messages on one resource
SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress"


def resources_of(doc: YamlDocument, uri: str) -> list[Resource]:
    """Every resource a document holds: itself, or the items of a `kind: List`."""
    return [resource for resource, _ in resource_nodes(doc, uri)]


def resource_nodes(doc: YamlDocument, uri: str) -> list[tuple[Resource, MappingNode]]:
    """Each resource of a document with the mapping node it was read from."""
    root = doc.root
    if not isinstance(root, MappingNode):
        return []
    kind = scalar(get(root, "kind")) or ""
    listed = get(root, "items")
    nodes = items(listed) if kind.endswith("List") and isinstance(listed, SequenceNode) else [root]
    out: list[tuple[Resource, MappingNode]] = []
    for node in nodes:
        resource = _resource(doc, node, uri)
        if resource is not None and isinstance(node, MappingNode):
            out.append((resource, node))
    return out


def _last_node(node: Node) -> Node:
    """The node whose text ends a block collection (libyaml ends blocks at the next token).

    Children are in text order, so the last character belongs to the last child of
    the last child...: a walk down one path, not over the whole tree.
    """
    for _ in range(MAX_DEPTH):
        if not isinstance(node, (MappingNode, SequenceNode)) or node.flow_style or not node.value:
            return node
        last = node.value[-1]
        if isinstance(last, tuple):
            key, value = last
            # `key:` with nothing after it: the empty scalar sits at the next token, past the key
            empty = isinstance(value, ScalarNode) and value.value == "" and is_plain(value)
            node = key if empty else value
        else:
            node = last
    return node


def content_span(doc: YamlDocument, node: Node) -> Span:
    """A node's span ending at its last character."""
    start = doc.span_of(node)
    end = doc.span_of(_last_node(node))
    return Span(start.start_line, start.start_char, end.end_line, end.end_char)


def _ref(doc: YamlDocument, node: Node | None) -> Ref | None:
    value = scalar(node)
    if value is None or node is None:
        return None
    style = getattr(node, "style", None)
    return Ref(value, doc.span_of(node), style if style in ("'", '"') else "")


def _refs(doc: YamlDocument, node: Node | None) -> list[Ref]:
    return [r for r in (_ref(doc, item) for item in items(node)) if r is not None]


def _strings(node: Node | None) -> list[str]:
    return [v for v in (scalar(item) for item in items(node)) if v is not None]


def _resource(doc: YamlDocument, node: Node, uri: str) -> Resource | None:
    if not isinstance(node, MappingNode):
        return None
    kind = scalar(get(node, "kind"))
    api_version = scalar(get(node, "apiVersion"))
    if not kind or not api_version:
        return None
    metadata = get(node, "metadata")
    name_node = get(metadata, "name")
    name = scalar(name_node) or scalar(get(metadata, "generateName")) or ""
    written = scalar(get(metadata, "namespace"))
    # a namespace-less resource is deployed where it is applied: the index places it (kustomize, settings)
    namespace = "" if kind in CLUSTER_SCOPED_KINDS else (written or ANY_NAMESPACE)
    span = content_span(doc, node)
    name_span = doc.span_of(name_node) if name_node is not None else doc.span_of(get(node, "kind") or node)
    base = dict(
        kind=kind,
        api_version=api_version,
        name=name,
        namespace=namespace,
        uri=uri,
        doc_index=doc.index,
        span=span,
        name_span=name_span,
        labels=string_map(get(metadata, "labels")),
        namespace_explicit=written is not None,
        analyze_suppress=scalar(path(metadata, "annotations", SUPPRESS_ANNOTATION)),
        ambient_labels=_ambient_labels(doc, get(metadata, "labels")),
    )
    spec = get(node, "spec")
    group = api_version.split("/")[0] if "/" in api_version else ""
    if kind in ISTIO_KINDS and group in ("networking.istio.io", "security.istio.io"):
        builder = _ISTIO_BUILDERS.get(kind, _selector_policy)
        return builder(doc, base, spec)
    if kind == "Telemetry" and group == "telemetry.istio.io":
        return _selector_policy(doc, base, spec)
    if kind == "WasmPlugin" and group == "extensions.istio.io":
        return _selector_policy(doc, base, spec)
    if kind == "Gateway" and group == "gateway.networking.k8s.io":
        return _kubernetes_gateway(doc, base, spec)
    if group in GATEWAY_API_GROUPS:
        gateway_api = _GATEWAY_API_BUILDERS.get(kind.removeprefix("X") if group.endswith("x-k8s.io") else kind)
        if gateway_api is not None:
            return gateway_api(doc, base, spec)
    if kind == "ConfigMap" and api_version == "v1" and (name == "istio" or name.startswith("istio-")):
        mesh = path(node, "data", "mesh")
        if mesh is not None:
            return _mesh_config(base, scalar(mesh))
    if kind == "IstioOperator" and group == "install.istio.io" and get(spec, "meshConfig") is not None:
        return _mesh_config(base, get(spec, "meshConfig"))
    if kind == "EnvoyFilter" and group == "networking.istio.io":
        return _envoy_filter(doc, base, spec)
    if kind == "Service" and api_version == "v1":
        return _service(doc, base, node, spec)
    if kind in WORKLOAD_KINDS:
        return _workload(doc, base, node, spec)
    if kind == "WorkloadEntry" and group == "networking.istio.io":
        return _workload_entry(base, metadata, spec)
    if kind == "WorkloadGroup" and group == "networking.istio.io":
        return _workload_group(doc, base, spec)
    if (kind, group) in (("HorizontalPodAutoscaler", "autoscaling"), ("ScaledObject", "keda.sh")):
        return _scaler(base, spec)
    return Resource(**base)  # type: ignore[arg-type]


def _scaler(base: dict, spec: Node | None) -> Resource:
    target = get(spec, "scaleTargetRef")
    return Scaler(**base, target_kind=scalar(get(target, "kind")), target_name=scalar(get(target, "name")))


def _virtual_service(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    vs = VirtualService(**base)
    vs.hosts = _refs(doc, get(spec, "hosts"))
    vs.gateways = _refs(doc, get(spec, "gateways"))
    vs.export_to = _strings(get(spec, "exportTo"))
    vs.export_to_refs = _refs(doc, get(spec, "exportTo"))
    vs.spec_gateway_count = len(vs.gateways)
    seen: set[int] = set()
    for protocol in ("http", "tcp", "tls"):
        for rule_index, rule in _once(seen, get(spec, protocol)):
            for _, match in _once(seen, get(rule, "match")):
                match_gateways = get(match, "gateways")
                vs.match_gateways = vs.match_gateways or match_gateways is not None
                vs.gateways.extend(r for _, g in _once(seen, match_gateways) if (r := _ref(doc, g)) is not None)
                headers = get(match, "headers") if protocol == "http" else None
                if isinstance(headers, MappingNode):
                    named = _strings(match_gateways) if match_gateways is not None else None
                    for key, _ in headers.value:
                        claim = scalar(key)
                        if claim is not None and claim.startswith("@request.auth.claims"):
                            vs.claim_matches.append((Ref(claim, doc.span_of(key)), named))
            rule_path = f"spec.{protocol}[{rule_index}]"
            route = get(rule, "route")
            vs.route_rules.append(
                RouteRule(
                    protocol,
                    rule_index,
                    content_span(doc, rule),
                    scalar(get(rule, "name")),
                    _key_value_span(doc, rule, "route"),
                )
            )
            for dest_index, weighted in _once(seen, route):
                dest = _destination(
                    doc,
                    get(weighted, "destination"),
                    "route",
                    protocol,
                    rule_index,
                    f"{rule_path}.route[{dest_index}].destination",
                )
                if dest is not None:
                    dest.weight = integer(get(weighted, "weight"))
                    vs.destinations.append(dest)
            if protocol != "http":
                continue
            delegate = get(rule, "delegate")
            if isinstance(delegate, MappingNode):
                vs.delegates.append(
                    Delegate(
                        _ref(doc, get(delegate, "name")),
                        _ref(doc, get(delegate, "namespace")),
                        rule_index,
                        content_span(doc, delegate),
                    )
                )
            mirror = _destination(doc, get(rule, "mirror"), "mirror", protocol, rule_index, f"{rule_path}.mirror")
            if mirror is not None:
                vs.destinations.append(mirror)
            for mirror_index, policy in _once(seen, get(rule, "mirrors")):
                extra = _destination(
                    doc,
                    get(policy, "destination"),
                    "mirror",
                    protocol,
                    rule_index,
                    f"{rule_path}.mirrors[{mirror_index}].destination",
                )
                if extra is not None:
                    vs.destinations.append(extra)
            vs.http_rules.append(_http_rule(doc, rule_index, rule, route))
    return vs


def _key_value_span(doc: YamlDocument, node: Node | None, key: str) -> Span | None:
    """From a key to the end of its value."""
    key_scalar = key_node(node, key)
    value = get(node, key)
    if key_scalar is None or value is None:
        return None
    key_span = doc.span_of(key_scalar)
    value_span = content_span(doc, value)
    return Span(key_span.start_line, key_span.start_char, value_span.end_line, value_span.end_char)


def _span_or_none(doc: YamlDocument, node: Node | None) -> Span | None:
    return content_span(doc, node) if node is not None else None


def _flow(node: Node | None) -> bool:
    """Whether a mapping is written `{k: v}`."""
    return isinstance(node, MappingNode) and bool(node.flow_style)


def _once(seen: set[int], node: Node | None) -> list[tuple[int, Node]]:
    """(index, item) of a sequence's items not read before. An alias repeats a node: reading it
    once keeps `[*a, *a, …]` lists nested in one another from multiplying the work."""
    if not isinstance(node, SequenceNode) or id(node) in seen:
        return []
    seen.add(id(node))
    fresh = []
    for index, item in enumerate(node.value):
        if id(item) not in seen:
            seen.add(id(item))
            fresh.append((index, item))
    return fresh


def _destination(
    doc: YamlDocument, node: Node | None, role: str, protocol: str, rule_index: int, field_path: str
) -> Destination | None:
    host = _ref(doc, get(node, "host"))
    if host is None or node is None:
        return None
    block = isinstance(node, MappingNode) and not node.flow_style
    host_key = key_node(node, "host")
    subset_key = key_node(node, "subset")
    port_node = path(node, "port", "number")
    return Destination(
        host=host,
        subset=_ref(doc, get(node, "subset")),
        port=integer(path(node, "port", "number")),
        role=role,
        protocol=protocol,
        rule_index=rule_index,
        path=field_path,
        span=content_span(doc, node),
        key_column=host_key.start_mark.column if block and host_key is not None else None,
        subset_line=doc.span_of(subset_key).start_line if block and subset_key is not None else None,
        port_span=doc.span_of(port_node) if scalar(port_node) is not None and port_node is not None else None,
        port_given=get(node, "port") is not None,
    )


def _http_rule(doc: YamlDocument, index: int, rule: Node, route: Node | None) -> HttpRule:
    route_span = None
    route_key = key_node(rule, "route")
    if route_key is not None and route is not None:
        key_span = doc.span_of(route_key)
        value_span = content_span(doc, route)
        route_span = Span(key_span.start_line, key_span.start_char, value_span.end_line, value_span.end_char)
    direct = get(rule, "directResponse")
    direct_text = None
    if isinstance(direct, MappingNode):
        # as written, re-indented so that its first key sits at column 0
        end_index = _last_node(direct).end_mark.index
        source = " " * direct.start_mark.column + doc.text[direct.start_mark.index : end_index]
        direct_text = source.strip() if direct.flow_style else textwrap.dedent(source)
    return HttpRule(index, content_span(doc, rule), route_span, len(items(route)), direct_text)


def _tls_modes(doc: YamlDocument, policy: Node | None, subset: str | None) -> list[TlsMode]:
    """The `tls.mode`s of a traffic policy and of its port-level settings."""
    found = []
    settings: list[tuple[Node | None, int | None]] = [(policy, None)]
    settings += [(s, integer(path(s, "port", "number"))) for s in items(get(policy, "portLevelSettings"))]
    for setting, port in settings:
        mode = path(setting, "tls", "mode")
        value = scalar(mode)
        if mode is not None and value is not None:
            found.append(TlsMode(value, doc.span_of(mode), port, subset))
        elif (tls := key_node(setting, "tls")) is not None:
            found.append(TlsMode("", doc.span_of(tls), port, subset))  # `tls` without a mode
    return found


def _policy_settings(doc: YamlDocument, dr: DestinationRule, policy: Node | None, subset: str | None) -> None:
    """The port-level settings and outlier detections of a traffic policy (of the host or of a subset)."""
    _outlier(doc, dr, policy, subset, None)
    for setting in items(get(policy, "portLevelSettings")):
        number_node = path(setting, "port", "number")
        number = integer(number_node)
        written = _scalar_span(doc, number_node)
        dr.port_settings.append(PortSetting(number, written or content_span(doc, setting), subset))
        _outlier(doc, dr, setting, subset, number)


def _outlier(doc: YamlDocument, dr: DestinationRule, policy: Node | None, subset: str | None, port: int | None) -> None:
    key = key_node(policy, "outlierDetection")
    detection = get(policy, "outlierDetection")
    if key is None or not isinstance(detection, MappingNode):
        return
    errors = get(detection, "consecutive5xxErrors")
    if errors is None:
        errors = get(detection, "consecutiveErrors")  # deprecated, read when the new field is not written
    fields = {
        "max_ejection_percent": get(detection, "maxEjectionPercent"),
        "min_health_percent": get(detection, "minHealthPercent"),
        "consecutive_5xx": errors,
        "consecutive_gateway": get(detection, "consecutiveGatewayErrors"),
    }
    values = {name: integer(node) for name, node in fields.items()}
    known = all(values[name] is not None or scalar(node) is None for name, node in fields.items())
    dr.outliers.append(
        OutlierPolicy(
            span=doc.span_of(key),
            subset=subset,
            port=port,
            max_ejection_span=_scalar_span(doc, fields["max_ejection_percent"]),
            local_origin=(scalar(get(detection, "splitExternalLocalOriginErrors")) or "").lower() == "true",
            base_ejection_time=scalar(get(detection, "baseEjectionTime")),
            known=known,
            **values,
        )
    )


def _destination_rule(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    dr = DestinationRule(**base)
    dr.host = _ref(doc, get(spec, "host"))
    dr.export_to = _strings(get(spec, "exportTo"))
    dr.export_to_refs = _refs(doc, get(spec, "exportTo"))
    dr_selector = path(spec, "workloadSelector", "matchLabels")
    dr.workload_selector = string_map(dr_selector)
    dr.workload_selector_span = _span_or_none(doc, dr_selector)
    policy_key = key_node(spec, "trafficPolicy")
    if policy_key is not None and isinstance(get(spec, "trafficPolicy"), MappingNode):
        dr.traffic_policy_span = doc.span_of(policy_key)
    subsets = get(spec, "subsets")
    dr.tls_modes = _tls_modes(doc, get(spec, "trafficPolicy"), None)
    _policy_settings(doc, dr, get(spec, "trafficPolicy"), None)
    for item in items(subsets):
        name = _ref(doc, get(item, "name"))
        if name is None:
            continue
        dr.tls_modes += _tls_modes(doc, get(item, "trafficPolicy"), name.value)
        _policy_settings(doc, dr, get(item, "trafficPolicy"), name.value)
        labels_node = get(item, "labels")
        labels_key = key_node(item, "labels")
        dr.subsets.append(
            Subset(
                name=name,
                labels=string_map(labels_node),
                labels_span=content_span(doc, labels_node) if isinstance(labels_node, MappingNode) else None,
                labels_key_span=doc.span_of(labels_key) if labels_key is not None else None,
                span=content_span(doc, item),
                labels_flow=isinstance(labels_node, MappingNode) and bool(labels_node.flow_style),
            )
        )
    if isinstance(spec, MappingNode) and not spec.flow_style:
        spec_span = content_span(doc, spec)
        dr.spec_indent = spec.start_mark.column
        dr.insert_after = (spec_span.end_line, spec_span.end_char)
        if isinstance(subsets, SequenceNode) and subsets.value:
            if subsets.flow_style:
                dr.insert_after = None
            else:
                subsets_span = content_span(doc, subsets)
                dr.subset_indent = subsets.start_mark.column
                dr.insert_after = (subsets_span.end_line, subsets_span.end_char)
    return dr


def _gateway(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    gateway = Gateway(**base)
    selector = get(spec, "selector")
    gateway.selector = string_map(selector)
    gateway.selector_span = _span_or_none(doc, selector)
    gateway.selector_flow = _flow(selector)
    for server in items(get(spec, "servers")):
        hosts = get(server, "hosts")
        port_number = _ref(doc, path(server, "port", "number"))
        entry = GatewayServer(
            port=integer(path(server, "port", "number")),
            protocol=scalar(path(server, "port", "protocol")),
            hosts=_strings(hosts),
            span=content_span(doc, server),
            name=scalar(get(server, "name")) or scalar(path(server, "port", "name")),
            tls_mode=scalar(path(server, "tls", "mode")),
            https_redirect=(scalar(path(server, "tls", "httpsRedirect")) or "").lower() == "true",
            host_refs=_refs(doc, hosts),
            port_span=port_number.span if port_number is not None else None,
            bind=scalar(get(server, "bind")),
            tls=isinstance(get(server, "tls"), MappingNode),
            credential_name=_ref(doc, path(server, "tls", "credentialName")),
            credential_names=_refs(doc, path(server, "tls", "credentialNames")),
            server_certificate=_ref(doc, path(server, "tls", "serverCertificate")),
            private_key=scalar(path(server, "tls", "privateKey")),
        )
        if isinstance(hosts, SequenceNode) and hosts.value and not hosts.flow_style:
            at = doc.span_of(hosts)  # a block sequence starts at its first `-`
            entry.hosts_at = (at.start_line, at.start_char)
            entry.hosts_indent = hosts.start_mark.column
        gateway.servers.append(entry)
    return gateway


def _kubernetes_gateway(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    class_node = get(spec, "gatewayClassName")
    gateway = KubernetesGateway(**base, class_name=scalar(class_node), class_ref=_ref(doc, class_node))
    gateway.addresses = [
        ((scalar(get(item, "type")) or "IPAddress"), ref)
        for item in items(get(spec, "addresses"))
        if (ref := _ref(doc, get(item, "value"))) is not None
    ]
    gateway.listeners.extend(
        _listener(doc, listener, index) for index, listener in enumerate(items(get(spec, "listeners")))
    )
    allowed = path(spec, "allowedListeners", "namespaces")
    gateway.listeners_from = scalar(get(allowed, "from")) or "None"
    selector = get(allowed, "selector")
    if get(selector, "matchExpressions") is None:
        gateway.listeners_selector = string_map(get(selector, "matchLabels"))
    return gateway


def _listener(doc: YamlDocument, listener: Node, index: int, prefix: str = "spec.listeners") -> GatewayListener:
    """A Gateway's (or a ListenerSet's) `listeners[]` item."""
    name = get(listener, "name")
    port = get(listener, "port")
    allowed = get(listener, "allowedRoutes")
    namespaces = get(allowed, "namespaces")
    routes_from = get(namespaces, "from")
    selector = get(namespaces, "selector")
    kinds = get(allowed, "kinds")
    tls = get(listener, "tls")
    certificates = [
        ref
        for number, item in enumerate(items(get(tls, "certificateRefs")))
        if (ref := _backend_ref(doc, item, "Secret", f"{prefix}[{index}].tls.certificateRefs[{number}]")) is not None
    ]
    return GatewayListener(
        name=scalar(name),
        hostname=_ref(doc, get(listener, "hostname")),
        protocol=scalar(get(listener, "protocol")),
        span=content_span(doc, listener),
        port=integer(port),
        name_span=_scalar_span(doc, name),
        port_span=_scalar_span(doc, port),
        routes_from=scalar(routes_from) or "Same",
        routes_from_span=_scalar_span(doc, routes_from),
        routes_selector=string_map(get(selector, "matchLabels")) if get(selector, "matchExpressions") is None else None,
        allowed_kinds=[
            (scalar(get(item, "group")) or "gateway.networking.k8s.io", kind)
            for item in items(kinds)
            if (kind := scalar(get(item, "kind"))) is not None
        ],
        allowed_kinds_span=_span_or_none(doc, kinds),
        certificate_refs=certificates,
        tls_mode=scalar(get(tls, "mode")),
    )


GATEWAY_API_GROUPS = ("gateway.networking.k8s.io", "gateway.networking.x-k8s.io")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute")


def _parent_ref(doc: YamlDocument, item: Node, index: int) -> GatewayParentRef | None:
    if not isinstance(item, MappingNode):
        return None
    port = get(item, "port")
    return GatewayParentRef(
        group=_written_or(get(item, "group"), "gateway.networking.k8s.io"),  # `group: ""` is the core group
        kind=scalar(get(item, "kind")) or "Gateway",
        name=_ref(doc, get(item, "name")),
        namespace=_ref(doc, get(item, "namespace")),
        section_name=_ref(doc, get(item, "sectionName")),
        port=integer(port),
        port_span=_scalar_span(doc, port),
        span=content_span(doc, item),
        index=index,
    )


def _written_or(node: Node | None, default: str) -> str:
    """A scalar as written (`""` included), else the default."""
    if isinstance(node, ScalarNode) and not is_null(node):
        return str(node.value)
    return default


def _backend_ref(doc: YamlDocument, item: Node, default_kind: str, field_path: str) -> GatewayBackendRef | None:
    if not isinstance(item, MappingNode):
        return None
    port = get(item, "port")
    weight = get(item, "weight")
    group = get(item, "group")
    kind = get(item, "kind")
    return GatewayBackendRef(
        group=scalar(group) or "",
        kind=scalar(kind) or default_kind,
        name=_ref(doc, get(item, "name")),
        namespace=_ref(doc, get(item, "namespace")),
        port=integer(port),
        port_span=_scalar_span(doc, port),
        span=content_span(doc, item),
        weight=integer(weight),
        weight_span=_scalar_span(doc, weight),
        path=field_path,
        group_written=group is not None,
        kind_span=_scalar_span(doc, kind),
    )


def _plain(node: Node | None, depth: int = 0) -> object:
    """A match as plain data (for comparing matches); raises ValueError for what is not (too deep, odd keys)."""
    if depth > 8:
        raise ValueError("too deep")
    if isinstance(node, MappingNode):
        out: dict[str, object] = {}
        for key, value in node.value:
            name = scalar(key)
            if name is None:
                raise ValueError("key")
            out[name] = _plain(value, depth + 1)
        return out
    if isinstance(node, SequenceNode):
        return [_plain(item, depth + 1) for item in node.value]
    return scalar(node)


def _canonical(node: Node | None) -> str | None:
    """A match as JSON text with sorted keys: equal matches give equal texts. None when it is not plain data."""
    try:
        return json.dumps(_plain(node), sort_keys=True)
    except ValueError:
        return None


def _kubernetes_route(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    route = KubernetesRoute(**base)
    route.parents = [p for i, item in enumerate(items(get(spec, "parentRefs"))) if (p := _parent_ref(doc, item, i))]
    route.hostnames = _refs(doc, get(spec, "hostnames"))
    seen: set[int] = set()
    for rule_index, rule in _once(seen, get(spec, "rules")):
        if not isinstance(rule, MappingNode):
            continue
        entry = KubernetesRouteRule(rule_index, content_span(doc, rule))
        backends = get(rule, "backendRefs")
        entry.backends_written = backends is not None
        entry.has_filters = bool(items(get(rule, "filters")))
        for number, item in _once(seen, backends):
            backend = _backend_ref(doc, item, "Service", f"spec.rules[{rule_index}].backendRefs[{number}]")
            if backend is not None:
                entry.backends.append(backend)
        matches: list[str] | None = []
        for match in items(get(rule, "matches")):
            text = _canonical(match)
            entry.match_spans.append(content_span(doc, match))
            if text is None or matches is None:
                matches = None
            else:
                matches.append(text)
        entry.matches = matches
        route.rules.append(entry)
    return route


def _reference_grant(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    grant = ReferenceGrant(**base)
    for item in items(get(spec, "from")):
        namespace = get(item, "namespace")
        grant.grants_from.append(
            (scalar(get(item, "group")) or "", scalar(get(item, "kind")) or "", scalar(namespace) or "")
        )
        ref = _ref(doc, namespace)
        if ref is not None:
            grant.from_refs.append(ref)
    for item in items(get(spec, "to")):
        grant.grants_to.append(
            (scalar(get(item, "group")) or "", scalar(get(item, "kind")) or "", scalar(get(item, "name")))
        )
    return grant


def _gateway_class(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    return GatewayClass(**base, controller=_ref(doc, get(spec, "controllerName")))


def _listener_set(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    listener_set = ListenerSet(**base)
    parent = get(spec, "parentRef")
    listener_set.parent = _parent_ref(doc, parent, 0) if parent is not None else None
    listener_set.listeners.extend(_listener(doc, item, i) for i, item in enumerate(items(get(spec, "listeners"))))
    return listener_set


_GATEWAY_API_BUILDERS: dict[str, Callable[[YamlDocument, dict, Node | None], Resource]] = {
    **dict.fromkeys(ROUTE_KINDS, _kubernetes_route),
    "ReferenceGrant": _reference_grant,
    "GatewayClass": _gateway_class,
    "ListenerSet": _listener_set,
}


def _service_entry(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    entry = ServiceEntry(**base)
    entry.hosts = _refs(doc, get(spec, "hosts"))
    entry.resolution = (scalar(get(spec, "resolution")) or "NONE").upper()
    entry.location = (scalar(get(spec, "location")) or "MESH_EXTERNAL").upper()
    entry.endpoint_count = len(items(get(spec, "endpoints")))
    entry.endpoints = [_endpoint(doc, item) for item in items(get(spec, "endpoints"))]
    entry_selector = path(spec, "workloadSelector", "labels")
    entry.has_workload_selector = bool(string_map(entry_selector))
    entry.workload_selector = string_map(entry_selector)
    entry.workload_selector_span = _span_or_none(doc, entry_selector)
    entry.export_to = _strings(get(spec, "exportTo"))
    entry.export_to_refs = _refs(doc, get(spec, "exportTo"))
    numbers = [integer(get(port, "number")) for port in items(get(spec, "ports"))]
    entry.ports = [p for p in numbers if p is not None]
    entry.ports_complete = len(entry.ports) == len(numbers)
    entry.port_items = [
        ServiceEntryPort(
            number=integer(get(port, "number")),
            protocol=scalar(get(port, "protocol")),
            name=scalar(get(port, "name")),
            span=content_span(doc, port),
        )
        for port in items(get(spec, "ports"))
    ]
    return entry


def _endpoint(doc: YamlDocument, item: Node) -> ServiceEntryEndpoint:
    labels = get(item, "labels")
    return ServiceEntryEndpoint(
        address=scalar(get(item, "address")),
        labels=string_map(labels),
        labels_complete=_labels_complete(labels),
        span=content_span(doc, item),
    )


def _labels_complete(labels: Node | None) -> bool:
    """Whether `string_map` of a labels field keeps all its labels: absent, null, or a mapping of
    scalars whose keys are written once (a merge `<<` may hide some)."""
    if isinstance(labels, MappingNode):
        scalars = all(isinstance(v, ScalarNode) for _, v in pairs(labels))
        return scalars and len(labels.value) == len(string_map(labels))
    return labels is None or (isinstance(labels, ScalarNode) and is_null(labels))


def _workload_entry(base: dict, metadata: Node | None, spec: Node | None) -> Resource:
    entry = WorkloadEntry(**base)
    entry.address = scalar(get(spec, "address"))
    entry.endpoint_labels = {**string_map(get(spec, "labels")), **entry.labels}
    entry.labels_complete = _labels_complete(get(spec, "labels")) and _labels_complete(get(metadata, "labels"))
    return entry


def _workload_group(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    group = WorkloadGroup(**base)
    account = _ref(doc, path(spec, "template", "serviceAccount"))
    group.service_account = account if account is not None and account.value else None
    labels = path(spec, "metadata", "labels")
    group.entry_labels = string_map(labels)
    group.entry_labels_span = content_span(doc, labels) if labels is not None else None
    group.entry_labels_complete = _labels_complete(labels)
    return group


def _selector_policy(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    policy = SelectorPolicy(**base)
    selector = get(spec, "workloadSelector") if base["kind"] == "Sidecar" else get(spec, "selector")
    labels = get(selector, "labels") if base["kind"] == "Sidecar" else get(selector, "matchLabels")
    if labels is not None:
        policy.selector = string_map(labels)
        policy.selector_span = content_span(doc, labels)
        policy.selector_flow = _flow(labels)
    policy.targeted = get(spec, "targetRef") is not None or bool(items(get(spec, "targetRefs")))
    policy.target_refs = _target_refs(doc, [get(spec, "targetRef"), *items(get(spec, "targetRefs"))])
    policy.selector_entry = _key_value_span(doc, spec, "workloadSelector" if base["kind"] == "Sidecar" else "selector")
    if base["kind"] == "Sidecar":
        policy.egress_hosts = [ref for egress in items(get(spec, "egress")) for ref in _refs(doc, get(egress, "hosts"))]
    if base["kind"] == "RequestAuthentication":
        policy.key_sources = _key_sources(doc, spec)
    if base["kind"] == "PeerAuthentication":
        mode = path(spec, "mtls", "mode")
        policy.mtls_mode = scalar(mode)
        policy.mtls_span = _scalar_span(doc, mode)
        modes = (scalar(get(setting, "mode")) for _, setting in pairs(get(spec, "portLevelMtls")))
        policy.port_mtls_modes = [m for m in modes if m is not None]
    elif base["kind"] == "AuthorizationPolicy":
        policy.action = scalar(get(spec, "action"))
        policy.peer_identity = _peer_identity(doc, spec)
        policy.rule_values = _rule_values(doc, spec)
        policy.l7_attributes = _l7_attributes(doc, spec)
        provider = path(spec, "provider", "name")
        if policy.action == "CUSTOM" and (ref := _ref(doc, provider)) is not None:
            policy.providers = [ProviderUse("authorization", ref, ref.span)]
    elif base["kind"] == "Telemetry":
        policy.providers = _telemetry_providers(doc, spec)
    return policy


TELEMETRY_SIGNALS = ("tracing", "metrics", "accessLogging")


def _telemetry_providers(doc: YamlDocument, spec: Node | None) -> list[ProviderUse]:
    found: list[ProviderUse] = []
    for signal in TELEMETRY_SIGNALS:
        for entry in items(get(spec, signal)):
            disabled = scalar(get(entry, "disabled")) == "true"
            names = [_ref(doc, get(p, "name")) for p in items(get(entry, "providers"))]
            refs = [ref for ref in names if ref is not None]
            if refs:
                found.extend(ProviderUse(signal, ref, ref.span, disabled) for ref in refs)
            elif not names:
                first = next(pairs(entry), None) if isinstance(entry, MappingNode) and not _flow(entry) else None
                first_key = doc.span_of(first[0]) if first is not None else None
                found.append(ProviderUse(signal, None, content_span(doc, entry), disabled, first_key))
    return found


def _mesh_config(base: dict, mesh: Node | str | None) -> Resource:
    """The providers of a mesh configuration: a mapping (IstioOperator), or the YAML text of a ConfigMap."""
    source = MeshConfigSource(**base)
    if isinstance(mesh, str):
        if has_placeholder_text(mesh):
            source.readable = False
            return source
        parsed = parse_document(mesh)
        if parsed.error is not None:
            source.readable = False
            return source
        mesh = parsed.root
    if mesh is not None and not isinstance(mesh, MappingNode):
        source.readable = False
        return source
    for provider in items(get(mesh, "extensionProviders")):
        name = scalar(get(provider, "name"))
        if name is not None:
            kinds = [key.value for key, _ in pairs(provider) if key.value != "name"]
            source.extension_providers[name] = kinds[0] if kinds else ""
    for signal, names in pairs(get(mesh, "defaultProviders")):
        source.default_providers[signal.value] = [n for n in map(scalar, items(names)) if n is not None]
    return source


# the list fields of an AuthorizationPolicy rule that `rule_values` keeps: (rule key, item key, fields)
RULE_VALUE_FIELDS = (
    (
        "from",
        "source",
        ("principals", "notPrincipals", "serviceAccounts", "notServiceAccounts", "namespaces", "notNamespaces"),
    ),
    ("to", "operation", ("hosts", "notHosts")),
)


def _rule_values(doc: YamlDocument, spec: Node | None) -> list[RuleValue]:
    """The values of the callers and hosts an AuthorizationPolicy's rules name, each with its field."""
    found: list[RuleValue] = []
    seen: set[int] = set()
    for _, rule in _once(seen, get(spec, "rules")):
        for side, holder, fields in RULE_VALUE_FIELDS:
            for _, entry in _once(seen, get(rule, side)):
                values = get(entry, holder)
                for name in fields:
                    for _, item in _once(seen, get(values, name)):
                        ref = _ref(doc, item)
                        if ref is not None:
                            found.append(RuleValue(name, ref))
    return found


# the labels ambient mode reads on Namespaces, Services, ServiceEntries, pods and Gateways
AMBIENT_LABELS = (
    "istio.io/use-waypoint",
    "istio.io/use-waypoint-namespace",
    "istio.io/dataplane-mode",
    "istio.io/waypoint-for",
)


def _ambient_labels(doc: YamlDocument, labels: Node | None) -> list[LabelValue]:
    found = []
    for key in AMBIENT_LABELS:
        ref = _ref(doc, get(labels, key))
        if ref is not None:
            found.append(LabelValue(key, ref))
    return found


def _target_refs(doc: YamlDocument, nodes: Sequence[Node | None]) -> list[PolicyTargetRef]:
    """A policy's `targetRef` and `targetRefs[]` items (mappings only)."""
    return [
        PolicyTargetRef(
            group=scalar(get(node, "group")) or "",
            kind=scalar(get(node, "kind")) or "",
            name=_ref(doc, get(node, "name")),
            namespace=scalar(get(node, "namespace")),
            span=content_span(doc, node),
        )
        for node in nodes
        if isinstance(node, MappingNode)
    ]


# what ztunnel cannot read, as Istio lists it: `to.operation` and `from.source` fields (`when` keys: all
# but the L4 ones)
L7_OPERATION_FIELDS = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")
L7_SOURCE_FIELDS = ("requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks")
L4_CONDITIONS = frozenset({"source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"})


def _l7_attributes(doc: YamlDocument, spec: Node | None) -> list[Ref]:
    """The fields of an AuthorizationPolicy's rules that need the HTTP request, each with where it is written."""
    found: list[Ref] = []
    for rule in items(get(spec, "rules")):
        for side, holder, fields in (("to", "operation", L7_OPERATION_FIELDS), ("from", "source", L7_SOURCE_FIELDS)):
            for entry in items(get(rule, side)):
                values = get(entry, holder)
                for name in fields:
                    written = key_node(values, name)
                    if written is not None and items(get(values, name)):
                        found.append(Ref(name, doc.span_of(written)))
        for condition in items(get(rule, "when")):
            key = get(condition, "key")
            attribute = scalar(key)
            if key is not None and attribute and attribute not in L4_CONDITIONS:
                found.append(Ref(attribute, doc.span_of(key)))
    found.sort(key=lambda ref: (ref.span.start_line, ref.span.start_char))
    return found


def _key_sources(doc: YamlDocument, spec: Node | None) -> list[JwtKeySource]:
    """A RequestAuthentication's `jwtRules[]` whose keys are fetched: those without inline `jwks`."""
    found: list[JwtKeySource] = []
    for rule in items(get(spec, "jwtRules")):
        if not scalar(get(rule, "jwks")):
            uri, issuer = _ref(doc, get(rule, "jwksUri")), _ref(doc, get(rule, "issuer"))
            found.append(JwtKeySource(uri if uri and uri.value else None, issuer if issuer and issuer.value else None))
    return found


IDENTITY_SOURCES = ("principals", "notPrincipals", "namespaces", "notNamespaces")
IDENTITY_CONDITIONS = ("source.principal", "source.namespace", "connection.sni")


def _peer_identity(doc: YamlDocument, spec: Node | None) -> list[Ref]:
    """The `from.source` keys and `when` keys of an AuthorizationPolicy's rules that need the caller's
    mTLS identity, each with the span of its key (a `when` item: of its `key` value)."""
    found = []
    for rule in items(get(spec, "rules")):
        for source in items(get(rule, "from")):
            fields = get(source, "source")
            for field_name in IDENTITY_SOURCES:
                field_key = key_node(fields, field_name)
                if field_key is not None and items(get(fields, field_name)):
                    found.append(Ref(field_name, doc.span_of(field_key)))
        for condition in items(get(rule, "when")):
            key = get(condition, "key")
            name = scalar(key)
            if key is not None and name is not None and name in IDENTITY_CONDITIONS:
                found.append(Ref(name, doc.span_of(key)))
    return found


def _envoy_filter(doc: YamlDocument, base: dict, spec: Node | None) -> Resource:
    ef = EnvoyFilter(**base)
    priority = get(spec, "priority")
    if scalar(priority) is not None and priority is not None:
        ef.priority = integer(priority)
        ef.priority_span = doc.span_of(priority)
    selector = get(spec, "workloadSelector")
    if selector is not None:
        ef.selector = string_map(get(selector, "labels"))
    ef.targeted = bool(items(get(spec, "targetRefs")))
    ef.target_refs = _target_refs(doc, items(get(spec, "targetRefs")))
    if isinstance(spec, MappingNode) and not spec.flow_style and spec.value:
        first = doc.span_of(spec.value[0][0])
        ef.spec_first_key = (first.start_line, first.start_char)
    for index, item in enumerate(items(get(spec, "configPatches"))):
        ef.patches.append(_envoy_patch(doc, index, item))
    return ef


def _envoy_patch(doc: YamlDocument, index: int, item: Node) -> EnvoyPatch:
    match = get(item, "match")
    listener = get(match, "listener")
    chain_filter = path(listener, "filterChain", "filter")
    vhost = path(match, "routeConfiguration", "vhost")
    route = get(vhost, "route")
    anchor = (
        scalar(path(chain_filter, "subFilter", "name"))
        or scalar(get(chain_filter, "name"))
        or scalar(get(listener, "listenerFilter"))
        or scalar(get(route, "name"))
        or scalar(get(vhost, "name"))
        or scalar(path(match, "cluster", "name"))
    )
    action = scalar(get(route, "action"))
    return EnvoyPatch(
        index=index,
        span=content_span(doc, item),
        apply_to=scalar(get(item, "applyTo")),
        operation=_ref(doc, path(item, "patch", "operation")),
        anchor=anchor,
        subject=scalar(path(item, "patch", "value", "name")) or anchor,
        proxy_version=_ref(doc, path(match, "proxy", "proxyVersion")),
        listener_match=listener is not None,
        vhost_match=isinstance(vhost, MappingNode),
        route_match=bool(scalar(get(route, "name"))) or action not in (None, "ANY"),
    )


def _service(doc: YamlDocument, base: dict, node: Node, spec: Node | None) -> Resource:
    service = Service(**base)
    selector = get(spec, "selector")
    service.selector = string_map(selector)
    service.selector_span = _span_or_none(doc, selector)
    service.selector_flow = _flow(selector)
    service.service_type = scalar(get(spec, "type")) or "ClusterIP"
    for port in items(get(spec, "ports")):
        first_key = port.value[0][0] if isinstance(port, MappingNode) and port.value else None
        service.ports.append(
            ServicePort(
                name=scalar(get(port, "name")),
                port=integer(get(port, "port")),
                target_port=scalar(get(port, "targetPort")),
                target_port_span=_scalar_span(doc, get(port, "targetPort")),
                protocol=scalar(get(port, "protocol")),
                span=content_span(doc, port),
                app_protocol=scalar(get(port, "appProtocol")),
                name_span=_scalar_span(doc, get(port, "name")),
                app_protocol_span=_scalar_span(doc, get(port, "appProtocol")),
                first_key_span=doc.span_of(first_key) if first_key is not None else None,
                flow=isinstance(port, MappingNode) and bool(port.flow_style),
            )
        )
    annotation = scalar(path(node, "metadata", "annotations", "networking.istio.io/exportTo"))
    if annotation:
        service.export_to = [part.strip() for part in annotation.split(",") if part.strip()]
        service.export_to_ref = _ref(doc, path(node, "metadata", "annotations", "networking.istio.io/exportTo"))
    return service


def _pod_template(kind: str, node: Node, spec: Node | None) -> Node | None:
    """The metadata node that carries the pod labels of a workload."""
    if kind == "Pod":
        return get(node, "metadata")
    if kind == "CronJob":
        return path(spec, "jobTemplate", "spec", "template", "metadata")
    return path(spec, "template", "metadata")


def _workload(doc: YamlDocument, base: dict, node: Node, spec: Node | None) -> Resource:
    workload = Workload(**base)
    metadata = _pod_template(base["kind"], node, spec)
    labels = get(metadata, "labels")
    workload.pod_labels = string_map(labels)
    workload.ambient_labels = _ambient_labels(doc, labels)  # ambient reads the pods' labels
    if labels is not None:
        workload.pod_labels_span = content_span(doc, labels)
    inject = "sidecar.istio.io/inject"
    workload.sidecar_inject = scalar(get(labels, inject)) or scalar(path(metadata, "annotations", inject))
    workload.ambient_redirection = scalar(path(metadata, "annotations", "ambient.istio.io/redirection"))
    if base["kind"] == "Pod":
        workload.replicas = 1
    elif base["kind"] in ("Deployment", "StatefulSet", "ReplicaSet"):
        replicas = get(spec, "replicas")
        workload.replicas_written = scalar(replicas) is not None
        workload.replicas = integer(replicas) if workload.replicas_written else 1
    pod_spec = spec if base["kind"] == "Pod" else get(_pod_template_parent(base["kind"], spec), "spec")
    for key in ("containers", "initContainers"):
        for container in items(get(pod_spec, key)):
            for port in items(get(container, "ports")):
                number = integer(get(port, "containerPort"))
                workload.container_ports.append(ContainerPort(scalar(get(port, "name")), number))
    account = _ref(doc, get(pod_spec, "serviceAccountName")) or _ref(doc, get(pod_spec, "serviceAccount"))
    workload.service_account = account if account is not None and account.value else None
    workload.containers = [_container(doc, c) for c in items(get(pod_spec, "containers")) if isinstance(c, MappingNode)]
    return workload


def _container(doc: YamlDocument, node: MappingNode) -> Container:
    name = get(node, "name")
    container = Container(scalar(name), _scalar_span(doc, name) or content_span(doc, node))
    env = get(node, "env")
    for variable in items(env):
        variable_name = scalar(get(variable, "name"))
        if variable_name is not None:
            value = get(variable, "value")
            # not written: `valueFrom` gives it (None, not known here), else it is empty
            written = "" if get(variable, "valueFrom") is None else None
            container.env[variable_name] = scalar(value) if value is not None else written
    env_key = key_node(node, "env")
    if env_key is not None:
        container.env_span = doc.span_of(env_key)
    # a new variable goes after the last item of a block `env` list, or, with no `env`, after the container's end
    if node.flow_style:
        return container
    if env_key is None:
        after: Node = node
        container.env_key = True
        container.env_indent = node.start_mark.column
    elif isinstance(env, SequenceNode) and env.value and not env.flow_style:
        after = env
        container.env_indent = env.start_mark.column
    else:
        return container
    last = _last_node(after)
    if isinstance(last, ScalarNode) and last.style in ("|", ">"):
        return container  # a block scalar ends at the next line: text after it would join it
    end = content_span(doc, after)
    container.env_after = (end.end_line, end.end_char)
    return container


def _pod_template_parent(kind: str, spec: Node | None) -> Node | None:
    """The pod template of a workload (whose `metadata` and `spec` describe its pods)."""
    if kind == "CronJob":
        return path(spec, "jobTemplate", "spec", "template")
    return get(spec, "template")


def _scalar_span(doc: YamlDocument, node: Node | None) -> Span | None:
    return doc.span_of(node) if node is not None and scalar(node) is not None else None


_ISTIO_BUILDERS: dict[str, Callable[[YamlDocument, dict, Node | None], Resource]] = {
    "VirtualService": _virtual_service,
    "DestinationRule": _destination_rule,
    "Gateway": _gateway,
    "ServiceEntry": _service_entry,
}
