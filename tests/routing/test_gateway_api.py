"""HTTPRoute in the trace, case by case against the Gateway API's and Istio's documented behaviour: which
listener takes the request, which routes attach, hostname and match precedence (not file order), path
prefixes by segment, weights, filters, backends, and HTTPRoutes bound to a Service for mesh traffic."""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.routing import Trace
from tests.routing.helpers import findings, run, text

APPS = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: api, version: v1}}
  template:
    metadata: {labels: {app: api, version: v1}}
    spec: {containers: [{name: api, image: api:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: search, namespace: shop}
spec:
  selector: {app: search}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: search, namespace: shop}
spec:
  selector: {matchLabels: {app: search}}
  template:
    metadata: {labels: {app: search}}
    spec: {containers: [{name: search, image: search:1}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api.shop.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
"""

GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes: {namespaces: {from: All}}
  - name: own
    port: 8080
    protocol: HTTP
    allowedRoutes: {namespaces: {from: All}}
  - name: internal
    port: 8081
    protocol: HTTP
  - name: tls
    port: 8443
    protocol: TLS
    tls: {mode: Passthrough}
"""


def route(name: str, body: str, namespace: str = "shop", parent: str = "{name: edge, namespace: infra}") -> str:
    head = (
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  parentRefs: [{parent}]\n"
    )
    return head + textwrap.indent(textwrap.dedent(body).rstrip("\n") + "\n", "  ")


ROUTE_ALL = "rules: [{backendRefs: [{name: web, port: 80}]}]"


def trace_via(routes: str, url: str, method: str = "GET", headers: tuple[str, ...] = ()) -> Trace:
    files = {"apps.yaml": APPS, "gateway.yaml": GATEWAY, "routes.yaml": routes}
    return run(files, method, url, via="infra/edge", headers=headers)


def matched(result: Trace) -> tuple[str | None, int | None]:
    return result.route.get("httpRoute"), result.route.get("index")


def hosts(result: Trace) -> list[tuple[str, float]]:
    return [(t.fqdn, round(float(t.share) * 100, 1)) for t in result.targets if t.share > 0]


# ---- the listener ------------------------------------------------------------------------------------


def test_no_listener_on_the_port_refuses_the_connection() -> None:
    result = trace_via(route("r", "rules: [{backendRefs: [{name: web, port: 80}]}]"), "http://shop.example.com:9000/")
    assert result.status == "refused"
    assert "no listener of the Gateway is on port 9000 (it has 80, 8080, 8081, 8443)" in result.summary


def test_a_host_no_listener_takes_is_404() -> None:
    result = trace_via(route("r", "rules: [{backendRefs: [{name: web, port: 80}]}]"), "http://shop.example.org/")
    assert (result.status, result.code) == ("404", 404)
    assert "no listener on port 80 takes host `shop.example.org`" in result.summary


def test_a_passthrough_listener_takes_no_httproute() -> None:
    result = trace_via(route("r", "rules: [{backendRefs: [{name: web, port: 80}]}]"), "https://shop.example.com:8443/")
    assert result.status == "refused"
    assert "no TLSRoute attached to the listener takes SNI `shop.example.com`" in result.summary


def test_the_gateway_is_cited_and_a_missing_one_says_so() -> None:
    result = trace_via(route("r", "rules: [{backendRefs: [{name: web, port: 80}]}]"), "http://shop.example.com/")
    assert result.steps[0].text.startswith("Gateway API Gateway infra/edge takes GET")
    assert (
        result.steps[1].kind == "server" and "listener `http` port 80 HTTP takes *.example.com" in result.steps[1].text
    )
    files = {"apps.yaml": APPS, "gateway.yaml": GATEWAY}
    missing = run(files, "GET", "http://shop.example.com/", via="infra/nowhere")
    assert missing.status == "unknown" and "no Gateway infra/nowhere" in missing.summary


# ---- attachment --------------------------------------------------------------------------------------


def test_section_name_and_port_select_the_listener() -> None:
    on_own = route(
        "r",
        "rules: [{backendRefs: [{name: web, port: 80}]}]",
        parent="{name: edge, namespace: infra, sectionName: own}",
    )
    assert trace_via(on_own, "http://shop.example.com/").status == "404"
    assert trace_via(on_own, "http://anything.local:8080/").status == "routed"
    by_port = route(
        "r", "rules: [{backendRefs: [{name: web, port: 80}]}]", parent="{name: edge, namespace: infra, port: 80}"
    )
    assert trace_via(by_port, "http://shop.example.com/").status == "routed"
    assert trace_via(by_port, "http://anything.local:8080/").status == "404"


def test_a_listener_that_refuses_the_routes_namespace_is_a_skip_step() -> None:
    # the `internal` listener admits routes of the Gateway's namespace only (allowedRoutes from Same, the default)
    routes = route("r", "rules: [{backendRefs: [{name: web, port: 80}]}]", parent="{name: edge, namespace: infra}")
    result = trace_via(routes, "http://anything.local:8081/")
    assert result.status == "404"
    skips = [s.text for s in result.steps if s.kind == "skip"]
    assert skips == [
        "HTTPRoute shop/r: listener `internal` accepts routes of its own namespace `infra` only "
        "(allowedRoutes from Same)"
    ]


def test_a_route_attached_through_a_listener_set() -> None:
    listener_set = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: infra}
spec:
  parentRef: {name: edge}
  listeners:
  - name: api
    port: 9090
    protocol: HTTP
    hostname: api.example.net
"""
    routes = route(
        "r",
        "rules: [{backendRefs: [{name: api, port: 8080}]}]",
        namespace="infra",
        parent="{kind: ListenerSet, group: gateway.networking.k8s.io, name: extra}",
    )
    result = trace_via(listener_set + routes, "http://api.example.net:9090/")
    assert result.status == "routed", text(result)
    assert any("(ListenerSet infra/extra)" in s.text for s in result.steps)


# ---- hostnames -----------------------------------------------------------------------------------------


def test_the_most_specific_hostname_takes_the_request_alone() -> None:
    routes = route("wide", 'hostnames: ["*.example.com"]\nrules: [{backendRefs: [{name: web, port: 80}]}]') + route(
        "exact",
        'hostnames: ["shop.example.com"]\n'
        "rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: [{name: api, port: 8080}]}]",
    )
    assert matched(trace_via(routes, "http://shop.example.com/api/x")) == ("shop/exact", 0)
    assert matched(trace_via(routes, "http://other.example.com/api/x")) == ("shop/wide", 0)
    # Envoy picks the virtual host by name first: the wildcard route's rules are not tried for shop.example.com
    result = trace_via(routes, "http://shop.example.com/")
    assert (result.status, result.code) == ("404", 404)
    assert "no route rule matches GET /" in result.summary


def test_a_route_without_hostnames_takes_the_listeners_and_a_wildcard_covers_deeper_names() -> None:
    routes = route("r", "rules: [{backendRefs: [{name: web, port: 80}]}]")
    assert trace_via(routes, "http://a.b.example.com/").status == "routed"
    unrelated = route("r", 'hostnames: ["shop.example.org"]\nrules: [{backendRefs: [{name: web, port: 80}]}]')
    result = trace_via(unrelated, "http://shop.example.com/")
    assert result.status == "404" and "serves host `shop.example.com`" in result.summary


# ---- match precedence and conditions ---------------------------------------------------------------------


def test_exact_beats_prefix_whatever_the_file_order() -> None:
    routes = route(
        "r",
        """\
        rules:
        - matches: [{path: {type: PathPrefix, value: /api}}]
          backendRefs: [{name: api, port: 8080}]
        - matches: [{path: {type: Exact, value: /api/health}}]
          backendRefs: [{name: web, port: 80}]
        """,
    )
    result = trace_via(routes, "http://shop.example.com/api/health")
    assert matched(result) == ("shop/r", 1)
    assert any(s.kind == "note" and "not in file order" in s.text for s in result.steps)
    assert matched(trace_via(routes, "http://shop.example.com/api/items")) == ("shop/r", 0)


def test_longer_prefix_wins_across_routes_and_regex_comes_after_prefixes() -> None:
    routes = route(
        "a",
        "rules: [{matches: [{path: {type: RegularExpression, value: '/api/v[0-9]+/.*'}}], "
        "backendRefs: [{name: search, port: 80}]}]",
    ) + route(
        "b",
        "rules: [{matches: [{path: {type: PathPrefix, value: /api}}], backendRefs: [{name: web, port: 80}]}, "
        "{matches: [{path: {type: PathPrefix, value: /api/v1}}], backendRefs: [{name: api, port: 8080}]}]",
    )
    assert matched(trace_via(routes, "http://shop.example.com/api/v1/x")) == ("shop/b", 1)
    # a regex ranks below every prefix (Istio's order): `/api` takes /api/v2/x before the regex is tried
    assert matched(trace_via(routes, "http://shop.example.com/api/v2/x")) == ("shop/b", 0)
    assert matched(trace_via(routes, "http://shop.example.com/other/api/v2/x"))[0] is None


def test_method_then_more_headers_then_more_query_parameters_come_first() -> None:
    routes = route(
        "r",
        """\
        rules:
        - matches: [{path: {value: /}, queryParams: [{name: q, value: "1"}]}]
          backendRefs: [{name: search, port: 80}]
        - matches: [{path: {value: /}, headers: [{name: x-canary, value: "true"}]}]
          backendRefs: [{name: api, port: 8080}]
        - matches: [{path: {value: /}, method: POST}]
          backendRefs: [{name: web, port: 80}]
        """,
    )
    everything = ("X-Canary: true",)
    assert matched(trace_via(routes, "http://shop.example.com/?q=1", "POST", everything)) == ("shop/r", 2)
    assert matched(trace_via(routes, "http://shop.example.com/?q=1", "GET", everything)) == ("shop/r", 1)
    assert matched(trace_via(routes, "http://shop.example.com/?q=1")) == ("shop/r", 0)
    result = trace_via(routes, "http://shop.example.com/?q=2")
    assert result.status == "404"
    assert "query `q` = `1` required, it is `2`" in text(result)


def test_path_prefix_compares_whole_segments_and_ignores_a_trailing_slash() -> None:
    routes = route(
        "r", "rules: [{matches: [{path: {type: PathPrefix, value: /api/}}], backendRefs: [{name: api, port: 8080}]}]"
    )
    assert trace_via(routes, "http://shop.example.com/api").status == "routed"
    assert trace_via(routes, "http://shop.example.com/api/items").status == "routed"
    assert trace_via(routes, "http://shop.example.com/apis").status == "404"


def test_header_names_ignore_case_and_regex_matches_the_whole_value() -> None:
    routes = route(
        "r",
        "rules: [{matches: [{headers: [{name: X-User, type: RegularExpression, value: 'ad.*n'}]}], "
        "backendRefs: [{name: api, port: 8080}]}]",
    )
    assert trace_via(routes, "http://shop.example.com/", headers=("x-user: admin",)).status == "routed"
    result = trace_via(routes, "http://shop.example.com/", headers=("x-user: administrator",))
    assert result.status == "404" and "header `X-User` regex `ad.*n` required, it is `administrator`" in text(result)


def test_a_rule_without_matches_takes_every_path_after_the_specific_ones() -> None:
    routes = route(
        "r",
        """\
        rules:
        - backendRefs: [{name: web, port: 80}]
        - matches: [{path: {type: PathPrefix, value: /api}}]
          backendRefs: [{name: api, port: 8080}]
        """,
    )
    assert matched(trace_via(routes, "http://shop.example.com/api/x")) == ("shop/r", 1)
    result = trace_via(routes, "http://shop.example.com/shop")
    assert matched(result) == ("shop/r", 0)
    assert "match #0: path prefix `/`" in text(result)


# ---- backends --------------------------------------------------------------------------------------------


def test_weights_are_relative_and_a_zero_weight_backend_gets_nothing() -> None:
    routes = route(
        "r",
        "rules: [{backendRefs: [{name: api, port: 8080, weight: 3}, {name: web, port: 80}, "
        "{name: search, port: 80, weight: 0}]}]",
    )
    result = trace_via(routes, "http://shop.example.com/")
    assert hosts(result) == [("api.shop.svc.cluster.local", 75.0), ("web.shop.svc.cluster.local", 25.0)]
    assert result.status == "routed"


@pytest.mark.parametrize(
    "rule",
    ["{backendRefs: [{name: api, port: 8080, weight: 0}]}", "{matches: [{path: {value: /}}]}"],
)
def test_no_backend_with_weight_answers_500(rule: str) -> None:
    routes = route("r", f"rules: [{rule}]")
    result = trace_via(routes, "http://shop.example.com/")
    assert (result.status, result.code) == ("500", 500)
    assert result.route["directResponse"] == {"status": 500, "body": None}
    if "weight: 0" in rule:  # the check reports the same rule
        files = {"apps.yaml": APPS, "gateway.yaml": GATEWAY, "routes.yaml": routes}
        assert any(f.code == "route-backends-all-zero-weight" for f in findings(files))


def test_the_backend_follows_destination_rule_and_pods() -> None:
    result = trace_via(route("r", "rules: [{backendRefs: [{name: api, port: 8080}]}]"), "http://shop.example.com/")
    kinds = [(s.kind, s.depth) for s in result.steps]
    assert ("rule", 1) in kinds and ("pods", 1) in kinds
    assert any(s.kind == "policy" and "loadBalancer (host): simple=ROUND_ROBIN" in s.text for s in result.steps)
    assert result.targets[0].workloads == ["Deployment shop/api-v1"]


def test_a_backend_in_another_namespace_needs_a_reference_grant() -> None:
    routes = route("r", "rules: [{backendRefs: [{name: api, namespace: shop, port: 8080}]}]", namespace="infra")
    files = {"apps.yaml": APPS, "gateway.yaml": GATEWAY, "routes.yaml": routes}
    result = run(files, "GET", "http://shop.example.com/", via="infra/edge")
    assert (result.status, result.code) == ("500", 500)
    assert result.targets[0].rule == "route-backend-not-permitted"
    # the check reports the same backend
    assert any(f.code == "route-backend-not-permitted" for f in findings(files))
    grant = """\
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-infra, namespace: shop}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
  to: [{group: "", kind: Service}]
"""
    files["grant.yaml"] = grant
    assert run(files, "GET", "http://shop.example.com/", via="infra/edge").status == "routed"


def test_half_the_traffic_to_an_unsupported_backend_kind_is_partly_500() -> None:
    routes = route(
        "r", "rules: [{backendRefs: [{name: api, port: 8080}, {group: example.com, kind: Bucket, name: b}]}]"
    )
    result = trace_via(routes, "http://shop.example.com/")
    assert result.status == "partly-500" and result.failed
    assert "50.0% of requests get 500" in result.summary
    assert result.targets[1].rule == "route-backend-invalid-kind"
    files = {"apps.yaml": APPS, "gateway.yaml": GATEWAY, "routes.yaml": routes}
    assert any(f.code == "route-backend-invalid-kind" for f in findings(files))


def test_a_backend_the_workspace_does_not_hold_is_unknown_not_an_error() -> None:
    result = trace_via(route("r", "rules: [{backendRefs: [{name: elsewhere, port: 80}]}]"), "http://shop.example.com/")
    assert result.status == "routed" and result.targets[0].status == "unknown"
    assert "(500 if it does not exist elsewhere)" in result.targets[0].reason


# ---- filters ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "replacement", "path", "expected"),
    [
        ("/foo", "/xyz", "/foo/bar", "/xyz/bar"),
        ("/foo", "/xyz", "/foo", "/xyz"),
        ("/foo", "/xyz", "/foo/", "/xyz/"),
        ("/foo", "/xyz/", "/foo/bar", "/xyz/bar"),
        ("/foo/", "/xyz", "/foo/bar", "/xyz/bar"),
        ("/foo", "/", "/foo/bar", "/bar"),
        ("/foo", "/", "/foo", "/"),
        ("/foo", "/", "/foo/", "/"),
        ("/", "/xyz", "/foo", "/xyz/foo"),
    ],
)
def test_replace_prefix_match_as_the_gateway_api_specifies(
    prefix: str, replacement: str, path: str, expected: str
) -> None:
    routes = route(
        "r",
        f"""\
        rules:
        - matches: [{{path: {{type: PathPrefix, value: "{prefix}"}}}}]
          filters:
          - type: URLRewrite
            urlRewrite:
              hostname: internal.shop
              path: {{type: ReplacePrefixMatch, replacePrefixMatch: "{replacement}"}}
          backendRefs: [{{name: api, port: 8080}}]
        """,
    )
    result = trace_via(routes, f"http://shop.example.com{path}")
    assert result.route["rewrite"] == {"uri": expected, "authority": "internal.shop"}


def test_request_redirect_defaults_to_302_and_the_schemes_port() -> None:
    routes = route(
        "r",
        """\
        rules:
        - matches: [{path: {type: PathPrefix, value: /old}}]
          filters:
          - type: RequestRedirect
            requestRedirect: {scheme: https, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
        - filters:
          - type: RequestRedirect
            requestRedirect:
              hostname: www.example.com
              statusCode: 301
              path: {type: ReplaceFullPath, replaceFullPath: /}
        """,
    )
    result = trace_via(routes, "http://shop.example.com/old/page")
    assert (result.status, result.code) == ("redirect", 302)
    assert "https://shop.example.com/new/page" in result.summary  # port 443 is the scheme's: not written
    result = trace_via(routes, "http://shop.example.com/x")
    assert (result.code, result.route["redirect"]["uri"]) == (301, "/")
    assert "http://www.example.com/" in result.summary


def test_header_modifiers_mirror_timeouts_and_retry_are_shown() -> None:
    routes = route(
        "r",
        """\
        rules:
        - filters:
          - type: RequestHeaderModifier
            requestHeaderModifier: {set: [{name: x-env, value: prod}], remove: [x-debug]}
          - type: RequestMirror
            requestMirror: {backendRef: {name: search, port: 80}, percent: 10}
          timeouts: {request: 10s, backendRequest: 2s}
          retry: {attempts: 3, codes: [503]}
          backendRefs: [{name: api, port: 8080}]
        """,
    )
    result = trace_via(routes, "http://shop.example.com/")
    assert result.route["headers"] == {"request": {"set": {"x-env": "prod"}, "remove": ["x-debug"]}}
    assert result.route["timeout"] == "10s"
    assert result.route["retries"]["attempts"] == 3 and result.route["retries"]["perTryTimeout"] == "2s"
    assert "503" in result.route["retries"]["retryOn"]
    assert any(
        s.kind == "mirror" and "10%" in s.text and "search.shop.svc.cluster.local" in s.text for s in result.steps
    )


# ---- mesh traffic: HTTPRoutes bound to a Service --------------------------------------------------------


CLIENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: web}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: frontend, image: frontend:1}]}
"""


def mesh(routes: str, url: str, headers: tuple[str, ...] = ()) -> Trace:
    files = {"apps.yaml": APPS, "client.yaml": CLIENT, "routes.yaml": routes}
    return run(files, "GET", url, source="web/frontend", headers=headers)


def test_a_producer_route_splits_the_services_traffic() -> None:
    routes = route(
        "split",
        "rules: [{backendRefs: [{name: api, port: 8080, weight: 80}, {name: search, port: 80, weight: 20}]}]",
        parent="{group: '', kind: Service, name: api, port: 8080}",
    )
    result = mesh(routes, "http://api.shop:8080/")
    assert matched(result) == ("shop/split", 0)
    assert hosts(result) == [("api.shop.svc.cluster.local", 80.0), ("search.shop.svc.cluster.local", 20.0)]
    # another port of the Service: the route does not apply
    assert mesh(routes, "http://api.shop:9090/").route == {}


def test_a_consumer_route_in_the_clients_namespace_wins_over_the_producers() -> None:
    producer = route(
        "producer", "rules: [{backendRefs: [{name: api, port: 8080}]}]", parent="{kind: Service, group: '', name: api}"
    )
    consumer = route(
        "consumer",
        "rules: [{backendRefs: [{name: search, namespace: shop, port: 80}]}]",
        namespace="web",
        parent="{kind: Service, group: '', name: api, namespace: shop}",
    )
    result = mesh(producer + consumer, "http://api.shop:8080/")
    assert matched(result) == ("web/consumer", 0)
    assert any(s.kind == "note" and "HTTPRoute shop/producer not applied" in s.text for s in result.steps)


def test_no_mesh_rule_matching_is_404() -> None:
    routes = route(
        "r",
        "rules: [{matches: [{path: {type: Exact, value: /only}}], backendRefs: [{name: api, port: 8080}]}]",
        parent="{kind: Service, group: '', name: api}",
    )
    result = mesh(routes, "http://api.shop:8080/other")
    assert (result.status, result.code) == ("404", 404)


# ---- which Gateway ---------------------------------------------------------------------------------------


ISTIO_GATEWAY = """\
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/*.example.com"]
"""


def test_an_istio_gateway_of_the_same_name_comes_first_and_a_prefix_picks_the_other() -> None:
    files = {"apps.yaml": APPS, "gateway.yaml": GATEWAY + ISTIO_GATEWAY, "routes.yaml": route("r", ROUTE_ALL)}
    istio = run(files, "GET", "http://shop.example.com/", via="infra/edge")
    assert istio.steps[0].text.startswith("Gateway infra/edge takes")  # the Istio Gateway: no VirtualService
    assert (istio.status, istio.code) == ("404", 404)
    assert "`--via gateway-api:infra/edge` traces through the other" in istio.notes[0]
    through_routes = run(files, "GET", "http://shop.example.com/", via="gateway-api:infra/edge")
    assert through_routes.status == "routed" and matched(through_routes) == ("shop/r", 0)
    assert run(files, "GET", "http://shop.example.com/", via="istio:infra/edge").status == "404"
    only_routes = {k: v for k, v in files.items()} | {"gateway.yaml": GATEWAY}
    assert run(only_routes, "GET", "http://shop.example.com/", via="istio:infra/edge").status == "unknown"


def test_of_several_gateways_of_one_name_the_one_listening_is_traced() -> None:
    other = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: acme
  listeners: [{name: tls, port: 9443, protocol: TLS}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: acme}
spec: {controllerName: acme.io/gateway-controller}
"""
    files = {"apps.yaml": APPS, "a.yaml": other, "gateway.yaml": GATEWAY, "routes.yaml": route("r", ROUTE_ALL)}
    result = run(files, "GET", "http://shop.example.com/", via="infra/edge")
    assert result.status == "routed"
    assert any(s.kind == "note" and "2 Gateways are named infra/edge" in s.text for s in result.steps)
    acme = run(files, "GET", "https://shop.example.com:9443/", via="infra/edge")
    assert acme.status == "refused"  # a TLS listener that terminates, and no TCPRoute
    assert any("GatewayClass `acme` belongs to acme.io/gateway-controller, not Istio" in n for n in acme.notes)


def test_the_lens_request_names_the_gateway_api_gateway_when_an_istio_one_shares_its_name() -> None:
    from istio_lsp.features.code_lens import http_route_trace_argument
    from istio_lsp.model.resources import KubernetesRoute
    from tests.routing.helpers import index_of

    routes = route(
        "r", 'hostnames: ["*.example.com"]\n' + ROUTE_ALL, parent="{name: edge, namespace: infra, port: 8080}"
    )
    for gateways, via in ((GATEWAY, "infra/edge"), (GATEWAY + ISTIO_GATEWAY, "gateway-api:infra/edge")):
        index = index_of({"gateway.yaml": gateways, "routes.yaml": routes})
        (http_route,) = [r for r in index.resources() if isinstance(r, KubernetesRoute)]
        argument = http_route_trace_argument(index, http_route)
        assert argument == {"method": "GET", "url": "http://www.example.com:8080/", "headers": {}, "via": via}


# ---- GRPCRoute -------------------------------------------------------------------------------------------


def grpc_route(name: str, body: str) -> str:
    return route(name, body).replace("kind: HTTPRoute", "kind: GRPCRoute")


GRPC = grpc_route(
    "grpc",
    """\
    hostnames: [grpc.example.com]
    rules:
    - backendRefs: [{name: web, port: 80}]
    - matches: [{method: {service: shop.Catalog}}]
      backendRefs: [{name: search, port: 80}]
    - matches: [{method: {service: shop.Catalog, method: Get}}]
      backendRefs: [{name: api, port: 8080}]
    - matches: [{method: {method: Health}}]
      backendRefs: [{name: web, port: 80}]
    - matches: [{headers: [{name: x-tenant, value: beta}]}]
      backendRefs: [{name: api, port: 8080}]
    """,
)


@pytest.mark.parametrize(
    ("path", "headers", "index"),
    [
        ("/shop.Catalog/Get", (), 2),  # service and method: exact, before the service's prefix
        ("/shop.Catalog/List", (), 1),  # the service alone: a `/service/` prefix
        ("/grpc.health.v1.Health/Health", (), 3),  # the method alone: of any service
        ("/other.Svc/Call", ("x-tenant: beta",), 4),  # headers alone: no path condition
        ("/other.Svc/Call", (), 0),  # a rule without matches takes the rest, last
    ],
)
def test_grpc_methods_match_as_istio_reads_them(path: str, headers: tuple[str, ...], index: int) -> None:
    result = trace_via(GRPC, f"http://grpc.example.com{path}", "POST", headers)
    assert (result.route.get("grpcRoute"), result.route.get("index")) == ("shop/grpc", index), text(result)


def test_grpc_and_http_routes_of_one_host_are_tried_one_kind_after_the_other() -> None:
    http = route("http", "hostnames: [grpc.example.com]\nrules: [{backendRefs: [{name: web, port: 80}]}]")
    result = trace_via(GRPC + http, "http://grpc.example.com/shop.Catalog/Get", "POST")
    assert matched(result) == ("shop/http", 0)  # the HTTPRoute's catch-all comes first (creation order unknown)
    assert any("one kind after the other" in s.text for s in result.steps)


def test_grpc_rule_lenses_show_the_methods() -> None:
    from istio_lsp.features.code_lens import http_route_trace_argument, rule_title
    from istio_lsp.model.resources import KubernetesRoute
    from istio_lsp.routing.engine import route_rule_nodes
    from tests.routing.helpers import index_of

    files = {"gateway.yaml": GATEWAY, "routes.yaml": GRPC}
    index = index_of(files)
    (grpc,) = [r for r in index.resources() if isinstance(r, KubernetesRoute)]
    texts = {f"file:///ws/{name}": text for name, text in files.items()}
    titles = [rule_title(grpc, node) for node in route_rule_nodes(texts.get, grpc)]
    assert titles == [
        "every request · grpc.example.com",
        "/shop.Catalog/… · grpc.example.com",
        "/shop.Catalog/Get · grpc.example.com",
        "~/[^/]+/Health · grpc.example.com",
        "x-tenant: beta · grpc.example.com",
    ]
    argument = http_route_trace_argument(index, grpc)
    assert argument is not None and (argument["method"], argument["url"]) == ("POST", "http://grpc.example.com/")


# ---- TLSRoute and TCPRoute -------------------------------------------------------------------------------

L4_GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: istio
  listeners:
  - name: passthrough
    port: 443
    protocol: TLS
    hostname: "*.example.com"
    tls: {mode: Passthrough}
    allowedRoutes: {namespaces: {from: All}}
  - name: db
    port: 5432
    protocol: TCP
    allowedRoutes: {namespaces: {from: All}}
  - name: dns
    port: 53
    protocol: UDP
    allowedRoutes: {namespaces: {from: All}}
"""


def l4_route(kind: str, name: str, body: str) -> str:
    return route(name, body).replace(
        "gateway.networking.k8s.io/v1\nkind: HTTPRoute", f"gateway.networking.k8s.io/v1alpha2\nkind: {kind}"
    )


def trace_l4(routes: str, url: str) -> Trace:
    return run({"apps.yaml": APPS, "gateway.yaml": L4_GATEWAY, "routes.yaml": routes}, "GET", url, via="infra/edge")


TLS_ROUTES = l4_route(
    "TLSRoute", "wide", "hostnames: ['*.example.com']\nrules: [{backendRefs: [{name: web, port: 80}]}]"
) + l4_route(
    "TLSRoute",
    "api",
    "hostnames: [api.example.com]\n"
    "rules: [{backendRefs: [{name: api, port: 8080, weight: 1}, {name: search, port: 80, weight: 3}]}]",
)


def test_a_passthrough_listener_sends_the_connection_to_the_tlsroute_of_its_sni() -> None:
    result = trace_l4(TLS_ROUTES, "https://api.example.com/")
    assert result.route == {"tlsRoute": "shop/api", "index": 0}
    assert hosts(result) == [("api.shop.svc.cluster.local", 25.0), ("search.shop.svc.cluster.local", 75.0)]
    assert matched_l4(trace_l4(TLS_ROUTES, "https://www.example.com/")) == "shop/wide"
    closed = trace_l4(TLS_ROUTES, "https://www.example.org/")
    assert closed.status == "refused" and "takes SNI `www.example.org`" in closed.summary


def matched_l4(result: Trace) -> str | None:
    return result.route.get("tlsRoute") or result.route.get("tcpRoute")


def test_a_tcp_listener_forwards_to_its_tcproute_and_udp_is_not_modelled() -> None:
    tcp = l4_route("TCPRoute", "db", "rules: [{backendRefs: [{name: api, port: 8080}]}]")
    result = trace_l4(tcp, "http://db.example.com:5432/")
    assert (result.status, matched_l4(result)) == ("routed", "shop/db"), text(result)
    assert trace_l4("", "http://db.example.com:5432/").status == "refused"
    assert trace_l4(tcp, "http://dns.example.com:53/").status == "unknown"


def test_a_routing_test_names_the_tlsroute_that_takes_the_connection() -> None:
    from istio_lsp.routing.testfile import read_tests, run_case
    from tests.routing.helpers import index_of

    files = {"apps.yaml": APPS, "gateway.yaml": L4_GATEWAY, "routes.yaml": TLS_ROUTES}
    texts = {f"file:///ws/{name}": text for name, text in files.items()}
    tests = """\
apiVersion: istio-lsp.dev/v1
kind: RoutingTest
via: infra/edge
cases:
- name: api by SNI
  request: {url: "https://api.example.com/"}
  expect: {route: {tlsRoute: shop/api}}
- name: the rest
  request: {url: "https://www.example.com/"}
  expect: {route: {tlsRoute: api}}
"""
    cases, problems = read_tests("file:///ws/tests.yaml", tests)
    assert problems == [] and len(cases) == 2
    index = index_of(files)
    assert run_case(index, texts.get, cases[0]) is None
    failed = run_case(index, texts.get, cases[1])
    assert failed is not None and 'expected route {"tlsRoute": "api"}' in failed.message
