"""Routing semantics, case by case: match order, conditions, rewrites, weights, delegation, gateways."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.routing.helpers import run, text

BACKENDS = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: web, version: v1}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v2, namespace: shop}
spec:
  selector: {matchLabels: {app: web, version: v2}}
  template:
    metadata: {labels: {app: web, version: v2}}
    spec: {containers: [{name: web, image: web:2}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api:1}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      connectionPool: {http: {http1MaxPendingRequests: 10}}
"""

GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop/shop.example.com", "*/*.example.org"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*.example.com"]
    tls: {mode: SIMPLE, credentialName: cert}
"""


def vs(http: str, hosts: str = "[shop.example.com]", gateways: str = "[istio-system/public]") -> str:
    return (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: shop, namespace: shop}\n"
        f"spec:\n  hosts: {hosts}\n  gateways: {gateways}\n  http:\n{http}"
    )


ROUTES = """\
  - name: exact-health
    match: [{uri: {exact: /healthz}}]
    directResponse: {status: 200, body: {string: ok}}
  - name: canary
    match: [{headers: {x-canary: {exact: "true"}}, uri: {prefix: /api}}]
    route: [{destination: {host: web, subset: v2}}]
  - name: regex
    match: [{uri: {regex: "/items/[0-9]+"}}]
    route: [{destination: {host: api}}]
  - name: case
    match: [{uri: {prefix: /Docs}, ignoreUriCase: true}]
    rewrite: {uri: /documentation}
    route: [{destination: {host: api}}]
  - name: post-only
    match: [{method: {exact: POST}, uri: {prefix: /orders}}]
    route: [{destination: {host: api}}]
  - name: query
    match: [{queryParams: {debug: {exact: "1"}}}]
    route: [{destination: {host: api}}]
  - name: without
    match: [{uri: {prefix: /beta}, withoutHeaders: {x-internal: {}}}]
    redirect: {uri: /gone, redirectCode: 302}
  - name: split
    route:
    - destination: {host: web, subset: v1}
      weight: 3
    - destination: {host: web, subset: v2}
      weight: 1
"""


@dataclass
class Case:
    name: str
    method: str
    url: str
    status: str
    expect: tuple[str, ...] = ()  # substrings of the steps and summary
    headers: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


CASES = [
    Case("exact uri", "GET", "http://shop.example.com/healthz", "direct-response", ('"exact-health"', "200")),
    Case(
        "exact is not prefix",
        "GET",
        "http://shop.example.com/healthz/x",
        "routed",
        ("uri exact `/healthz` does not match",),
    ),
    Case(
        "header canary",
        "GET",
        "http://shop.example.com/api/v2",
        "routed",
        ('"canary"', "100.0% → web.shop.svc.cluster.local:8080 subset v2", "Deployment shop/web-v2"),
        headers=("x-canary: true",),
    ),
    Case(
        "header canary value differs",
        "GET",
        "http://shop.example.com/api/v2",
        "routed",
        ("header `x-canary` exact `true` required, it is `yes`", "75.0%", "25.0%"),
        headers=("x-canary: yes",),
    ),
    Case(
        "header absent",
        "GET",
        "http://shop.example.com/api",
        "routed",
        ("header `x-canary` exact `true` required, it is absent",),
    ),
    Case(
        "regex RE2 full match", "GET", "http://shop.example.com/items/42", "routed", ('"regex" (match #0: uri regex',)
    ),
    Case(
        "regex must match whole path",
        "GET",
        "http://shop.example.com/items/42/x",
        "routed",
        ("does not match `/items/42/x`", '"split"'),
    ),
    Case(
        "ignoreUriCase and prefix rewrite",
        "GET",
        "http://shop.example.com/docs/intro",
        "routed",
        ('"case"', "path /docs/intro → /documentation/intro"),
    ),
    Case("method", "POST", "http://shop.example.com/orders/1", "routed", ('"post-only"',)),
    Case(
        "method mismatch",
        "GET",
        "http://shop.example.com/orders/1",
        "routed",
        ("method exact `POST` does not match `GET`",),
    ),
    Case("query param", "GET", "http://shop.example.com/x?debug=1", "routed", ('"query"',)),
    Case(
        "query param differs",
        "GET",
        "http://shop.example.com/x?debug=2",
        "routed",
        ("query parameter `debug` exact `1` required, it is `2`",),
    ),
    Case("withoutHeaders absent header matches", "GET", "http://shop.example.com/beta/x", "redirect", ("302", "/gone")),
    Case(
        "withoutHeaders present header excludes",
        "GET",
        "http://shop.example.com/beta/x",
        "routed",
        ("withoutHeaders `x-internal` present excludes it",),
        headers=("x-internal: 1",),
    ),
    Case(
        "weights are relative shares",
        "GET",
        "http://shop.example.com/",
        "routed",
        (
            "75.0% → web.shop.svc.cluster.local:8080 subset v1",
            "25.0% → web.shop.svc.cluster.local:8080 subset v2",
            "loadBalancer (host): simple=ROUND_ROBIN",
            "connectionPool (subset): http.http1MaxPendingRequests=10",
        ),
    ),
    Case("no server for the host", "GET", "http://other.example.net/", "404", ("no server on port 80 accepts host",)),
    Case("no listener on the port", "GET", "http://shop.example.com:8081/", "refused", ("port 8081",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_ingress_matching(case: Case) -> None:
    result = run(
        {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "vs.yaml": vs(ROUTES)},
        case.method,
        case.url,
        via="istio-system/public",
        headers=case.headers,
    )
    shown = text(result)
    assert result.status == case.status, shown
    for part in case.expect:
        assert part in shown, f"{part!r} not in:\n{shown}"
    for step in result.steps:
        if step.kind in ("route", "skip", "destination", "virtualservice", "server"):
            assert step.uri is not None and step.span is not None, step


def test_first_matching_route_wins_and_earlier_ones_say_why() -> None:
    http = """\
  - match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: web, subset: v2}}]
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: api}}]
"""
    files = {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "vs.yaml": vs(http)}
    first = run(files, "GET", "http://shop.example.com/api/v2/items", via="istio-system/public")
    assert [s.kind for s in first.steps if s.kind in ("skip", "route")] == ["route"]
    second = run(files, "GET", "http://shop.example.com/api/v1", via="istio-system/public")
    assert [s.kind for s in second.steps if s.kind in ("skip", "route")] == ["skip", "route"]
    assert "uri prefix `/api/v2` does not match `/api/v1`" in text(second)
    assert second.targets[0].fqdn == "api.shop.svc.cluster.local"
    none = run(files, "GET", "http://shop.example.com/web", via="istio-system/public")
    assert none.status == "404" and none.code == 404


def test_gateway_server_namespace_prefix_admits_only_that_namespace() -> None:
    # `shop/shop.example.com`: a VirtualService of another namespace is not admitted
    other = vs("  - route: [{destination: {host: api.shop.svc.cluster.local}}]\n").replace(
        "namespace: shop}", "namespace: web}"
    )
    result = run(
        {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "vs.yaml": other},
        "GET",
        "http://shop.example.com/",
        via="istio-system/public",
    )
    assert result.status == "404", text(result)
    assert "not admitted by the server" in text(result)


def test_gateway_wildcard_server_host() -> None:
    files = {
        "backends.yaml": BACKENDS,
        "gateway.yaml": GATEWAY,
        "vs.yaml": vs("  - route: [{destination: {host: api}}]\n", hosts="['*.example.org']"),
    }
    ok = run(files, "GET", "http://a.b.example.org/", via="istio-system/public")
    assert ok.status == "routed", text(ok)
    assert "accepts host `*/*.example.org`" in text(ok) and "(wildcard)" in text(ok)
    bare = run(files, "GET", "http://example.org/", via="istio-system/public")
    assert bare.status == "404"  # `*.example.org` does not cover example.org


def test_exact_virtualservice_host_wins_over_wildcard() -> None:
    wildcard = vs("  - route: [{destination: {host: web}}]\n", hosts="['*.example.com']").replace(
        "name: shop,", "name: wild,"
    )
    exact = vs("  - route: [{destination: {host: api}}]\n")
    files = {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "a.yaml": wildcard, "b.yaml": exact}
    result = run(files, "GET", "https://shop.example.com/", via="istio-system/public")
    assert result.status == "routed"
    assert result.targets[0].fqdn == "api.shop.svc.cluster.local"


def test_https_redirect() -> None:
    gateway = GATEWAY.replace(
        'hosts: ["shop/shop.example.com", "*/*.example.org"]',
        'hosts: ["*.example.com"]\n    tls: {httpsRedirect: true}',
    )
    result = run(
        {"gateway.yaml": gateway, "vs.yaml": vs("  - route: [{destination: {host: api}}]\n")},
        "GET",
        "http://shop.example.com/a",
        via="istio-system/public",
    )
    assert result.status == "redirect" and result.code == 301


def test_virtualservice_not_bound_to_the_gateway_gives_404() -> None:
    files = {
        "backends.yaml": BACKENDS,
        "gateway.yaml": GATEWAY,
        "vs.yaml": vs("  - route: [{destination: {host: api}}]\n", gateways="[mesh]"),
    }
    result = run(files, "GET", "http://shop.example.com/", via="istio-system/public")
    assert result.status == "404" and "no VirtualService bound to Gateway istio-system/public" in result.summary


def test_export_to_hides_a_virtualservice_from_the_gateway_namespace() -> None:
    hidden = vs("  - route: [{destination: {host: api}}]\n").replace("spec:\n", "spec:\n  exportTo: ['.']\n")
    result = run(
        {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "vs.yaml": hidden},
        "GET",
        "http://shop.example.com/",
        via="istio-system/public",
    )
    assert result.status == "404"
    assert "not exported to namespace istio-system" in text(result)


def test_delegate_routes_apply_under_the_root_match_and_fall_through() -> None:
    root = vs(
        """\
  - match: [{uri: {prefix: /api}}]
    delegate: {name: api-routes, namespace: shop}
  - route: [{destination: {host: web, subset: v1}}]
"""
    )
    delegate = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api-routes, namespace: shop}
spec:
  http:
  - match: [{uri: {prefix: /api/orders}}]
    route: [{destination: {host: api}}]
"""
    files = {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "root.yaml": root, "delegate.yaml": delegate}
    hit = run(files, "GET", "http://shop.example.com/api/orders/1", via="istio-system/public")
    assert hit.status == "routed" and hit.targets[0].fqdn == "api.shop.svc.cluster.local"
    assert "delegate" in [s.kind for s in hit.steps]
    miss = run(files, "GET", "http://shop.example.com/api/users", via="istio-system/public")
    assert miss.targets[0].subset == "v1", text(miss)
    assert "no route of the delegate matches" in text(miss)


def test_fault_mirror_timeout_and_retries_are_reported() -> None:
    http = """\
  - fault:
      abort: {httpStatus: 500, percentage: {value: 10}}
      delay: {fixedDelay: 2s, percentage: {value: 50}}
    mirror: {host: api}
    mirrorPercentage: {value: 5}
    timeout: 1s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: 5xx}
    route: [{destination: {host: web, subset: v1}}]
"""
    result = run(
        {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "vs.yaml": vs(http)},
        "GET",
        "http://shop.example.com/",
        via="istio-system/public",
    )
    shown = text(result)
    assert "abort with 500 for 10% of requests" in shown
    assert "delay 2s for 50% of requests" in shown
    assert "mirror a copy of 5% to api" in shown
    assert "retries: 3 attempt(s), 2s per try, on 5xx" in shown
    assert "timeout-shorter-than-retries" in shown
    assert result.status == "routed"


def test_full_abort_fault_is_the_answer() -> None:
    http = "  - fault: {abort: {httpStatus: 418}}\n    route: [{destination: {host: api}}]\n"
    result = run(
        {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "vs.yaml": vs(http)},
        "GET",
        "http://shop.example.com/",
        via="istio-system/public",
    )
    assert result.status == "fault" and result.code == 418


def test_mesh_source_labels_and_source_namespace() -> None:
    mesh = vs(
        """\
  - match: [{sourceLabels: {app: web}}]
    route: [{destination: {host: api}}]
  - match: [{sourceNamespace: other}]
    route: [{destination: {host: web, subset: v2}}]
  - route: [{destination: {host: web, subset: v1}}]
""",
        hosts="[api]",
        gateways="[mesh]",
    )
    files = {"backends.yaml": BACKENDS, "vs.yaml": mesh}
    from_web = run(files, "GET", "http://api:8080/", source="shop/web-v1")
    assert from_web.targets[0].fqdn == "api.shop.svc.cluster.local", text(from_web)
    from_other = run(files, "GET", "http://api.shop:8080/", source="other/app=x")
    assert from_other.targets[0].subset == "v2", text(from_other)
    from_api = run(files, "GET", "http://api:8080/", source="shop/api")
    assert from_api.targets[0].subset == "v1"
    assert "sourceLabels app=web not carried by the client (api)" in text(from_api)


def test_mesh_without_virtualservice_goes_to_the_service() -> None:
    result = run({"backends.yaml": BACKENDS}, "GET", "http://api:8080/", source="shop/web-v1")
    assert result.status == "routed"
    assert result.targets[0].fqdn == "api.shop.svc.cluster.local"
    assert result.targets[0].workloads == ["Deployment shop/api"]


def test_gateway_only_virtualservice_does_not_apply_to_the_mesh() -> None:
    files = {
        "backends.yaml": BACKENDS,
        "vs.yaml": vs("  - route: [{destination: {host: web, subset: v2}}]\n", hosts="[api]"),
    }
    result = run(files, "GET", "http://api:8080/", source="shop/web-v1")
    assert result.targets[0].fqdn == "api.shop.svc.cluster.local" and result.targets[0].subset is None


def test_unknown_gateway_cannot_be_traced() -> None:
    result = run({"gateway.yaml": GATEWAY}, "GET", "http://x/", via="istio-system/nope")
    assert result.status == "unknown" and not result.steps


def test_another_gateway_on_the_same_pods_serves_the_host() -> None:
    sibling = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [other.example.net]
"""
    routes = vs("  - route: [{destination: {host: api}}]\n", hosts="[other.example.net]", gateways="[other]")
    files = {"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, "sibling.yaml": sibling, "vs.yaml": routes}
    result = run(files, "GET", "http://other.example.net/", via="istio-system/public")
    assert result.status == "routed", text(result)
    assert "Gateway shop/other (same selector, same pods) serves the host" in text(result)


SIDECAR = """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
"""


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("", "passthrough", None), ("\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}", "502", 502)],
)
def test_sidecar_egress_limits_what_the_source_knows(mode: str, status: str, code: int | None) -> None:
    other = BACKENDS.replace("namespace: shop", "namespace: other")
    files = {"backends.yaml": BACKENDS, "other.yaml": other, "sidecar.yaml": SIDECAR + mode}
    inside = run(files, "GET", "http://api:8080/", source="shop/web-v1")
    assert inside.status == "routed" and "imports `api.shop.svc.cluster.local` through egress host `./*`" in text(
        inside
    )
    outside = run(files, "GET", "http://api.other:8080/", source="shop/web-v1")
    assert (outside.status, outside.code) == (status, code), text(outside)
    assert "does not import `api.other.svc.cluster.local`" in text(outside)


def test_virtualservice_without_namespace_serves_a_short_host_in_any_namespace() -> None:
    unplaced = vs("  - route: [{destination: {host: web, subset: v2}}]\n", hosts="[api]", gateways="[mesh]")
    unplaced = unplaced.replace("{name: shop, namespace: shop}", "{name: shop}")
    files = {"backends.yaml": BACKENDS, "vs.yaml": unplaced}
    result = run(files, "GET", "http://api:8080/", source="shop/web-v1")
    assert "VirtualService shop host `api` (exact)" in text(result)
