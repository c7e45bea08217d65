"""Conformance with Istio's own analyzer test table (`../shared/istio/analyzer-cases/`).

Istio's analyzer tests run one analyzer on a few YAML files and list the expected
(code, resource) pairs. For the analyzers our checks cover, we index the same files as the
editor does (with the per-document checks), run every check, keep our findings of the mapped
codes, and compare the pairs as multisets, as Istio's own test does (order ignored, duplicates counted).

Setup, mirroring Istio's test harness (see the table's README):

- Resources without `metadata.namespace` are analysed with an *empty* namespace
  (`defaultNamespace: ""`). That is what the harness does, and it is the only setting
  under which our resource ids match the expected ones (`VirtualService httpbin-bogus`,
  not `VirtualService default/httpbin-bogus`). References resolve the same either way,
  because a short name resolves in its referrer's namespace, empty or not.
- The harness adds a Pod labelled `istio: ingressgateway` and a Service
  `istio-ingressgateway` in `istio-system` to every case; so do we.

Where we diverge on purpose, `DIVERGENCES` says so, one reason per entry. The test
fails on any other mismatch, and also when a listed divergence no longer happens (so
the table cannot go stale).

The folder is optional: without it the module is skipped.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from istio_lsp.checks import analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings

CASES_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "istio" / "analyzer-cases"

if not (CASES_DIR / "cases.json").is_file():
    pytest.skip(f"Istio analyzer cases not found at {CASES_DIR}", allow_module_level=True)

# analyzer → {Istio code we cover for it: our codes that correspond to it}
ANALYZERS: dict[str, dict[str, frozenset[str]]] = {
    "virtualservice.DestinationHostAnalyzer": {
        "IST0101": frozenset(
            {"destination-host-not-found", "destination-host-is-virtualservice", "destination-port-not-found"}
        ),
        "IST0112": frozenset({"destination-port-missing"}),
        "IST0140": frozenset({"gateway-route-skips-subsets"}),
    },
    "virtualservice.DestinationRuleAnalyzer": {
        "IST0101": frozenset({"subset-not-found", "subset-without-destinationrule"})
    },
    "virtualservice.GatewayAnalyzer": {
        "IST0101": frozenset({"gateway-not-found"}),
        "IST0132": frozenset({"virtualservice-host-not-in-gateway"}),
        "IST0165": frozenset({"internal-gateway-reference"}),
    },
    "destinationrule.PodNotSelectedAnalyzer": {
        "IST0173": frozenset({"subset-matches-no-workload"}),
        "IST0174": frozenset({"destinationrule-host-not-found"}),
    },
    "virtualservice.ConflictingMeshGatewayHostsAnalyzer": {"IST0109": frozenset({"virtualservice-host-conflict"})},
    "gateway.ConflictingGatewayAnalyzer": {"IST0145": frozenset({"gateway-conflict"})},
    "gateway.CertificateAnalyzer": {"IST0138": frozenset({"gateway-duplicate-certificate"})},
    # one rule covers IST0110 and IST0111
    "sidecar.SelectorAnalyzer": {
        "IST0110+IST0111": frozenset({"sidecar-conflict"}),
        "IST0101": frozenset({"selector-matches-no-workload"}),
        "IST0167": frozenset({"sidecar-on-ambient-workload"}),
    },
    "k8sgateway.SelectorAnalyzer": {"IST0166": frozenset({"selector-on-gateway-api-gateway"})},
    "k8sgateway.CRDVersionAnalyzer": {"IST0176": frozenset({"gateway-api-crd-too-old"})},
    "authz.AuthorizationPoliciesAnalyzer": {
        "IST0127": frozenset({"selector-matches-no-workload"}),
        "IST0101": frozenset({"authorization-namespace-not-found"}),
    },
    "authn.BlockedCIDRsAnalyzer": {"IST0175": frozenset({"jwks-fetch-unrestricted"})},
    "telemetry.SelectorAnalyzer": {
        "IST0101": frozenset({"selector-matches-no-workload"}),
        "IST0159": frozenset({"telemetry-conflict"}),
    },
    "gateway.IngressGatewayPortAnalyzer": {
        "IST0101": frozenset({"selector-matches-no-workload"}),
        "IST0162": frozenset({"gateway-port-not-on-service"}),
    },
    "service.PortNameAnalyzer": {
        "IST0118": frozenset({"port-name-without-protocol"}),
        "IST0150": frozenset({"externalname-port-name"}),
    },
    "serviceentry.ConflictingServiceEntryProtocolAnalyzer": {
        "IST0177": frozenset({"serviceentry-protocol-conflict"}),
    },
    # IST0137 is not compared: the harness maps each of our codes to one Istio code
    "deployment.ServiceAssociationAnalyzer": {"IST0116": frozenset({"workload-port-protocol-conflict"})},
    "schema.CollectionValidationAnalyzer(VirtualService)": {
        "IST0130": frozenset({"unreachable-route"}),
        "IST0131": frozenset({"ineffective-match"}),
    },
    # one rule covers the top-level (IST0128) and port-level (IST0129) settings
    "destinationrule.CaCertificateAnalyzer": {"IST0128+IST0129": frozenset({"tls-without-ca-certificates"})},
    "serviceentry.ProtocolAddressesAnalyzer": {"IST0134": frozenset({"serviceentry-addresses-required"})},
    "deployment.ApplicationUIDAnalyzer": {"IST0144": frozenset({"reserved-proxy-uid"})},
    "telemetry.DefaultSelectorAnalyzer": {"IST0160": frozenset({"telemetry-conflict"})},
    "annotations.K8sAnalyzer": {
        "IST0107": frozenset({"misplaced-istio-annotation"}),
        "IST0108": frozenset({"unknown-istio-annotation"}),
        "IST0125": frozenset({"invalid-istio-annotation-value"}),
        "IST0135": frozenset({"deprecated-istio-annotation"}),
    },
    "maturity.AlphaAnalyzer": {"IST0136": frozenset({"alpha-istio-annotation"})},
    "virtualservice.JWTClaimRouteAnalyzer": {"IST0149": frozenset({"claim-route-without-request-authentication"})},
    "telemetry.ProviderAnalyzer": {"IST0157": frozenset({"access-logging-without-provider"})},
    "telemetry.LightstepAnalyzer": {"IST0002": frozenset({"deprecated-telemetry-provider"})},
    "deprecation.FieldAnalyzer": {"IST0002": frozenset({"invalid-fault"})},
    "envoyfilter.EnvoyPatchAnalyzer": {
        "IST0151": frozenset({"envoyfilter-relative-patch-unordered"}),
        "IST0152": frozenset({"envoyfilter-replace-misused"}),
        "IST0153": frozenset({"envoyfilter-add-misused"}),
        "IST0154": frozenset({"envoyfilter-remove-misused"}),
        "IST0155": frozenset({"envoyfilter-relative-patch-proxy-version"}),
    },
}

Pair = tuple[str, str]  # (Istio code, "Kind ns/name" or "Kind name")

# case name → [("missing" | "extra", pair, reason)]. "missing": Istio reports it and we do not;
# "extra": we report it and Istio does not.
DIVERGENCES: dict[str, list[tuple[str, Pair, str]]] = {
    "authorizationpolicies": [
        (
            "missing",
            ("IST0127", "AuthorizationPolicy httpbin-empty/httpbin-empty-namespace-wide"),
            "a policy without a selector, in a namespace where the files declare no pods: its pods may be "
            "deployed elsewhere, and selector-less policies are not checked",
        ),
    ],
    "serviceMultipleDeployments": [
        *[
            (
                "missing",
                ("IST0116", f"Deployment bookinfo/{name}"),
                "reported on the Services' conflicting ports, not on the Deployment",
            )
            for name in ("multiple-svc-multiple-prot", "multiple-without-port")
        ],
        *[
            (
                "extra",
                ("IST0116", f"Service bookinfo/{name}"),
                "the conflict is reported on each Service port that leads to the shared container port",
            )
            for name in (
                "details-tcp-v1",
                "details-http-v1",
                "productpage-tcp-v1",
                "productpage-http-v1",
                "conflicting-ports-1",
                "conflicting-ports-2",
            )
        ],
    ],
    "virtualServiceGateways": [
        (
            "missing",
            ("IST0132", "VirtualService httpbin-bogus"),
            "the Gateway does not exist: gateway-not-found reports the entry once, for IST0101 and IST0132 alike "
            "(its page names both, and the coverage counts it for both); this comparison maps each of our rules "
            "to one code",
        ),
    ],
    "virtualServiceDestinationHosts": [
        (
            "missing",
            ("IST0101", "VirtualService default/reviews-bogushost"),
            "a `- {}` route item without a destination is a schema error, not a missing host; we skip it",
        ),
    ],
    "virtualServiceConflictingMeshGatewayHostsWithExportTo": [
        (
            "missing",
            ("IST0109", "VirtualService foo/productpage-d"),
            "`*.productpage.d` and `*.d` are wildcards of different depth: a sidecar gives each service to the "
            "most specific one, nothing is left to creation order",
        ),
        (
            "missing",
            ("IST0109", "VirtualService bar/productpage-d"),
            "`*.d` and `*.productpage.d` are wildcards of different depth: a sidecar gives each service to the "
            "most specific one, nothing is left to creation order",
        ),
    ],
    "certificate duplication in Gateway": [
        (
            "extra",
            ("IST0138", "Gateway istio-system/gateway-02-test-02"),
            "istioctl reports only the Gateway whose selector is contained in the other's; both present the "
            "certificate on the pods that carry both selectors (the Pod internal-ingressgateway), so we report both",
        ),
        (
            "extra",
            ("IST0138", "Gateway istio-system/gateway-02-test-03"),
            "istioctl reports only the Gateway whose selector is contained in the other's; both present the "
            "certificate on the pods that carry both selectors (the Pod internal-ingressgateway), so we report both",
        ),
    ],
    "misannoted": [
        (
            "extra",
            ("IST0108", "Ingress gateway"),
            "istioctl reads the annotations of Namespaces, Services, Pods and Deployments only; we read every "
            "kind, and `istio.io/ingress.class` on an Ingress is a misspelt `kubernetes.io/ingress.class`",
        ),
    ],
    "dupmatches": [
        (
            "extra",
            ("IST0131", "VirtualService uri-with-prefix-exact"),
            "match `uri exact /` comes after `uri prefix /` in the same route, which takes every request it would; "
            "istioctl compares prefixes with prefixes only",
        ),
        (
            "extra",
            ("IST0130", "VirtualService overlapping-in-two-matches"),
            "the second route's only match is covered by the first route's (prefix `/api/v1/product` takes "
            "`/api/v1/products`, same method): the route never receives traffic; istioctl reports the match only",
        ),
    ],
    "missing Addresses and Protocol in Service Entry": [
        (
            "missing",
            ("IST0134", f"ServiceEntry default/{name}"),
            "resolution DNS: istiod allocates an address for it (PILOT_ENABLE_IP_AUTOALLOCATE, on by default), "
            "and Istio's webhook warns only where allocation cannot apply; the analyzer predates allocation",
        )
        for name in ("service-entry-test-03", "service-entry-test-04", "service-entry-test-07")
    ],
    "deprecation": [
        (
            "missing",
            ("IST0002", "Sidecar default/no-selector"),
            "istioctl says `outboundTrafficPolicy.egressProxy` is ignored, but istiod applies it (it builds the "
            "egress cluster from it); the API hides the field from the docs without deprecating it",
        ),
    ],
    "DestinationRuleSubsetsNotSelectPods": [
        (
            "missing",
            ("IST0173", "DestinationRule default/subsets-not-select-pods"),
            "no workload in the files is selected by Service default/httpbin: from files alone the pods may be "
            "deployed elsewhere, so we stay silent rather than guess",
        ),
    ],
}

# The Pod and Service Istio's test harness adds to every case (AddDefaultResources).
HARNESS_URI = "file:///istio-analyzer-harness/default-resources.yaml"
HARNESS = """\
apiVersion: v1
kind: Pod
metadata:
  name: ingressgateway
  namespace: istio-system
  labels:
    istio: ingressgateway
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  ports:
  - {name: http2, port: 80}
  - {name: https, port: 443}
  - {name: tcp, port: 31400}
  - {name: tls, port: 15443}
"""

SETTINGS = Settings(default_namespace="")


def _load_cases() -> list[dict[str, Any]]:
    cases = json.loads((CASES_DIR / "cases.json").read_text(encoding="utf-8"))["cases"]
    return [case for case in cases if case["analyzer"] in ANALYZERS]


CASES = _load_cases()


def _case_id(case: dict[str, Any]) -> str:
    # a name may cover several input files ("Analyze invalid telemetry"): the file tells them apart
    stem = Path(case["inputFiles"][0]).stem if case["inputFiles"] else ""
    return re.sub(r"[^A-Za-z0-9]+", "-", f"{case['name']} {stem}").strip("-")


def _index(case: dict[str, Any]) -> WorkspaceIndex:
    index = WorkspaceIndex(SETTINGS)
    for name in case["inputFiles"]:
        path = CASES_DIR / name
        index.update(analyze_text(path.as_uri(), path.read_text(encoding="utf-8"), SETTINGS))
    index.update(analyze_text(HARNESS_URI, HARNESS, SETTINGS))
    if case.get("meshConfigFile"):  # istioctl's --meshConfigFile: we read the mesh config where a cluster holds it
        path = CASES_DIR / case["meshConfigFile"]
        index.update(analyze_text(MESH_URI, _mesh_config_map(path.read_text(encoding="utf-8")), SETTINGS))
    return index


# beside the case's inputs: istioctl applies the mesh configuration to every resource it analyses
MESH_URI = (CASES_DIR / "testdata" / "istio-analyzer-harness-mesh-config.yaml").as_uri()


def _mesh_config_map(mesh: str) -> str:
    """The `istio` ConfigMap that holds a mesh configuration in a cluster."""
    body = "".join(f"    {line}\n" for line in mesh.splitlines())
    head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\n"
    return f"{head}data:\n  mesh: |\n{body}"


def _ours(case: dict[str, Any]) -> Counter[Pair]:
    istio_code_of = {ours: istio for istio, codes in ANALYZERS[case["analyzer"]].items() for ours in codes}
    index = _index(case)
    found: Counter[Pair] = Counter()
    for uri in index.files:
        for finding in check_file(index, uri):
            if finding.code in istio_code_of:
                assert finding.resource is not None, finding
                found[(istio_code_of[finding.code], finding.resource)] += 1
    return found


def _expected(case: dict[str, Any]) -> Counter[Pair]:
    # a key may join several Istio codes one rule of ours covers ("IST0110+IST0111")
    joined = {code: key for key in ANALYZERS[case["analyzer"]] for code in key.split("+")}
    return Counter((joined[e["code"]], e["resource"]) for e in case["expected"] if e["code"] in joined)


def test_the_table_holds_the_cases_we_cover() -> None:
    by_analyzer = Counter(case["analyzer"] for case in CASES)
    assert set(by_analyzer) == set(ANALYZERS)
    assert len(CASES) >= 14
    ids = [_case_id(case) for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    # every divergence names a case of the selection
    assert set(DIVERGENCES) <= {case["name"] for case in CASES}


def test_the_inputs_parse_cleanly() -> None:
    for case in CASES:
        index = _index(case)
        for summary in index.files.values():
            assert summary.skipped is None, (summary.uri, summary.skipped)
            assert summary.syntax_errors == [], (summary.uri, summary.syntax_errors)
            assert summary.resources, summary.uri


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case(case: dict[str, Any]) -> None:
    expected = _expected(case)
    missing: Counter[Pair] = Counter()
    extra: Counter[Pair] = Counter()
    for direction, pair, reason in DIVERGENCES.get(case["name"], []):
        assert reason
        if direction == "missing":
            assert expected[pair] > missing[pair], f"stale divergence: Istio does not expect {pair}"
            missing[pair] += 1
        else:
            assert direction == "extra", direction
            assert expected[pair] == 0, f"not a divergence: Istio expects {pair}"
            extra[pair] += 1
    wanted = expected - missing + extra
    ours = _ours(case)
    assert ours == wanted, (
        f"missing: {sorted((wanted - ours).elements())}; unexpected: {sorted((ours - wanted).elements())}"
    )


# ---- the whole table ----------------------------------------------------------------------------

# Analyzers whose cases read what only a running cluster holds: files cannot decide them.
NEEDS_A_CLUSTER: dict[str, str] = {
    "injection.Analyzer": "which namespaces and pods the sidecar injector processed, and its configuration",
    "injection.ImageAnalyzer": "the proxy image of running pods, against the injector's ConfigMap",
    "injection.ImageAutoAnalyzer": "the mutating webhooks installed in the cluster",
    "webhook.Analyzer": "the cluster's webhook configurations",
    "multicluster.MeshNetworksAnalyzer": "the mesh networks configuration and the remote clusters' secrets",
    "multicluster.ServiceAnalyzer": "the Services of the other clusters",
    "conditions.ConditionAnalyzer": "the status conditions controllers write",
    "externalcontrolplane.ExternalControlPlaneAnalyzer": "the webhook configurations of an external control plane",
    "gateway.SecretAnalyzer": "the TLS Secrets of the gateway pods' namespace, which repositories keep out of Git",
}
# Analyzers that files could decide and that are not compared yet: their messages count as misses.
NOT_YET: dict[str, str] = {}
# Expected messages of the decidable analyzers matched by a rule whose page names the code. The
# issue's target is 95 %; the test fails when the figure falls, so raise it as rules land.
COVERAGE_FLOOR = 159

ALL_CASES: list[dict[str, Any]] = json.loads((CASES_DIR / "cases.json").read_text(encoding="utf-8"))["cases"]


def test_every_analyzer_is_compared_excluded_or_listed() -> None:
    analyzers = {case["analyzer"] for case in ALL_CASES}
    assert analyzers == set(ANALYZERS) | set(NEEDS_A_CLUSTER) | set(NOT_YET), analyzers ^ (
        set(ANALYZERS) | set(NEEDS_A_CLUSTER) | set(NOT_YET)
    )
    assert not set(NEEDS_A_CLUSTER) & (set(ANALYZERS) | set(NOT_YET))
    assert not set(ANALYZERS) & set(NOT_YET)


def _coverage() -> tuple[int, int, list[str]]:
    from istio_lsp.checks import RULES

    codes_of = {rule.code: set(rule.istio_codes) for rule in RULES}
    matched = total = 0
    misses: list[str] = []
    for case in ALL_CASES:
        if case["analyzer"] in NEEDS_A_CLUSTER:
            continue
        index = _index(case)
        ours: Counter[Pair] = Counter(
            (code, f.resource or "")
            for uri in index.files
            for f in check_file(index, uri)
            for code in codes_of.get(f.code, ())
        )
        expected = Counter((e["code"], e["resource"]) for e in case["expected"])
        for pair, count in expected.items():
            total += count
            matched += min(count, ours[pair])
            misses += [f"{case['name']}: {pair}"] * (count - min(count, ours[pair]))
    return matched, total, misses


def test_coverage_of_what_files_can_decide_does_not_fall() -> None:
    matched, total, misses = _coverage()
    assert total >= 160
    assert matched >= COVERAGE_FLOOR, f"{matched}/{total} matched; misses: {misses}"


if __name__ == "__main__":  # the figure, and every miss
    found, of, missed = _coverage()
    print(f"{found}/{of} expected messages matched ({100 * found / of:.0f} %) on the analyzers files can decide")
    print("\n".join(missed))
