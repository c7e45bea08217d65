"""VirtualService route-rule admission checks (Istio's webhook checklist §1 "HTTP route" and "TLS and TCP routes").

Each case is a small VirtualService and the findings one code gives on it: every
checklist row has a case where the rule fires and a close variant where it does not.
`@` marks the line a finding is expected on (the marker is removed before analysis).
"""

from __future__ import annotations

import base64
import logging
import textwrap

import pytest

from istio_lsp.findings import Finding, Fix, Severity
from tests.admission.helpers import findings_for

HEADER = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
"""


def vs(spec: str, header: str = HEADER) -> str:
    """A VirtualService with this spec body (dedented; `@` marks expected lines)."""
    return header + "spec:\n" + textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ") + "\n"


def http(rule: str) -> str:
    """A VirtualService for host `reviews` with one HTTP rule."""
    body = textwrap.indent(textwrap.dedent(rule).strip("\n"), "    ")
    return HEADER + "spec:\n  hosts: [reviews]\n  http:\n  - " + body[4:] + "\n"


def run(text: str, code: str) -> tuple[set[int], set[int], list[Finding]]:
    """(expected lines from the `@` markers, lines found for `code`, the findings)."""
    lines = text.split("\n")
    expected = {i for i, line in enumerate(lines) if "@" in line}
    clean = "\n".join(line.replace("@", "") for line in lines)
    findings = [f for f in findings_for(clean) if f.code == code]
    return expected, {f.span.start_line for f in findings}, findings


def check(text: str, code: str) -> list[Finding]:
    expected, got, findings = run(text, code)
    assert got == expected, [(f.span.start_line, f.message) for f in findings]
    return findings


def apply(text: str, fix: Fix) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    out = text
    for edit in sorted(fix.edits, key=lambda e: (e.span.start_line, e.span.start_char), reverse=True):
        start = offsets[edit.span.start_line] + edit.span.start_char
        end = offsets[edit.span.end_line] + edit.span.end_char
        out = out[:start] + edit.new_text + out[end:]
    return out


def fixed(text: str, code: str, title: str) -> str:
    """The text after the fix starting with `title` of the (single) `code` finding; asserts the finding is gone."""
    clean = text.replace("@", "")
    findings = [f for f in findings_for(clean) if f.code == code]
    assert len(findings) == 1, [f.message for f in findings]
    fix = next((f for f in findings[0].fixes if f.title.startswith(title)), None)
    assert fix is not None, [f.title for f in findings[0].fixes]
    after = apply(clean, fix)
    remaining = [f for f in findings_for(after) if f.code == code]
    assert not remaining, (after, [f.message for f in remaining])
    return after


ROUTE = """\
route:
- destination: {host: reviews}"""


def with_route(rule: str) -> str:
    return http(textwrap.dedent(rule).strip("\n") + "\n" + ROUTE)


# ---- conflicting-route-actions ---------------------------------------------------------

CONFLICTS = {
    "redirect with route": http("""
        redirect: {uri: /v2}  @
        route:
        - destination: {host: reviews}
    """),
    "redirect with fault": http("""
        redirect: {uri: /v2}
        fault:  @
          abort: {httpStatus: 503, percentage: {value: 5}}
    """),
    "redirect with rewrite": http("""
        redirect: {uri: /v2}
        rewrite: {uri: /v3}  @
    """),
    "redirect with directResponse": http("""
        redirect: {uri: /v2}
        directResponse: {status: 503}  @
    """),
    "directResponse with route": http("""
        directResponse: {status: 503}  @
        route:
        - destination: {host: reviews}
    """),
    "directResponse with fault": http("""
        directResponse: {status: 503}
        fault:  @
          delay: {fixedDelay: 1s, percentage: {value: 5}}
    """),
    "directResponse with rewrite": http("""
        directResponse: {status: 503}
        rewrite: {authority: example.com}  @
    """),
    "mirror with mirrors": with_route("""
        mirror: {host: shadow}  @
        mirrors:
        - destination: {host: shadow-2}
    """),
    "root route with redirect": http("""
        delegate: {name: reviews-delegate, namespace: shop}
        redirect: {uri: /v2}  @
    """),
    "root route with route": http("""
        delegate: {name: reviews-delegate, namespace: shop}
        route:  @
        - destination: {host: reviews}
    """),
}

NO_CONFLICTS = {
    "redirect alone": http("redirect: {uri: /v2, redirectCode: 301}"),
    "directResponse alone": http("directResponse: {status: 503, body: {string: down}}"),
    "route with fault and rewrite": with_route("""
        fault:
          abort: {httpStatus: 503, percentage: {value: 5}}
        rewrite: {uri: /v3}
    """),
    "mirrors alone": with_route("""
        mirrors:
        - destination: {host: shadow}
    """),
    "mirror alone": with_route("mirror: {host: shadow}"),
    "mirror with an empty mirrors list": with_route("""
        mirror: {host: shadow}
        mirrors: []
    """),
    "root route with delegate only": http("delegate: {name: reviews-delegate, namespace: shop}"),
    "root route with directResponse (not checked for root routes)": http("""
        delegate: {name: reviews-delegate, namespace: shop}
        directResponse: {status: 503}
    """),
    "null redirect": with_route("redirect:"),
}


@pytest.mark.parametrize("name", sorted(CONFLICTS))
def test_conflicting_route_actions(name: str) -> None:
    check(CONFLICTS[name], "conflicting-route-actions")


@pytest.mark.parametrize("name", sorted(NO_CONFLICTS))
def test_no_conflicting_route_actions(name: str) -> None:
    check(NO_CONFLICTS[name], "conflicting-route-actions")


# ---- missing-route-action --------------------------------------------------------------

MISSING = {
    "fault as its own rule": http("""
        fault:  @
          delay: {fixedDelay: 2s, percentage: {value: 10}}
    """),
    "named rule with only a timeout": http("""
        name: slow  @
        timeout: 5s
    """),
    "empty route list": http("""
        match:
        - uri: {prefix: /api}
        route: []  @
    """),
    "rule in a delegate VirtualService that delegates again": vs("""
        http:
        - delegate: {name: other}  @
    """),
}

NOT_MISSING = {
    "fault with route": with_route("fault: {delay: {fixedDelay: 2s, percentage: {value: 10}}}"),
    "redirect": http("redirect: {uri: /v2}"),
    "directResponse": http("directResponse: {status: 404}"),
    "root route with delegate": http("delegate: {name: reviews-delegate}"),
}


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_route_action(name: str) -> None:
    check(MISSING[name], "missing-route-action")


@pytest.mark.parametrize("name", sorted(NOT_MISSING))
def test_route_action_present(name: str) -> None:
    check(NOT_MISSING[name], "missing-route-action")


# ---- invalid-match ---------------------------------------------------------------------

MATCH_BAD = {
    "null header match": with_route("""
        match:
        - headers:
            x-user:  @
    """),
    "empty header prefix": with_route("""
        match:
        - headers:
            x-user: {prefix: ""}  @
    """),
    "empty withoutHeaders prefix": with_route("""
        match:
        - withoutHeaders:
            x-user:
              prefix: ''  @
    """),
    "empty queryParams prefix": with_route("""
        match:
        - queryParams:
            page: {prefix: ""}  @
    """),
    "empty scheme, method and authority prefixes": with_route("""
        match:
        - scheme: {prefix: ""}  @
          method: {prefix: ""}  @
          authority: {prefix: ""}  @
    """),
    "sourceNamespace with capitals": with_route("""
        match:
        - sourceNamespace: Frontend  @
    """),
    "sourceNamespace with a dot": with_route("""
        match:
        - sourceNamespace: front.end  @
    """),
}

MATCH_OK = {
    "header presence and exact": with_route("""
        match:
        - headers:
            x-user: {}
            x-group: {exact: admins}
    """),
    "empty uri prefix is allowed": with_route("""
        match:
        - uri: {prefix: ""}
    """),
    "null prefix is unset": with_route("""
        match:
        - headers:
            x-user:
              prefix:
    """),
    "non-empty prefixes": with_route("""
        match:
        - scheme: {prefix: http}
          method: {exact: GET}
          authority: {prefix: api.}
          queryParams:
            page: {prefix: "1"}
    """),
    "valid sourceNamespace": with_route("""
        match:
        - sourceNamespace: frontend
    """),
}


@pytest.mark.parametrize("name", sorted(MATCH_BAD))
def test_invalid_match(name: str) -> None:
    check(MATCH_BAD[name], "invalid-match")


@pytest.mark.parametrize("name", sorted(MATCH_OK))
def test_valid_match(name: str) -> None:
    check(MATCH_OK[name], "invalid-match")


def test_match_fixes() -> None:
    after = fixed(MATCH_BAD["sourceNamespace with capitals"], "invalid-match", "Change to `frontend`")
    assert "sourceNamespace: frontend" in after
    after = fixed(MATCH_BAD["empty header prefix"], "invalid-match", "Match any value")
    assert 'x-user: {regex: ".*"}' in after


# ---- invalid-fault ---------------------------------------------------------------------

FAULT_BAD = {
    "neither abort nor delay": with_route("fault: {}  @"),
    "httpStatus too high": with_route("""
        fault:
          abort:
            httpStatus: 700  @
    """),
    "httpStatus too low": with_route("""
        fault:
          abort: {httpStatus: 199}  @
    """),
    "grpcStatus by number": with_route("""
        fault:
          abort:
            grpcStatus: "14"  @
    """),
    "grpcStatus lowercase": with_route("""
        fault:
          abort:
            grpcStatus: unavailable  @
    """),
    "http2Error": with_route("""
        fault:
          abort:
            http2Error: REFUSED_STREAM  @
    """),
    "exponentialDelay": with_route("""
        fault:
          delay:
            exponentialDelay: 2s  @
    """),
}

FAULT_OK = {
    "delay only": with_route("fault: {delay: {fixedDelay: 2s, percentage: {value: 10}}}"),
    "httpStatus 600 passes Istio's check": with_route("fault: {abort: {httpStatus: 600}}"),
    "httpStatus 200": with_route("fault: {abort: {httpStatus: 200}}"),
    "grpcStatus name": with_route("fault: {abort: {grpcStatus: UNAVAILABLE}}"),
    "fixedDelay": with_route("fault: {delay: {fixedDelay: 2s}}"),
    "percentage": with_route("fault: {delay: {fixedDelay: 2s, percentage: {value: 0.5}}}"),
}

FAULT_WARN = {
    "abort without error type": with_route("""
        fault:
          abort:  @
            percentage: {value: 10}
    """),
    "deprecated delay percent": with_route("""
        fault:
          delay:
            fixedDelay: 2s
            percent: 10  @
    """),
}


@pytest.mark.parametrize("name", sorted(FAULT_BAD))
def test_invalid_fault(name: str) -> None:
    findings = check(FAULT_BAD[name], "invalid-fault")
    assert {f.severity for f in findings} == {Severity.ERROR}


@pytest.mark.parametrize("name", sorted(FAULT_WARN))
def test_fault_warnings(name: str) -> None:
    findings = check(FAULT_WARN[name], "invalid-fault")
    assert {f.severity for f in findings} == {Severity.WARNING}


@pytest.mark.parametrize("name", sorted(FAULT_OK))
def test_valid_fault(name: str) -> None:
    check(FAULT_OK[name], "invalid-fault")


def test_fault_fixes() -> None:
    assert 'grpcStatus: "UNAVAILABLE"' in fixed(FAULT_BAD["grpcStatus by number"], "invalid-fault", "Did you mean")
    assert "grpcStatus: UNAVAILABLE" in fixed(FAULT_BAD["grpcStatus lowercase"], "invalid-fault", "Did you mean")
    assert "fixedDelay: 2s" in fixed(FAULT_BAD["exponentialDelay"], "invalid-fault", "Use `fixedDelay`")
    assert "percentage: {value: 10}" in fixed(
        FAULT_WARN["deprecated delay percent"], "invalid-fault", "Use `percentage"
    )


# ---- invalid-mirror --------------------------------------------------------------------

MIRROR_BAD = {
    "mirror host *": with_route('mirror: {host: "*"}  @'),
    "mirror host invalid": with_route("""
        mirror:
          host: reviews_v2.shop  @
    """),
    "mirror subset invalid": with_route("""
        mirror:
          host: reviews
          subset: v1.0  @
    """),
    "null mirrors entry": with_route("""
        mirrors:
        -  @
    """),
    "mirrors destination host *": with_route("""
        mirrors:
        - destination:
            host: "*"  @
    """),
}

MIRROR_OK = {
    "no destination is missing-required-field's": with_route("""
        mirrors:
        - percentage: {value: 5}
    """),
    "valid mirror": with_route("mirror: {host: reviews-shadow.shop.svc.cluster.local, subset: v2}"),
    "valid mirrors": with_route("""
        mirrors:
        - destination: {host: reviews-shadow, subset: v2}
          percentage: {value: 5}
    """),
    "wildcard mirror host is a domain": with_route('mirror: {host: "*.example.com"}'),
}


@pytest.mark.parametrize("name", sorted(MIRROR_BAD))
def test_invalid_mirror(name: str) -> None:
    check(MIRROR_BAD[name], "invalid-mirror")


@pytest.mark.parametrize("name", sorted(MIRROR_OK))
def test_valid_mirror(name: str) -> None:
    check(MIRROR_OK[name], "invalid-mirror")


# ---- invalid-redirect ------------------------------------------------------------------

REDIRECT_BAD = {
    "nothing to change": http("""
        redirect:  @
          redirectCode: 301
    """),
    "uri and prefixRewrite": http("""
        match:
        - uri: {prefix: /old}
        redirect:
          uri: /new
          prefixRewrite: /new  @
    """),
    "prefixRewrite without prefix match": http("""
        match:
        - uri: {prefix: /old}
        - uri: {exact: /legacy}  @
        redirect:
          prefixRewrite: /new
    """),
    "redirect code not 3xx": http("""
        redirect:
          uri: /new
          redirectCode: 200  @
    """),
    "scheme ftp": http("""
        redirect:
          scheme: ftp  @
    """),
    "scheme uppercase": http("""
        redirect:
          scheme: HTTPS  @
    """),
}

REDIRECT_OK = {
    "uri": http("redirect: {uri: /new, redirectCode: 308}"),
    "port only": http("redirect: {port: 8443}"),
    "derivePort only": http("redirect: {derivePort: FROM_PROTOCOL_DEFAULT}"),
    "authority only": http("redirect: {authority: new.example.com}"),
    "prefixRewrite with prefix matches": http("""
        match:
        - uri: {prefix: /old}
        - headers: {x-legacy: {exact: "1"}}
        redirect:
          prefixRewrite: /new
    """),
    "https scheme": http("redirect: {scheme: https}"),
}


@pytest.mark.parametrize("name", sorted(REDIRECT_BAD))
def test_invalid_redirect(name: str) -> None:
    check(REDIRECT_BAD[name], "invalid-redirect")


@pytest.mark.parametrize("name", sorted(REDIRECT_OK))
def test_valid_redirect(name: str) -> None:
    check(REDIRECT_OK[name], "invalid-redirect")


def test_redirect_scheme_fix() -> None:
    assert "scheme: https" in fixed(REDIRECT_BAD["scheme uppercase"], "invalid-redirect", "Change to `https`")


# ---- invalid-direct-response -----------------------------------------------------------


def direct(status: str = "200", body: str = "") -> str:
    return http(f"directResponse:\n  status: {status}  @\n" + body)


def test_direct_response_status() -> None:
    check(direct("199"), "invalid-direct-response")
    check(direct("601"), "invalid-direct-response")
    check(http("directResponse: {status: 200}"), "invalid-direct-response")
    check(http("directResponse: {status: 600}"), "invalid-direct-response")


def test_direct_response_body_size() -> None:
    large = http("directResponse:\n  status: 200\n  body:  @\n    string: " + "a" * (1024 * 1024 + 1))
    [finding] = check(large, "invalid-direct-response")
    assert finding.severity is Severity.ERROR
    medium = http("directResponse:\n  status: 200\n  body:  @\n    string: " + "a" * (100 * 1024 + 1))
    [finding] = check(medium, "invalid-direct-response")
    assert finding.severity is Severity.WARNING
    encoded = base64.b64encode(b"x" * (200 * 1024)).decode()
    as_bytes = http("directResponse:\n  status: 200\n  body:  @\n    bytes: " + encoded)
    [finding] = check(as_bytes, "invalid-direct-response")
    assert finding.severity is Severity.WARNING
    small = http("directResponse:\n  status: 200\n  body:\n    string: " + "a" * (100 * 1024))
    check(small, "invalid-direct-response")


# ---- invalid-retries -------------------------------------------------------------------

RETRIES_BAD = {
    "negative attempts": with_route("""
        retries:
          attempts: -1  @
    """),
    "attempts 0 with perTryTimeout": with_route("""
        retries:
          attempts: 0  @
          perTryTimeout: 2s
    """),
    "attempts 0 with retryRemoteLocalities": with_route("""
        retries:
          attempts: 0  @
          retryRemoteLocalities: false
    """),
    "attempts missing with retryOn": with_route("""
        retries:  @
          retryOn: 5xx
    """),
    "unknown retryOn condition": with_route("""
        retries:
          attempts: 3
          retryOn: 5xx,gateway_error  @
    """),
    "spaces in retryOn": with_route("""
        retries:
          attempts: 3
          retryOn: "5xx, connect-failure"  @
    """),
    "trailing comma and unknown status": with_route("""
        retries:
          attempts: 3
          retryOn: 5xx,599,  @
    """),
}

RETRIES_OK = {
    "attempts 0 alone disables retries": with_route("retries: {attempts: 0}"),
    "full policy": with_route("""
        retries:
          attempts: 3
          perTryTimeout: 2s
          retryOn: 5xx,gateway-error,reset,503,retriable-4xx,unavailable,cancelled
          retryRemoteLocalities: true
    """),
    "attempts only": with_route("retries: {attempts: 2}"),
}


@pytest.mark.parametrize("name", sorted(RETRIES_BAD))
def test_invalid_retries(name: str) -> None:
    check(RETRIES_BAD[name], "invalid-retries")


@pytest.mark.parametrize("name", sorted(RETRIES_OK))
def test_valid_retries(name: str) -> None:
    check(RETRIES_OK[name], "invalid-retries")


def test_retries_fixes() -> None:
    after = fixed(RETRIES_BAD["spaces in retryOn"], "invalid-retries", "Change to")
    assert 'retryOn: "5xx,connect-failure"' in after
    after = fixed(RETRIES_BAD["unknown retryOn condition"], "invalid-retries", "Change to")
    assert "retryOn: 5xx,gateway-error" in after
    after = fixed(RETRIES_BAD["attempts missing with retryOn"], "invalid-retries", "Set `attempts: 2`")
    assert "\n      attempts: 2\n      retryOn: 5xx\n" in after
    flow = with_route("retries: {retryOn: 5xx}")
    assert "retries: {attempts: 2, retryOn: 5xx}" in fixed(flow, "invalid-retries", "Set `attempts: 2`")


# ---- invalid-rewrite -------------------------------------------------------------------

REWRITE_BAD = {
    "uri and uriRegexRewrite": with_route("""
        rewrite:
          uri: /v2
          uriRegexRewrite:  @
            match: ^/v1/(.*)
            rewrite: /v2/\\1
    """),
    "nothing to rewrite": with_route("rewrite: {}  @"),
    "empty uri only": with_route('rewrite: {uri: ""}  @'),
    "uriRegexRewrite without rewrite": with_route("""
        rewrite:
          uriRegexRewrite:  @
            match: ^/v1/(.*)
    """),
}

REWRITE_OK = {
    "uri": with_route("rewrite: {uri: /v2}"),
    "authority": with_route("rewrite: {authority: reviews.internal}"),
    "uriRegexRewrite": with_route("""
        rewrite:
          uriRegexRewrite:
            match: ^/v1/(.*)
            rewrite: /v2/\\1
    """),
}


@pytest.mark.parametrize("name", sorted(REWRITE_BAD))
def test_invalid_rewrite(name: str) -> None:
    check(REWRITE_BAD[name], "invalid-rewrite")


@pytest.mark.parametrize("name", sorted(REWRITE_OK))
def test_valid_rewrite(name: str) -> None:
    check(REWRITE_OK[name], "invalid-rewrite")


# ---- invalid-cors ----------------------------------------------------------------------

CORS_BAD = {
    "empty exact origin": with_route("""
        corsPolicy:
          allowOrigins:
          - exact: ""  @
    """),
    "origin without match": with_route("""
        corsPolicy:
          allowOrigins:
          - {}  @
    """),
    "lowercase method": with_route("""
        corsPolicy:
          allowMethods:
          - GET
          - post  @
    """),
    "unknown method": with_route("""
        corsPolicy:
          allowMethods: [PURGE]  @
    """),
    "invalid allowHeaders": with_route("""
        corsPolicy:
          allowHeaders:
          - x-user id  @
    """),
    "empty exposeHeaders": with_route("""
        corsPolicy:
          exposeHeaders:
          - ""  @
    """),
}

CORS_OK = {
    "full policy": with_route("""
        corsPolicy:
          allowOrigins:
          - exact: https://shop.example.com
          - prefix: https://dev.
          - regex: "https://.*\\\\.example\\\\.com"
          allowMethods: [GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE]
          allowHeaders: [x-user-id, authorization]
          exposeHeaders: ["*"]
          maxAge: 24h
    """),
    "wildcard method": with_route("corsPolicy: {allowMethods: ['*']}"),
    "empty regex is invalid-regex's": with_route("""
        corsPolicy:
          allowOrigins:
          - regex: ""
    """),
}


@pytest.mark.parametrize("name", sorted(CORS_BAD))
def test_invalid_cors(name: str) -> None:
    check(CORS_BAD[name], "invalid-cors")


@pytest.mark.parametrize("name", sorted(CORS_OK))
def test_valid_cors(name: str) -> None:
    check(CORS_OK[name], "invalid-cors")


def test_cors_method_fix() -> None:
    assert "- POST" in fixed(CORS_BAD["lowercase method"], "invalid-cors", "Change to `POST`")


# ---- invalid-route-destination ---------------------------------------------------------

DESTINATION_BAD = {
    "null entry": http("""
        route:
        - destination: {host: reviews}
          weight: 100
        -  @
    """),
    "host *": http("""
        route:
        - destination:
            host: "*"  @
    """),
    "host is an IP address": http("""
        route:
        - destination:
            host: 10.0.0.12  @
    """),
    "host not a domain": http("""
        route:
        - destination:
            host: reviews_v1  @
    """),
    "subset not a DNS label": http("""
        route:
        - destination:
            host: reviews
            subset: V1  @
    """),
    "negative weight": http("""
        route:
        - destination: {host: reviews, subset: v1}
          weight: 110
        - destination: {host: reviews, subset: v2}
          weight: -10  @
    """),
    "several destinations without weights": http("""
        route:  @
        - destination: {host: reviews, subset: v1}
        - destination: {host: reviews, subset: v2}
    """),
    "tls route destinations": vs("""
        hosts: [db.example.com]
        tls:
        - match:
          - sniHosts: [db.example.com]
          route:
          - destination:
              host: "*"  @
    """),
    "tcp route weights": vs("""
        hosts: [db]
        tcp:
        - route:  @
          - destination: {host: db, subset: a}
            weight: 0
          - destination: {host: db, subset: b}
    """),
}

DESTINATION_OK = {
    "no destination is missing-required-field's": http("""
        route:
        - weight: 100
    """),
    "weights need not add up to 100": http("""
        route:
        - destination: {host: reviews, subset: v1}
          weight: 80
        - destination: {host: reviews, subset: v2}
          weight: 30
    """),
    "one destination with weight 0": http("""
        route:
        - destination: {host: reviews}
          weight: 0
    """),
    "one weighted destination of two": http("""
        route:
        - destination: {host: reviews, subset: v1}
          weight: 10
        - destination: {host: reviews, subset: v2}
    """),
    "fqdn and wildcard hosts": http("""
        route:
        - destination: {host: reviews.shop.svc.cluster.local, subset: v1-beta}
          weight: 50
        - destination: {host: "*.example.com"}
          weight: 50
    """),
}


@pytest.mark.parametrize("name", sorted(DESTINATION_BAD))
def test_invalid_route_destination(name: str) -> None:
    check(DESTINATION_BAD[name], "invalid-route-destination")


@pytest.mark.parametrize("name", sorted(DESTINATION_OK))
def test_valid_route_destination(name: str) -> None:
    check(DESTINATION_OK[name], "invalid-route-destination")


def test_destination_subset_fix() -> None:
    after = fixed(DESTINATION_BAD["subset not a DNS label"], "invalid-route-destination", "Change to `v1`")
    assert "subset: v1" in after


def test_gateway_api_routes_skip_host_checks() -> None:
    header = HEADER + "  annotations:\n    internal.istio.io/gateway-semantics: gateway\n"
    text = vs(
        """
        hosts: [reviews]
        http:
        - route:
          - destination: {host: "*"}
        """,
        header,
    )
    check(text, "invalid-route-destination")


# ---- invalid-tls-route -----------------------------------------------------------------


def tls(hosts: str, rule: str, gateways: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(rule).strip("\n"), "  ")
    return vs(f"hosts: {hosts}\n{gateways}tls:\n- " + body[2:] + "\n")


TLS_ROUTE = "route:\n- destination: {host: web}"

TLS_BAD = {
    "empty match list": tls("[web.example.com]", "match: []  @\n" + TLS_ROUTE),
    "null match entry": tls("[web.example.com]", "match:\n-  @\n" + TLS_ROUTE),
    "empty sniHosts": tls("[web.example.com]", "match:\n- sniHosts: []  @\n" + TLS_ROUTE),
    "invalid SNI host": tls("[web.example.com]", "match:\n- sniHosts: [web_1.example.com]  @\n" + TLS_ROUTE),
    "SNI host outside the hosts": tls("[api.example.com]", "match:\n- sniHosts: [web.example.com]  @\n" + TLS_ROUTE),
    "wildcard SNI wider than the host": tls(
        "[a.example.com]", "match:\n- sniHosts: ['*.example.com']  @\n" + TLS_ROUTE
    ),
    "invalid destination subnet": tls(
        "[web.example.com]",
        "match:\n- sniHosts: [web.example.com]\n  destinationSubnets: [10.0.0.0/8, 10.0.0.0/33]  @\n" + TLS_ROUTE,
    ),
    "no route": tls("[web.example.com]", "match:  @\n- sniHosts: [web.example.com]"),
    "outbound SNI on a mesh VirtualService": tls(
        "['*']",
        "match:\n- sniHosts: [outbound_.443_._.web.shop.svc.cluster.local]  @\n" + TLS_ROUTE,
        "gateways: [mesh]\n",
    ),
}

TLS_OK = {
    # absent required fields are missing-required-field's: the API server rejects them before the webhook
    "no match": tls("[web.example.com]", TLS_ROUTE),
    "no sniHosts": tls("[web.example.com]", "match:\n- port: 443\n" + TLS_ROUTE),
    "SNI host listed": tls("[web.example.com]", "match:\n- sniHosts: [web.example.com]\n" + TLS_ROUTE),
    "SNI host under a wildcard host": tls("['*.example.com']", "match:\n- sniHosts: [web.example.com]\n" + TLS_ROUTE),
    "narrower wildcard SNI": tls("['*.example.com']", "match:\n- sniHosts: ['*.api.example.com']\n" + TLS_ROUTE),
    "valid subnets": tls(
        "[web.example.com]",
        "match:\n- sniHosts: [web.example.com]\n  destinationSubnets: [10.0.0.0/8, 192.168.1.1, 'fd00::/8']\n"
        + TLS_ROUTE,
    ),
    "outbound SNI on a gateway": tls(
        "['outbound_.443_._.web.shop.svc.cluster.local']",
        "match:\n- sniHosts: [outbound_.443_._.web.shop.svc.cluster.local]\n" + TLS_ROUTE,
        "gateways: [istio-system/egress]\n",
    ),
}


@pytest.mark.parametrize("name", sorted(TLS_BAD))
def test_invalid_tls_route(name: str) -> None:
    findings = check(TLS_BAD[name], "invalid-tls-route")
    assert {f.severity for f in findings} == {Severity.ERROR}


@pytest.mark.parametrize("name", sorted(TLS_OK))
def test_valid_tls_route(name: str) -> None:
    check(TLS_OK[name], "invalid-tls-route")


def test_ip_sni_host_is_a_warning() -> None:
    text = tls("[web.example.com]", "match:\n- sniHosts: [10.0.0.1]  @\n" + TLS_ROUTE)
    [finding] = check(text, "invalid-tls-route")
    assert finding.severity is Severity.WARNING


# ---- invalid-tcp-route -----------------------------------------------------------------

TCP_ROUTE = "  route:\n  - destination: {host: mongo}"

TCP_BAD = {
    "null match entry": vs("hosts: [mongo]\ntcp:\n- match:\n  -  @\n" + TCP_ROUTE),
    "invalid subnet": vs("hosts: [mongo]\ntcp:\n- match:\n  - destinationSubnets: [10.0.0]  @\n" + TCP_ROUTE),
    "no route": vs("hosts: [mongo]\ntcp:\n- match:  @\n  - port: 27017"),
    "empty route": vs("hosts: [mongo]\ntcp:\n- route: []  @"),
}

TCP_OK = {
    "match and route": vs("hosts: [mongo]\ntcp:\n- match:\n  - port: 27017\n" + TCP_ROUTE),
    "valid subnets": vs(
        "hosts: [mongo]\ntcp:\n- match:\n  - destinationSubnets: [10.1.0.0/16, 10.2.0.1]\n" + TCP_ROUTE
    ),
    "route only": vs("hosts: [mongo]\ntcp:\n-" + TCP_ROUTE[1:]),
}


@pytest.mark.parametrize("name", sorted(TCP_BAD))
def test_invalid_tcp_route(name: str) -> None:
    check(TCP_BAD[name], "invalid-tcp-route")


@pytest.mark.parametrize("name", sorted(TCP_OK))
def test_valid_tcp_route(name: str) -> None:
    check(TCP_OK[name], "invalid-tcp-route")


# ---- authority-set-twice ---------------------------------------------------------------

AUTHORITY_BAD = {
    "rewrite and set host": with_route("""
        rewrite: {authority: reviews.internal}
        headers:
          request:
            set:
              Host: reviews.example.com  @
    """),
    "set and add :authority": with_route("""
        headers:
          request:
            set:
              ":authority": a.example.com
            add:
              host: b.example.com  @
    """),
}

AUTHORITY_OK = {
    "rewrite only": with_route("rewrite: {authority: reviews.internal}"),
    "set host only": with_route("headers: {request: {set: {host: reviews.example.com}}}"),
    "rewrite and other headers": with_route("""
        rewrite: {authority: reviews.internal}
        headers:
          request:
            set: {x-forwarded-host: reviews.example.com}
          response:
            set: {host-info: x}
    """),
}


@pytest.mark.parametrize("name", sorted(AUTHORITY_BAD))
def test_authority_set_twice(name: str) -> None:
    check(AUTHORITY_BAD[name], "authority-set-twice")


@pytest.mark.parametrize("name", sorted(AUTHORITY_OK))
def test_authority_set_once(name: str) -> None:
    check(AUTHORITY_OK[name], "authority-set-twice")


# ---- scope -----------------------------------------------------------------------------

VS_ROUTE_CODES = {
    "conflicting-route-actions",
    "missing-route-action",
    "invalid-match",
    "invalid-fault",
    "invalid-mirror",
    "invalid-redirect",
    "invalid-direct-response",
    "invalid-retries",
    "invalid-rewrite",
    "invalid-cors",
    "invalid-route-destination",
    "invalid-tls-route",
    "invalid-tcp-route",
    "authority-set-twice",
}


def test_other_api_groups_are_not_checked() -> None:
    text = CONFLICTS["redirect with route"].replace("networking.istio.io/v1", "example.com/v1").replace("@", "")
    assert not [f for f in findings_for(text) if f.code in VS_ROUTE_CODES]


def test_wrong_shapes_do_not_crash(caplog: pytest.LogCaptureFixture) -> None:
    text = vs("""
        hosts: [reviews]
        http:
        - route: reviews
          redirect: [a]
          retries: 3
          fault: {abort: 503, delay: [1s]}
          corsPolicy: {allowOrigins: [x], allowMethods: {a: b}}
          match: [null, {headers: [a], sourceNamespace: [x]}]
        -
        - 42
        tls: [null, {match: x, route: {a: b}}]
        tcp: oops
    """)
    with caplog.at_level(logging.ERROR):
        findings_for(text)
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert not [m for m in failed if any(code in m for code in VS_ROUTE_CODES)], failed


def test_every_failing_case_marks_a_line_and_no_passing_case_does() -> None:
    failing = [CONFLICTS, MISSING, MATCH_BAD, FAULT_BAD, FAULT_WARN, MIRROR_BAD, REDIRECT_BAD, RETRIES_BAD]
    failing += [REWRITE_BAD, CORS_BAD, DESTINATION_BAD, TLS_BAD, TCP_BAD, AUTHORITY_BAD]
    passing = [NO_CONFLICTS, NOT_MISSING, MATCH_OK, FAULT_OK, MIRROR_OK, REDIRECT_OK, RETRIES_OK, REWRITE_OK]
    passing += [CORS_OK, DESTINATION_OK, TLS_OK, TCP_OK, AUTHORITY_OK]
    assert all("@" in text for table in failing for text in table.values())
    assert not any("@" in text for table in passing for text in table.values())
