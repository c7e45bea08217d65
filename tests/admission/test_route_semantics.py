"""Route semantics: unreachable routes, ineffective matches, timeouts vs retries, weights, duplicate
destinations and fault delays vs timeouts.

Each case is one VirtualService. A line ending in `# expect: code[, code]` is where a finding of
that code must start; every other line must have none of the route-semantics codes. A case
without expectations is a negative case.
"""

from __future__ import annotations

import logging
import re
import textwrap

import pytest

from istio_lsp.checks import Finding
from istio_lsp.checks.routes._shared import normalised
from tests.admission.helpers import URI, findings_for, found
from tests.casekit import apply_edits

CODES = {
    "unreachable-route",
    "ineffective-match",
    "timeout-shorter-than-retries",
    "weights-not-100",
    "single-weighted-destination",
    "duplicate-destination",
    "fault-delay-exceeds-timeout",
}

HEADER = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews]
"""

_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[a-z0-9, -]+)$")


def vs(body: str) -> str:
    """A VirtualService whose spec (after `hosts`) is `body`."""
    return HEADER + textwrap.indent(textwrap.dedent(body), "  ")


def expected(text: str) -> set[tuple[str, int]]:
    out = set()
    for line_number, line in enumerate(text.splitlines()):
        match = _EXPECT.search(line)
        if match:
            out |= {(code.strip(), line_number) for code in match["codes"].split(",") if code.strip()}
    return out


def findings(text: str, code: str) -> list[Finding]:
    return [f for f in findings_for(text) if f.code == code]


CASES: dict[str, str] = {
    # ---- unreachable-route ------------------------------------------------------
    "catch-all first hides the later routes": """\
        http:
        - route:
          - destination: {host: reviews, subset: v1}
        - match:  # expect: unreachable-route
          - headers: {end-user: {exact: jason}}
          route:
          - destination: {host: reviews, subset: v2}
        - route:  # expect: unreachable-route
          - destination: {host: reviews, subset: v3}
        """,
    "catch-all last is fine": """\
        http:
        - match:
          - headers: {end-user: {exact: jason}}
          route:
          - destination: {host: reviews, subset: v2}
        - route:
          - destination: {host: reviews, subset: v1}
        """,
    "all matches duplicated earlier (names ignored)": """\
        http:
        - match:
          - name: products
            uri: {prefix: /api/v1/products}
          route:
          - destination: {host: reviews, subset: v1}
        - name: products-v2  # expect: unreachable-route
          match:
          - uri: {prefix: /api/v1/products}  # expect: ineffective-match
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "all matches covered by a broader earlier prefix": """\
        http:
        - match:
          - uri: {prefix: /api}
          route:
          - destination: {host: reviews, subset: v1}
        - match:  # expect: unreachable-route
          - uri: {prefix: /api/admin}  # expect: ineffective-match
          - uri: {exact: /api/health}  # expect: ineffective-match
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "one match still reachable keeps the route": """\
        http:
        - match:
          - uri: {prefix: /api}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/admin}  # expect: ineffective-match
          - uri: {prefix: /admin}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "a match without conditions is a catch-all": """\
        http:
        - match:
          - name: everything
          route:
          - destination: {host: reviews, subset: v1}
        - route:  # expect: unreachable-route
          - destination: {host: reviews, subset: v2}
        """,
    "tcp route after a match-less tcp route": """\
        tcp:
        - route:
          - destination: {host: reviews, port: {number: 9000}}
        - match:  # expect: unreachable-route
          - port: 31400
          route:
          - destination: {host: reviews, port: {number: 9001}}
        """,
    "tls route with a duplicated match": """\
        tls:
        - match:
          - port: 443
            sniHosts: [reviews.example.com]
          route:
          - destination: {host: reviews}
        - match:  # expect: unreachable-route
          - port: 443  # expect: ineffective-match
            sniHosts: [reviews.example.com]
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "tls routes with different sni hosts": """\
        tls:
        - match:
          - port: 443
            sniHosts: [a.example.com]
          route:
          - destination: {host: reviews}
        - match:
          - port: 443
            sniHosts: [b.example.com]
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "routes in different lists do not hide each other": """\
        http:
        - route:
          - destination: {host: reviews}
        tcp:
        - route:
          - destination: {host: reviews, port: {number: 9000}}
        """,
    # ---- ineffective-match ------------------------------------------------------
    "identical match in the same route": """\
        http:
        - match:
          - uri: {exact: /login}
          - uri: {exact: /login}  # expect: ineffective-match
          route:
          - destination: {host: reviews}
        """,
    "longer prefix after a shorter one, same method": """\
        http:
        - match:
          - uri: {prefix: /api/v1/prod}
            method: {exact: GET}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1/products}  # expect: ineffective-match
            method: {exact: GET}
          - uri: {prefix: /api/v1/products}
            method: {exact: POST}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "longer prefix before a shorter one is fine": """\
        http:
        - match:
          - uri: {prefix: /api/v1/products}
          route:
          - destination: {host: reviews, subset: v2}
        - match:
          - uri: {prefix: /api/v1}
          route:
          - destination: {host: reviews, subset: v1}
        """,
    "a method-less prefix covers a GET one": """\
        http:
        - match:
          - uri: {prefix: /api/v1/product}
          - uri: {prefix: /api/v1/products}  # expect: ineffective-match
            method: {exact: GET}
          route:
          - destination: {host: reviews}
        """,
    "a GET-only prefix does not cover a method-less one": """\
        http:
        - match:
          - uri: {prefix: /api}
            method: {exact: GET}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "different ports do not cover each other": """\
        http:
        - match:
          - uri: {prefix: /api}
            port: 8080
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}
            port: 9080
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "an earlier header condition does not cover a request without it": """\
        http:
        - match:
          - uri: {prefix: /api}
            headers: {end-user: {exact: jason}}
          route:
          - destination: {host: reviews, subset: v2}
        - match:
          - uri: {prefix: /api/v1}
          route:
          - destination: {host: reviews, subset: v1}
        """,
    "a header-less earlier match covers a later one with a header": """\
        http:
        - match:
          - uri: {prefix: /api}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}  # expect: ineffective-match
            headers: {end-user: {exact: jason}}
          - uri: {prefix: /other}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "header prefix covers a longer header value": """\
        http:
        - match:
          - headers: {x-version: {prefix: "2."}}
          route:
          - destination: {host: reviews, subset: v2}
        - match:
          - headers: {X-Version: {exact: "2.1"}}  # expect: ineffective-match
          - headers: {x-version: {exact: "3.0"}}
          route:
          - destination: {host: reviews, subset: v3}
        """,
    "regexes are only compared for equality": """\
        http:
        - match:
          - uri: {regex: "/api/.*"}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "a case-insensitive later match is not covered by a case-sensitive one": """\
        http:
        - match:
          - uri: {prefix: /api}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}
            ignoreUriCase: true
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "a case-insensitive earlier match covers other spellings": """\
        http:
        - match:
          - uri: {prefix: /API}
            ignoreUriCase: true
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}  # expect: ineffective-match
          - uri: {prefix: /other}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "matches for different gateways do not cover each other": """\
        gateways: [mesh, shop/public]
        http:
        - match:
          - uri: {prefix: /api}
            gateways: [mesh]
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}
            gateways: [shop/public]
          route:
          - destination: {host: reviews, subset: v2}
        """,
    "withoutHeaders: the later match excludes at least as much": """\
        http:
        - match:
          - uri: {prefix: /api}
            withoutHeaders: {x-canary: {exact: "true"}}
          route:
          - destination: {host: reviews, subset: v1}
        - match:
          - uri: {prefix: /api/v1}  # expect: ineffective-match
            withoutHeaders: {x-canary: {}}
          - uri: {prefix: /api/v2}
            withoutHeaders: {x-canary: {exact: "false"}}
          route:
          - destination: {host: reviews, subset: v2}
        """,
    # ---- timeout-shorter-than-retries -------------------------------------------
    "timeout shorter than three retries": """\
        http:
        - route:
          - destination: {host: reviews}
          timeout: 5s  # expect: timeout-shorter-than-retries
          retries: {attempts: 3, perTryTimeout: 3s}
        """,
    "default attempts count as two": """\
        http:
        - route:
          - destination: {host: reviews}
          timeout: 3s  # expect: timeout-shorter-than-retries
          retries: {perTryTimeout: 2s}
        """,
    "timeout covering the retries": """\
        http:
        - route:
          - destination: {host: reviews}
          timeout: 10s
          retries: {attempts: 3, perTryTimeout: 3s}
        """,
    "no timeout: nothing to compare": """\
        http:
        - route:
          - destination: {host: reviews}
          retries: {attempts: 3, perTryTimeout: 3s}
        """,
    "no perTryTimeout: nothing to compare": """\
        http:
        - route:
          - destination: {host: reviews}
          timeout: 1s
          retries: {attempts: 5}
        """,
    "attempts 0 turns retries off": """\
        http:
        - route:
          - destination: {host: reviews}
          timeout: 1s
          retries: {attempts: 0}
        """,
    # ---- weights-not-100 ----------------------------------------------------------
    "weights adding up to 90": """\
        http:
        - route:  # expect: weights-not-100
          - destination: {host: reviews, subset: v1}
            weight: 80
          - destination: {host: reviews, subset: v2}
            weight: 10
        """,
    "weights adding up to 100": """\
        http:
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 80
          - destination: {host: reviews, subset: v2}
            weight: 20
        """,
    "some destinations without weight": """\
        http:
        - route:  # expect: weights-not-100
          - destination: {host: reviews, subset: v1}
            weight: 100
          - destination: {host: reviews, subset: v2}
        """,
    "tcp weights are relative too": """\
        tcp:
        - route:  # expect: weights-not-100
          - destination: {host: reviews, subset: v1}
            weight: 1
          - destination: {host: reviews, subset: v2}
            weight: 1
        """,
    "several destinations without any weight are the webhook's case": """\
        http:
        - route:
          - destination: {host: reviews, subset: v1}
          - destination: {host: reviews, subset: v2}
        """,
    # ---- single-weighted-destination ----------------------------------------------
    "single destination with weight 20": """\
        http:
        - route:
          - destination: {host: reviews, subset: v2}
            weight: 20  # expect: single-weighted-destination
        """,
    "single destination with weight 0": """\
        tcp:
        - route:
          - destination: {host: reviews, port: {number: 9000}}
            weight: 0  # expect: single-weighted-destination
        """,
    "single destination with weight 100": """\
        http:
        - route:
          - destination: {host: reviews}
            weight: 100
        """,
    "single destination without weight": """\
        http:
        - route:
          - destination: {host: reviews}
        """,
    # ---- duplicate-destination ----------------------------------------------------
    "same host and subset twice": """\
        http:
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 50
          - destination: {host: reviews, subset: v1}  # expect: duplicate-destination
            weight: 50
        """,
    "short name and FQDN in the namespace are the same host": """\
        http:
        - route:
          - destination: {host: reviews}
            weight: 50
          - destination: {host: reviews.shop.svc.cluster.local}  # expect: duplicate-destination
            weight: 50
        """,
    "different subsets": """\
        http:
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 50
          - destination: {host: reviews, subset: v2}
            weight: 50
        """,
    "same host on different ports": """\
        tcp:
        - route:
          - destination: {host: reviews, port: {number: 9000}}
            weight: 50
          - destination: {host: reviews, port: {number: 9001}}
            weight: 50
        """,
    "same short name in another namespace is another host": """\
        http:
        - route:
          - destination: {host: reviews}
            weight: 50
          - destination: {host: reviews.other.svc.cluster.local}
            weight: 50
        """,
    # ---- fault-delay-exceeds-timeout -----------------------------------------------
    "delay longer than the timeout for 10% of requests": """\
        http:
        - fault:
            delay:
              fixedDelay: 5s  # expect: fault-delay-exceeds-timeout
              percentage: {value: 10}
          timeout: 3s
          route:
          - destination: {host: reviews}
        """,
    "delay equal to the timeout": """\
        http:
        - fault:
            delay: {fixedDelay: 2s, percentage: {value: 100}}  # expect: fault-delay-exceeds-timeout
          timeout: 2000ms
          route:
          - destination: {host: reviews}
        """,
    "delay shorter than the timeout": """\
        http:
        - fault:
            delay: {fixedDelay: 1s, percentage: {value: 50}}
          timeout: 3s
          route:
          - destination: {host: reviews}
        """,
    "delay without a route timeout": """\
        http:
        - fault:
            delay: {fixedDelay: 7s, percentage: {value: 100}}
          route:
          - destination: {host: reviews}
        """,
    "delay without percentage delays nothing": """\
        http:
        - fault:
            delay: {fixedDelay: 7s}
          timeout: 3s
          route:
          - destination: {host: reviews}
        """,
    "delay for 0% of requests": """\
        http:
        - fault:
            delay: {fixedDelay: 7s, percentage: {value: 0}}
          timeout: 3s
          route:
          - destination: {host: reviews}
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


def test_malformed_routes_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    text = vs(
        """\
        http:
        - ~
        - match: not-a-list
          route: [~, 3, {destination: ~, weight: x}]
        - match: [~, {uri: ~}, {uri: {prefix: ~}}, {headers: {x: ~}}]
          timeout: soon
          retries: {attempts: many, perTryTimeout: 1s}
          fault: {delay: {fixedDelay: [1], percentage: {value: lots}}}
          route: {destination: reviews}
        tcp: {route: x}
        tls: ~
        """
    )
    with caplog.at_level(logging.ERROR, logger="istio_lsp.checks"):
        findings_for(text)  # what is reported is the schema checks' business
    assert not [r for r in caplog.records if "failed" in r.getMessage()], caplog.text


# ---- messages -------------------------------------------------------------------


def test_weights_message_gives_the_effective_split() -> None:
    (finding,) = findings(vs(CASES["weights adding up to 90"]), "weights-not-100")
    assert "88.9% / 11.1%" in finding.message
    assert "add up to 90" in finding.message


def test_weights_message_names_unweighted_destinations() -> None:
    (finding,) = findings(vs(CASES["some destinations without weight"]), "weights-not-100")
    assert "100.0% / 0.0%" in finding.message
    assert "`reviews` subset `v2` has no weight and gets 0%" in finding.message
    assert finding.fixes == []  # nothing to normalise


def test_timeout_message_explains_the_cut() -> None:
    (finding,) = findings(vs(CASES["timeout shorter than three retries"]), "timeout-shorter-than-retries")
    assert "3 retries" in finding.message and "= 9s" in finding.message
    assert "only 1 of the 3 retries can start" in finding.message
    (default,) = findings(vs(CASES["default attempts count as two"]), "timeout-shorter-than-retries")
    assert "Istio's default" in default.message


def test_fault_message_counts_the_requests() -> None:
    (finding,) = findings(vs(CASES["delay longer than the timeout for 10% of requests"]), "fault-delay-exceeds-timeout")
    assert "10% of requests" in finding.message
    (every,) = findings(vs(CASES["delay equal to the timeout"]), "fault-delay-exceeds-timeout")
    assert "every request" in every.message


def test_duplicate_message_gives_the_combined_share() -> None:
    (finding,) = findings(vs(CASES["same host and subset twice"]), "duplicate-destination")
    assert "destination #0" in finding.message and "100.0%" in finding.message
    assert finding.related and finding.related[0].span.start_line == 9


def test_ineffective_message_names_the_covering_match() -> None:
    messages = [
        f.message for f in findings(vs(CASES["longer prefix after a shorter one, same method"]), "ineffective-match")
    ]
    assert messages == [
        "Match #0 of HTTP route #1 never applies: match #0 of HTTP route #0 comes first and takes every request it "
        "would (its uri prefix `/api/v1/prod` also accepts uri prefix `/api/v1/products`, and its other conditions "
        "are met too). Put the more specific match first, or remove this one."
    ]


# ---- fixes ----------------------------------------------------------------------


def _apply(text: str, finding: Finding, fix_index: int = 0) -> str:
    return apply_edits({"f": text}, finding.fixes[fix_index].edits, lambda uri: "f" if uri == URI else uri)["f"]


def test_raise_timeout_fix() -> None:
    text = vs(CASES["timeout shorter than three retries"])
    (finding,) = findings(text, "timeout-shorter-than-retries")
    (fix,) = finding.fixes
    assert fix.title == "Raise timeout to 12s (first try + 3 retries × 3s)"
    assert fix.preferred and not fix.safe
    fixed = _apply(text, finding)
    assert "timeout: 12s  # expect" in fixed
    assert findings(fixed, "timeout-shorter-than-retries") == []


def test_raise_timeout_fix_keeps_quotes() -> None:
    text = vs(
        """\
        http:
        - route:
          - destination: {host: reviews}
          timeout: "500ms"
          retries: {attempts: 2, perTryTimeout: 400ms}
        """
    )
    (finding,) = findings(text, "timeout-shorter-than-retries")
    fixed = _apply(text, finding)
    assert 'timeout: "1.2s"' in fixed
    assert findings(fixed, "timeout-shorter-than-retries") == []


def test_normalise_weights_fix() -> None:
    text = vs(CASES["weights adding up to 90"])
    (finding,) = findings(text, "weights-not-100")
    (fix,) = finding.fixes
    assert fix.title == "Normalise weights to 100 (89 / 11)"
    assert not fix.safe  # 88.9% becomes 89%
    fixed = _apply(text, finding)
    assert "weight: 89" in fixed and "weight: 11" in fixed
    assert findings(fixed, "weights-not-100") == []


def test_normalise_weights_fix_is_safe_when_exact() -> None:
    text = vs(
        """\
        http:
        - route:
          - destination: {host: reviews, subset: v1}
            weight: 40
          - destination: {host: reviews, subset: v2}
            weight: "10"
        """
    )
    (finding,) = findings(text, "weights-not-100")
    (fix,) = finding.fixes
    assert fix.safe
    fixed = _apply(text, finding)
    assert "weight: 80" in fixed and 'weight: "20"' in fixed
    assert findings(fixed, "weights-not-100") == []


def test_single_weight_fix() -> None:
    text = vs(CASES["single destination with weight 20"])
    (finding,) = findings(text, "single-weighted-destination")
    fixed = _apply(text, finding)
    assert "weight: 100" in fixed
    assert findings(fixed, "single-weighted-destination") == []


@pytest.mark.parametrize(
    ("weights", "expected_weights"),
    [
        ([80, 10], [89, 11]),
        ([1, 1, 1], [34, 33, 33]),
        ([40, 10], [80, 20]),
        ([1, 1000], [0, 100]),
        ([3, 3, 1], [43, 43, 14]),
        ([0, 5], [0, 100]),
    ],
)
def test_largest_remainder(weights: list[int], expected_weights: list[int]) -> None:
    assert normalised(weights) == expected_weights
    assert sum(normalised(weights)) == 100


def test_no_normalise_fix_when_an_alias_repeats_an_entry() -> None:
    text = vs(
        """\
        http:
        - route:
          - &canary {destination: {host: reviews, subset: v2}, weight: 10}
          - *canary
          - destination: {host: reviews, subset: v1}
            weight: 70
        """
    )
    (finding,) = findings(text, "weights-not-100")
    assert finding.fixes == []
    assert "11.1% / 11.1% / 77.8%" in finding.message
