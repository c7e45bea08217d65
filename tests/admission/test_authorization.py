"""AuthorizationPolicy, PeerAuthentication and RequestAuthentication admission rules (checklist §6-§8).

Table-driven with the markers of test_serviceentry.py.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.admission.helpers import findings_for
from tests.admission.test_serviceentry import actual, expected, params

AP_CODES = {"invalid-authorization-policy", "invalid-authorization-rule", "deny-policy-blocks-tcp"}
PA_CODES = {"invalid-peer-authentication"}
RA_CODES = {"invalid-request-authentication", "invalid-jwt-rule"}
SECURITY_CODES = AP_CODES | PA_CODES | RA_CODES


def resource(kind: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    head = f"apiVersion: security.istio.io/v1\nkind: {kind}\nmetadata:\n  name: ratings\n  namespace: bookinfo\n"
    return f"{head}spec:\n{body}\n"


def ap(spec: str) -> str:
    return resource("AuthorizationPolicy", spec)


def pa(spec: str) -> str:
    return resource("PeerAuthentication", spec)


def ra(spec: str) -> str:
    return resource("RequestAuthentication", spec)


SELECTOR = "selector: {matchLabels: {app: ratings}}"
PUBLIC_JWKS = json.dumps(
    {"keys": [{"kty": "RSA", "kid": "k1", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri", "e": "AQAB"}]}
)
PRIVATE_JWKS = json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "f83O", "y": "x_FE", "d": "jpsQ"}]})

AP_CASES = {
    # targets
    "selector-and-target-refs": ap(
        """
        selector:
          matchLabels: {app: ratings}
        targetRefs:  # !invalid-authorization-policy
        - {kind: Service, group: "", name: ratings}
        rules: [{}]
        """
    ),
    "target-refs-only": ap(
        """
        targetRefs:
        - {kind: Service, group: "", name: ratings}
        - {kind: ServiceEntry, group: networking.istio.io, name: ratings-vm}
        - {kind: Gateway, group: gateway.networking.k8s.io, name: ingress}
        - {kind: GatewayClass, group: gateway.networking.k8s.io, name: istio}
        rules: [{}]
        """
    ),
    "target-ref-problems": ap(
        """
        targetRefs:
        - kind: Service  # !invalid-authorization-policy
        - kind: Service
          name: ratings
          namespace: other  # !invalid-authorization-policy
        - kind: Deployment  # !invalid-authorization-policy
          name: ratings
        - kind: ServiceEntry  # !invalid-authorization-policy
          name: ratings-vm
        rules: [{}]
        """
    ),
    "target-ref-single": ap(
        """
        targetRef:
          kind: Service
          name: ratings
        rules: [{}]
        """
    ),
    # action and provider
    "custom-without-rules": ap(
        f"""
        {SELECTOR}
        action: CUSTOM  # !invalid-authorization-policy
        provider: {{name: ext-authz}}
        """
    ),
    "custom-without-provider-name": ap(
        f"""
        {SELECTOR}
        action: CUSTOM
        provider: {{}}  # !invalid-authorization-policy
        rules: [{{}}]
        """
    ),
    "custom-unsupported-attributes": ap(
        f"""
        {SELECTOR}
        action: CUSTOM
        provider: {{name: ext-authz}}
        rules:
        - from:
          - source:
              namespaces: [bookinfo]  # !invalid-authorization-policy
              requestPrincipals: ["*"]  # !invalid-authorization-policy
          when:
          - key: request.auth.claims[group]  # !invalid-authorization-policy
            values: [admins]
          - key: source.principal  # !invalid-authorization-policy
            values: [cluster.local/ns/bookinfo/sa/productpage]
        """
    ),
    "custom-valid": ap(
        f"""
        {SELECTOR}
        action: CUSTOM
        provider: {{name: ext-authz}}
        rules:
        - from:
          - source:
              ipBlocks: [10.0.0.0/8]
          to:
          - operation:
              paths: [/admin/*]
          when:
          - key: request.headers[x-tenant]
            values: [acme]
        """
    ),
    "provider-with-allow": ap(
        f"""
        {SELECTOR}
        action: ALLOW
        provider:  # !invalid-authorization-policy
          name: ext-authz
        rules: [{{}}]
        """
    ),
    "deny-without-rules": ap(f"{SELECTOR}\naction: DENY  # !invalid-authorization-policy"),
    "deny-empty-rules": ap(f"{SELECTOR}\naction: DENY\nrules: []  # !invalid-authorization-policy"),
    "allow-without-rules": ap(f"{SELECTOR}\naction: ALLOW"),
    "deny-everything": ap(f"{SELECTOR}\naction: DENY\nrules: [{{}}]"),
    # rules: from
    "rule-null-and-empty-lists": ap(
        f"""
        {SELECTOR}
        rules:
        -  # !invalid-authorization-rule
        - from: []  # !invalid-authorization-rule
          to: []  # !invalid-authorization-rule
        """
    ),
    "from-entries": ap(
        f"""
        {SELECTOR}
        rules:
        - from:
          -  # !invalid-authorization-rule
          - source:  # !invalid-authorization-rule
          - source: {{}}  # !invalid-authorization-rule
        """
    ),
    "source-values": ap(
        f"""
        {SELECTOR}
        rules:
        - from:
          - source:
              principals: ["cluster.local/ns/bookinfo/sa/reviews", ""]  # !invalid-authorization-rule
              ipBlocks: [10.0.0.0/8, 10.0.0.300]  # !invalid-authorization-rule
              notRemoteIpBlocks: [192.168.0.0/33]  # !invalid-authorization-rule
        """
    ),
    "source-values-valid": ap(
        f"""
        {SELECTOR}
        rules:
        - from:
          - source:
              principals: ["cluster.local/ns/bookinfo/sa/reviews", "*-suffix"]
              ipBlocks: [10.0.0.0/8, 10.0.0.30, "2001:db8::/32"]
              notRemoteIpBlocks: [192.168.0.0/16]
        """
    ),
    "service-accounts": ap(
        f"""
        {SELECTOR}
        rules:
        - from:
          - source:
              serviceAccounts:
              - bookinfo/reviews
              - a/b/c  # !invalid-authorization-rule
              - "reviews-*"  # !invalid-authorization-rule
              - /reviews  # !invalid-authorization-rule
              namespaces: [bookinfo]  # !invalid-authorization-rule
          - source:
              trustDomains: [cluster.local, "spiffe://other"]  # !invalid-authorization-rule
        """
    ),
    "service-accounts-too-many-and-too-long": ap(
        f"""
        {SELECTOR}
        rules:
        - from:
          - source:
              serviceAccounts: [{", ".join(f"sa-{n}" for n in range(17))}]  # !invalid-authorization-rule
          - source:
              notServiceAccounts:
              - {"a" * 321}  # !invalid-authorization-rule
        """
    ),
    "service-accounts-valid": ap(
        f"""
        {SELECTOR}
        rules:
        - from:
          - source:
              serviceAccounts: [reviews, bookinfo/productpage]
              trustDomains: [cluster.local]
          - source:
              namespaces: [bookinfo]
        """
    ),
    # rules: to
    "to-entries": ap(
        f"""
        {SELECTOR}
        rules:
        - to:
          -  # !invalid-authorization-rule
          - operation:  # !invalid-authorization-rule
          - operation: {{}}  # !invalid-authorization-rule
          - operation:
              methods: [GET, ""]  # !invalid-authorization-rule
        """
    ),
    "path-templates": ap(
        f"""
        {SELECTOR}
        rules:
        - to:
          - operation:
              paths:
              - /api/{{version}}/items/{{*}}  # !invalid-authorization-rule
              - /api/{{**}}/items/{{*}}  # !invalid-authorization-rule
              - /api/*/items/{{*}}  # !invalid-authorization-rule
              notPaths:
              - /{{*}}/x/{{}}  # !invalid-authorization-rule
        """
    ),
    "path-templates-valid": ap(
        f"""
        {SELECTOR}
        rules:
        - to:
          - operation:
              paths:
              - /api/{{*}}/items/{{**}}
              - /{{**}}/template
              - /exact
              - /prefix/*
              - "*/suffix"
        """
    ),
    # rules: when
    "when-structure": ap(
        f"""
        {SELECTOR}
        rules:
        - when:
          -  # !invalid-authorization-rule
          - key: ""  # !invalid-authorization-rule
            values: [x]
          - key: source.namespace  # !invalid-authorization-rule
          - key: request.headers[x-user]  # !invalid-authorization-rule
            values: []
        """
    ),
    "when-keys": ap(
        f"""
        {SELECTOR}
        rules:
        - when:
          - key: source.namespaces  # !invalid-authorization-rule
            values: [bookinfo]
          - key: destination.namespace  # !invalid-authorization-rule
            values: [bookinfo]
          - key: destination.labels[app]  # !invalid-authorization-rule
            values: [ratings]
          - key: destination.user  # !invalid-authorization-rule
            values: [ratings]
          - key: request.headers  # !invalid-authorization-rule
            values: [x]
          - key: request.auth.claims[]  # !invalid-authorization-rule
            values: [x]
        """
    ),
    "when-values": ap(
        f"""
        {SELECTOR}
        rules:
        - when:
          - key: source.ip
            values: [10.0.0.0/8, not-an-ip]  # !invalid-authorization-rule
          - key: remote.ip
            notValues: [10.0.0.1/40]  # !invalid-authorization-rule
          - key: request.headers[x-tenant]
            values: ["a*b"]  # !invalid-authorization-rule
            notValues: ["**admin"]  # !invalid-authorization-rule
          - key: connection.sni
            values: [""]  # !invalid-authorization-rule
        """
    ),
    "when-valid": ap(
        f"""
        {SELECTOR}
        rules:
        - when:
          - key: source.ip
            values: [10.0.0.0/8, 192.168.1.7]
          - key: request.headers[x-tenant]
            values: ["acme-*", "*-corp", "*"]
          - key: request.auth.claims[groups][admins]
            notValues: ["false"]
          - key: experimental.envoy.filters.network.mysql_proxy[db.table]
            values: ["[update]"]
          - key: destination.port
            values: ["9080"]
          - key: connection.sni
            values: ["*.example.com"]
          - key: source.serviceAccount
            values: [bookinfo/reviews]
        """
    ),
    # DENY rules that catch TCP traffic
    "deny-http-only": ap(
        f"""
        {SELECTOR}
        action: DENY
        rules:
        - to:  # !deny-policy-blocks-tcp
          - operation: {{methods: [DELETE]}}
        - from:  # !deny-policy-blocks-tcp
          - source: {{requestPrincipals: ["*"]}}
        - from:
          - source: {{notNamespaces: [bookinfo]}}
          to:  # !deny-policy-blocks-tcp
          - operation: {{paths: [/admin]}}
        """
    ),
    "deny-with-tcp-attributes": ap(
        f"""
        {SELECTOR}
        action: DENY
        rules:
        - to:
          - operation: {{methods: [DELETE], ports: ["9080"]}}
        - from:
          - source: {{notNamespaces: [bookinfo]}}
        - from:
          - source: {{requestPrincipals: ["*"]}}
          to:
          - operation: {{notPorts: ["15021"]}}
        """
    ),
    "allow-http-only": ap(
        f"""
        {SELECTOR}
        action: ALLOW
        rules:
        - to:
          - operation: {{methods: [GET]}}
        """
    ),
}

PA_CASES = {
    "port-level-without-selector": pa(
        """
        mtls: {mode: STRICT}
        portLevelMtls:  # !invalid-peer-authentication
          9080: {mode: PERMISSIVE}
        """
    ),
    "port-level-with-empty-selector": pa(
        """
        selector: {}
        mtls: {mode: STRICT}
        portLevelMtls:  # !invalid-peer-authentication
          9080: {mode: PERMISSIVE}
        """
    ),
    "port-level-with-selector": pa(
        """
        selector:
          matchLabels: {app: ratings}
        mtls: {mode: STRICT}
        portLevelMtls:
          9080: {mode: PERMISSIVE}
        """
    ),
    "port-level-empty": pa(
        """
        selector:
          matchLabels: {app: ratings}
        portLevelMtls: {}  # !invalid-peer-authentication
        """
    ),
    "namespace-wide": pa("mtls: {mode: STRICT}"),
}

RA_CASES = {
    "selector-and-target-ref": ra(
        """
        selector:
          matchLabels: {app: ratings}
        targetRef:  # !invalid-request-authentication
          kind: Gateway
          group: gateway.networking.k8s.io
          name: ingress
        """
    ),
    "target-ref-problems": ra(
        """
        targetRef:  # !invalid-request-authentication
          kind: Gateway
          group: gateway.networking.k8s.io
          namespace: istio-ingress  # !invalid-request-authentication
        """
    ),
    "target-ref-valid": ra(
        """
        targetRef:
          kind: Gateway
          group: gateway.networking.k8s.io
          name: ingress
        jwtRules:
        - issuer: https://auth.example.com
          jwksUri: https://auth.example.com/.well-known/jwks.json
        """
    ),
    "jwt-issuer-audiences-uri": ra(
        f"""
        {SELECTOR}
        jwtRules:
        - audiences: [shop, ""]  # !invalid-jwt-rule
          fromCookies: [session]
        - issuer: https://auth.example.com
          jwksUri: ftp://auth.example.com/keys  # !invalid-jwt-rule
        - issuer: https://auth.example.com
          jwks_uri: "https://auth.example.com:port/keys"  # !invalid-jwt-rule
        """
    ),
    "jwt-jwks": ra(
        f"""
        {SELECTOR}
        jwtRules:
        - issuer: https://auth.example.com
          jwks: '{{"keys": [{{"kid": "k1"}}]}}'  # !invalid-jwt-rule
        - issuer: https://auth.example.com
          jwks: "not json"  # !invalid-jwt-rule
        - issuer: https://auth.example.com
          jwks: '{PRIVATE_JWKS}'  # !invalid-jwt-rule@warning
        - issuer: https://auth.example.com
          jwksUri: https://auth.example.com/keys
          jwks: '{PUBLIC_JWKS}'  # !invalid-jwt-rule
        """
    ),
    "jwt-locations-and-outputs": ra(
        f"""
        {SELECTOR}
        jwtRules:
        - issuer: https://auth.example.com
          fromHeaders:
          - name: ""  # !invalid-jwt-rule
          -  # !invalid-jwt-rule
          fromParams: [""]  # !invalid-jwt-rule
          fromCookies: [session, ""]  # !invalid-jwt-rule
          outputClaimToHeaders:
          - claim: sub  # !invalid-jwt-rule
          - claim: sub
            header: x user  # !invalid-jwt-rule
        """
    ),
    "jwt-valid": ra(
        f"""
        {SELECTOR}
        jwtRules:
        - issuer: https://auth.example.com
          audiences: [shop]
          jwks: '{PUBLIC_JWKS}'
          fromHeaders:
          - {{name: authorization, prefix: "Bearer "}}
          fromParams: [access_token]
          fromCookies: [session]
          outputClaimToHeaders:
          - {{claim: sub, header: x-user_id}}
        - jwksUri: http://auth.internal:8080/keys
        """
    ),
}


@pytest.mark.parametrize("yaml_text", params(AP_CASES))
def test_authorization_policy_case(yaml_text: str) -> None:
    assert actual(yaml_text, SECURITY_CODES) == expected(yaml_text)


@pytest.mark.parametrize("yaml_text", params(PA_CASES))
def test_peer_authentication_case(yaml_text: str) -> None:
    assert actual(yaml_text, SECURITY_CODES) == expected(yaml_text)


@pytest.mark.parametrize("yaml_text", params(RA_CASES))
def test_request_authentication_case(yaml_text: str) -> None:
    assert actual(yaml_text, SECURITY_CODES) == expected(yaml_text)


def test_every_code_has_a_failing_case() -> None:
    cases = [*AP_CASES.values(), *PA_CASES.values(), *RA_CASES.values()]
    fired = {code for text in cases for code, _, _ in expected(text)}
    assert fired == SECURITY_CODES


def test_unknown_when_key_offers_the_closest_attribute() -> None:
    findings = [f for f in findings_for(AP_CASES["when-keys"]) if f.code == "invalid-authorization-rule"]
    by_line = {f.span.start_line: f for f in findings}
    typo = next(f for f in by_line.values() if "source.namespaces" in f.message)
    assert typo.fixes[0].title == "Did you mean `source.namespace`?"
    replaced = next(f for f in by_line.values() if "destination.namespace" in f.message)
    assert not replaced.fixes and "metadata.namespace" in replaced.message


def test_policy_errors_name_the_policy_like_istio() -> None:
    finding = next(f for f in findings_for(AP_CASES["deny-without-rules"]) if f.code == "invalid-authorization-policy")
    assert finding.message.startswith("invalid policy ratings.bookinfo: ")
