"""One diagnostic per missing required field: a field Istio's CRD requires and a kind rule also checks
is reported by that rule alone (missing-required-field's OWNED_BY_KIND_RULES), and by the schema rule
again when the kind rule is turned off."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from istio_lsp.checks import RULES_BY_CODE
from istio_lsp.checks.schema.missing_required_field import OWNED_BY_KIND_RULES, RULE, owned_entry, owner_of
from istio_lsp.settings import Settings
from tests.admission.helpers import findings_for

MISSING = RULE.code
TARGET = {"group": "", "kind": "Service", "name": "reviews"}
COOKIE = {"name": "session", "ttl": "0s", "attributes": [{"name": "SameSite", "value": "Lax"}]}
LOAD_BALANCER = {"consistentHash": {"httpCookie": COOKIE}, "warmup": {"duration": "10s"}}
POLICY = {
    "loadBalancer": LOAD_BALANCER,
    "tunnel": {"protocol": "CONNECT", "targetHost": "proxy.example.com", "targetPort": 8080},
    "portLevelSettings": [{"port": {"number": 80}, "loadBalancer": LOAD_BALANCER}],
}


def resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "a", "namespace": "default"}, "spec": spec}


# valid resources (no finding at all) that set every field of the table
BASES: dict[str, dict[str, Any]] = {
    "dr": resource(
        "networking.istio.io/v1",
        "DestinationRule",
        {
            "host": "*.local",  # mesh-wide: no Service or ServiceEntry needed for the host
            "trafficPolicy": POLICY,
            "subsets": [{"name": "v1", "labels": {"version": "v1"}, "trafficPolicy": POLICY}],
        },
    ),
    "gateway": resource(
        "networking.istio.io/v1",
        "Gateway",
        {
            "selector": {"istio": "ingressgateway"},
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    ),
    "authz-refs": resource(
        "security.istio.io/v1",
        "AuthorizationPolicy",
        {"targetRefs": [TARGET], "rules": [{"when": [{"key": "request.headers[x-user]", "values": ["a"]}]}]},
    ),
    "authz-ref": resource(
        "security.istio.io/v1",
        "AuthorizationPolicy",
        {"targetRef": TARGET, "rules": [{"to": [{"operation": {"paths": ["/"]}}]}]},
    ),
    "reqauthn-refs": resource(
        "security.istio.io/v1",
        "RequestAuthentication",
        {
            "targetRefs": [TARGET],
            "jwtRules": [
                {
                    "issuer": "https://issuer.example.com",
                    "fromHeaders": [{"name": "x-jwt"}],
                    "outputClaimToHeaders": [{"claim": "sub", "header": "x-sub"}],
                }
            ],
        },
    ),
    "reqauthn-ref": resource(
        "security.istio.io/v1",
        "RequestAuthentication",
        {"targetRef": TARGET, "jwtRules": [{"issuer": "https://issuer.example.com"}]},
    ),
    "se": resource(
        "networking.istio.io/v1",
        "ServiceEntry",
        {
            "hosts": ["api.example.com"],
            "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
            "resolution": "DNS",
            "location": "MESH_EXTERNAL",
        },
    ),
    "sidecar": resource(
        "networking.istio.io/v1",
        "Sidecar",
        {
            "workloadSelector": {"labels": {"app": "reviews"}},
            "ingress": [{"port": {"number": 80, "protocol": "HTTP", "name": "http"}}],
            "egress": [{"hosts": ["./*"]}],
        },
    ),
    "sidecar-proxy": resource(
        "networking.istio.io/v1",
        "Sidecar",
        {
            "outboundTrafficPolicy": {
                "mode": "ALLOW_ANY",
                "egressProxy": {"host": "egress.example.com", "port": {"number": 80}},
            }
        },
    ),
}

# (base, path of the field to leave out, the rule that reports it): every table entry, at each depth
PAIRS: list[tuple[str, str, str]] = [
    ("dr", "spec.host", "invalid-destinationrule-host"),
    ("dr", "spec.subsets.0.name", "invalid-subset"),
    ("dr", "spec.trafficPolicy.loadBalancer.warmup.duration", "invalid-warmup"),
    ("dr", "spec.trafficPolicy.portLevelSettings.0.loadBalancer.warmup.duration", "invalid-warmup"),
    ("dr", "spec.subsets.0.trafficPolicy.loadBalancer.warmup.duration", "invalid-warmup"),
    ("dr", "spec.trafficPolicy.tunnel.targetHost", "invalid-traffic-policy"),
    ("dr", "spec.trafficPolicy.tunnel.targetPort", "invalid-traffic-policy"),
    ("dr", "spec.subsets.0.trafficPolicy.tunnel.targetHost", "invalid-traffic-policy"),
    ("dr", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name", "invalid-load-balancer"),
    (
        "dr",
        "spec.subsets.0.trafficPolicy.portLevelSettings.0.loadBalancer.consistentHash.httpCookie.name",
        "invalid-load-balancer",
    ),
    ("dr", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes.0.name", "invalid-load-balancer"),
    ("gateway", "spec.servers.0.hosts", "invalid-gateway-server"),
    ("gateway", "spec.servers.0.port", "invalid-gateway-server"),
    ("gateway", "spec.servers.0.port.name", "invalid-gateway-server"),
    ("gateway", "spec.servers.0.port.protocol", "invalid-gateway-server"),
    ("authz-refs", "spec.targetRefs.0.kind", "invalid-authorization-policy"),
    ("authz-refs", "spec.targetRefs.0.name", "invalid-authorization-policy"),
    ("authz-refs", "spec.rules.0.when.0.key", "invalid-authorization-rule"),
    ("authz-ref", "spec.targetRef.kind", "invalid-authorization-policy"),
    ("authz-ref", "spec.targetRef.name", "invalid-authorization-policy"),
    ("reqauthn-refs", "spec.targetRefs.0.kind", "invalid-request-authentication"),
    ("reqauthn-refs", "spec.targetRefs.0.name", "invalid-request-authentication"),
    ("reqauthn-refs", "spec.jwtRules.0.fromHeaders.0.name", "invalid-jwt-rule"),
    ("reqauthn-refs", "spec.jwtRules.0.outputClaimToHeaders.0.claim", "invalid-jwt-rule"),
    ("reqauthn-refs", "spec.jwtRules.0.outputClaimToHeaders.0.header", "invalid-jwt-rule"),
    ("reqauthn-ref", "spec.targetRef.kind", "invalid-request-authentication"),
    ("reqauthn-ref", "spec.targetRef.name", "invalid-request-authentication"),
    ("se", "spec.ports.0.name", "invalid-serviceentry-port"),
    ("sidecar", "spec.ingress.0.port", "invalid-sidecar-ingress"),
    ("sidecar", "spec.egress.0.hosts", "invalid-sidecar-egress"),
    ("sidecar-proxy", "spec.outboundTrafficPolicy.egressProxy.host", "invalid-outbound-traffic-policy"),
]

# required fields no kind rule checks, or checks only when set: the schema rule reports them, alone
SCHEMA_ONLY: list[tuple[str, str]] = [
    ("gateway", "spec.servers.0.port.number"),
    ("se", "spec.hosts"),
    ("se", "spec.ports.0.number"),
]


def without(base: str, path: str, how: str) -> str:
    """The base resource as YAML with the field at `path` left out (`absent`) or written as null (`null`)."""
    data = json.loads(json.dumps(BASES[base]))  # shares no node, so no YAML alias and one field changed
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = data
    for part in parents:
        node = node[part]
    if how == "absent":
        del node[last]
    else:
        node[last] = None
    return yaml.safe_dump(data, sort_keys=False)


def codes(text: str, settings: Settings | None = None) -> list[str]:
    return sorted(f.code for f in findings_for(text, settings))


def normalized(path: str) -> str:
    return ".".join("[]" if p.isdigit() else p for p in path.split(".")).replace(".[]", "[]")


@pytest.mark.parametrize("base", sorted(BASES))
def test_bases_are_clean(base: str) -> None:
    assert codes(yaml.safe_dump(BASES[base], sort_keys=False)) == []


@pytest.mark.parametrize("how", ["absent", "null"])
@pytest.mark.parametrize(("base", "path", "owner"), PAIRS, ids=[f"{b}:{p}" for b, p, _ in PAIRS])
def test_one_report_per_missing_field(base: str, path: str, owner: str, how: str) -> None:
    assert codes(without(base, path, how)) == [owner]


@pytest.mark.parametrize(("base", "path", "owner"), PAIRS, ids=[f"{b}:{p}" for b, p, _ in PAIRS])
def test_turning_one_rule_off_leaves_the_other(base: str, path: str, owner: str) -> None:
    text = without(base, path, "absent")
    assert codes(text, Settings(disabled_rules=(owner,))) == [MISSING]
    assert codes(text, Settings(severity={owner: "off"})) == [MISSING]
    assert codes(text, Settings(disabled_rules=(MISSING,))) == [owner]


@pytest.mark.parametrize("how", ["absent", "null"])
@pytest.mark.parametrize(("base", "path"), SCHEMA_ONLY, ids=[f"{b}:{p}" for b, p in SCHEMA_ONLY])
def test_fields_no_kind_rule_owns(base: str, path: str, how: str) -> None:
    assert codes(without(base, path, how)) == [MISSING]


def test_every_table_entry_is_tested_and_names_a_rule_of_its_kind() -> None:
    tested = {(BASES[base]["kind"], owned_entry(BASES[base]["kind"], normalized(path))) for base, path, _ in PAIRS}
    for kind, paths in OWNED_BY_KIND_RULES.items():
        for entry, owner in paths.items():
            rule = RULES_BY_CODE[owner]
            assert not rule.kinds or kind in rule.kinds, (kind, owner)
            assert (kind, entry) in tested, (kind, entry)
    for base, path, owner in PAIRS:
        assert owner_of(BASES[base]["kind"], normalized(path)) == owner, path
    for base, path in SCHEMA_ONLY:
        assert owner_of(BASES[base]["kind"], normalized(path)) is None, path


def test_the_rule_page_lists_the_owned_fields() -> None:
    assert "Gateway `spec.servers[].port.name`: `invalid-gateway-server`" in RULE.doc
    assert "{owned}" not in RULE.doc
