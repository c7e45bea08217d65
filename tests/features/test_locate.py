"""What is under a position, and the subset details hover builds on."""

from __future__ import annotations

import pytest

from istio_lsp.features import locate as at
from istio_lsp.features.definition import subset_details
from istio_lsp.features.locate import locate
from tests.features.helpers import DESTINATION_RULE, GATEWAY, SERVICE, VIRTUAL_SERVICE, build, mark, shop


@pytest.mark.parametrize(
    ("file", "text", "target", "offset", "what"),
    [
        ("virtualservice", VIRTUAL_SERVICE, "host: cart", 6, at.DESTINATION_HOST),
        ("virtualservice", VIRTUAL_SERVICE, "subset: stable", 8, at.DESTINATION_SUBSET),
        ("virtualservice", VIRTUAL_SERVICE, "8080", 4, at.DESTINATION_PORT),
        ("virtualservice", VIRTUAL_SERVICE, "- mesh", 2, at.GATEWAY_REF),
        ("virtualservice", VIRTUAL_SERVICE, "- cart", 2, at.VIRTUALSERVICE_HOST),
        ("virtualservice", VIRTUAL_SERVICE, "name: cart", 6, at.RESOURCE_NAME),
        ("destinationrule", DESTINATION_RULE, "cart.shop", 0, at.DESTINATIONRULE_HOST),
        ("destinationrule", DESTINATION_RULE, "stable", 0, at.SUBSET_NAME),
        ("destinationrule", DESTINATION_RULE, "version: v1", 0, at.SUBSET_LABELS),
        ("gateway", GATEWAY, "istio: ingress", 0, at.SELECTOR),
        ("service", SERVICE, "app: cart", 0, at.SELECTOR),
        ("service", SERVICE, "version: v1", 0, at.WORKLOAD_LABELS),
        ("service", SERVICE, "cart-v1", 2, at.RESOURCE_NAME),
        ("gateway", GATEWAY, "shop.example.com", 3, at.GATEWAY_HOST),
    ],
)
def test_what_is_under_the_cursor(file: str, text: str, target: str, offset: int, what: str) -> None:
    ws = build(shop(**{file: mark(text, target, 1, offset)}))
    found = locate(ws.index, *ws.at)
    assert found is not None and found.what == what


@pytest.mark.parametrize(("target", "offset"), [("host: cart", 3), ("kind:", 0), ("  - route:", 2), ("weight", 1)])
def test_nothing_under_the_cursor(target: str, offset: int) -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, target, 1, offset)))
    assert locate(ws.index, *ws.at) is None


def test_subset_details_for_hover() -> None:
    ws = build(shop(virtualservice=mark(VIRTUAL_SERVICE, "subset: stable", 1, 10)))
    located = locate(ws.index, *ws.at)
    assert located is not None
    ((rule, subset, workloads),) = subset_details(ws.index, located)
    assert rule.display == "DestinationRule shop/cart" and subset.labels == {"version": "v1"}
    assert [w.display for w in workloads] == ["Deployment shop/cart-v1"]
