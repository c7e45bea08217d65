"""No false positives on Istio's own Bookinfo sample (tests/fixtures/bookinfo, copied unchanged; see NOTICE.md).

The networking files are alternatives a tutorial applies one at a time (several
VirtualServices for `reviews`), so together they are a superset of any real
state; every reference in them must still resolve.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import istio_lsp.checks
from istio_lsp.checks import Finding, Severity, check_file
from istio_lsp.cli import main
from istio_lsp.index import WorkspaceIndex, summarize
from istio_lsp.index.discovery import discover, summarize_path
from istio_lsp.model.resources import DestinationRule, Service, VirtualService, Workload
from istio_lsp.settings import Settings

# what the front ends index: the summary plus per-document findings, where the checks have those
analyze_path = getattr(istio_lsp.checks, "analyze_path", summarize_path)
summarize_text = getattr(istio_lsp.checks, "analyze_text", summarize)
BOOKINFO = Path(__file__).resolve().parent / "fixtures" / "bookinfo"
REFERENCE_CODES = {
    "yaml-syntax-error",
    "file-skipped",
    "destination-host-is-virtualservice",
    "destination-host-not-found",
    "subset-without-destinationrule",
    "subset-not-found",
    "subset-matches-no-workload",
    "gateway-not-found",
}


def _index(paths: list[Path], settings: Settings) -> WorkspaceIndex:
    index = WorkspaceIndex(settings)
    for path in paths:
        index.update(analyze_path(path, settings))
    return index


def _findings(index: WorkspaceIndex) -> list[Finding]:
    return [f for uri in sorted(index.files) for f in check_file(index, uri)]


def _describe(findings: list[Finding]) -> list[str]:
    return [f"{Path(f.uri).name}:{f.span.start_line + 1}: {f.code}: {f.message}" for f in findings]


@pytest.mark.parametrize("namespace", ["default", "bookinfo"])
def test_bookinfo_has_no_findings(namespace: str) -> None:
    index = _index(list(discover(BOOKINFO)), Settings(default_namespace=namespace))
    kinds = Counter(type(r) for r in index.resources())
    # the fixture really was indexed: 4 Services, 10 Deployments, 6 DestinationRules, 18 VirtualServices
    assert kinds[Service] == 4
    assert kinds[Workload] == 10
    assert kinds[DestinationRule] == 6
    assert kinds[VirtualService] == 18
    findings = _findings(index)
    assert not [f for f in findings if f.code in REFERENCE_CODES], _describe(findings)
    # The per-document rules find real mistakes in the samples themselves; pin them, so a
    # false positive of any rule still fails here.
    others = sorted((Path(f.uri).name, f.code) for f in findings if f.severity != Severity.HINT)
    assert others == SAMPLE_MISTAKES, _describe(findings)
    assert {f.code for f in findings if f.severity == Severity.HINT} <= {"deprecated-api-version"}


# Mistakes in Istio's own samples, found by the per-document rules (true positives):
SAMPLE_MISTAKES = [
    # the gateway's route to productpage skips the v1 subset virtual-service-all-v1 pins for the sidecars
    # (information: the folder's files are alternatives, and only v1 is deployed)
    ("bookinfo-gateway.yaml", "gateway-route-skips-subsets"),
    # ratings `v2-mysql`: this copy leaves out virtual-service-ratings-mysql.yaml, the one route to it
    # (information: no VirtualService of the workspace uses the subset)
    ("destination-rule-all.yaml", "unused-subset"),
    # the first route has no match, so the second one never gets traffic
    ("fault-injection-details-v1.yaml", "unreachable-route"),
    # fault.abort has no `percent` field in the CRD schema: the API server drops it
    ("virtual-service-ratings-test-abort.yaml", "unknown-field"),
    # fault.delay.percent is deprecated in favour of percentage.value
    ("virtual-service-ratings-test-delay.yaml", "invalid-fault"),
]


def test_bookinfo_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--format", "json", "--fail-on", "never", str(BOOKINFO)])
    codes = {d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]}
    assert not codes & REFERENCE_CODES
    assert codes == {code for _, code in SAMPLE_MISTAKES} | {"deprecated-api-version"}


@pytest.mark.parametrize(
    ("namespace", "severity"),
    [("bookinfo", Severity.ERROR), ("", Severity.INFORMATION)],
    ids=["namespace-known", "namespace-unknown"],
)
def test_subsets_without_their_deployments_are_true_positives(namespace: str, severity: Severity) -> None:
    """destination-rule-all.yaml defines ratings v2, v2-mysql, v2-mysql-vm and details v2; bookinfo.yaml alone
    deploys only the v1 of those services, so those subsets have no pods until the extra Deployments are applied.

    When both are applied to one namespace that is a fact (error). When the files say no namespace and
    nothing else gives one, the rule and the pods are declared apart (networking/ and platform/kube/):
    nothing proves they share a namespace, so it is information, saying why."""
    paths = [BOOKINFO / "platform/kube/bookinfo.yaml", BOOKINFO / "networking/destination-rule-all.yaml"]
    index = _index(paths, Settings(default_namespace=namespace))
    findings = _findings(index)
    assert sorted((f.code, f.message.split("`")[1]) for f in findings) == [
        ("subset-matches-no-workload", "v2"),
        ("subset-matches-no-workload", "v2"),
        ("subset-matches-no-workload", "v2-mysql"),
        ("subset-matches-no-workload", "v2-mysql-vm"),
    ], _describe(findings)
    prefix = f"{namespace}/" if namespace else ""
    assert {f.resource for f in findings} == {f"DestinationRule {prefix}ratings", f"DestinationRule {prefix}details"}
    assert {f.severity for f in findings} == {severity}
    assert all(("declared apart" in f.message) == (not namespace) for f in findings)


@pytest.mark.parametrize(
    ("path", "old", "new", "codes"),
    [
        ("networking/virtual-service-reviews-v2-v3.yaml", "subset: v3", "subset: v4", ["subset-not-found"]),
        ("networking/bookinfo-gateway.yaml", "host: productpage", "host: productpag", ["destination-host-not-found"]),
        ("networking/bookinfo-gateway.yaml", "- bookinfo-gateway", "- bookinfo-gatway", ["gateway-not-found"]),
        ("networking/virtual-service-all-v1.yaml", "subset: v1\n---", "subset: v1\n---\n  - [", ["yaml-syntax-error"]),
        # both DestinationRules for reviews (destination-rule-all.yaml, destination-rule-reviews.yaml) define v3
        (
            "platform/kube/bookinfo.yaml",
            "      labels:\n        app: reviews\n        version: v3",
            "      labels:\n        app: reviews",
            ["subset-matches-no-workload", "subset-matches-no-workload"],
        ),
    ],
)
def test_one_mistake_in_bookinfo_is_found(path: str, old: str, new: str, codes: list[str]) -> None:
    """The sample is clean, not unchecked: one edit gives exactly the findings it should."""
    settings = Settings()
    index = _index(list(discover(BOOKINFO)), settings)
    target = BOOKINFO / path
    text = target.read_text(encoding="utf-8")
    assert old in text
    index.update(summarize_text(target.resolve().as_uri(), text.replace(old, new, 1), settings))
    findings = [f for f in _findings(index) if f.code in REFERENCE_CODES]
    assert [f.code for f in findings] == codes, _describe(findings)
