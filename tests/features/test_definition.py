"""Go to definition, called on an index built from texts with a cursor marker."""

from __future__ import annotations

import pytest

from istio_lsp.checks import analyze_text
from istio_lsp.features.definition import definition
from istio_lsp.features.locate import DESTINATION_SUBSET, SELECTOR, locate
from istio_lsp.index import WorkspaceIndex
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
    uri,
)

Target = tuple[str, int, str]  # (file, 0-based line, text of the range)


def targets(ws: Workspace) -> list[Target]:
    found = definition(ws.index, *ws.at, convert)
    return [
        (loc.uri.removeprefix("file:///ws/"), loc.range.start.line, ws.text_of(loc.uri, loc.range)) for loc in found
    ]


def line_text(ws: Workspace, target: Target) -> str:
    return ws.line_of(uri(target[0]), target[1]).strip()


def test_subset_lands_on_the_subset_in_the_destinationrule() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "subset: canary", 1, len("subset: ca"))))
    (target,) = targets(ws)
    assert target[0] == "shop/destinationrule.yaml" and target[2] == "canary"
    assert line_text(ws, target) == "- name: canary"


def test_short_host_lands_on_the_service() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "host: cart", 2, len("host: c"))))
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


@pytest.mark.parametrize("offset", [0, 2, 4])  # start, middle and just after the word
def test_cursor_anywhere_on_the_value(offset: int) -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "cart\n        subset: stable", 1, offset)))
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


def test_virtualservice_hosts_entry_lands_on_the_service() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "- cart", 1, 3)))
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


def test_gateways_entry_lands_on_the_gateway() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "shop-gateway", 1, 1)))
    assert targets(ws) == [("shop/gateway.yaml", 3, "shop-gateway")]


def test_mesh_goes_nowhere() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "- mesh", 1, 3)))
    assert targets(ws) == []


def test_destinationrule_host_lands_on_the_service() -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, "cart.shop", 1, 6)))
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


def test_destination_port_lands_on_the_service_port() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "8080", 1, 1)))
    ((file, line, text),) = targets(ws)
    assert (file, line) == ("shop/service.yaml", 9) and "port: 8080" in text


def test_selector_lands_on_the_workloads_it_selects() -> None:
    ws = build(shop(service=mark(SERVICE, "app: cart", 1, 5)))
    assert locate(ws.index, *ws.at).what == SELECTOR  # type: ignore[union-attr]
    assert targets(ws) == [("shop/service.yaml", 15, "cart-v1"), ("shop/service.yaml", 25, "cart-v2")]


def test_subset_labels_land_on_the_workloads_of_the_subset() -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, "version: v2", 1, 9)))
    assert targets(ws) == [("shop/service.yaml", 25, "cart-v2")]


def test_gateway_selector_finds_gateway_pods_in_every_namespace() -> None:
    ingress = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: istio-ingressgateway
      namespace: istio-system
    spec:
      template:
        metadata:
          labels: {istio: ingressgateway, app: istio-ingressgateway}
    """
    ws = build({**shop(gateway=mark(GATEWAY, "istio: ingressgateway", 1, 3)), "istio-system/ingress.yaml": ingress})
    assert targets(ws) == [("istio-system/ingress.yaml", 3, "istio-ingressgateway")]


@pytest.mark.parametrize(
    ("kind_text", "target_line"),
    [
        (
            """\
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: cart, namespace: shop}
            spec:
              workloadSelector:
                labels:
                  version: ‸v1
            """,
            15,
        ),
        (
            """\
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: cart, namespace: shop}
            spec:
              selector:
                matchLabels: {app: ‸cart, version: v2}
            """,
            25,
        ),
        (
            """\
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: cart-vm, namespace: shop}
            spec:
              hosts: [cart.internal]
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              workloadSelector:
                labels: {version: ‸v2}
            """,
            25,
        ),
    ],
)
def test_workload_selectors(kind_text: str, target_line: int) -> None:
    ws = build({**shop(), "shop/policy.yaml": kind_text})
    assert [(f, line) for f, line, _ in targets(ws)] == [("shop/service.yaml", target_line)]


def test_delegate_lands_on_the_delegate_virtualservice() -> None:
    root = """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: root, namespace: frontend}
    spec:
      hosts: [store.example.com]
      gateways: [shop/shop-gateway]
      http:
      - match: [{uri: {prefix: /cart}}]
        delegate:
          name: cart‸-routes
          namespace: shop
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
    ws = build({**shop(), "frontend/root.yaml": root, "shop/delegate.yaml": delegate})
    assert targets(ws) == [("shop/delegate.yaml", 3, "cart-routes")]


def test_cross_namespace_route_lands_in_the_other_namespace() -> None:
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "canary", 1, 2)})
    assert targets(ws) == [("shop/destinationrule.yaml", 11, "canary")]
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "shop/shop-gateway", 1, 8)})
    assert targets(ws) == [("shop/gateway.yaml", 3, "shop-gateway")]
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "host: cart.shop", 2, 8)})  # the mirror
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


def test_short_host_in_another_namespace_is_not_the_shop_service() -> None:
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "host: cart\n", 1, 7)})
    assert targets(ws) == []  # `cart` in frontend is cart.frontend.svc.cluster.local


def test_every_target_when_several_apply() -> None:
    """Two DestinationRules (the Service's namespace and the client's) both define the subset."""
    client_rule = (
        DESTINATION_RULE.replace("namespace: shop", "namespace: frontend")
        .replace("name: cart\n", "name: cart-from-frontend\n")
        .replace("  - name: stable\n    labels:\n      version: v1\n", "")
    )
    ws = build({**shop(), "frontend/dr.yaml": client_rule, "frontend/vs.yaml": mark(FRONTEND, "canary", 1, 2)})
    assert targets(ws) == [("frontend/dr.yaml", 8, "canary"), ("shop/destinationrule.yaml", 11, "canary")]


def test_service_and_serviceentry_for_one_host() -> None:
    entry = """\
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: cart-extra, namespace: shop}
    spec:
      hosts: [cart.shop.svc.cluster.local]
      ports: [{number: 8080, name: http, protocol: HTTP}]
      resolution: DNS
    """
    ws = build({**shop(virtualservice=mark(VIRTUAL_SERVICE, "host: cart", 1, 7)), "shop/entry.yaml": entry})
    assert targets(ws) == [("shop/entry.yaml", 4, "cart.shop.svc.cluster.local"), ("shop/service.yaml", 3, "cart")]


def test_serviceentry_host_and_virtualservice_only_host() -> None:
    entry = """\
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: payments, namespace: shop}
    spec:
      hosts: ["*.payments.example.com"]
      ports: [{number: 443, name: tls, protocol: TLS}]
      resolution: DNS
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: virtual, namespace: shop}
    spec:
      hosts: [virtual-only]
      http:
      - directResponse: {status: 200}
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: client, namespace: shop}
    spec:
      hosts: [client]
      http:
      - route:
        - destination: {host: api.payments.example.com}
        mirror: {host: virtual-only}
    """
    ws = build({"shop/all.yaml": mark(entry, "api.payments", 1, 1)})
    assert targets(ws) == [("shop/all.yaml", 4, '"*.payments.example.com"')]
    ws = build({"shop/all.yaml": mark(entry, "virtual-only}", 1, 1)})
    assert targets(ws) == [("shop/all.yaml", 12, "virtual-only")]


def test_hidden_service_is_still_found() -> None:
    hidden = SERVICE.replace(
        "  namespace: shop\nspec:\n  selector:",
        '  namespace: shop\n  annotations: {networking.istio.io/exportTo: "."}\nspec:\n  selector:',
        1,
    )
    ws = build({**shop(service=hidden), "frontend/vs.yaml": mark(FRONTEND, "host: cart.shop", 1, 8)})
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


def test_declarations_are_their_own_definition() -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, "stable", 1, 1)))
    assert targets(ws) == [("shop/destinationrule.yaml", 8, "stable")]
    ws = build(shop(service=mark(SERVICE, "name: cart", 1, 7)))
    assert targets(ws) == [("shop/service.yaml", 3, "cart")]


@pytest.mark.parametrize(
    ("target", "offset"),
    [
        ("kind: VirtualService", 8),  # a kind value
        ("apiVersion", 2),  # a key
        ("metadata:", 3),
        ("x-canary", 3),  # a header match
        ("weight: 90", 9),  # a weight
        ("  - route:", 6),  # the `route` key
    ],
)
def test_nothing_to_go_to(target: str, offset: int) -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, target, 1, offset)))
    assert targets(ws) == []


def test_comment_and_unknown_file() -> None:
    text = "# routes for the cart\n" + VIRTUAL_SERVICE
    ws = build(shop(virtualservice=mark(text, "routes for", 1, 2)))
    assert targets(ws) == []
    assert definition(WorkspaceIndex(), "file:///nowhere.yaml", 0, 0, convert) == []


def test_definition_follows_new_text() -> None:
    """A re-analysed file (as the server does on every change) is what definition reads."""
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "subset: canary", 1, 10)))
    assert locate(ws.index, *ws.at).what == DESTINATION_SUBSET  # type: ignore[union-attr]
    renamed = ws.texts[uri("shop/destinationrule.yaml")].replace("name: canary", "name: preview")
    renamed = renamed.replace("name: stable", "name: canary")
    ws.texts[uri("shop/destinationrule.yaml")] = renamed
    ws.index.update(analyze_text(uri("shop/destinationrule.yaml"), renamed, ws.index.settings))
    assert targets(ws) == [("shop/destinationrule.yaml", 8, "canary")]
