"""Security rules read from one document (TLS origination without a CA), table-driven.

The markers and the harness are test_destinationrule.py's: `# !code` on the line where a
finding must start; a case without markers must raise none of the codes under test.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.admission.test_destinationrule import actual, dr, expected

CODES = {"tls-without-ca-certificates", "reserved-proxy-uid", "authorization-method-never-matches"}


def policy(rules: str, action: str = "ALLOW") -> str:
    """An AuthorizationPolicy around an indented `rules` list (markers included)."""
    body = "\n".join(f"  {line}" if line else line for line in textwrap.dedent(rules).strip("\n").split("\n"))
    return (
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: cart, namespace: shop}\n"
        f"spec:\n  action: {action}\n  selector:\n    matchLabels: {{app: cart}}\n  rules:\n{body}\n"
    )


def deployment(pod_spec: str, kind: str = "Deployment", api: str = "apps/v1", labels: str = "{app: web}") -> str:
    """A workload whose pod template's spec is the indented `pod_spec` (markers included)."""
    body = "\n".join(f"      {line}" if line else line for line in textwrap.dedent(pod_spec).strip("\n").split("\n"))
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: web\nspec:\n  template:\n"
        f"    metadata:\n      labels: {labels}\n    spec:\n{body}\n"
    )


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    runAsUser: 1337  # !reserved-proxy-uid
  containers:
  - name: web
    image: registry.example.com/web:1.0
"""

CASES: list[tuple[str, str]] = [
    (
        "simple-top-level",
        dr(
            """
            host: db.internal.example.com
            trafficPolicy:
              tls:
                mode: SIMPLE  # !tls-without-ca-certificates
            """
        ),
    ),
    (
        "mutual-port-level",
        dr(
            """
            host: db.internal.example.com
            trafficPolicy:
              portLevelSettings:
              - port: {number: 5432}
                tls:
                  mode: MUTUAL  # !tls-without-ca-certificates
                  clientCertificate: /etc/certs/client.pem
                  privateKey: /etc/certs/client-key.pem
            """
        ),
    ),
    (
        "subset-level",
        dr(
            """
            host: db.internal.example.com
            subsets:
            - name: primary
              labels: {role: primary}
              trafficPolicy:
                tls: {mode: SIMPLE}  # !tls-without-ca-certificates
            """
        ),
    ),
    (
        "credential-without-selector",
        dr(
            """
            host: db.internal.example.com
            trafficPolicy:
              tls:
                mode: SIMPLE  # !tls-without-ca-certificates
                credentialName: db-credential
            """
        ),
    ),
    (
        "credential-with-selector-ok",
        dr(
            """
            host: db.internal.example.com
            workloadSelector:
              matchLabels: {app: ratings}
            trafficPolicy:
              tls:
                mode: SIMPLE
                credentialName: db-credential
            """
        ),
    ),
    (
        "ca-given-ok",
        dr(
            """
            host: db.internal.example.com
            trafficPolicy:
              tls:
                mode: MUTUAL
                caCertificates: /etc/certs/ca.pem
                clientCertificate: /etc/certs/client.pem
                privateKey: /etc/certs/client-key.pem
            """
        ),
    ),
    (
        "skip-verify-on-purpose-ok",
        dr(
            """
            host: legacy.example.com
            trafficPolicy:
              tls: {mode: SIMPLE, insecureSkipVerify: true}
            """
        ),
    ),
    (
        "istio-mutual-and-disable-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              tls: {mode: ISTIO_MUTUAL}
              portLevelSettings:
              - port: {number: 9080}
                tls: {mode: DISABLE}
            """
        ),
    ),
    ("uid-pod-level", POD),
    (
        "uid-container-level",
        deployment(
            """
            containers:
            - name: web
              image: registry.example.com/web:1.0
              securityContext:
                runAsUser: 1337  # !reserved-proxy-uid
            - name: helper
              image: registry.example.com/helper:1.0
              securityContext: {runAsUser: 1000}
            """
        ),
    ),
    (
        "uid-statefulset-pod-level",
        deployment(
            "securityContext: {runAsUser: 1337}  # !reserved-proxy-uid\ncontainers: [{name: db, image: db}]",
            "StatefulSet",
        ),
    ),
    (
        "uid-hand-written-sidecar-ok",
        deployment(
            """
            containers:
            - name: web
              image: registry.example.com/web:1.0
            - name: istio-proxy
              image: auto
              securityContext: {runAsUser: 1337}
            """
        ),
    ),
    (
        "uid-not-injected-ok",
        deployment(
            "securityContext: {runAsUser: 1337}\ncontainers: [{name: web, image: web}]",
            labels='{app: web, sidecar.istio.io/inject: "false"}',
        ),
    ),
    (
        "uid-pod-level-overridden-by-each-container",
        deployment(
            """
            securityContext: {runAsUser: 1337}
            containers:
            - name: web
              image: web
              securityContext: {runAsUser: 1337}  # !reserved-proxy-uid
            - name: helper
              image: helper
              securityContext: {runAsUser: 1000}
            """
        ),
    ),
    (
        "methods-lower-case-and-grpc",
        policy(
            """
            - to:
              - operation:
                  methods:
                  - get  # !authorization-method-never-matches
                  - "GetCart"  # !authorization-method-never-matches
                  - /shop.Cart/Add  # !authorization-method-never-matches
                  - POST
            """
        ),
    ),
    (
        "not-methods-in-a-deny-rule",
        policy(
            """
            - to:
              - operation:
                  notMethods: [delete]  # !authorization-method-never-matches
            """,
            action="DENY",
        ),
    ),
    (
        "methods-as-sent-ok",
        policy(
            """
            - to:
              - operation:
                  methods: [GET, HEAD, PURGE, PROPFIND, "*", "GE*", "*T"]
                  paths: ["/shop.Cart/GetCart"]
            """
        ),
    ),
    ("uid-other-ok", deployment("securityContext: {runAsUser: 1338}\ncontainers: [{name: web, image: web}]")),
    (
        "uid-not-a-kubernetes-workload-ok",
        deployment("securityContext: {runAsUser: 1337}\ncontainers: [{name: web, image: web}]", api="example.com/v1"),
    ),
]


@pytest.mark.parametrize(("name", "yaml_text"), CASES, ids=[c[0] for c in CASES])
def test_case(name: str, yaml_text: str) -> None:
    assert actual(yaml_text, CODES) == expected(yaml_text)


def test_every_code_has_failing_and_passing_cases() -> None:
    for code in CODES:
        assert any(code in text for _, text in CASES), code
        assert any(not expected(text) for _, text in CASES), code


def test_gateway_api_and_other_kinds_are_not_read() -> None:
    text = dr("host: db.example.com\ntrafficPolicy:\n  tls: {mode: SIMPLE}").replace(
        "networking.istio.io/v1", "example.com/v1"
    )
    assert actual(text, CODES) == set()


def test_method_fix_writes_the_method_in_upper_case() -> None:
    from tests.admission.test_destinationrule import apply_fix, only_finding

    text = policy(
        """
        - to:
          - operation:
              methods: ["get"]
        """
    )
    finding = only_finding(text, "authorization-method-never-matches")
    assert "allows nothing" in finding.message
    (fix,) = finding.fixes
    fixed = apply_fix(text, fix)
    assert "methods: [GET]" in fixed
    assert actual(fixed, CODES) == set()
