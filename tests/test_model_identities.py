"""The model's view of identities and key fetches: a pod's service account and containers, an
AuthorizationPolicy's rule values, a RequestAuthentication's key sources."""

from __future__ import annotations

from istio_lsp.index import summarize
from istio_lsp.model.resources import SelectorPolicy, Workload
from istio_lsp.settings import Settings

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}
spec:
  template:
    spec:
      serviceAccountName: istiod
      serviceAccount: old-name
      containers:
      - name: discovery
        env:
        - name: A
          value: "1"
        - name: B
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: C
      - name: sidecar
        image: proxy
      - {name: flow, image: x}
      initContainers:
      - name: init
        env: [{name: D, value: "2"}]
"""


def _resources(text: str) -> list:
    return summarize("file:///m.yaml", text, Settings()).resources


def test_a_workload_keeps_its_service_account_and_containers() -> None:
    (workload,) = _resources(DEPLOYMENT)
    assert isinstance(workload, Workload)
    assert workload.service_account is not None and workload.service_account.value == "istiod"
    discovery, sidecar, flow = workload.containers  # not the init containers
    assert discovery.name == "discovery" and discovery.env == {"A": "1", "B": None, "C": ""}
    assert discovery.env_span is not None and discovery.env_span.start_line == 10
    # a new variable goes after the last item, at the column of the items' `-`
    assert (discovery.env_after, discovery.env_indent, discovery.env_key) == ((15, 17), 8, False)
    # no `env`: after the container's last value, with the key, at the column of its keys
    assert (sidecar.env_after, sidecar.env_indent, sidecar.env_key) == ((17, 20), 8, True)
    assert flow.env_after is None  # a flow mapping has no safe place


def test_the_older_service_account_field_and_the_default() -> None:
    older = DEPLOYMENT.replace("      serviceAccountName: istiod\n", "")
    (workload,) = _resources(older)
    assert workload.service_account is not None and workload.service_account.value == "old-name"
    neither = older.replace("      serviceAccount: old-name\n", "")
    (workload,) = _resources(neither)
    assert workload.service_account is None  # the pods run as `default`


def test_positions_move_with_the_document() -> None:
    first = summarize("file:///m.yaml", DEPLOYMENT, Settings())
    moved = summarize("file:///m.yaml", "kind: Note\napiVersion: v1\n---\n" + DEPLOYMENT, Settings(), previous=first)
    (workload,) = [r for r in moved.resources if isinstance(r, Workload)]
    assert workload.containers[0].env_after == (18, 17)
    assert workload.service_account is not None and workload.service_account.span.start_line == 9


def test_authorization_policy_rule_values() -> None:
    (policy,) = _resources(
        """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: shop}
spec:
  rules:
  - from:
    - source: {principals: [cluster.local/ns/a/sa/b], notNamespaces: ["x*"]}
    - source: {serviceAccounts: [a/b]}
    to:
    - operation: {hosts: [svc], notHosts: ["svc:80"], methods: [GET]}
"""
    )
    assert isinstance(policy, SelectorPolicy)
    assert [(v.key, v.value.value) for v in policy.rule_values] == [
        ("principals", "cluster.local/ns/a/sa/b"),
        ("notNamespaces", "x*"),
        ("serviceAccounts", "a/b"),
        ("hosts", "svc"),
        ("notHosts", "svc:80"),
    ]
    assert policy.rule_values[1].value.quote == '"'


def test_request_authentication_key_sources() -> None:
    (policy,) = _resources(
        """\
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: shop}
spec:
  jwtRules:
  - {issuer: a, jwksUri: "https://a/keys"}
  - {issuer: b}
  - {issuer: c, jwksUri: "https://c/keys", jwks: "{}"}
"""
    )
    assert isinstance(policy, SelectorPolicy)
    sources = [
        (s.jwks_uri.value if s.jwks_uri else None, s.issuer.value if s.issuer else None) for s in policy.key_sources
    ]
    assert sources == [("https://a/keys", "a"), (None, "b")]  # inline keys are not fetched
