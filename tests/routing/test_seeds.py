"""The seed scenarios: the trace's 503s are the destinations the checks report (the two agree)."""

from __future__ import annotations

from tests.routing.helpers import findings, run, text

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews, version: v1}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: reviews, image: reviews:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: frontend, image: frontend:1}]}
"""

RULE = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
"""


def routes(http: str, host: str = "reviews", name: str = "reviews") -> str:
    return (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        f"metadata: {{name: {name}, namespace: shop}}\nspec:\n  hosts: [{host}]\n  http:\n{http}"
    )


def codes_at(files: dict[str, str], line: int) -> set[str]:
    """The codes of the findings on a 0-based line of `vs.yaml`."""
    return {f.code for f in findings(files) if f.uri.endswith("/vs.yaml") and f.span.start_line == line}


def test_route_to_another_virtualservice_host_is_503_and_reported() -> None:
    files = {
        "svc.yaml": SERVICE,
        "vs.yaml": routes("  - route: [{destination: {host: ratings-vs.shop.svc.cluster.local}}]\n"),
        "other.yaml": routes(
            "  - route: [{destination: {host: reviews}}]\n", host="ratings-vs.shop.svc.cluster.local", name="ratings"
        )
        + "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: silence, namespace: shop}\n"
        "spec:\n  hosts: [ratings-vs.shop.svc.cluster.local]\n  resolution: DNS\n  location: MESH_INTERNAL\n"
        "  ports: [{number: 80, name: http, protocol: HTTP}]\n",
    }
    result = run(files, "GET", "http://reviews:9080/", source="shop/frontend")
    assert result.status == "503", text(result)
    target = result.targets[0]
    assert target.rule == "destination-host-is-virtualservice" and "does not route twice" in target.reason
    assert target.rule in codes_at(files, 6)


def test_subset_without_destinationrule_is_503_and_reported() -> None:
    files = {"svc.yaml": SERVICE, "vs.yaml": routes("  - route: [{destination: {host: reviews, subset: v1}}]\n")}
    result = run(files, "GET", "http://reviews:9080/", source="shop/frontend")
    assert result.status == "503" and result.targets[0].rule == "subset-without-destinationrule"
    assert "subset-without-destinationrule" in codes_at(files, 6)


def test_subset_matching_no_pod_is_503_and_reported() -> None:
    files = {
        "svc.yaml": SERVICE,
        "dr.yaml": RULE,
        "vs.yaml": routes("  - route: [{destination: {host: reviews, subset: v2}}]\n"),
    }
    result = run(files, "GET", "http://reviews:9080/", source="shop/frontend")
    assert result.status == "503" and result.targets[0].rule == "subset-matches-no-workload", text(result)
    subset_line = next(s.span.start_line for s in result.steps if s.kind == "503" and s.span is not None)
    reported = [f for f in findings(files) if f.code == "subset-matches-no-workload"]
    assert [f.span.start_line for f in reported] == [subset_line]


def test_canary_by_weight_reports_shares_and_the_failing_part() -> None:
    http = """\
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
"""
    files = {"svc.yaml": SERVICE, "dr.yaml": RULE, "vs.yaml": routes(http)}
    result = run(files, "GET", "http://reviews:9080/", source="shop/frontend")
    assert result.status == "partly-503", text(result)
    assert [float(t.share) for t in result.targets] == [0.9, 0.1]
    assert [t.status for t in result.targets] == ["ok", "503"]
    assert result.targets[0].workloads == ["Deployment shop/reviews-v1"]
    assert "10.0% of requests get 503" in result.summary
    assert any(f.code == "subset-matches-no-workload" for f in findings(files))


def test_canary_by_header() -> None:
    http = """\
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews}}]
"""
    files = {"svc.yaml": SERVICE, "dr.yaml": RULE, "vs.yaml": routes(http)}
    canary = run(files, "GET", "http://reviews:9080/", source="shop/frontend", headers=["end-user: jason"])
    assert canary.status == "routed" and canary.targets[0].subset == "v1"
    other = run(files, "GET", "http://reviews:9080/", source="shop/frontend", headers=["end-user: kim"])
    assert other.status == "routed" and other.targets[0].subset is None
    assert "header `end-user` exact `jason` required, it is `kim`" in text(other)


def test_timeout_shorter_than_retries_is_reported_by_both() -> None:
    http = """\
  - timeout: 2s
    retries: {attempts: 3, perTryTimeout: 2s}
    route: [{destination: {host: reviews}}]
"""
    files = {"svc.yaml": SERVICE, "vs.yaml": routes(http)}
    result = run(files, "GET", "http://reviews:9080/", source="shop/frontend")
    warning = next(s for s in result.steps if s.kind == "warning")
    assert "timeout-shorter-than-retries" in warning.text
    assert warning.span is not None
    assert "timeout-shorter-than-retries" in codes_at(files, warning.span.start_line)
