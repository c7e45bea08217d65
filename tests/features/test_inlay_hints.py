"""Inlay hints after short host names."""

from __future__ import annotations

from istio_lsp.features.inlay_hints import inlay_hints
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span
from tests.features.helpers import FRONTEND, build, convert, shop, uri

EVERYTHING = Span(0, 0, 1000, 0)


def hints(files: dict[str, str], name: str, within: Span = EVERYTHING, settings: Settings | None = None):
    ws = build(files, settings)
    return [(h.position.line, h.position.character, h.label) for h in inlay_hints(ws.index, uri(name), within, convert)]


def test_short_hosts_get_their_fqdn() -> None:
    assert hints(shop(), "shop/virtualservice.yaml") == [
        (7, 8, "→ cart.shop.svc.cluster.local"),
        (18, 18, "→ cart.shop.svc.cluster.local"),
        (22, 18, "→ cart.shop.svc.cluster.local"),
        (28, 18, "→ cart.shop.svc.cluster.local"),
    ]


def test_in_the_resource_namespace_and_cluster_domain() -> None:
    found = hints({"vs.yaml": FRONTEND}, "vs.yaml", settings=Settings(cluster_domain="corp.local"))
    assert found == [(17, 18, "→ cart.frontend.svc.corp.local")]  # FQDNs and external hosts get none


def test_destinationrule_short_host_and_quotes() -> None:
    rule = """\
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: cart, namespace: shop}
    spec:
      host: "cart"
    """
    assert hints({"dr.yaml": rule}, "dr.yaml") == [(4, 14, "→ cart.shop.svc.cluster.local")]


def test_only_within_the_requested_range() -> None:
    assert [line for line, _, _ in hints(shop(), "shop/virtualservice.yaml", Span(20, 0, 25, 0))] == [22]
    assert hints(shop(), "shop/destinationrule.yaml") == []
    assert hints(shop(), "nowhere.yaml") == []
