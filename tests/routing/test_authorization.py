"""AuthorizationPolicies on the way: the destination's sidecar lets the request in, refuses it with 403, or
the files cannot tell (a JWT, an IP, an external authorizer, a caller whose identity is not known)."""

from __future__ import annotations

import pytest

from istio_lsp.routing import Trace
from tests.routing.helpers import run, text

WORKSPACE = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080}]
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
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: web, containers: [{name: web, image: web:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: jobs}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec: {containers: [{name: batch, image: batch:1}]}
"""


def policy(spec: str, name: str = "api", namespace: str = "shop") -> str:
    return (
        "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}"
    )


ALLOW_SHOP_READS = policy(
    """\
  selector: {matchLabels: {app: api}}
  rules:
  - from: [{source: {namespaces: [shop]}}]
    to: [{operation: {methods: [GET, HEAD], paths: ["/api/*"]}}]
"""
)


def call(policies: str, url: str = "http://api.shop/api/items", method: str = "GET", **kw: str) -> Trace:
    source = kw.pop("source", "shop/web")
    headers = [f"{k.replace('_', '-')}: {v}" for k, v in kw.items()]
    return run({"ws.yaml": WORKSPACE + policies}, method, url, source=source, headers=headers)


def test_no_policy_lets_everything_in() -> None:
    result = call("")
    assert result.status == "routed" and not any(s.kind in ("authz", "403") for s in result.steps)


def test_an_allow_rule_lets_in_what_it_names_and_nothing_else() -> None:
    allowed = call(ALLOW_SHOP_READS)
    assert allowed.status == "routed"
    assert any(s.kind == "authz" and s.text == "allowed by AuthorizationPolicy shop/api rule #0" for s in allowed.steps)
    refused = call(ALLOW_SHOP_READS, method="POST")
    assert (refused.status, refused.code) == ("403", 403), text(refused)
    assert "none of their rules matches: 403 (RBAC: access denied)" in refused.summary
    assert call(ALLOW_SHOP_READS, source="jobs/batch").status == "403"  # another namespace
    assert call(ALLOW_SHOP_READS, url="http://api.shop/admin").status == "403"


def test_a_deny_rule_wins_over_allow() -> None:
    deny = policy('  action: DENY\n  rules: [{to: [{operation: {paths: ["/api/secret*"]}}]}]\n', name="no-secrets")
    result = call(ALLOW_SHOP_READS + deny, url="http://api.shop/api/secret/1")
    assert result.status == "403" and "AuthorizationPolicy shop/no-secrets (DENY) rule #0 matches" in result.summary
    assert call(ALLOW_SHOP_READS + deny).status == "routed"


def test_an_empty_allow_policy_in_the_root_namespace_refuses_everything() -> None:
    result = call(policy("  {}\n", name="deny-all", namespace="istio-system"))
    assert result.status == "403" and "istio-system/deny-all" in result.summary


def test_principals_need_a_known_caller() -> None:
    by_identity = policy("  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]}]\n")
    assert call(by_identity).status == "routed"  # web runs as service account `web`
    assert call(by_identity, source="jobs/batch").status == "403"  # `default` of jobs
    unknown = call(by_identity, source="shop/app=web")  # pods by labels: which service account is not known
    assert unknown.status == "routed"
    assert any(s.kind == "unknown" and "may match" in s.text for s in unknown.steps), text(unknown)


@pytest.mark.parametrize(
    ("spec", "headers", "status"),
    [
        ('  rules: [{when: [{key: "request.headers[x-token]", values: [s3cret]}]}]\n', {"x_token": "s3cret"}, "routed"),
        ('  rules: [{when: [{key: "request.headers[x-token]", values: [s3cret]}]}]\n', {}, "403"),
        ('  rules: [{when: [{key: "request.headers[x-debug]", notValues: ["1"]}]}]\n', {}, "routed"),  # absent
        ('  rules: [{when: [{key: "request.headers[x-debug]", notValues: ["1"]}]}]\n', {"x_debug": "1"}, "403"),
        ('  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]\n', {}, "403"),  # no token: no principal
        ('  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]\n', {"authorization": "Bearer x"}, "routed"),
        ('  rules: [{from: [{source: {ipBlocks: ["10.0.0.0/8"]}}]}]\n', {}, "routed"),  # the address: not known
        ("  action: CUSTOM\n  provider: {name: opa}\n  rules: [{}]\n", {}, "routed"),
    ],
)
def test_what_the_request_does_not_show_is_not_guessed(spec: str, headers: dict[str, str], status: str) -> None:
    result = call(policy(spec), **headers)
    assert result.status == status, text(result)
    if status == "routed" and "s3cret" not in spec and "x-debug" not in spec:
        assert any(s.kind == "unknown" and s.text.startswith("authorization:") for s in result.steps), text(result)


def test_the_policy_sees_the_rewritten_path_and_the_pods_port() -> None:
    routes = """\
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: shop}
spec:
  hosts: [api]
  http:
  - match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /internal/}
    route: [{destination: {host: api, port: {number: 80}}}]
"""
    internal = policy('  rules: [{to: [{operation: {paths: ["/internal/*"], ports: ["8080"]}}]}]\n')
    assert call(internal + routes).status == "routed"
    assert call(internal).status == "403"  # not rewritten: /api/items


INGRESS = """\
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [public]
  http: [{route: [{destination: {host: api}}]}]
"""

GATEWAY_PODS = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway}}
    spec: {serviceAccountName: istio-ingressgateway-service-account, containers: [{name: istio-proxy, image: proxy}]}
"""

FROM_THE_GATEWAY = policy(
    "  rules:\n"
    "  - from: [{source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}}]\n"
)


def ingress(files: str, url: str = "http://shop.example.com/") -> Trace:
    return run({"ws.yaml": WORKSPACE + INGRESS + files}, "GET", url, via="shop/public")


def test_requests_from_the_ingress_gateway_carry_its_identity_when_its_pods_are_in_the_files() -> None:
    known = ingress(FROM_THE_GATEWAY + GATEWAY_PODS)
    assert known.status == "routed"
    assert any(s.kind == "authz" and s.text == "allowed by AuthorizationPolicy shop/api rule #0" for s in known.steps)
    unknown = ingress(FROM_THE_GATEWAY)  # the Gateway resource is in `shop`, its pods elsewhere: who is not known
    assert unknown.status == "routed" and any(s.kind == "unknown" for s in unknown.steps), text(unknown)
    from_shop = policy("  rules: [{from: [{source: {namespaces: [shop]}}]}]\n")
    assert ingress(from_shop + GATEWAY_PODS).status == "403"  # the pods run in istio-system


def test_the_gateways_own_policies_see_a_client_without_identity() -> None:
    gateway_policy = """\
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
"""
    denied = ingress(
        policy(gateway_policy, name="no-admin", namespace="istio-system") + GATEWAY_PODS,
        "http://shop.example.com/admin",
    )
    assert (denied.status, denied.code) == ("403", 403)
    assert "the ingress gateway refuses it: AuthorizationPolicy istio-system/no-admin (DENY) rule #0" in denied.summary
    mesh_only = (
        "  selector: {matchLabels: {istio: ingressgateway}}\n  rules: [{from: [{source: {namespaces: ['*']}}]}]\n"
    )
    assert ingress(policy(mesh_only, name="mesh-only", namespace="istio-system") + GATEWAY_PODS).status == "403"


def test_policies_attached_to_a_gateway_api_gateway_run_before_its_routes() -> None:
    gateway = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: api, port: 80}]}]
"""
    attached = """\
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: edge}]
  action: DENY
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
"""
    files = {"ws.yaml": WORKSPACE + gateway + policy(attached, name="read-only")}
    assert run(files, "GET", "http://shop.example.com/", via="shop/edge").status == "routed"
    refused = run(files, "DELETE", "http://shop.example.com/", via="shop/edge")
    assert (refused.status, refused.code) == ("403", 403)
    assert refused.summary.startswith("the Gateway refuses it: AuthorizationPolicy shop/read-only (DENY) rule #0")
