"""Routes that send a request twice: retries on failures the upstream may have acted on, on a route that takes
POST (`retry-non-idempotent`), and a mirror to the route's own destination (`mirror-to-own-destination`).

Each case is one VirtualService in namespace `shop` (a delegate, without `hosts`, when its body says
`hosts: []`). A line ending in `# expect: code` is where a finding of that code must start; every other line
must have none of these codes.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from istio_lsp.checks import Finding
from tests.admission.helpers import URI, findings_for, found
from tests.casekit import apply_edits

CODES = {"retry-non-idempotent", "mirror-to-own-destination"}

HEADER = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: orders
  namespace: shop
spec:
"""

_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[a-z0-9, -]+)$")


def vs(body: str) -> str:
    body = textwrap.dedent(body)
    if not body.startswith("hosts:"):
        body = "hosts: [orders]\n" + body
    return HEADER + textwrap.indent(body, "  ")


def expected(text: str) -> set[tuple[str, int]]:
    out = set()
    for number, line in enumerate(text.splitlines()):
        match = _EXPECT.search(line)
        if match:
            out |= {(code.strip(), number) for code in match["codes"].split(",") if code.strip()}
    return out


CASES: dict[str, str] = {
    # ---- retry-non-idempotent ------------------------------------------------------
    "5xx on a route without match": """\
        http:
        - route:
          - destination: {host: orders}
          retries:
            attempts: 3
            retryOn: 5xx,connect-failure  # expect: retry-non-idempotent
        """,
    "gateway-error and reset on a route for POST": """\
        http:
        - match:
          - method: {exact: POST}
          route:
          - destination: {host: orders}
          retries: {attempts: 2, retryOn: "gateway-error,reset"}  # expect: retry-non-idempotent
        """,
    "a status code after which the upstream may have acted": """\
        http:
        - match:
          - uri: {prefix: /api}
          route:
          - destination: {host: orders}
          retries: {attempts: 2, retryOn: "504,retriable-status-codes"}  # expect: retry-non-idempotent
        """,
    "one match of several lets POST through": """\
        http:
        - match:
          - method: {exact: GET}
          - uri: {prefix: /orders}
          route:
          - destination: {host: orders}
          retries: {attempts: 2, retryOn: 5xx}  # expect: retry-non-idempotent
        """,
    "a method prefix that takes PATCH": """\
        http:
        - match:
          - method: {prefix: P}
          route:
          - destination: {host: orders}
          retries: {attempts: 2, retryOn: reset}  # expect: retry-non-idempotent
        """,
    "a method regex that takes POST": """\
        http:
        - match:
          - method: {regex: "GET|POST"}
          route:
          - destination: {host: orders}
          retries: {attempts: 2, retryOn: 5xx}  # expect: retry-non-idempotent
        """,
    "safe conditions only": """\
        http:
        - route:
          - destination: {host: orders}
          retries:
            attempts: 3
            retryOn: connect-failure,refused-stream,reset-before-request,503,unavailable
        """,
    "idempotent methods only": """\
        http:
        - match:
          - method: {exact: GET}
          - method: {exact: PUT}
          - method: {regex: "HEAD|OPTIONS|DELETE"}
          route:
          - destination: {host: orders}
          retries: {attempts: 3, retryOn: "5xx,reset,gateway-error"}
        """,
    "a method prefix that takes neither POST nor PATCH": """\
        http:
        - match:
          - method: {prefix: GE}
          route:
          - destination: {host: orders}
          retries: {attempts: 3, retryOn: 5xx}
        """,
    "retries switched off": """\
        http:
        - route:
          - destination: {host: orders}
          retries: {attempts: 0}
        - route:
          - destination: {host: orders}
          retries: {attempts: 0, retryOn: 5xx}
        """,
    "Istio's default policy (no retryOn) and a placeholder": """\
        http:
        - route:
          - destination: {host: orders}
          retries: {attempts: 3, perTryTimeout: 2s}
        - route:
          - destination: {host: orders}
          retries: {attempts: 3, retryOn: "${RETRY_ON}"}
        """,
    "a delegate: the parent route may restrict methods": """\
        hosts: []
        http:
        - route:
          - destination: {host: orders}
          retries: {attempts: 3, retryOn: 5xx}
        """,
    # ---- mirror-to-own-destination -------------------------------------------------
    "mirror to the route's host and subset": """\
        http:
        - route:
          - destination: {host: orders, subset: v1}
          mirror:
            host: orders.shop.svc.cluster.local  # expect: mirror-to-own-destination
            subset: v1
        """,
    "a mirrors entry naming a weighted destination": """\
        http:
        - route:
          - destination: {host: orders, subset: v1}
            weight: 90
          - destination: {host: orders, subset: v2}
            weight: 10
          mirrors:
          - destination: {host: ratings}
          - destination:
              host: orders  # expect: mirror-to-own-destination
              subset: v2
            percentage: {value: 50}
        """,
    "mirror to another version": """\
        http:
        - route:
          - destination: {host: orders, subset: v1}
          mirror: {host: orders, subset: v2}
        """,
    "mirror to the whole service while routing to a subset": """\
        http:
        - route:
          - destination: {host: orders, subset: v1}
          mirror: {host: orders}
        """,
    "mirror to a destination of weight 0": """\
        http:
        - route:
          - destination: {host: orders, subset: v1}
            weight: 100
          - destination: {host: orders, subset: v2}
            weight: 0
          mirror: {host: orders, subset: v2}
        """,
    "mirroring nothing, another port, another namespace": """\
        http:
        - route:
          - destination: {host: orders}
          mirror: {host: orders}
          mirrorPercentage: {value: 0}
        - route:
          - destination: {host: orders, port: {number: 80}}
          mirrors:
          - destination: {host: orders, port: {number: 8080}}
          - destination: {host: orders.staging.svc.cluster.local}
        """,
}


@pytest.mark.parametrize("body", CASES.values(), ids=list(CASES))
def test_case(body: str) -> None:
    text = vs(body)
    assert found(text, CODES) == expected(text)


def test_every_code_has_positive_and_negative_cases() -> None:
    positives = {code for body in CASES.values() for code, _ in expected(vs(body))}
    assert positives == CODES
    negatives = {code for code in CODES if any(code not in {c for c, _ in expected(vs(b))} for b in CASES.values())}
    assert negatives == CODES


def test_mirror_in_an_unknown_namespace_is_only_the_same_text() -> None:
    text = vs(CASES["mirror to the route's host and subset"]).replace("  namespace: shop\n", "")
    assert found(text, CODES) == set()


# ---- messages and fixes ---------------------------------------------------------------


def _one(text: str, code: str) -> Finding:
    (finding,) = [f for f in findings_for(text) if f.code == code]
    return finding


def _apply(text: str, finding: Finding) -> str:
    return apply_edits({"f": text}, finding.fixes[0].edits, lambda uri: "f" if uri == URI else uri)["f"]


def test_retry_message_names_the_conditions_and_the_methods() -> None:
    finding = _one(vs(CASES["gateway-error and reset on a route for POST"]), "retry-non-idempotent")
    assert "`gateway-error` retries after a 502, 503 or 504 answer" in finding.message
    assert "`reset` retries after a connection reset" in finding.message
    assert "does not restrict `method` to idempotent ones" in finding.message
    assert finding.severity.label == "information"


def test_retry_fix_keeps_the_safe_conditions() -> None:
    text = vs(CASES["5xx on a route without match"])
    finding = _one(text, "retry-non-idempotent")
    (fix,) = finding.fixes
    assert fix.title == "Retry only before the request reaches the application: `connect-failure,refused-stream`"
    assert not fix.safe
    fixed = _apply(text, finding)
    assert "retryOn: connect-failure,refused-stream  # expect" in fixed
    assert found(fixed, CODES) == set()


def test_retry_fix_keeps_quotes_and_other_conditions() -> None:
    text = vs(CASES["gateway-error and reset on a route for POST"]).replace('"gateway-error,reset"', '"reset,503"')
    fixed = _apply(text, _one(text, "retry-non-idempotent"))
    assert 'retryOn: "503,connect-failure,refused-stream"' in fixed
    assert found(fixed, CODES) == set()


def test_mirror_fix_removes_mirror_and_percentage() -> None:
    text = vs(
        """\
        http:
        - route:
          - destination: {host: orders}
          mirror:
            host: orders
          mirrorPercentage:
            value: 20
          timeout: 5s
        """
    )
    finding = _one(text, "mirror-to-own-destination")
    assert "every request reaches the same pods twice" in finding.message
    fixed = _apply(text, finding)
    assert "mirror" not in fixed and "timeout: 5s" in fixed
    assert found(fixed, CODES) == set()


def test_mirror_fix_removes_one_mirrors_entry() -> None:
    text = vs(CASES["a mirrors entry naming a weighted destination"])
    fixed = _apply(text, _one(text, "mirror-to-own-destination"))
    assert "host: ratings" in fixed and "percentage" not in fixed
    assert found(fixed, CODES) == set()


def test_mirror_fix_removes_a_lone_mirrors_list() -> None:
    text = vs(
        """\
        http:
        - route:
          - destination: {host: orders}
          mirrors:
          - destination: {host: orders}
        """
    )
    fixed = _apply(text, _one(text, "mirror-to-own-destination"))
    assert "mirrors" not in fixed
    assert found(fixed, CODES) == set()


def test_no_mirror_fix_when_the_mirror_shares_a_line() -> None:
    text = vs(
        """\
        http:
        - mirror: {host: orders}
          route:
          - destination: {host: orders}
        """
    )
    assert _one(text, "mirror-to-own-destination").fixes == []
