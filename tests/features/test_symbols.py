"""Document outline and workspace symbols."""

from __future__ import annotations

from lsprotocol import types

from istio_lsp.features.symbols import document_symbols, flatten, workspace_symbols
from tests.features.helpers import FRONTEND, build, convert, shop, uri


def outline(symbols: list[types.DocumentSymbol]) -> list[tuple[str, list[str]]]:
    return [(s.name, [c.name for c in s.children or []]) for s in symbols]


def test_outline_of_each_file() -> None:
    ws = build({**shop(), "frontend/vs.yaml": FRONTEND})
    assert outline(document_symbols(ws.index, uri("shop/virtualservice.yaml"), convert)) == [
        ("VirtualService shop/cart", ["http[0] testers", "http[1]"])
    ]
    assert outline(document_symbols(ws.index, uri("shop/destinationrule.yaml"), convert)) == [
        ("DestinationRule shop/cart", ["stable", "canary"])
    ]
    assert outline(document_symbols(ws.index, uri("shop/gateway.yaml"), convert)) == [
        ("Gateway shop/shop-gateway", ["http (HTTP 80)"])
    ]
    assert outline(document_symbols(ws.index, uri("shop/service.yaml"), convert)) == [
        ("Service shop/cart", ["http 8080"]),
        ("Deployment shop/cart-v1", []),
        ("Deployment shop/cart-v2", []),
    ]


def test_symbol_ranges_and_details() -> None:
    ws = build(shop())
    (vs,) = document_symbols(ws.index, uri("shop/virtualservice.yaml"), convert)
    assert vs.kind == types.SymbolKind.Module and vs.detail == "networking.istio.io/v1"
    assert ws.text_of(uri("shop/virtualservice.yaml"), vs.selection_range) == "cart"
    assert vs.range.start == types.Position(0, 0)
    weighted = (vs.children or [])[1]
    assert weighted.detail == "→ cart stable 90%, cart canary 10%"
    (rule,) = document_symbols(ws.index, uri("shop/destinationrule.yaml"), convert)
    canary = (rule.children or [])[1]
    assert canary.detail == "version: v2"
    assert ws.text_of(uri("shop/destinationrule.yaml"), canary.selection_range) == "canary"
    for child in rule.children or []:  # children lie inside their parent; selections inside ranges
        assert (rule.range.start.line, 0) <= (child.range.start.line, 0) <= (rule.range.end.line, 0)
        assert child.range.start.line <= child.selection_range.start.line <= child.range.end.line


def test_several_documents_and_lists() -> None:
    text = """\
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: Service
      metadata: {name: a, namespace: x}
    - apiVersion: v1
      kind: Service
      metadata: {name: b, namespace: x}
    ---
    # nothing
    ---
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: ext}
    spec:
      hosts: [api.example.com, db.example.com]
    """
    ws = build({"all.yaml": text})
    assert outline(document_symbols(ws.index, uri("all.yaml"), convert)) == [
        ("Service x/a", []),
        ("Service x/b", []),
        ("ServiceEntry ext", ["api.example.com", "db.example.com"]),
    ]


def test_flat_symbols_for_old_clients() -> None:
    ws = build(shop())
    flat = flatten(document_symbols(ws.index, uri("shop/destinationrule.yaml"), convert), "file:///client/dr.yaml")
    assert [(s.name, s.container_name) for s in flat] == [
        ("DestinationRule shop/cart", None),
        ("stable", "DestinationRule shop/cart"),
        ("canary", "DestinationRule shop/cart"),
    ]
    assert all(s.location.uri == "file:///client/dr.yaml" for s in flat)


def test_workspace_symbols_by_name() -> None:
    ws = build({**shop(), "frontend/vs.yaml": FRONTEND})
    found = workspace_symbols(ws.index, "cart", convert)
    assert [(s.name, s.container_name) for s in found] == [
        ("cart", "DestinationRule shop"),
        ("cart", "Service shop"),
        ("cart", "VirtualService shop"),
        ("cart-v1", "Deployment shop"),
        ("cart-v2", "Deployment shop"),
    ]
    location = found[1].location
    assert isinstance(location, types.Location) and location.uri == uri("shop/service.yaml")
    assert [s.name for s in workspace_symbols(ws.index, "stfr", convert)] == ["storefront"]  # in order
    assert [s.name for s in workspace_symbols(ws.index, "frontend/", convert)] == ["storefront"]
    assert len(workspace_symbols(ws.index, "", convert)) == 7
    assert workspace_symbols(ws.index, "zzz", convert) == []
