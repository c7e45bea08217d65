"""Measured against the Gateway API project's own conformance suite (`fixtures/gateway-api-conformance/`).

Each conformance test applies `base/manifests.yaml` (shared Namespaces, Gateways, Services) and its
own manifest, then asserts the status conditions an implementation writes. Configurations written
by people who are not us, valid and deliberately broken: for each test we index the two files as
the CLI does, run every check, and compare the findings of the Gateway API rules
(`istio_lsp/checks/gateway_api/`) with what the test's Go file expects:

- `BROKEN`: tests whose manifests hold a mistake a rule of ours judges (the condition and reason
  the Go file asserts, then the (rule, resource) pairs we must report, at any severity);
- `NOT_JUDGED`: broken tests whose mistake no rule of ours judges, with why;
- every other test expects its routes Accepted and ResolvedRefs: no Gateway API rule may report an
  error or a warning there, except the findings listed in `REAL_ON_VALID` (mistakes in the
  manifests that the test does not look at).

Run as a script for the figures: `python tests/test_gateway_api_conformance.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from istio_lsp.checks import RULES, analyze_text, check_file
from istio_lsp.findings import Finding, Severity
from istio_lsp.index import WorkspaceIndex

SUITE = Path(__file__).resolve().parent / "fixtures" / "gateway-api-conformance"
BASE = SUITE / "base" / "manifests.yaml"
TESTS = sorted(p.stem for p in (SUITE / "tests").glob("*.yaml"))
GATEWAY_API_RULES = frozenset(
    r.code for r in RULES if "checks.gateway_api." in getattr(r.run or r.local, "__module__", "")
)

Pair = tuple[str, str]  # (rule code, "Kind namespace/name")
_INFRA = "gateway-conformance-infra"

BROKEN: dict[str, tuple[str, set[Pair]]] = {
    "gateway-invalid-route-kind": (
        "Listener ResolvedRefs=False InvalidRouteKinds",
        {
            ("gateway-listener-invalid-route-kinds", f"Gateway {_INFRA}/gateway-only-invalid-route-kind"),
            ("gateway-listener-invalid-route-kinds", f"Gateway {_INFRA}/gateway-supported-and-invalid-route-kind"),
        },
    ),
    "gateway-secret-invalid-reference-grant": (
        "Listener ResolvedRefs=False RefNotPermitted",
        {("gateway-certificate-not-permitted", f"Gateway {_INFRA}/gateway-secret-invalid-reference-grant")},
    ),
    "gateway-secret-missing-reference-grant": (
        "Listener ResolvedRefs=False RefNotPermitted",
        {("gateway-certificate-not-permitted", f"Gateway {_INFRA}/gateway-secret-missing-reference-grant")},
    ),
    "gateway-with-attached-routes": (
        "Route Accepted=False NoMatchingListenerHostname (and a route with an unresolved backend still attached)",
        {
            ("route-hostname-not-in-listener", f"HTTPRoute {_INFRA}/http-route-not-accepted"),
            ("route-backend-not-found", f"HTTPRoute {_INFRA}/http-route-4"),
        },
    ),
    "httproute-disallowed-kind": (
        "Route Accepted=False NotAllowedByListeners",
        {("route-not-allowed-by-listeners", f"HTTPRoute {_INFRA}/disallowed-kind")},
    ),
    "httproute-hostname-intersection": (
        "Route Accepted=False NoMatchingListenerHostname",
        {("route-hostname-not-in-listener", f"HTTPRoute {_INFRA}/no-intersecting-hosts")},
    ),
    "httproute-invalid-backendref-unknown-kind": (
        "Route ResolvedRefs=False InvalidKind",
        {("route-backend-invalid-kind", f"HTTPRoute {_INFRA}/invalid-backend-ref-unknown-kind")},
    ),
    "httproute-invalid-cross-namespace-backend-ref": (
        "Route ResolvedRefs=False RefNotPermitted",
        {("route-backend-not-permitted", f"HTTPRoute {_INFRA}/invalid-cross-namespace-backend-ref")},
    ),
    "httproute-invalid-cross-namespace-parent-ref": (
        "Route Accepted=False NotAllowedByListeners",
        {
            (
                "route-not-allowed-by-listeners",
                "HTTPRoute gateway-conformance-web-backend/invalid-cross-namespace-parent-ref",
            )
        },
    ),
    "httproute-invalid-nonexistent-backendref": (
        "Route ResolvedRefs=False BackendNotFound",
        {("route-backend-not-found", f"HTTPRoute {_INFRA}/invalid-nonexistent-backend-ref")},
    ),
    "httproute-invalid-parentref-not-matching-listener-port": (
        "Route Accepted=False NoMatchingParent",
        {("route-listener-not-found", f"HTTPRoute {_INFRA}/httproute-listener-not-matching-route-port")},
    ),
    "httproute-invalid-parentref-not-matching-section-name": (
        "Route Accepted=False NoMatchingParent",
        {("route-listener-not-found", f"HTTPRoute {_INFRA}/httproute-listener-not-matching-section-name")},
    ),
    "httproute-invalid-parentref-section-name-not-matching-port": (
        "Route Accepted=False NoMatchingParent",
        {("route-listener-not-found", f"HTTPRoute {_INFRA}/httproute-listener-section-name-not-matching-port")},
    ),
    "httproute-invalid-reference-grant": (
        "Route ResolvedRefs=False RefNotPermitted",
        {("route-backend-not-permitted", f"HTTPRoute {_INFRA}/reference-grant")},
    ),
    "httproute-partially-invalid-via-invalid-reference-grant": (
        "Route ResolvedRefs=False RefNotPermitted",
        {("route-backend-not-permitted", f"HTTPRoute {_INFRA}/invalid-reference-grant")},
    ),
    "listenerset-allowed-namespace-none": (
        "ListenerSet Accepted=False NotAllowed",
        {("listenerset-not-allowed", f"ListenerSet {_INFRA}/listenerset-not-allowed")},
    ),
    "listenerset-allowed-namespace-same": (
        "ListenerSet Accepted=False NotAllowed",
        {
            (
                "listenerset-not-allowed",
                "ListenerSet gateway-api-listenerset-not-allowed-ns/listenerset-in-different-namespace",
            )
        },
    ),
    "listenerset-allowed-namespace-selector": (
        "ListenerSet Accepted=False NotAllowed",
        {
            (
                "listenerset-not-allowed",
                "ListenerSet gateway-api-listenerset-selector-not-allowed-ns/listenerset-not-in-selected-namespace",
            )
        },
    ),
    "listenerset-default-not-allowed": (
        "ListenerSet Accepted=False NotAllowed",
        {("listenerset-not-allowed", f"ListenerSet {_INFRA}/listenerset-default-not-allowed")},
    ),
    "listenerset-allowed-routes-namespaces": (
        "Route Accepted=False NotAllowedByListeners",
        {("route-not-allowed-by-listeners", f"HTTPRoute {_INFRA}/route-in-gateway-namespace")},
    ),
    "listenerset-allowed-routes-supported-kinds": (
        "Listener ResolvedRefs=False InvalidRouteKinds",
        {
            (
                "gateway-listener-invalid-route-kinds",
                f"ListenerSet {_INFRA}/listenerset-test-allowed-routes-supported-kinds",
            )
        },
    ),
    "listenerset-dual-parentref-independence": (
        "Route Accepted=False NoMatchingParent (for one of its parents)",
        {("route-listener-not-found", f"HTTPRoute {_INFRA}/route-dual-parentref-one")},
    ),
    "listenerset-gateway-parent-section-name-not-found": (
        "Route Accepted=False NoMatchingParent",
        {("route-listener-not-found", f"HTTPRoute {_INFRA}/route-via-gateway")},
    ),
    "listenerset-hostname-conflict": (
        "Listener Conflicted=True HostnameConflict (ListenerSet listeners against the Gateway's and each other's)",
        {
            ("gateway-listener-conflict", f"ListenerSet {_INFRA}/listenerset-with-hostname-conflict-with-gateway-1"),
            ("gateway-listener-conflict", f"ListenerSet {_INFRA}/listenerset-with-hostname-conflict-with-gateway-2"),
        },
    ),
    "listenerset-protocol-conflict": (
        "Listener Conflicted=True ProtocolConflict",
        {
            ("gateway-listener-conflict", f"ListenerSet {_INFRA}/listenerset-with-protocol-conflict-with-gateway-1"),
            ("gateway-listener-conflict", f"ListenerSet {_INFRA}/listenerset-with-protocol-conflict-with-gateway-2"),
            (
                "gateway-listener-conflict",
                f"ListenerSet {_INFRA}/listenerset-with-protocol-conflict-with-listener-set-1",
            ),
            (
                "gateway-listener-conflict",
                f"ListenerSet {_INFRA}/listenerset-with-protocol-conflict-with-listener-set-2",
            ),
        },
    ),
    "listenerset-reference-grant": (
        "Listener ResolvedRefs=False RefNotPermitted",
        {
            (
                "gateway-certificate-not-permitted",
                "ListenerSet gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant",
            )
        },
    ),
    "tcproute-invalid-backendref-nonexistent": (
        "Route ResolvedRefs=False BackendNotFound",
        {("route-backend-not-found", f"TCPRoute {_INFRA}/tcp-route-invalid-backend-ref-nonexistent")},
    ),
    "tcproute-invalid-cross-namespace-backend-ref": (
        "Route ResolvedRefs=False RefNotPermitted",
        {("route-backend-not-permitted", f"TCPRoute {_INFRA}/tcp-invalid-cross-namespace-backend-ref")},
    ),
    "tcproute-invalid-non-tcp-listener": (
        "Route Accepted=False NotAllowedByListeners",
        {("route-not-allowed-by-listeners", f"TCPRoute {_INFRA}/tcp-route")},
    ),
    "tlsroute-invalid-backendref-nonexistent": (
        "Route ResolvedRefs=False BackendNotFound",
        {("route-backend-not-found", f"TLSRoute {_INFRA}/invalid-backend-ref-nonexistent")},
    ),
    "tlsroute-invalid-backendref-unknown-kind": (
        "Route ResolvedRefs=False InvalidKind",
        {("route-backend-invalid-kind", f"TLSRoute {_INFRA}/invalid-backend-ref-unknown-kind")},
    ),
    "tlsroute-invalid-no-matching-listener-hostname": (
        "Route Accepted=False NoMatchingListenerHostname",
        {
            ("route-hostname-not-in-listener", f"TLSRoute {_INFRA}/tlsroute-hostname-mismatch-1"),
            ("route-hostname-not-in-listener", f"TLSRoute {_INFRA}/tlsroute-hostname-mismatch-2"),
        },
    ),
    "tlsroute-invalid-no-matching-listener": (
        "Route Accepted=False NotAllowedByListeners / NoMatchingParent",
        {
            ("route-listener-not-found", f"TLSRoute {_INFRA}/tlsroute-no-matching-section-name"),
            ("route-not-allowed-by-listeners", f"TLSRoute {_INFRA}/tlsroute-not-allowed-protocol-http"),
            ("route-not-allowed-by-listeners", f"TLSRoute {_INFRA}/tlsroute-not-allowed-protocol-https"),
        },
    ),
    "tlsroute-invalid-reference-grant": (
        "Route ResolvedRefs=False RefNotPermitted",
        {("route-backend-not-permitted", f"TLSRoute {_INFRA}/gateway-conformance-infra-test")},
    ),
    "tlsroute-listener-passthrough-supported-kinds": (
        "Listener ResolvedRefs=False InvalidRouteKinds",
        {
            (
                "gateway-listener-invalid-route-kinds",
                f"Gateway {_INFRA}/gateway-tlsroute-passthrough-supported-kind",
            )
        },
    ),
    "udproute-invalid-backendref-nonexistent": (
        "Route ResolvedRefs=False BackendNotFound",
        {("route-backend-not-found", f"UDPRoute {_INFRA}/udp-route-invalid-backend-ref-nonexistent")},
    ),
    "udproute-invalid-cross-namespace-backend-ref": (
        "Route ResolvedRefs=False RefNotPermitted",
        {("route-backend-not-permitted", f"UDPRoute {_INFRA}/udp-route-invalid-cross-namespace-backend-ref")},
    ),
    "udproute-not-allowed-by-listeners": (
        "Route Accepted=False NotAllowedByListeners",
        {("route-not-allowed-by-listeners", f"UDPRoute {_INFRA}/udproute-not-allowed-by-listeners")},
    ),
}

NOT_JUDGED: dict[str, str] = {
    "gateway-invalid-default-frontend-client-certificate-validation": "client-certificate validation CA refs",
    "gateway-invalid-listeners-unsupported-protocol": "a listener protocol the implementation does not support",
    "gateway-invalid-parameters-ref": "the GatewayClass/Gateway parametersRef object",
    "gateway-invalid-tls-backend-configuration": "backend client-certificate configuration",
    "gateway-invalid-tls-configuration": "certificateRefs to missing or malformed Secrets (Secrets are rarely in "
    "repositories: the files cannot know)",
    "gateway-static-addresses": "addresses the cluster can or cannot assign",
    "gateway-with-invalid-clientcertificate-validation": "client-certificate validation CA refs",
    "tlsroute-listener-mixed-termination-not-supported": "Terminate and Passthrough TLS listeners on one port: "
    "whether that is a conflict depends on the implementation",
    "tlsroute-listener-terminate-not-supported": "TLS termination for TLSRoutes, optional in the specification",
}

# findings on tests that expect their routes accepted, judged real mistakes of the manifests
REAL_ON_VALID: dict[str, dict[Pair, str]] = {
    "grpcroute-request-header-modifier": {
        (
            "route-rule-unreachable",
            f"GRPCRoute {_INFRA}/grpc-request-header-modifier",
        ): "rules 2 and 3 repeat rule 1's method match exactly, so their header filters never apply; the Go "
        "test does not compare response headers, so it passes anyway",
    },
}


def findings_of(test: str) -> list[Finding]:
    index = WorkspaceIndex()
    files = {"file:///conformance/base/manifests.yaml": BASE.read_text(encoding="utf-8")}
    files[f"file:///conformance/tests/{test}.yaml"] = (SUITE / "tests" / f"{test}.yaml").read_text(encoding="utf-8")
    index.update_many(analyze_text(uri, text, index.settings_for(uri)) for uri, text in files.items())
    return [f for uri in files for f in check_file(index, uri)]


def _pairs(findings: list[Finding], loud_only: bool) -> set[Pair]:
    return {
        (f.code, f.resource)
        for f in findings
        if f.code in GATEWAY_API_RULES and (not loud_only or f.severity <= Severity.WARNING)
    }


def test_tables_name_existing_tests_and_rules() -> None:
    for name in [*BROKEN, *NOT_JUDGED, *REAL_ON_VALID]:
        assert name in TESTS, f"no conformance manifest {name}.yaml"
    assert not set(BROKEN) & set(NOT_JUDGED)
    for _, pairs in BROKEN.values():
        assert {code for code, _ in pairs} <= GATEWAY_API_RULES


@pytest.mark.parametrize("test", TESTS)
def test_conformance_manifest(test: str) -> None:
    findings = findings_of(test)
    if test in BROKEN:
        missing = BROKEN[test][1] - _pairs(findings, loud_only=False)
        assert not missing, f"{test} ({BROKEN[test][0]}): not reported: {sorted(missing)}"
        extra = _pairs(findings, loud_only=True) - BROKEN[test][1]
        assert not extra, f"{test}: errors or warnings the test does not expect: {sorted(extra)}"
        return
    extra = _pairs(findings, loud_only=True) - set(REAL_ON_VALID.get(test, {}))
    assert not extra, f"{test} expects its resources accepted; reported: {sorted(extra)}"


def main() -> None:
    broken_total = len(BROKEN) + len(NOT_JUDGED)
    found = sum(1 for test, (_, pairs) in BROKEN.items() if pairs <= _pairs(findings_of(test), loud_only=False))
    valid = [t for t in TESTS if t not in BROKEN and t not in NOT_JUDGED]
    false_ours = false_other = 0
    other_codes: dict[str, int] = {}
    for test in valid:
        findings = findings_of(test)
        false_ours += len(_pairs(findings, loud_only=True) - set(REAL_ON_VALID.get(test, {})))
        for f in findings:
            if f.code not in GATEWAY_API_RULES and f.severity <= Severity.WARNING:
                false_other += 1
                other_codes[f.code] = other_codes.get(f.code, 0) + 1
    print(
        f"broken tests found: {found}/{len(BROKEN)} judged ({broken_total} broken in all, {len(NOT_JUDGED)} not judged)"
    )
    print(f"valid tests: {len(valid)}; errors/warnings of the Gateway API rules on them: {false_ours}")
    print(f"  judged real ({len(REAL_ON_VALID)} test): " + "; ".join(REAL_ON_VALID))
    print(f"  errors/warnings of other rules on them: {false_other} {other_codes}")


if __name__ == "__main__":
    main()
