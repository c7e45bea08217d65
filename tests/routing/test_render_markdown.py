"""The trace as Markdown (the `istioLsp.trace` command's `markdown`): outcome first, one item per step
linked to its file and line, texts escaped but names kept as code."""

from __future__ import annotations

from istio_lsp.routing.render import as_markdown
from tests.features.helpers import DESTINATION_RULE, GATEWAY, SERVICE, VIRTUAL_SERVICE
from tests.routing.helpers import run

FILES = {
    "shop/service.yaml": SERVICE,
    "shop/destinationrule.yaml": DESTINATION_RULE,
    "shop/virtualservice.yaml": VIRTUAL_SERVICE.replace("  - cart\n", "  - cart\n  - shop.example.com\n", 1),
    "shop/gateway.yaml": GATEWAY,
}


def shown(uri: str) -> str:
    return uri.removeprefix("file:///ws/")


def test_a_routed_request_lists_every_step_with_its_link() -> None:
    result = run(FILES, "GET", "http://shop.example.com/", via="shop/shop-gateway", headers=["x-canary: 1"])
    markdown = as_markdown(result, shown)
    lines = markdown.splitlines()
    assert lines[0] == "### ✓ GET http://shop.example.com/ → ROUTED"
    assert lines[2] == "**From** Gateway shop/shop-gateway · x-canary: 1"
    steps = [line for line in lines if line.lstrip().startswith("- ")]
    assert len(steps) == len(result.steps)
    assert steps[0].startswith("- **source** Gateway shop/shop-gateway takes GET")
    assert steps[0].endswith(" · [shop/gateway.yaml:4](file:///ws/shop/gateway.yaml#L4)")
    route = next(line for line in steps if line.startswith("- **route**"))
    # `[`, `]`, `*`, `_` of the text are escaped; names in backticks stay code
    assert route.startswith('- **route** cart http\\[0\\] "testers" (match #0: header `x-canary` exact `1`)')
    assert "(file:///ws/shop/virtualservice.yaml#L14)" in route
    assert any(line.startswith("  - **rule** DestinationRule shop/cart subset canary") for line in steps)
    assert lines[-1] == "**ROUTED**: 100.0% → cart.shop.svc.cluster.local:8080 subset canary"


def test_a_failed_request_is_marked_and_says_why() -> None:
    files = {**FILES, "shop/destinationrule.yaml": DESTINATION_RULE.replace("name: canary", "name: beta")}
    result = run(files, "GET", "http://shop.example.com/", via="shop/shop-gateway", headers=["x-canary: 1"])
    markdown = as_markdown(result, shown)
    assert markdown.startswith("### ✗ GET http://shop.example.com/ → 503\n")
    assert "  - **✗ 503** no DestinationRule for the host defines subset `canary`" in markdown
    assert markdown.rstrip().splitlines()[-1].startswith("**503**: no DestinationRule for the host defines subset")


def test_a_404_without_steps_to_link_and_plain_text_escaped() -> None:
    result = run(FILES, "GET", "http://nowhere.example.com/a_b", via="shop/shop-gateway")
    markdown = as_markdown(result, shown)
    assert markdown.splitlines()[0] == "### ✗ GET http://nowhere.example.com/a\\_b → 404"
    assert "**404**: no server on port 80 accepts host `nowhere.example.com`" in markdown
