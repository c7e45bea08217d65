"""Code lenses over subsets and weighted routes; what each HTTP route matches; "Trace a request…"."""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.features.code_lens import TRACE_COMMAND, TRACE_TITLE, code_lenses
from tests.features.helpers import DESTINATION_RULE, FRONTEND, VIRTUAL_SERVICE, build, convert, shop, uri


def lenses(files: dict[str, str], name: str) -> list[tuple[int, str]]:
    """The labels (subsets, splits), without the VirtualService's trace lens."""
    ws = build(files)
    found = code_lenses(ws.index, uri(name), convert)
    assert all(lens.command is not None for lens in found)
    return [(lens.range.start.line, lens.command.title) for lens in found if lens.command and not lens.command.command]


def all_lenses(files: dict[str, str], name: str) -> list[tuple[int, str, str, list | None]]:
    """Every lens, with the route titles (which read the VirtualService's text)."""
    ws = build(files)
    found = code_lenses(ws.index, uri(name), convert, lambda u: files.get(u.removeprefix("file:///ws/")))
    return [(x.range.start.line, x.command.title, x.command.command, x.command.arguments) for x in found if x.command]


def test_subsets_count_workloads_and_routes() -> None:
    assert lenses(shop(), "shop/destinationrule.yaml") == [(8, "1 workload · 1 route"), (11, "1 workload · 2 routes")]
    with_frontend = {**shop(), "frontend/vs.yaml": FRONTEND}
    assert lenses(with_frontend, "shop/destinationrule.yaml")[1] == (11, "1 workload · 3 routes")


def test_subset_without_workloads_or_service() -> None:
    rule = DESTINATION_RULE.replace("version: v2", "version: v3")
    assert lenses(shop(destinationrule=rule), "shop/destinationrule.yaml")[1] == (11, "0 workloads · 2 routes")
    files = {"shop/destinationrule.yaml": DESTINATION_RULE}
    assert lenses(files, "shop/destinationrule.yaml")[0] == (8, "no Service in the workspace · 0 routes")


def test_weighted_route_shows_the_split() -> None:
    assert lenses(shop(), "shop/virtualservice.yaml") == [(20, "stable 90% · canary 10%")]


@pytest.mark.parametrize(
    ("weights", "title"),
    [
        (("weight: 90", "weight: 10"), "stable 90% · canary 10%"),
        (("weight: 1", "weight: 2"), "stable 33.3% · canary 66.7%"),  # relative weights
        (("weight: 80", "weight: 0"), "stable 100% · canary 0%"),
        (("weight: 80", "nothing: x"), "stable 100% · canary 0%"),  # no weight: no traffic
        (("nothing: x", "nothing: y"), "stable 0% · canary 0% (total weight 0)"),
    ],
)
def test_split_follows_istio_weights(weights: tuple[str, str], title: str) -> None:
    text = VIRTUAL_SERVICE.replace("weight: 90", weights[0]).replace("weight: 10", weights[1])
    assert lenses(shop(virtualservice=text), "shop/virtualservice.yaml") == [(20, title)]


def test_hosts_named_when_they_differ() -> None:
    text = VIRTUAL_SERVICE.replace(
        "        host: cart\n        subset: canary\n      weight: 10",
        "        host: cart-next\n      weight: 10",
    )
    assert lenses(shop(virtualservice=text), "shop/virtualservice.yaml") == [(20, "cart stable 90% · cart-next 10%")]


def test_single_destination_without_a_lens_unless_weighted() -> None:
    assert lenses({"vs.yaml": FRONTEND}, "vs.yaml") == []
    one = FRONTEND.replace("        host: cart\n", "        host: cart\n      weight: 50\n")
    assert lenses({"vs.yaml": one}, "vs.yaml") == [(15, "cart 100%")]


# ---- what each route matches, and the trace lens ---------------------------------------------


def test_routes_say_what_they_match_and_the_virtualservice_offers_a_trace() -> None:
    found = all_lenses(shop(), "shop/virtualservice.yaml")
    argument = {"method": "GET", "url": "http://cart/", "headers": {}, "via": "shop/shop-gateway"}
    assert found == [
        (0, TRACE_TITLE, TRACE_COMMAND, [argument]),
        (12, "x-canary: 1 · cart", "", None),
        (20, "every request · cart", "", None),
        (20, "stable 90% · canary 10%", "", None),
    ]


def test_the_trace_starts_from_the_namespace_on_mesh() -> None:
    found = all_lenses({"vs.yaml": VIRTUAL_SERVICE.replace("  - shop-gateway\n", "")}, "vs.yaml")
    assert found[0][3] == [{"method": "GET", "url": "http://cart/", "headers": {}, "from": "shop"}]


def test_a_delegate_gets_no_trace_lens() -> None:
    delegate = VIRTUAL_SERVICE.replace("  hosts:\n  - cart\n", "")
    titles = [title for _, title, _, _ in all_lenses({"vs.yaml": delegate}, "vs.yaml")]
    assert TRACE_TITLE not in titles
    assert titles[:2] == ["x-canary: 1 · delegate", "every request · delegate"]


VS_WITH_MATCHES = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: api, namespace: shop}
    spec:
      hosts: [api.example.com, "*.api.example.com"]
      gateways: [istio-system/public]
      http:
      - match:
        - {method: {exact: GET}, uri: {prefix: /api/}}
        - {method: {exact: HEAD}, uri: {prefix: /api/}}
        route: [{destination: {host: api}}]
      - match:
        - uri: {exact: /health}
          ignoreUriCase: true
        - uri: {regex: "^/v[0-9]+/.*"}
          queryParams: {debug: {exact: "1"}}
        route: [{destination: {host: api}}]
      - match:
        - headers: {x-user: {}}
          withoutHeaders: {x-bot: {prefix: yes}}
          sourceLabels: {app: web}
          port: 8080
        route: [{destination: {host: api}}]
      - route: [{destination: {host: api}}]
    """
)


def test_route_titles_name_the_conditions() -> None:
    found = all_lenses({"vs.yaml": VS_WITH_MATCHES}, "vs.yaml")
    assert [title for _, title, _, _ in found] == [
        TRACE_TITLE,
        "GET /api/* | HEAD /api/* · 2 hosts",
        "/health (any case) | ~^/v[0-9]+/.* ?debug=1 · 2 hosts",
        "x-user no x-bot: yes* port 8080 from app=web · 2 hosts",
        "every request · 2 hosts",
    ]
    assert found[0][3] == [
        {"method": "GET", "url": "http://api.example.com/", "headers": {}, "via": "istio-system/public"}
    ]
