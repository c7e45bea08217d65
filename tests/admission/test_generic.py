"""The generic webhook rules: metadata and the VirtualService top level (hosts, gateways, delegates, routes).

Each case is a small manifest; the lines a rule must report end with `#!`, and a case
without `#!` is a valid variant on which the rule must stay silent.
"""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.checks import Finding, Severity
from tests.admission.helpers import findings_for, found
from tests.casekit import apply_edits

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
MARK = "#!"


def res(kind: str, spec: str, *, api: str = NETWORKING, namespace: str = "shop", metadata: str = "") -> str:
    """A manifest of `kind` with the given spec body (dedented, indented under `spec:`)."""
    head = f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: sample\n  namespace: {namespace}\n"
    if metadata:
        head += textwrap.indent(textwrap.dedent(metadata).strip("\n"), "  ") + "\n"
    return head + "spec:\n" + textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ") + "\n"


def vs(spec: str, **kw: str) -> str:
    return res("VirtualService", spec, **kw)


def marked(text: str) -> set[int]:
    return {i for i, line in enumerate(text.splitlines()) if line.rstrip().endswith(MARK)}


def expect(code: str, text: str) -> None:
    """`code` is reported exactly on the lines marked `#!` (none: the rule stays silent)."""
    assert found(text, {code}) == {(code, line) for line in marked(text)}


def only(code: str, text: str) -> list[Finding]:
    return [f for f in findings_for(text) if f.code == code]


def fixed(text: str, finding: Finding, title: str) -> str:
    """The text after applying the finding's fix titled `title`."""
    fix = next(f for f in finding.fixes if f.title == title)
    return apply_edits({"m": text}, fix.edits, lambda uri: "m")["m"]


ROUTE = """
http:
- route:
  - destination: {host: reviews}
"""

# (code, manifest); positive cases mark their lines with #!, negative ones are valid variants
CASES = [
    # ---- invalid-metadata ---------------------------------------------------------------
    (
        "invalid-metadata",
        res("VirtualService", "hosts: [reviews]\n" + ROUTE).replace("spec:\n", "hosts: [reviews]  #!\nspec:\n"),
    ),
    ("invalid-metadata", vs("hosts: [reviews]\n" + ROUTE)),
    ("invalid-metadata", vs("hosts: [reviews]\n" + ROUTE) + "status: {}\n"),
    (
        "invalid-metadata",
        vs(
            "hosts: [reviews]\n" + ROUTE,
            metadata="annotations:\n  internal.istio.io/webhook-always-reject: 'true'  #!",
        ),
    ),
    (
        "invalid-metadata",
        vs("hosts: [reviews]\n" + ROUTE, metadata="annotations:\n  internal.istio.io/parents: x  #!"),
    ),
    ("invalid-metadata", vs("hosts: [reviews]\n" + ROUTE, metadata="annotations:\n  istio.io/dry-run: 'true'  #!")),
    (
        "invalid-metadata",
        res(
            "AuthorizationPolicy",
            "action: DENY\nrules:\n- {}",
            api=SECURITY,
            metadata="annotations:\n  istio.io/dry-run: 'true'",
        ),
    ),
    (
        "invalid-metadata",
        res("AuthorizationPolicy", "rules:\n- {}", api=SECURITY, metadata="annotations:\n  istio.io/dry-run: 'False'"),
    ),
    (
        "invalid-metadata",
        res(
            "AuthorizationPolicy",
            "action: AUDIT\nrules:\n- {}",
            api=SECURITY,
            metadata="annotations:\n  istio.io/dry-run: 'true'  #!",
        ),
    ),
    (
        "invalid-metadata",
        res("AuthorizationPolicy", "rules:\n- {}", api=SECURITY, metadata="annotations:\n  istio.io/dry-run: yes  #!"),
    ),
    # ---- invalid-virtualservice-host --------------------------------------------------------
    ("invalid-virtualservice-host", vs("hosts:\n- reviews_v2  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- reviews-v2\n- reviews.shop.svc.cluster.local\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- 10.0.0.12\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- shop.*.com  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- '*'  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- '*'  #!\ngateways: [mesh, istio-system/public]\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- '*'\ngateways: [istio-system/public]\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- '*.example.com'\n- shop.example.com  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- shop.example.com\n- '*.example.com'  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- reviews\n- reviews  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- '*.example.com'\n- '*.shop.example.com'  #!\n" + ROUTE)),
    ("invalid-virtualservice-host", vs("hosts:\n- '*.example.com'\n- example.com\n- '*.example.org'\n" + ROUTE)),
    (
        "invalid-virtualservice-host",
        vs(
            """
            hosts:
            - outbound_.9080_._.reviews.shop.svc.cluster.local
            gateways: [istio-system/passthrough]
            tls:
            - match:
              - sniHosts: [outbound_.9080_._.reviews.shop.svc.cluster.local]
              route:
              - destination: {host: reviews}
            """
        ),
    ),
    (
        "invalid-virtualservice-host",
        vs("hosts:\n- outbound_.9080_._.reviews.shop.svc.cluster.local  #!\ngateways: [istio-system/public]\n" + ROUTE),
    ),
    # ---- invalid-gateway-reference ----------------------------------------------------------
    ("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- istio-system/public\n- mesh\n" + ROUTE)),
    ("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- istio-system/  #!\n" + ROUTE)),
    ("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- istio_system/public  #!\n" + ROUTE)),
    ("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- public_gw  #!\n" + ROUTE)),
    ("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- public.istio-system  #!\n" + ROUTE)),
    ("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- Istio-System/public  #!\n" + ROUTE)),
    (
        "invalid-gateway-reference",
        vs("hosts: [reviews]\ngateways:\n- mesh\n- istio-system/public_gw  #!\n" + ROUTE),
    ),
    (
        "invalid-gateway-reference",
        vs(
            """
            hosts: [reviews]
            gateways: [mesh, istio-system/public]
            http:
            - match:
              - gateways: [istio-system/Public_GW]  #!
              route:
              - destination: {host: reviews}
            tcp:
            - match:
              - gateways: [mesh]
              route:
              - destination: {host: reviews}
            """
        ),
    ),
    # ---- invalid-delegate-virtualservice --------------------------------------------------------
    ("invalid-delegate-virtualservice", vs("gateways: [istio-system/public]  #!\n" + ROUTE)),
    ("invalid-delegate-virtualservice", vs("hosts: [reviews]\ngateways: [istio-system/public]\n" + ROUTE)),
    ("invalid-delegate-virtualservice", vs(ROUTE)),
    (
        "invalid-delegate-virtualservice",
        vs(
            """
            tcp:  #!
            - route:
              - destination: {host: reviews}
            tls:  #!
            - match:
              - sniHosts: [reviews.example.com]
              route:
              - destination: {host: reviews}
            """
        ),
    ),
    (
        "invalid-delegate-virtualservice",
        vs(
            """
            http:
            - match:
              - uri: {prefix: /reviews}
              delegate:  #!
                name: reviews-v2
                namespace: shop
            """
        ),
    ),
    (
        "invalid-delegate-virtualservice",
        vs(
            """
            hosts: [reviews]
            http:
            - match:
              - uri: {prefix: /reviews}
              delegate:
                name: reviews-v2
                namespace: shop
            """
        ),
    ),
    # ---- missing-route-rules --------------------------------------------------------------
    ("missing-route-rules", vs("hosts: [reviews]").replace("spec:\n", "spec:  #!\n")),
    ("missing-route-rules", vs("hosts: [reviews]\nhttp: []").replace("spec:\n", "spec:  #!\n")),
    ("missing-route-rules", vs("hosts: [reviews]\n" + ROUTE)),
    (
        "missing-route-rules",
        vs("hosts: [reviews]\ntcp:\n- route:\n  - destination: {host: reviews}"),
    ),
    (
        "missing-route-rules",
        vs("hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews}\n- null  #!"),
    ),
]


@pytest.mark.parametrize(("code", "text"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_case(code: str, text: str) -> None:
    expect(code, text)


def test_every_code_has_failing_and_passing_cases() -> None:
    for code in {c for c, _ in CASES}:
        kinds = {bool(marked(t)) for c, t in CASES if c == code}
        assert kinds == {True, False}, code


# ---- severities, messages and fixes ------------------------------------------------------


def test_misspelt_spec_gets_a_rename_fix() -> None:
    text = vs("hosts: [reviews]\n" + ROUTE).replace("spec:", "specs:")
    (finding,) = only("invalid-metadata", text)
    assert "Unknown top-level field `specs`" in finding.message
    after = fixed(text, finding, "Did you mean `spec`?")
    assert "\nspec:\n" in after and not only("invalid-metadata", after)


def test_dry_run_yes_is_rewritten_as_a_quoted_boolean() -> None:
    text = res("AuthorizationPolicy", "rules:\n- {}", api=SECURITY, metadata="annotations:\n  istio.io/dry-run: yes")
    (finding,) = only("invalid-metadata", text)
    after = fixed(text, finding, 'Use "true"')
    assert 'istio.io/dry-run: "true"' in after and not only("invalid-metadata", after)


def test_legacy_gateway_name_is_a_warning_with_a_fix() -> None:
    text = vs("hosts: [reviews]\ngateways:\n- public.istio-system\n" + ROUTE)
    (finding,) = only("invalid-gateway-reference", text)
    assert finding.severity == Severity.WARNING
    after = fixed(text, finding, "Use `istio-system/public`")
    assert "- istio-system/public\n" in after and not only("invalid-gateway-reference", after)


def test_entries_after_a_name_without_slash_are_warnings() -> None:
    text = vs("hosts: [reviews]\ngateways:\n- mesh\n- istio-system/public_gw\n" + ROUTE)
    (finding,) = only("invalid-gateway-reference", text)
    assert finding.severity == Severity.WARNING
    assert "skips" in finding.message


def test_uppercase_gateway_namespace_is_a_warning() -> None:
    text = vs("hosts: [reviews]\ngateways:\n- Istio-System/public\n" + ROUTE)
    (finding,) = only("invalid-gateway-reference", text)
    assert finding.severity == Severity.WARNING
    assert not only("invalid-gateway-reference", fixed(text, finding, "Use `istio-system/public`"))


def test_bad_gateway_reference_is_an_error() -> None:
    (finding,) = only("invalid-gateway-reference", vs("hosts: [reviews]\ngateways:\n- istio-system/\n" + ROUTE))
    assert finding.severity == Severity.ERROR


def test_overlapping_host_names_the_earlier_one() -> None:
    (finding,) = only("invalid-virtualservice-host", vs("hosts:\n- '*.example.com'\n- shop.example.com\n" + ROUTE))
    assert "overlaps `*.example.com`" in finding.message


def test_gateway_api_gateway_is_not_judged_as_an_istio_one() -> None:
    text = (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nextra: 1\n"
        "spec:\n  listeners:\n  - {name: http, port: 0, protocol: HTTP}\n"
    )
    assert not found(text, {"invalid-metadata", "invalid-port"})


def test_kind_list_items_are_checked() -> None:
    item = textwrap.indent(vs("hosts: [reviews_v2]\n" + ROUTE), "  ").replace("  apiVersion", "- apiVersion", 1)
    text = "apiVersion: v1\nkind: List\nitems:\n" + item
    line = next(i for i, row in enumerate(text.splitlines()) if "reviews_v2" in row)
    assert found(text, {"invalid-virtualservice-host"}) == {("invalid-virtualservice-host", line)}
