"""The model's view of Gateway API routes, ReferenceGrants, GatewayClasses, ListenerSets and the listener fields
the route checks read (ports, allowedRoutes, certificateRefs, allowedListeners)."""

from __future__ import annotations

import json

from istio_lsp.index import summarize
from istio_lsp.model.resources import (
    GatewayClass,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    ReferenceGrant,
    Resource,
)
from istio_lsp.settings import Settings


def _resources(text: str) -> list[Resource]:
    return summarize("file:///m.yaml", text, Settings()).resources


def test_route_kinds_share_one_class_and_keep_their_kind() -> None:
    kinds = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute")
    text = "\n---\n".join(
        f"apiVersion: gateway.networking.k8s.io/v1\nkind: {kind}\nmetadata: {{name: r, namespace: a}}" for kind in kinds
    )
    routes = _resources(text)
    assert all(isinstance(r, KubernetesRoute) for r in routes)
    assert [r.kind for r in routes] == list(kinds)


def test_parent_and_backend_refs_with_defaults_and_spans() -> None:
    (route,) = _resources(
        """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs:
  - name: public
    namespace: infra
    sectionName: https
  - {group: "", kind: Service, name: web, port: 8080}
  hostnames: [shop.example.com]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /a}
      headers: [{name: x, value: "1"}]
    backendRefs:
    - name: web
      port: 8080
      weight: 0
    - {group: networking.istio.io, kind: Hostname, name: api.example.com, port: 443}
"""
    )
    assert isinstance(route, KubernetesRoute)
    gateway, service = route.parents
    assert (gateway.group, gateway.kind) == ("gateway.networking.k8s.io", "Gateway")
    assert gateway.namespace is not None and gateway.namespace.value == "infra"
    assert gateway.section_name is not None and gateway.section_name.span.start_line == 7
    assert (service.group, service.kind, service.port) == ("", "Service", 8080)  # `group: ""` is the core group
    assert [h.value for h in route.hostnames] == ["shop.example.com"]
    (rule,) = route.rules
    first, second = rule.backends
    assert (first.group, first.kind, first.port, first.weight) == ("", "Service", 8080, 0)
    assert first.path == "spec.rules[0].backendRefs[0]" and first.weight_span is not None
    assert (second.group, second.kind) == ("networking.istio.io", "Hostname")
    assert rule.matches is not None
    assert json.loads(rule.matches[0]) == {
        "path": {"type": "PathPrefix", "value": "/a"},
        "headers": [{"name": "x", "value": "1"}],
    }


def test_listener_fields_and_allowed_listeners() -> None:
    (gateway,) = _resources(
        """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  gatewayClassName: istio
  allowedListeners: {namespaces: {from: Same}}
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    allowedRoutes:
      namespaces: {from: Selector, selector: {matchLabels: {team: shop}}}
      kinds: [{kind: HTTPRoute}]
    tls:
      certificateRefs: [{name: cert, namespace: certs}]
  - {name: http, port: 80, protocol: HTTP}
"""
    )
    assert isinstance(gateway, KubernetesGateway) and gateway.listeners_from == "Same"
    https, http = gateway.listeners
    assert (https.port, https.routes_from, https.routes_selector) == (443, "Selector", {"team": "shop"})
    assert https.allowed_kinds == [("gateway.networking.k8s.io", "HTTPRoute")]
    (cert,) = https.certificate_refs
    assert (cert.kind, cert.name and cert.name.value, cert.namespace and cert.namespace.value) == (
        "Secret",
        "cert",
        "certs",
    )
    assert (http.routes_from, http.allowed_kinds, http.certificate_refs) == ("Same", [], [])


def test_reference_grant_gateway_class_and_listener_set() -> None:
    grant, gateway_class, listener_set = _resources(
        """\
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: backend}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio, namespace: ignored}
spec: {controllerName: istio.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: infra}
spec:
  parentRef: {name: public, kind: Gateway, group: gateway.networking.k8s.io}
  listeners: [{name: x, port: 8080, protocol: HTTP}]
"""
    )
    assert isinstance(grant, ReferenceGrant)
    assert grant.grants_from == [("gateway.networking.k8s.io", "HTTPRoute", "shop")]
    assert grant.grants_to == [("", "Service", None)]
    assert isinstance(gateway_class, GatewayClass) and gateway_class.namespace == ""  # cluster-scoped
    assert gateway_class.controller is not None and gateway_class.controller.value == "istio.io/gateway-controller"
    assert isinstance(listener_set, ListenerSet)
    assert listener_set.parent is not None and listener_set.parent.name is not None
    assert listener_set.parent.name.value == "public" and listener_set.listeners[0].port == 8080


def test_istio_namesakes_are_not_gateway_api_kinds() -> None:
    (route,) = _resources("apiVersion: example.com/v1\nkind: HTTPRoute\nmetadata: {name: r}")
    assert not isinstance(route, KubernetesRoute)
