"""Code lenses over subsets and weighted routes."""

from __future__ import annotations

import pytest

from istio_lsp.features.code_lens import code_lenses
from tests.features.helpers import DESTINATION_RULE, FRONTEND, VIRTUAL_SERVICE, build, convert, shop, uri


def lenses(files: dict[str, str], name: str) -> list[tuple[int, str]]:
    ws = build(files)
    found = code_lenses(ws.index, uri(name), convert)
    assert all(lens.command is not None for lens in found)
    return [(lens.range.start.line, lens.command.title) for lens in found if lens.command]


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
