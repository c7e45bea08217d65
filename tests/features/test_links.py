"""Links through labels and modes: selectors ↔ workloads, Gateway server hosts → VirtualServices,
DestinationRule `tls.mode` ↔ PeerAuthentication `mtls.mode`, in definition, references and hover."""

from __future__ import annotations

import pytest

from istio_lsp.features.definition import definition
from istio_lsp.features.hover import hover
from istio_lsp.features.locate import locate
from istio_lsp.features.references import references
from istio_lsp.index.resolve import effective_mtls
from tests.features.helpers import (
    DESTINATION_RULE,
    FRONTEND,
    GATEWAY,
    SERVICE,
    Workspace,
    build,
    convert,
    mark,
    shop,
)

Place = tuple[str, int]  # (file, 0-based line)


def targets(ws: Workspace) -> list[Place]:
    return [
        (loc.uri.removeprefix("file:///ws/"), loc.range.start.line) for loc in definition(ws.index, *ws.at, convert)
    ]


def places(ws: Workspace, include_declaration: bool = False) -> list[Place]:
    found = references(ws.index, *ws.at, include_declaration, convert)
    return [(loc.uri.removeprefix("file:///ws/"), loc.range.start.line) for loc in found]


def hover_text(ws: Workspace) -> str:
    file_uri, line, character = ws.at
    found = hover(ws.index, file_uri, ws.texts[file_uri], line, character, convert)
    assert found is not None
    return found.contents.value  # type: ignore[union-attr]


# workloads: shop/service.yaml declares cart-v1 (line 15) and cart-v2 (line 25) in shop
CART_V1, CART_V2 = ("shop/service.yaml", 15), ("shop/service.yaml", 25)
ELSEWHERE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart-v2, namespace: other}
spec:
  template:
    metadata:
      labels: {app: cart, version: v2}
"""
OTHER_V2 = ("other/deploy.yaml", 2)


def policy(kind: str, namespace: str, labels: str, api: str = "security.istio.io/v1", name: str = "p") -> str:
    key = "workloadSelector:\n    labels" if kind == "Sidecar" else "selector:\n    matchLabels"
    head = f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
    return head + f"spec:\n  {key}: {labels}\n"


# ---- a selector → the workloads it picks -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "api"),
    [
        ("AuthorizationPolicy", "security.istio.io/v1"),
        ("PeerAuthentication", "security.istio.io/v1"),
        ("RequestAuthentication", "security.istio.io/v1"),
        ("Telemetry", "telemetry.istio.io/v1"),
        ("Sidecar", "networking.istio.io/v1"),
    ],
)
def test_policy_selector_picks_the_workloads_of_its_namespace(kind: str, api: str) -> None:
    text = mark(policy(kind, "shop", "{app: cart, version: v2}", api), "version", 1, 2)
    ws = build({**shop(), "shop/policy.yaml": text, "other/deploy.yaml": ELSEWHERE})
    assert targets(ws) == [CART_V2]  # not the namesake in `other`


def test_policy_in_the_root_namespace_picks_pods_of_every_namespace() -> None:
    text = mark(policy("AuthorizationPolicy", "istio-system", "{version: v2}"), "version", 1, 2)
    ws = build({**shop(), "istio-system/policy.yaml": text, "other/deploy.yaml": ELSEWHERE})
    assert targets(ws) == [OTHER_V2, CART_V2]
    assert "Matches **2 workloads** in every namespace (it is in the root namespace `istio-system`)" in hover_text(ws)


def test_service_selector_stays_in_its_namespace() -> None:
    ws = build({**shop(service=mark(SERVICE, "app: cart", 1, 6)), "other/deploy.yaml": ELSEWHERE})
    assert targets(ws) == [CART_V1, CART_V2]
    text = hover_text(ws)
    assert "Matches **2 workloads** in namespace `shop`" in text
    assert "Deployment `shop/cart-v1`" in text and "`other/cart-v2`" not in text


def test_selector_matching_nothing_says_the_pods_may_live_elsewhere() -> None:
    text = mark(policy("AuthorizationPolicy", "shop", "{app: payments}"), "payments", 1, 2)
    ws = build({**shop(), "shop/policy.yaml": text})
    assert targets(ws) == []
    hovered = hover_text(ws)
    assert "**No workload in the workspace** matches it in namespace `shop`" in hovered
    assert "deployed from elsewhere" in hovered


@pytest.mark.parametrize("labels", ['{app: "${APP}"}', '{app: "{{ .Values.app }}"}'])
def test_placeholder_selector_links_nowhere(labels: str) -> None:
    text = mark(policy("AuthorizationPolicy", "shop", labels), "app:", 1, 1)
    ws = build({**shop(), "shop/policy.yaml": text})
    assert targets(ws) == []
    assert "placeholder" in hover_text(ws)


def test_hover_on_a_label_key_of_the_selector() -> None:
    text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\n"
    text += "spec:\n  selector:\n    matchLabels:\n      ap‸p: cart\n"
    ws = build({**shop(), "shop/policy.yaml": text})
    assert "Matches **2 workloads**" in hover_text(ws)


def test_labels_a_kustomization_adds_to_the_pods_count() -> None:
    kustomization = """\
    namespace: shop
    labels:
    - pairs: {team: payments}
      includeTemplates: true
    resources: [deploy.yaml, policy.yaml]
    """
    deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: pay}\nspec:\n  template:\n"
    deploy += "    metadata:\n      labels: {app: pay}\n"
    text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: team}\n"
    text += "spec:\n  selector:\n    matchLabels: {team: pay‸ments}\n"
    ws = build({"app/kustomization.yaml": kustomization, "app/deploy.yaml": deploy, "app/policy.yaml": text})
    assert targets(ws) == [("app/deploy.yaml", 2)]
    ws = build(
        {
            "app/kustomization.yaml": kustomization,
            "app/deploy.yaml": mark(deploy, "pay}", 1, 1),
            "app/policy.yaml": text.replace("‸", ""),
        }
    )
    assert places(ws) == [("app/policy.yaml", 5)]


# ---- a workload → what selects it, what governs it ---------------------------------------------

POLICIES = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-viewer, namespace: shop}
spec:
  selector:
    matchLabels: {app: cart, version: v2}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: istio-system}
spec: {}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress: [{hosts: ["./*"]}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: cart, namespace: shop}
spec:
  selector:
    matchLabels: {app: cart}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cart-viewer, namespace: other}
spec:
  selector:
    matchLabels: {app: cart, version: v2}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: templated, namespace: shop}
spec:
  selector:
    matchLabels: {app: "${APP}"}
"""
GATEWAY_POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-ingress, namespace: shop}
spec:
  template:
    metadata:
      labels: {istio: ingressgateway}
"""


def test_references_of_a_workload_are_what_selects_it() -> None:
    ws = build({**shop(service=mark(SERVICE, "name: cart-v2", 1, 7)), "shop/policies.yaml": POLICIES})
    assert places(ws) == [
        ("shop/destinationrule.yaml", 13),  # subset canary's labels
        ("shop/policies.yaml", 11),  # AuthorizationPolicy shop/cart-viewer
        ("shop/policies.yaml", 29),  # Telemetry shop/cart
        ("shop/service.yaml", 7),  # the Service's selector
    ]  # not other/cart-viewer, not the templated selector
    assert ("shop/service.yaml", 25) in places(ws, include_declaration=True)


def test_references_from_the_pod_labels() -> None:
    text = mark(SERVICE, "labels: {app: cart, version: v1}", 1, 12)
    ws = build({**shop(service=text), "shop/policies.yaml": POLICIES})
    assert places(ws) == [("shop/destinationrule.yaml", 10), ("shop/policies.yaml", 29), ("shop/service.yaml", 7)]


def test_gateway_pods_list_the_gateways_selecting_them() -> None:
    ws = build({**shop(), "shop/ingress.yaml": mark(GATEWAY_POD, "shop-ingress", 1, 2)})
    assert places(ws) == [("shop/gateway.yaml", 7)]
    assert "- Gateways it serves: `shop/shop-gateway`" in hover_text(ws)


def test_workload_in_another_namespace_is_not_selected_by_shop_policies() -> None:
    ws = build({**shop(), "shop/policies.yaml": POLICIES, "other/deploy.yaml": mark(ELSEWHERE, "cart-v2", 1, 2)})
    assert places(ws) == [("shop/policies.yaml", 36)]  # other/cart-viewer only


def test_hover_on_a_workload_name_says_what_governs_it() -> None:
    ws = build({**shop(service=mark(SERVICE, "name: cart-v2", 1, 7)), "shop/policies.yaml": POLICIES})
    text = hover_text(ws)
    assert "**Deployment `shop/cart-v2`** · pod labels `app: cart, version: v2`" in text
    assert "- Services: `shop/cart`" in text
    assert "- mTLS: **STRICT**, from PeerAuthentication `shop/default` (namespace-wide)" in text
    assert "- AuthorizationPolicy: `shop/cart-viewer` (selects these pods), `istio-system/deny-all` (mesh-wide)" in text
    assert "- Sidecar: `shop/default` (namespace-wide)" in text
    assert "- Telemetry: `shop/cart` (selects these pods)" in text
    assert "- RequestAuthentication: none in the workspace" in text
    assert "other/cart-viewer" not in text and "templated" not in text


def test_hover_on_pod_labels_lists_the_selectors() -> None:
    ws = build({**shop(service=mark(SERVICE, "version: v1", 1, 2))})
    text = hover_text(ws)
    assert "Selected by **1 resource**" in text and "Service `shop/cart` (`app: cart`)" in text
    assert "DestinationRule `shop/cart` subset `stable`" in text


def test_workload_nothing_selects() -> None:
    lonely = ELSEWHERE.replace("app: cart", "app: lonely")
    ws = build({**shop(), "other/deploy.yaml": mark(lonely, "version: v2", 1, 2)})
    assert places(ws) == []
    assert "No Service, Gateway or policy in the workspace selects these pods." in hover_text(ws)


# ---- the mTLS mode in force -----------------------------------------------------------------------


def peer(namespace: str, mode: str, selector: str = "", name: str = "default") -> str:
    text = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
    text += f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n"
    if selector:
        text += f"  selector:\n    matchLabels: {selector}\n"
    return text + f"  mtls: {{mode: {mode}}}\n"


def test_mtls_levels() -> None:
    ws = build({**shop(), "mesh.yaml": peer("istio-system", "STRICT")})
    decision = effective_mtls(ws.index, "shop", {"app": "cart"})
    assert decision is not None and (decision.mode, decision.level) == ("STRICT", "mesh")
    ws = build({**shop(), "mesh.yaml": peer("istio-system", "STRICT"), "ns.yaml": peer("shop", "PERMISSIVE")})
    decision = effective_mtls(ws.index, "shop", {"app": "cart"})
    assert decision is not None and (decision.mode, decision.level) == ("PERMISSIVE", "namespace")
    files = {"ns.yaml": peer("shop", "PERMISSIVE"), "w.yaml": peer("shop", "DISABLE", "{version: v1}", "v1")}
    ws = build({**shop(), **files})
    decision = effective_mtls(ws.index, "shop", {"app": "cart", "version": "v1"})
    assert decision is not None and (decision.mode, decision.level) == ("DISABLE", "workload")
    decision = effective_mtls(ws.index, "shop", {"app": "cart", "version": "v2"})
    assert decision is not None and decision.mode == "PERMISSIVE"
    # UNSET inherits; nothing at all is Istio's default
    ws = build({**shop(), "ns.yaml": peer("shop", "UNSET"), "mesh.yaml": peer("istio-system", "STRICT")})
    decision = effective_mtls(ws.index, "shop", None)
    assert decision is not None and (decision.mode, decision.level) == ("STRICT", "mesh")
    decision = effective_mtls(build(shop()).index, "shop", None)
    assert decision is not None and (decision.mode, decision.level, decision.policy) == ("PERMISSIVE", "default", None)
    assert effective_mtls(build(shop()).index, "*", None) is None  # namespace not known


def test_mtls_ignores_root_selectors_and_reports_disagreement() -> None:
    files = {"root.yaml": peer("istio-system", "DISABLE", "{app: cart}", "root-cart")}
    decision = effective_mtls(build({**shop(), **files}).index, "shop", {"app": "cart"})
    assert decision is not None and decision.level == "default"
    files = {"a.yaml": peer("shop", "STRICT", name="a"), "b.yaml": peer("shop", "DISABLE", name="b")}
    decision = effective_mtls(build({**shop(), **files}).index, "shop", None)
    assert decision is not None and decision.mode == "" and len(decision.rivals) == 2


def test_workload_hover_shows_workload_level_mtls() -> None:
    files = {"ns.yaml": peer("shop", "STRICT"), "w.yaml": peer("shop", "PERMISSIVE", "{version: v1}", "legacy")}
    ws = build({**shop(service=mark(SERVICE, "name: cart-v1", 1, 7)), **files})
    assert "- mTLS: **PERMISSIVE**, from PeerAuthentication `shop/legacy` (selects these pods)" in hover_text(ws)


# ---- DestinationRule tls.mode ↔ PeerAuthentication mtls.mode -------------------------------------

TLS_RULE = (
    DESTINATION_RULE.replace("name: cart\n", "name: cart-tls\n") + "  trafficPolicy:\n    tls:\n      mode: DISABLE\n"
)


def test_tls_mode_hover_says_what_the_pods_accept() -> None:
    ws = build({**shop(), "shop/dr.yaml": mark(TLS_RULE, "DISABLE", 1, 2), "shop/pa.yaml": peer("shop", "STRICT")})
    text = hover_text(ws)
    assert "**`tls.mode: DISABLE`** towards `cart.shop.svc.cluster.local`" in text
    assert (
        "Deployment `shop/cart-v1`, Deployment `shop/cart-v2`: **STRICT**, from PeerAuthentication `shop/default`"
        in text
    )
    assert "it resets the connections" in text
    assert targets(ws) == [("shop/pa.yaml", 4)]  # the PeerAuthentication's mode


def test_tls_mode_of_a_subset_compares_its_pods_only() -> None:
    rule = DESTINATION_RULE.replace(
        "      version: v2\n", "      version: v2\n    trafficPolicy:\n      tls: {mode: ISTIO_MUTUAL}\n"
    )
    files = {"shop/pa.yaml": peer("shop", "DISABLE", "{version: v2}", "v2-plain")}
    ws = build({**shop(destinationrule=mark(rule, "ISTIO_MUTUAL", 1, 2)), **files})
    text = hover_text(ws)
    assert "subset `canary`" in text and "cart-v1" not in text
    assert "Deployment `shop/cart-v2`: **DISABLE**" in text and "application receives TLS bytes" in text


def test_tls_mode_with_no_workload_uses_the_namespace_mode() -> None:
    rule = TLS_RULE.replace("cart.shop.svc", "payments.billing.svc")
    ws = build({**shop(), "shop/dr.yaml": mark(rule, "DISABLE", 1, 2), "mesh.yaml": peer("istio-system", "PERMISSIVE")})
    text = hover_text(ws)
    assert "namespace `billing` (no workload behind the host in the workspace): **PERMISSIVE**" in text
    assert "without the caller's identity" in text


def test_tls_mode_of_a_mesh_wide_rule_and_of_an_external_host() -> None:
    rule = TLS_RULE.replace("cart.shop.svc.cluster.local", '"*.local"')
    ws = build({**shop(), "shop/dr.yaml": mark(rule, "DISABLE", 1, 2), "mesh.yaml": peer("istio-system", "STRICT")})
    assert "every namespace without a PeerAuthentication of its own: **STRICT**" in hover_text(ws)
    rule = TLS_RULE.replace("cart.shop.svc.cluster.local", "api.example.com").replace("DISABLE", "SIMPLE")
    ws = build({**shop(), "shop/dr.yaml": mark(rule, "SIMPLE", 1, 2), "mesh.yaml": peer("istio-system", "STRICT")})
    assert "not a service of a known cluster namespace" in hover_text(ws)
    assert targets(ws) == []


def test_peer_authentication_mode_lists_the_rules_sending_to_its_pods() -> None:
    other = TLS_RULE.replace("cart.shop.svc", "cart.other.svc").replace("name: cart-tls", "name: other-tls")
    files = {"shop/dr.yaml": TLS_RULE, "shop/other.yaml": other}
    ws = build({**shop(), **files, "shop/pa.yaml": mark(peer("shop", "STRICT"), "STRICT", 1, 2)})
    text = hover_text(ws)
    assert "Applies to the pods of `shop` without a workload-level PeerAuthentication." in text
    assert "DestinationRule `shop/cart-tls` `tls.mode: DISABLE` → **plain text to a STRICT sidecar" in text
    assert "other-tls" not in text  # it sends to `other`
    assert places(ws) == [("shop/dr.yaml", 16)]


def test_mesh_peer_authentication_and_overrides() -> None:
    files = {"shop/dr.yaml": TLS_RULE, "shop/pa.yaml": peer("shop", "PERMISSIVE")}
    ws = build({**shop(), **files, "mesh.yaml": mark(peer("istio-system", "STRICT"), "STRICT", 1, 2)})
    text = hover_text(ws)
    assert "Applies to every namespace without a namespace-wide PeerAuthentication of its own." in text
    assert "No DestinationRule in the workspace sets `tls` towards these pods" in text  # shop decides for itself
    assert places(ws) == []
    ws = build({**shop(), "shop/dr.yaml": TLS_RULE, "mesh.yaml": mark(peer("istio-system", "STRICT"), "STRICT", 1, 2)})
    assert places(ws) == [("shop/dr.yaml", 16)]


def test_peer_authentication_with_a_selector() -> None:
    files = {"ns.yaml": peer("shop", "STRICT")}
    ws = build(
        {**shop(), **files, "w.yaml": mark(peer("shop", "PERMISSIVE", "{version: v1}", "v1"), "PERMISSIVE", 1, 2)}
    )
    text = hover_text(ws)
    assert (
        "Applies to the pods it selects: 1 workload in the workspace." in text and "Deployment `shop/cart-v1`" in text
    )
    root = mark(peer("istio-system", "DISABLE", "{app: cart}", "root-cart"), "DISABLE", 1, 2)
    ws = build({**shop(), "root.yaml": root})
    assert "Istio ignores a PeerAuthentication with a selector in the root namespace" in hover_text(ws)


# ---- Gateway server hosts → the VirtualServices they serve ------------------------------------------

BOUND = FRONTEND.replace("hosts: [store.example.com]", "hosts: [shop.example.com, www.example.com]")
UNBOUND = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: internal, namespace: shop}
spec:
  hosts: [shop.example.com]
  http:
  - route:
    - destination: {host: cart}
"""


def test_gateway_host_lists_the_virtualservice_hosts_it_serves() -> None:
    ws = build(
        {
            **shop(gateway=mark(GATEWAY, "shop.example.com", 1, 2)),
            "frontend/vs.yaml": BOUND,
            "shop/internal.yaml": UNBOUND,
        }
    )
    assert places(ws) == [("frontend/vs.yaml", 6)]  # not www.example.com's, not the unbound VirtualService
    assert places(ws, include_declaration=True) == [("frontend/vs.yaml", 6), ("shop/gateway.yaml", 10)]
    text = hover_text(ws)
    assert "Served by:" in text and "VirtualService `frontend/storefront`: `shop.example.com`" in text
    assert targets(ws) == [("shop/gateway.yaml", 10)]  # a declaration: editors then offer its references


def test_gateway_host_with_a_namespace_admits_only_that_namespace() -> None:
    gateway = GATEWAY.replace('["shop.example.com"]', '["shop/shop.example.com", "*/*.example.com"]')
    ws = build({**shop(gateway=mark(gateway, "shop/shop.example", 1, 7)), "frontend/vs.yaml": BOUND})
    assert places(ws) == []
    assert "find no route (404)" in hover_text(ws)
    ws = build({**shop(gateway=mark(gateway, "*.example.com", 1, 3)), "frontend/vs.yaml": BOUND})
    assert places(ws) == [("frontend/vs.yaml", 6), ("frontend/vs.yaml", 6)]  # both hosts


def test_virtualservice_gateways_entry_still_lands_on_the_gateway() -> None:
    ws = build({**shop(), "frontend/vs.yaml": mark(BOUND, "shop/shop-gateway", 1, 6)})
    assert targets(ws) == [("shop/gateway.yaml", 3)]


def test_links_need_the_analysed_text() -> None:
    """Hover reads positions from the index: a text it has not analysed gets no link hover."""
    ws = build({**shop(service=mark(SERVICE, "app: cart", 1, 6))})
    file_uri, line, character = ws.at
    assert locate(ws.index, file_uri, line, character) is not None
    edited = "# a new comment line\n" + ws.texts[file_uri]
    found = hover(ws.index, file_uri, edited, line + 1, character, convert)
    assert found is None or "Matches" not in found.contents.value  # type: ignore[union-attr]


def test_gateway_selector_of_the_default_install() -> None:
    ws = build(shop(gateway=mark(GATEWAY, "istio: ingress", 1, 8)))
    text = hover_text(ws)
    assert "**No workload in the workspace** matches it in every namespace" in text
    assert "a gateway Istio's installation deploys" in text


def test_workload_selectors_of_entries_and_rules_are_listed() -> None:
    entry = """\
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: cart-vm, namespace: shop}
    spec:
      hosts: [cart.internal]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      workloadSelector:
        labels: {version: v2}
    """
    ws = build({**shop(service=mark(SERVICE, "name: cart-v2", 1, 7)), "shop/entry.yaml": entry})
    assert ("shop/entry.yaml", 8) in places(ws)
    assert "- ServiceEntry `shop/cart-vm` selects these pods (`workloadSelector`)" in hover_text(ws)
    ws = build({**shop(service=mark(SERVICE, "name: cart-v1", 1, 7)), "shop/entry.yaml": entry})
    assert ("shop/entry.yaml", 8) not in places(ws)
