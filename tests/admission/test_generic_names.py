"""The generic name rules: invalid-regex, invalid-header, invalid-labels, invalid-selector,
empty-selector and invalid-export-to.

Lines a rule must report end with `#!`; a case without `#!` is a valid variant.
"""

from __future__ import annotations

import pytest

from istio_lsp.checks import Severity
from istio_lsp.checks.admission.common import re2_available
from tests.admission.test_generic import SECURITY, expect, fixed, marked, only, res, vs

ROUTE = "  route:\n  - destination: {host: r}"


def match(body: str) -> str:
    """A VirtualService whose only rule has the given match entries (YAML under `match:`)."""
    indented = "\n".join("  " + line for line in body.strip("\n").splitlines())
    return vs(f"hosts: [r]\nhttp:\n- match:\n{indented}\n{ROUTE}")


CASES = [
    # ---- invalid-regex ---------------------------------------------------------------------
    ("invalid-regex", match('- uri:\n    regex: "/api/(v1|v2"  #!')),
    ("invalid-regex", match('- uri:\n    regex: "/api/(v1|v2)/.*"')),
    (
        "invalid-regex",
        match(
            """
            - scheme: {regex: "https?"}
              method: {regex: "GET|HEAD"}
              authority: {regex: "(shop|store)[.]example[.]com"}
              headers:
                x-id: {regex: "^[0-9a-f]{8}$"}
              withoutHeaders:
                x-debug: {regex: "*"}
              queryParams:
                page: {regex: "[0-9]+"}
            """.replace("            ", "")
        ),
    ),
    (
        "invalid-regex",
        match(
            """
            - scheme: {regex: "https?)"}  #!
              method: {regex: ""}  #!
              authority: {regex: "[a-"}  #!
              headers:
                x-id: {regex: "(?=admin).*"}  #!
                x-any: {regex: "*"}  #!
              withoutHeaders:
                x-trace: {regex: "(a)\\\\1"}  #!
              queryParams:
                page: {regex: "a{2,1}"}  #!
            """.replace("            ", "")
        ),
    ),
    (
        "invalid-regex",
        vs(
            """
            hosts: [r]
            http:
            - rewrite:
                uriRegexRewrite: {match: "^/v1/(.*", rewrite: "/v2/\\\\1"}  #!
              corsPolicy:
                allowOrigins:
                - regex: "https://(.*[.]example[.]com"  #!
                - exact: https://example.com
              route:
              - destination: {host: r}
            """
        ),
    ),
    (
        "invalid-regex",
        vs(
            """
            hosts: [r]
            http:
            - rewrite:
                uriRegexRewrite: {match: "^/v1/(.*)$", rewrite: "/v2/\\\\1"}
              corsPolicy:
                allowOrigins:
                - regex: "https://.*[.]example[.]com"
              route:
              - destination: {host: r}
            """
        ),
    ),
    # ---- invalid-header ------------------------------------------------------------------------
    (
        "invalid-header",
        match(
            """
            - headers:
                "x user": {exact: admin}  #!
                "": {exact: x}  #!
              withoutHeaders:
                "x(debug)": {exact: "1"}  #!
            """.replace("            ", "")
        ),
    ),
    (
        "invalid-header",
        match(
            """
            - headers:
                x-user: {exact: admin}
                ":authority": {exact: shop.example.com}
                "x-custom_Header.v1": {prefix: a}
              withoutHeaders:
                x-debug: {exact: "1"}
            """.replace("            ", "")
        ),
    ),
    (
        "invalid-header",
        match('- headers:\n    "@request.auth.claims.group": {exact: admin}  #!'),
    ),
    (
        "invalid-header",
        vs(
            """
            hosts: [r]
            gateways: [istio-system/public]
            http:
            - match:
              - headers:
                  "@request.auth.claims.group": {exact: admin}
                  "@request.auth.claims[groups]": {exact: admin}
              route:
              - destination: {host: r}
            """
        ),
    ),
    (
        "invalid-header",
        vs(
            """
            hosts: [r]
            gateways: [istio-system/public, mesh]
            http:
            - match:
              - withoutHeaders:
                  "@request.auth.claims.group": {exact: admin}  #!
              route:
              - destination: {host: r}
            """
        ),
    ),
    (
        "invalid-header",
        vs(
            """
            hosts: [r]
            http:
            - headers:
                request:
                  set:
                    ":path": /v2  #!
                    x-discount: "50%"  #!
                    x-bell: "a\\x07b"  #!
                  remove: [Host]  #!
                response:
                  add: {host: example.com}  #!
                  set: {":status": "200"}  #!
              route:
              - destination: {host: r}
                headers:
                  response:
                    remove: [":authority"]  #!
            """
        ),
    ),
    (
        "invalid-header",
        vs(
            """
            hosts: [r]
            http:
            - headers:
                request:
                  set:
                    ":authority": shop.example.com
                    x-client: "%DOWNSTREAM_REMOTE_ADDRESS%"
                    x-discount: "50%%"
                    x-tab: "a\\tb"
                  add: {host: internal.example.com}
                  remove: [x-debug]
                response:
                  set: {x-id: "%REQ(x-request-id)%"}
                  remove: [server]
              route:
              - destination: {host: r}
                headers:
                  request:
                    add: {x-route: primary}
            """
        ),
    ),
    # ---- invalid-labels ------------------------------------------------------------------------
    (
        "invalid-labels",
        res(
            "DestinationRule",
            """
            host: reviews
            subsets:
            - name: v2
              labels:
                version: "2.0 beta"  #!
                -tier: web  #!
                example.com/team_: a  #!
            - name: v3
              labels:
                version: 3.0-rc.1
                app.kubernetes.io/name: reviews
                track: ""
            """,
        ),
    ),
    (
        "invalid-labels",
        res("DestinationRule", "host: reviews\nsubsets:\n- name: v1\n  labels: {version: v1, app: reviews}"),
    ),
    (
        "invalid-labels",
        vs(
            """
            hosts: [r]
            http:
            - match:
              - sourceLabels: {app: "front end"}  #!
              route:
              - destination: {host: r}
            tcp:
            - match:
              - sourceLabels: {"app/": web}  #!
              route:
              - destination: {host: r}
            """
        ),
    ),
    (
        "invalid-labels",
        vs("hosts: [r]\nhttp:\n- match:\n  - sourceLabels: {app: frontend, version: v1}\n" + ROUTE),
    ),
    (
        "invalid-labels",
        res(
            "ServiceEntry",
            """
            hosts: [db.example.com]
            ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
            resolution: STATIC
            endpoints:
            - address: 10.0.0.1
              labels: {zone: "eu west"}  #!
            - address: 10.0.0.2
              labels: {zone: eu-west}
            """,
        ),
    ),
    # ---- invalid-selector / empty-selector ---------------------------------------------------------
    (
        "invalid-selector",
        res("AuthorizationPolicy", 'selector:\n  matchLabels:\n    app: "reviews-*"  #!\nrules:\n- {}', api=SECURITY),
    ),
    (
        "invalid-selector",
        res("AuthorizationPolicy", "selector:\n  matchLabels:\n    app: reviews\nrules:\n- {}", api=SECURITY),
    ),
    (
        "invalid-selector",
        res(
            "PeerAuthentication",
            'selector:\n  matchLabels:\n    "team/*": a  #!\n    "": b  #!\nmtls: {mode: STRICT}',
            api=SECURITY,
        ),
    ),
    (
        "invalid-selector",
        res(
            "RequestAuthentication",
            "selector:\n  matchLabels: {app: '*'}  #!\njwtRules:\n- issuer: https://a.example.com",
            api=SECURITY,
        ),
    ),
    (
        "invalid-selector",
        res("DestinationRule", "host: reviews\nworkloadSelector:\n  matchLabels: {app: '*'}  #!"),
    ),
    (
        "invalid-selector",
        res("Sidecar", "workloadSelector:\n  labels: {app: 'web*'}  #!\negress:\n- hosts: ['./*']"),
    ),
    (
        "invalid-selector",
        res(
            "ServiceEntry",
            "hosts: [vm.example.com]\nports: [{number: 80, name: http, protocol: HTTP}]\nresolution: STATIC\n"
            "workloadSelector:\n  labels: {'*': vm}  #!",
        ),
    ),
    (
        "invalid-selector",
        res("Sidecar", "workloadSelector:\n  labels: {app: web}\negress:\n- hosts: ['./*']"),
    ),
    ("empty-selector", res("AuthorizationPolicy", "selector: {}  #!\nrules:\n- {}", api=SECURITY)),
    (
        "empty-selector",
        res("PeerAuthentication", "selector:  #!\n  matchLabels: {}\nmtls: {mode: STRICT}", api=SECURITY),
    ),
    ("empty-selector", res("Sidecar", "workloadSelector:  #!\n  labels: {}\negress:\n- hosts: ['./*']")),
    ("empty-selector", res("DestinationRule", "host: reviews\nworkloadSelector: {}  #!")),
    ("empty-selector", res("PeerAuthentication", "mtls: {mode: STRICT}", api=SECURITY)),
    ("empty-selector", res("PeerAuthentication", "selector:\nmtls: {mode: STRICT}", api=SECURITY)),
    (
        "empty-selector",
        res("RequestAuthentication", "selector:\n  matchLabels: {app: web}\njwtRules: []", api=SECURITY),
    ),
    # ---- invalid-export-to ------------------------------------------------------------------------
    (
        "invalid-export-to",
        vs('hosts: [r]\nexportTo: [".", "frontend"]\n' + "http:\n- route:\n  - destination: {host: r}"),
    ),
    (
        "invalid-export-to",
        vs('hosts: [r]\nexportTo:\n- "~"  #!\nhttp:\n- route:\n  - destination: {host: r}'),
    ),
    (
        "invalid-export-to",
        vs('hosts: [r]\nexportTo:\n- "."\n- team_a  #!\n- shop  #!\nhttp:\n- route:\n  - destination: {host: r}'),
    ),
    ("invalid-export-to", res("DestinationRule", 'host: r\nexportTo:\n- "*"  #!\n- frontend')),
    (
        "invalid-export-to",
        res(
            "ServiceEntry",
            'hosts: [a.example.com]\nports: [{number: 80, name: http, protocol: HTTP}]\nexportTo: ["~"]',
        ),
    ),
    (
        "invalid-export-to",
        res(
            "ServiceEntry",
            'hosts: [a.example.com]\nports: [{number: 80, name: http}]\nexportTo:\n- "~"  #!\n- "."',
        ),
    ),
    ("invalid-export-to", res("DestinationRule", "host: r\nexportTo:\n- Frontend  #!")),
]


@pytest.mark.parametrize(("code", "text"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_case(code: str, text: str) -> None:
    if code == "invalid-regex" and not re2_available():  # pragma: no cover - google-re2 is a dependency
        pytest.skip("RE2 is not installed")
    expect(code, text)


def test_every_code_has_failing_and_passing_cases() -> None:
    for code in {c for c, _ in CASES}:
        assert {bool(marked(t)) for c, t in CASES if c == code} == {True, False}, code


def test_invalid_regex_quotes_re2s_reason() -> None:
    (finding,) = only("invalid-regex", match('- uri:\n    regex: "/api/(v1|v2"'))
    assert finding.severity == Severity.ERROR
    assert "missing )" in finding.message


def test_lookahead_explains_what_re2_lacks() -> None:
    (finding,) = only("invalid-regex", match('- uri:\n    regex: "/(?!internal).*"'))
    assert "no look-around or backreferences" in finding.message


def test_lone_percent_is_escaped_and_commands_are_kept() -> None:
    text = vs(
        'hosts: [r]\nhttp:\n- headers:\n    response:\n      set: {x-note: "%START_TIME% 50% off"}\n'
        "  route:\n  - destination: {host: r}"
    )
    (finding,) = only("invalid-header", text)
    after = fixed(text, finding, "Escape `%` as `%%`")
    assert '"%START_TIME% 50%% off"' in after and not only("invalid-header", after)


def test_empty_selector_is_a_warning() -> None:
    (finding,) = only("empty-selector", res("AuthorizationPolicy", "selector: {}\nrules:\n- {}", api=SECURITY))
    assert finding.severity == Severity.WARNING


def test_uppercase_export_to_is_a_warning_with_a_fix() -> None:
    text = res("DestinationRule", "host: r\nexportTo:\n- Frontend")
    (finding,) = only("invalid-export-to", text)
    assert finding.severity == Severity.WARNING
    assert not only("invalid-export-to", fixed(text, finding, "Use `frontend`"))


def test_duplicate_export_to_points_at_the_repeat() -> None:
    (finding,) = only(
        "invalid-export-to", vs('hosts: [r]\nexportTo: [".", shop]\nhttp:\n- route:\n  - destination: {host: r}')
    )
    assert "twice" in finding.message
