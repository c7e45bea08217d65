"""DestinationRule admission rules (checklist §2), table-driven.

Each case is YAML whose lines carry the findings they expect as end-of-line markers:
`# !code` (the rule's default severity) or `# !code@warning`, comma-separated. A finding
must *start* on the marked line. Cases without markers are the valid variants: none of
the codes under test may fire on them. Every implemented checklist row has a case that
fails and a close variant that passes.
"""

from __future__ import annotations

import re
import textwrap
import time

import pytest

from istio_lsp.checks import RULES_BY_CODE, Finding
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Fix
from istio_lsp.model.extract import resource_nodes
from istio_lsp.settings import Settings
from istio_lsp.syntax import parse_file
from tests.admission.helpers import URI, findings_for

DR_CODES = {
    "invalid-destinationrule-host",
    "invalid-subset",
    "workload-selector-export-to",
    "invalid-traffic-policy",
    "invalid-outlier-detection",
    "invalid-connection-pool",
    "invalid-load-balancer",
    "invalid-warmup",
    "invalid-client-tls",
}

# ---- harness (shared with test_gateway.py) --------------------------------------------

_MARK = re.compile(r"#\s*!(?P<body>[a-z0-9@,\s-]+)$")

Expected = set[tuple[str, int, str]]


def expected(yaml_text: str) -> Expected:
    out: Expected = set()
    for number, line in enumerate(textwrap.dedent(yaml_text).split("\n")):
        match = _MARK.search(line)
        if not match:
            continue
        for item in match.group("body").split(","):
            code, _, severity = item.strip().partition("@")
            out.add((code, number, severity or RULES_BY_CODE[code].severity.label))
    return out


def actual(yaml_text: str, codes: set[str]) -> Expected:
    return {(f.code, f.span.start_line, f.severity.label) for f in findings_for(yaml_text) if f.code in codes}


def only_finding(yaml_text: str, code: str) -> Finding:
    matches = [f for f in findings_for(yaml_text) if f.code == code]
    assert len(matches) == 1, [f.message for f in matches]
    return matches[0]


def apply_fix(yaml_text: str, fix: Fix) -> str:
    """The dedented text with the fix applied (the tests are ASCII: columns are characters)."""
    text = textwrap.dedent(yaml_text)
    offsets = [0]
    for line in text.split("\n"):
        offsets.append(offsets[-1] + len(line) + 1)
    for edit in sorted(fix.edits, key=lambda e: (e.span.start_line, e.span.start_char), reverse=True):
        start = offsets[edit.span.start_line] + edit.span.start_char
        end = offsets[edit.span.end_line] + edit.span.end_char
        text = text[:start] + edit.new_text + text[end:]
    return text


def run_rules(yaml_text: str, codes: set[str]) -> tuple[float, list[str]]:
    """CPU seconds the rules `codes` take on the document's resources, and the codes they report."""
    settings = Settings()
    doc = parse_file(textwrap.dedent(yaml_text)).documents[0]
    resources = resource_nodes(doc, URI)
    started = time.process_time()
    found: list[str] = []
    for resource, node in resources:
        ctx = DocumentContext(doc, node, resource, settings)
        for code in sorted(codes):
            local = RULES_BY_CODE[code].local
            assert local is not None
            found += [f.code for f in local(ctx)]
    return time.process_time() - started, found


def dr(body: str, metadata: str = "name: reviews") -> str:
    """A DestinationRule document around an indented `spec` body (markers included)."""
    meta = "\n".join(f"  {line}" for line in textwrap.dedent(metadata).strip().split("\n"))
    spec = "\n".join(f"  {line}" if line else line for line in textwrap.dedent(body).strip("\n").split("\n"))
    return f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n{meta}\nspec:\n{spec}\n"


# ---- cases: (id, yaml) ------------------------------------------------------------------

CASES: list[tuple[str, str]] = [
    # §2 `host` is a valid wildcard domain (short names allowed)
    ("host-underscore", dr("host: reviews_v2.default.svc.cluster.local  # !invalid-destinationrule-host")),
    ("host-ip", dr("host: 10.0.0.1  # !invalid-destinationrule-host")),
    ("host-empty", dr('host: ""  # !invalid-destinationrule-host')),
    (
        "host-missing",
        dr("trafficPolicy:\n  tls: {mode: ISTIO_MUTUAL}").replace("spec:", "spec:  # !invalid-destinationrule-host"),
    ),
    ("host-short-ok", dr("host: reviews")),
    ("host-wildcard-ok", dr('host: "*.example.com"')),
    ("host-fqdn-ok", dr("host: reviews.default.svc.cluster.local.")),
    # §2 subsets: none may be null
    (
        "subset-null",
        dr(
            """
            host: reviews
            subsets:
            - ~  # !invalid-subset
            - name: v1
              labels: {version: v1}
            """
        ),
    ),
    # §2 subsets: names unique
    (
        "subset-duplicate",
        dr(
            """
            host: reviews
            subsets:
            - name: v1
              labels: {version: v1}
            - name: v1  # !invalid-subset
              labels: {version: v2}
            """
        ),
    ),
    # §2 subsets: name is a DNS-1123 label (non-empty)
    (
        "subset-name-dots",
        dr(
            """
            host: reviews
            subsets:
            - name: v1.0  # !invalid-subset
              labels: {version: "1.0"}
            - labels: {version: v2}  # !invalid-subset
            """
        ),
    ),
    (
        "subset-names-ok",
        dr(
            """
            host: reviews
            subsets:
            - name: v1-0
              labels: {version: "1.0"}
            - name: V2
              labels: {version: v2}
            """
        ),
    ),
    # §2 a DR with workloadSelector only exports to its own namespace, one entry
    (
        "selector-export-everywhere",
        dr(
            """
            host: payments.example.com
            workloadSelector:
              matchLabels: {app: checkout}
            exportTo: ["*"]  # !workload-selector-export-to
            """,
            "name: payments\nnamespace: shop",
        ),
    ),
    (
        "selector-export-two",
        dr(
            """
            host: payments.example.com
            workloadSelector:
              matchLabels: {app: checkout}
            exportTo:  # !workload-selector-export-to
            - .
            - billing
            """,
            "name: payments\nnamespace: shop",
        ),
    ),
    (
        "selector-export-own-ok",
        dr(
            """
            host: payments.example.com
            workloadSelector:
              matchLabels: {app: checkout}
            exportTo: [".", shop]
            """,
            "name: payments\nnamespace: shop",
        ),
    ),
    (
        "no-selector-export-ok",
        dr(
            """
            host: payments.example.com
            exportTo: ["*"]
            """,
            "name: payments\nnamespace: shop",
        ),
    ),
    # §2 a trafficPolicy present but empty (top and subset)
    (
        "policy-empty",
        dr(
            """
            host: reviews
            trafficPolicy: {}  # !invalid-traffic-policy
            subsets:
            - name: v1
              labels: {version: v1}
              trafficPolicy:  # !invalid-traffic-policy
                portLevelSettings: []
            """
        ),
    ),
    (
        "policy-set-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {}
            subsets:
            - name: v1
              labels: {version: v1}
              trafficPolicy:
            """
        ),
    ),
    # §2 tunnel and proxyProtocol together; tunnel protocol, targetHost, targetPort
    (
        "tunnel-and-proxy-protocol",
        dr(
            """
            host: db.example.com
            trafficPolicy:
              proxyProtocol: {version: V2}  # !invalid-traffic-policy
              tunnel:
                protocol: GET  # !invalid-traffic-policy
                targetHost: db_primary  # !invalid-traffic-policy
            """
        ).replace("  tunnel:\n", "  tunnel:  # !invalid-traffic-policy\n"),
    ),
    (
        "tunnel-ok",
        dr(
            """
            host: db.example.com
            trafficPolicy:
              tunnel:
                protocol: CONNECT
                targetHost: 10.0.0.5
                targetPort: 8443
            """
        ),
    ),
    (
        "tunnel-no-host",
        dr(
            """
            host: db.example.com
            trafficPolicy:
              tunnel:  # !invalid-traffic-policy
                targetPort: 8443
            """
        ),
    ),
    # §2 portLevelSettings: not null, `port` required, at least one sub-policy
    (
        "port-level-problems",
        dr(
            """
            host: reviews
            trafficPolicy:
              portLevelSettings:
              - null  # !invalid-traffic-policy
              - port: {number: 9080}  # !invalid-traffic-policy
              - loadBalancer: {simple: RANDOM}  # !invalid-traffic-policy
            """
        ),
    ),
    (
        "port-level-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              portLevelSettings:
              - port: {number: 9080}
                loadBalancer: {simple: RANDOM}
            """
        ),
    ),
    # §2 outlierDetection: consecutiveLocalOriginFailures without split; consecutiveErrors (W)
    (
        "outlier-local-origin",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection:
                consecutiveLocalOriginFailures: 5  # !invalid-outlier-detection
                consecutiveErrors: 7  # !invalid-outlier-detection@warning
            """
        ),
    ),
    (
        "outlier-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection:
                splitExternalLocalOriginErrors: true
                consecutiveLocalOriginFailures: 5
                consecutive5xxErrors: 7
            """
        ),
    ),
    # §2 connectionPool: neither http nor tcp; negative limits; UPGRADE + useClientProtocol; http2KeepAlive
    (
        "pool-empty",
        dr(
            """
            host: reviews
            trafficPolicy:
              connectionPool: {}  # !invalid-connection-pool
            """
        ),
    ),
    (
        "pool-values",
        dr(
            """
            host: reviews
            trafficPolicy:
              connectionPool:
                http:
                  maxRetries: -1  # !invalid-connection-pool
                  http1MaxPendingRequests: -5  # !invalid-connection-pool
                  h2UpgradePolicy: UPGRADE
                  useClientProtocol: true  # !invalid-connection-pool
                  http2KeepAlive:  # !invalid-connection-pool
                    interval: 15s
                tcp:
                  maxConnections: -1  # !invalid-connection-pool
            """
        ),
    ),
    (
        "pool-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              connectionPool:
                http:
                  maxRetries: 0
                  h2UpgradePolicy: UPGRADE
                  http2KeepAlive: {interval: 15s, timeout: 5s}
                tcp:
                  maxConnections: 100
            """
        ),
    ),
    # §2 loadBalancer consistentHash: cookie name, cookie attributes, minimumRingSize
    (
        "hash-cookie",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpCookie:  # !invalid-load-balancer
                    ttl: 0s
                    attributes:
                    - name: SameSite
                      value: Strict
                    - name: SameSite  # !invalid-load-balancer
                      value: Lax
                    - value: x  # !invalid-load-balancer
            """
        ),
    ),
    (
        "hash-cookie-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpCookie:
                    name: session
                    ttl: 0s
                    attributes:
                    - name: SameSite
                      value: Strict
                    - name: Secure
            """
        ),
    ),
    (
        "hash-min-ring-deprecated",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpHeaderName: x-user
                  minimumRingSize: 1024  # !invalid-load-balancer@warning
            """
        ),
    ),
    (
        "hash-min-ring-with-maglev",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpHeaderName: x-user
                  minimumRingSize: 1024  # !invalid-load-balancer
                  maglev: {tableSize: 65537}
            """
        ),
    ),
    (
        "hash-ring-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpHeaderName: x-user
                  ringHash: {minimumRingSize: 1024}
            """
        ),
    ),
    # §2 maglev tableSize: set, < 5000011, prime
    (
        "maglev-table-size",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  useSourceIp: true
                  maglev: {tableSize: 1000}  # !invalid-load-balancer
            subsets:
            - name: v1
              labels: {version: v1}
              trafficPolicy:
                loadBalancer:
                  consistentHash:
                    useSourceIp: true
                    maglev: {}  # !invalid-load-balancer
            - name: v2
              labels: {version: v2}
              trafficPolicy:
                loadBalancer:
                  consistentHash:
                    useSourceIp: true
                    maglev:
                      tableSize: 5000011  # !invalid-load-balancer
            """
        ),
    ),
    (
        "maglev-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  useSourceIp: true
                  maglev: {tableSize: 65537}
            """
        ),
    ),
    # §2 localityLbSetting and zoneAwareLbSetting are mutually exclusive
    (
        "locality-and-zone-aware",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {consecutive5xxErrors: 5}
              loadBalancer:
                localityLbSetting: {enabled: true}
                zoneAwareLbSetting: {enabled: true}  # !invalid-load-balancer
            """
        ),
    ),
    # §2 localityLbSetting: distribute and failover together
    (
        "locality-distribute-and-failover",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {consecutive5xxErrors: 5}
              loadBalancer:
                localityLbSetting:
                  distribute:
                  - from: us-west/zone1/*
                    to: {"us-west/zone1/*": 100}
                  failover:  # !invalid-load-balancer
                  - {from: us-west, to: us-east}
            """
        ),
    ),
    # §2 localityLbSetting: failover with a topology label in failoverPriority
    (
        "locality-failover-topology-priority",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {consecutive5xxErrors: 5}
              loadBalancer:
                localityLbSetting:
                  failover:
                  - {from: us-west, to: us-east}
                  failoverPriority:  # !invalid-load-balancer
                  - topology.kubernetes.io/region
            """
        ),
    ),
    (
        "locality-failover-custom-priority-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {consecutive5xxErrors: 5}
              loadBalancer:
                localityLbSetting:
                  failover:
                  - {from: us-west, to: us-east}
                  failoverPriority:
                  - topology.istio.io/network
            """
        ),
    ),
    # §2 distribute weights 1..100 adding up to 100
    (
        "locality-weight-range",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  distribute:
                  - from: us-west/zone1/*
                    to:
                      "us-west/zone1/*": 0  # !invalid-load-balancer
                      "us-west/zone2/*": 100
            """
        ),
    ),
    (
        "locality-weight-sum",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  distribute:
                  - from: us-west/zone1/*
                    to:  # !invalid-load-balancer
                      "us-west/zone1/*": 80
                      "us-west/zone2/*": 30
            """
        ),
    ),
    (
        "locality-distribute-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  distribute:
                  - from: us-west/zone1/*
                    to:
                      "us-west/zone1/*": 80
                      "us-west/zone2/*": 20
                  - from: us-west/zone2/*
                    to: {"us-west/zone2/*": 100}
            """
        ),
    ),
    # §2 locality strings: one `*` at the end, no overlap, no empty part
    (
        "locality-strings",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  distribute:  # !invalid-load-balancer
                  - from: us-west/*
                    to:  # !invalid-load-balancer
                      "us-west/*": 50
                      "us-west/zone2/*": 50
                  - from: us-west/zone1/*
                    to: {"us-east/*": 100}
            """
        ),
    ),
    (
        "locality-wildcard-middle",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  distribute:  # !invalid-load-balancer
                  - from: us-west/*/rack1
                    to: {"us-east//rack1": 100}  # !invalid-load-balancer
            """
        ),
    ),
    # §2 failover: from != to, regions only, no `*`; failover without outlierDetection (W)
    (
        "locality-failover-entries",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  failover:  # !invalid-load-balancer@warning
                  - {from: us-west, to: us-west}  # !invalid-load-balancer
                  - {from: us-west/zone1, to: us-east}  # !invalid-load-balancer
                  - {from: us-west, to: "eu-*"}  # !invalid-load-balancer
            """
        ),
    ),
    (
        "locality-failover-priority-without-outlier",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                localityLbSetting:
                  failoverPriority:  # !invalid-load-balancer@warning
                  - topology.istio.io/network
            """
        ),
    ),
    (
        "locality-failover-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection:
                consecutive5xxErrors: 5
                interval: 10s
              loadBalancer:
                localityLbSetting:
                  failover:
                  - {from: us-west, to: us-east}
            """
        ),
    ),
    # §2 zoneAwareLbSetting: no topology labels in failoverPriority; failover entries; no outlierDetection (W)
    (
        "zone-aware",
        dr(
            """
            host: reviews
            trafficPolicy:
              loadBalancer:
                zoneAwareLbSetting:
                  failoverPriority:  # !invalid-load-balancer
                  - topology.kubernetes.io/zone
                  failover:  # !invalid-load-balancer@warning
                  - {from: us-west, to: us-west}  # !invalid-load-balancer
            """
        ),
    ),
    (
        "zone-aware-ok",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {consecutive5xxErrors: 5}
              loadBalancer:
                zoneAwareLbSetting:
                  minClusterSize: 3
                  failoverPriority: [topology.istio.io/network]
                  failover:
                  - {from: us-west, to: us-east}
            """
        ),
    ),
    # §2 warmup: duration required; minimumPercent <= 100; aggression > 0
    (
        "warmup",
        dr(
            """
            host: ratings
            trafficPolicy:
              loadBalancer:
                warmup:  # !invalid-warmup
                  minimumPercent: 150  # reported by invalid-percentage (tests/admission/test_generic_values.py)
                  aggression: 0  # !invalid-warmup
            """
        ),
    ),
    (
        "warmup-ok",
        dr(
            """
            host: ratings
            trafficPolicy:
              loadBalancer:
                simple: ROUND_ROBIN
                warmup:
                  duration: 300s
                  minimumPercent: 100
                  aggression: 0.5
            """
        ),
    ),
    # §2 tls: configmap:// credentialName in the same namespace
    (
        "tls-configmap",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: SIMPLE
                credentialName: configmap://other/api-ca  # !invalid-client-tls
            subsets:
            - name: v1
              labels: {version: v1}
              trafficPolicy:
                tls:
                  mode: SIMPLE
                  credentialName: configmap://api-ca  # !invalid-client-tls
            """,
            "name: api\nnamespace: shop",
        ),
    ),
    (
        "tls-configmap-ok",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: SIMPLE
                credentialName: configmap://shop/api-ca
            """,
            "name: api\nnamespace: shop",
        ),
    ),
    # §2 tls SIMPLE/MUTUAL with insecureSkipVerify
    (
        "tls-insecure",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: SIMPLE
                insecureSkipVerify: true  # !invalid-client-tls
                caCertificates: /etc/certs/ca.pem
              portLevelSettings:
              - port: {number: 8443}
                tls:
                  mode: MUTUAL
                  clientCertificate: /etc/certs/cert.pem
                  privateKey: /etc/certs/key.pem
                  insecureSkipVerify: true  # !invalid-client-tls
                  subjectAltNames: [api.example.com]
            """
        ),
    ),
    (
        "tls-insecure-ok",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: SIMPLE
                insecureSkipVerify: true
              portLevelSettings:
              - port: {number: 8443}
                tls:
                  mode: MUTUAL
                  credentialName: client-cred
                  insecureSkipVerify: true
            """
        ),
    ),
    # §2 tls SIMPLE/MUTUAL with credentialName: no file certificates or CRL
    (
        "tls-credential-and-files",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: MUTUAL
                credentialName: client-cred
                caCertificates: /etc/certs/ca.pem  # !invalid-client-tls
            """
        ),
    ),
    # §2 tls MUTUAL without credentialName needs clientCertificate and privateKey
    (
        "tls-mutual-no-client-cert",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: MUTUAL  # !invalid-client-tls
                privateKey: /etc/certs/key.pem
            """
        ),
    ),
    (
        "tls-mutual-ok",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls:
                mode: MUTUAL
                clientCertificate: /etc/certs/cert.pem
                privateKey: /etc/certs/key.pem
                caCertificates: /etc/certs/ca.pem
            """
        ),
    ),
    (
        "tls-istio-mutual-ok",
        dr(
            """
            host: api.example.com
            trafficPolicy:
              tls: {mode: ISTIO_MUTUAL, sni: api.example.com}
            """
        ),
    ),
]


@pytest.mark.parametrize(("name", "yaml_text"), CASES, ids=[c[0] for c in CASES])
def test_case(name: str, yaml_text: str) -> None:
    assert actual(yaml_text, DR_CODES) == expected(yaml_text)


def test_every_code_has_failing_and_passing_cases() -> None:
    failing = {code for _, text in CASES for code, _, _ in expected(text)}
    assert failing == DR_CODES
    assert any(not expected(text) for _, text in CASES)


def test_old_api_versions_are_checked_too() -> None:
    text = dr("host: reviews_v2  # !invalid-destinationrule-host").replace(
        "networking.istio.io/v1", "networking.istio.io/v1alpha3"
    )
    assert actual(text, DR_CODES) == expected(text)


def test_other_kinds_named_destinationrule_are_ignored() -> None:
    text = dr("host: reviews_v2\ntrafficPolicy: {}").replace("networking.istio.io/v1", "example.com/v1")
    assert actual(text, DR_CODES) == set()


def test_findings_are_webhook_errors_with_the_rule_metadata() -> None:
    text = CASES[0][1]
    found = only_finding(text, "invalid-destinationrule-host")
    assert "rejects" in found.message and "reviews_v2" in found.message
    assert "IST0106" in RULES_BY_CODE["invalid-destinationrule-host"].istio_codes


# ---- quick fixes -----------------------------------------------------------------------


def test_maglev_fix_uses_the_next_prime() -> None:
    text = dr(
        """
        host: reviews
        trafficPolicy:
          loadBalancer:
            consistentHash:
              useSourceIp: true
              maglev: {tableSize: 1000}
        """
    )
    fix = only_finding(text, "invalid-load-balancer").fixes[0]
    assert fix.title == "Use table size `1009`"
    fixed = apply_fix(text, fix)
    assert "tableSize: 1009" in fixed
    assert actual(fixed, DR_CODES) == set()


def test_min_ring_size_fix_moves_it_under_ring_hash() -> None:
    text = dr(
        """
        host: reviews
        trafficPolicy:
          loadBalancer:
            consistentHash:
              httpHeaderName: x-user
              minimumRingSize: 1024
        """
    )
    fixed = apply_fix(text, only_finding(text, "invalid-load-balancer").fixes[0])
    assert "ringHash: {minimumRingSize: 1024}" in fixed
    assert actual(fixed, DR_CODES) == set()


def test_split_local_origin_fix_adds_the_flag() -> None:
    text = dr(
        """
        host: reviews
        trafficPolicy:
          outlierDetection:
            consecutiveLocalOriginFailures: 5
        """
    )
    fixed = apply_fix(text, only_finding(text, "invalid-outlier-detection").fixes[0])
    assert "    splitExternalLocalOriginErrors: true\n      consecutiveLocalOriginFailures: 5" in fixed
    assert actual(fixed, DR_CODES) == set()


def test_subset_rename_fix_is_offered_but_not_safe() -> None:
    text = dr(
        """
        host: reviews
        subsets:
        - name: "v1.0_beta"
          labels: {version: v1}
        """
    )
    fix = only_finding(text, "invalid-subset").fixes[0]
    assert fix.title == "Rename the subset to `v1-0-beta`" and not fix.safe
    fixed = apply_fix(text, fix)
    assert 'name: "v1-0-beta"' in fixed
    assert actual(fixed, DR_CODES) == set()


def test_aliased_subsets_and_port_settings_do_not_multiply_the_work() -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: h\n"
        "  x: &p {port: {number: 1}, connectionPool: {}, loadBalancer: {consistentHash: {maglev: {}}}}\n"
        "  trafficPolicy: &t {portLevelSettings: [*p" + ", *p" * 2000 + "]}\n"
        "  subsets: [&s {name: a, trafficPolicy: *t}" + ", *s" * 2000 + "]\n"
    )
    seconds, codes = run_rules(text, DR_CODES)
    assert seconds < 1.0
    assert sorted(set(codes)) == ["invalid-connection-pool", "invalid-load-balancer", "invalid-subset"]
    assert len(codes) < 10 + 2001  # the duplicate-name finding repeats per alias; check_file keeps one
