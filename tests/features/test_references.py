"""Find references, called on an index built from texts with a cursor marker."""

from __future__ import annotations

import pytest

from istio_lsp.features.references import references
from tests.features.helpers import (
    DESTINATION_RULE,
    FRONTEND,
    GATEWAY,
    SERVICE,
    VIRTUAL_SERVICE,
    Workspace,
    build,
    convert,
    mark,
    shop,
)

Place = tuple[str, int, str]  # (file, 0-based line, the line's text stripped)


def places(ws: Workspace, include_declaration: bool = True) -> list[Place]:
    found = references(ws.index, *ws.at, include_declaration, convert)
    return [
        (loc.uri.removeprefix("file:///ws/"), loc.range.start.line, ws.line_of(loc.uri, loc.range.start.line).strip())
        for loc in found
    ]


CANARY_ROUTES = [
    ("shop/virtualservice.yaml", 19, "subset: canary"),
    ("shop/virtualservice.yaml", 29, "subset: canary"),
]


def test_subset_lists_both_routes_that_use_it() -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, "canary", 1, 3)))
    assert places(ws) == [("shop/destinationrule.yaml", 11, "- name: canary"), *CANARY_ROUTES]
    assert places(ws, include_declaration=False) == CANARY_ROUTES


def test_from_a_route_finds_the_same_places() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "subset: canary", 2, 9)))
    assert places(ws, include_declaration=False) == CANARY_ROUTES


def test_subset_across_namespaces_and_mirrors() -> None:
    ws = build({**shop(destinationrule=mark(DESTINATION_RULE, "canary", 1, 3)), "frontend/vs.yaml": FRONTEND})
    assert places(ws, include_declaration=False) == [("frontend/vs.yaml", 12, "subset: canary"), *CANARY_ROUTES]


def test_undefined_subset_lists_the_routes_naming_it() -> None:
    text = VIRTUAL_SERVICE.replace("subset: canary", "subset: beta")
    ws = build(shop(virtualservice=mark(text, "subset: beta", 1, 9)))
    assert places(ws) == [
        ("shop/virtualservice.yaml", 19, "subset: beta"),
        ("shop/virtualservice.yaml", 29, "subset: beta"),
    ]


def test_service_is_named_by_hosts_rules_and_routes() -> None:
    ws = build({**shop(service=mark(SERVICE, "name: cart", 1, 7)), "frontend/vs.yaml": FRONTEND})
    assert places(ws) == [
        ("frontend/vs.yaml", 11, "host: cart.shop.svc.cluster.local"),
        ("frontend/vs.yaml", 14, "host: cart.shop.svc.cluster.local"),  # the mirror
        ("shop/destinationrule.yaml", 6, "host: cart.shop.svc.cluster.local"),
        ("shop/service.yaml", 3, "name: cart"),
        ("shop/virtualservice.yaml", 7, "- cart"),
        ("shop/virtualservice.yaml", 18, "host: cart"),
        ("shop/virtualservice.yaml", 22, "host: cart"),
        ("shop/virtualservice.yaml", 28, "host: cart"),
    ]  # not frontend's `host: cart`: that is cart.frontend.svc.cluster.local


def test_from_a_destination_host() -> None:
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "host: cart.shop", 1, 8)})
    found = places(ws, include_declaration=False)
    assert ("shop/service.yaml", 3, "name: cart") not in found
    assert ("shop/virtualservice.yaml", 18, "host: cart") in found and len(found) == 7
    assert ("shop/service.yaml", 3, "name: cart") in places(ws)


def test_serviceentry_wildcard_host() -> None:
    entry = """\
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: payments, namespace: shop}
    spec:
      hosts: ["*.payments.example.com", other.example.com]
      ports: [{number: 443, name: tls, protocol: TLS}]
      resolution: DNS
    """
    client = """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: client, namespace: shop}
    spec:
      hosts: [client]
      tls:
      - match: [{sniHosts: [eu.payments.example.com]}]
        route:
        - destination: {host: eu.payments.example.com}
      - match: [{sniHosts: [other.example.com]}]
        route:
        - destination: {host: other.example.com}
    """
    ws = build({"shop/entry.yaml": mark(entry, "payments.example", 1, 2), "shop/client.yaml": client})
    assert places(ws) == [
        ("shop/client.yaml", 8, "- destination: {host: eu.payments.example.com}"),
        ("shop/entry.yaml", 4, 'hosts: ["*.payments.example.com", other.example.com]'),
    ]


def test_gateway_is_named_by_gateways_entries_in_every_form() -> None:
    other = """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: legacy, namespace: shop}
    spec:
      hosts: [legacy.example.com]
      gateways: [shop-gateway.shop.svc.cluster.local]
      http:
      - match:
        - gateways: ["shop-gateway"]
        route:
        - destination: {host: cart}
    """
    ws = build(
        {**shop(gateway=mark(GATEWAY, "shop-gateway", 1, 3)), "frontend/vs.yaml": FRONTEND, "shop/other.yaml": other}
    )
    assert places(ws) == [
        ("frontend/vs.yaml", 7, "gateways: [shop/shop-gateway]"),
        ("shop/gateway.yaml", 3, "name: shop-gateway"),
        ("shop/other.yaml", 5, "gateways: [shop-gateway.shop.svc.cluster.local]"),
        ("shop/other.yaml", 8, '- gateways: ["shop-gateway"]'),
        ("shop/virtualservice.yaml", 10, "- shop-gateway"),
    ]


def test_gateway_from_a_gateways_entry() -> None:
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "shop/shop-gateway", 1, 6)})
    assert places(ws, include_declaration=False) == [
        ("frontend/vs.yaml", 7, "gateways: [shop/shop-gateway]"),
        ("shop/virtualservice.yaml", 10, "- shop-gateway"),
    ]


def test_virtualservice_host() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "- cart", 1, 3)))
    found = places(ws, include_declaration=False)
    assert ("shop/destinationrule.yaml", 6, "host: cart.shop.svc.cluster.local") in found
    assert ("shop/virtualservice.yaml", 7, "- cart") in found and len(found) == 5


def test_virtualservice_name_lists_delegates() -> None:
    root = """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: root, namespace: frontend}
    spec:
      hosts: [store.example.com]
      gateways: [shop/shop-gateway]
      http:
      - match: [{uri: {prefix: /cart}}]
        delegate: {name: cart-routes, namespace: shop}
      - delegate: {name: cart-routes}
    """
    delegate = """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: cart-routes
      namespace: shop
    spec:
      http:
      - route:
        - destination: {host: cart}
    """
    ws = build({"frontend/root.yaml": root, "shop/delegate.yaml": mark(delegate, "cart-routes", 1, 2)})
    assert places(ws, include_declaration=False) == [
        ("frontend/root.yaml", 8, "delegate: {name: cart-routes, namespace: shop}")
    ]  # the second delegate means frontend/cart-routes


@pytest.mark.parametrize(("target", "offset"), [("kind: DestinationRule", 7), ("version: v1", 3), ("subsets:", 2)])
def test_nothing_to_find(target: str, offset: int) -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, target, 1, offset)))
    assert places(ws) == []
