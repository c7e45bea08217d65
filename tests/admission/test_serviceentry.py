"""ServiceEntry admission rules (checklist §4), table-driven.

Each case is YAML whose lines carry the findings they expect as end-of-line markers:
`# !code` (the rule's default severity) or `# !code@warning`, comma-separated. A finding
must *start* on the marked line. Cases without markers are the valid variants: none of
the codes under test may fire on them. Every implemented checklist row has a case that
fails and a close variant that passes. test_sidecar.py and test_authorization.py reuse
the harness.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from istio_lsp.checks import RULES_BY_CODE
from tests.admission.helpers import findings_for

SE_CODES = {
    "invalid-serviceentry-host",
    "invalid-serviceentry-address",
    "invalid-serviceentry-port",
    "invalid-serviceentry-endpoint",
    "invalid-serviceentry-resolution",
    "serviceentry-addresses-required",
}

# ---- harness ----------------------------------------------------------------------

_MARK = re.compile(r"#\s*!(?P<body>[a-z0-9@,\s-]+)$")

Expected = set[tuple[str, int, str]]


def expected(yaml_text: str) -> Expected:
    out: Expected = set()
    for number, line in enumerate(textwrap.dedent(yaml_text).split("\n")):
        match = _MARK.search(line)
        if match:
            for item in match.group("body").split(","):
                code, _, severity = item.strip().partition("@")
                out.add((code, number, severity or RULES_BY_CODE[code].severity.label))
    return out


def actual(yaml_text: str, codes: set[str]) -> Expected:
    return {(f.code, f.span.start_line, f.severity.label) for f in findings_for(yaml_text) if f.code in codes}


def params(cases: dict[str, str]) -> list:
    return [pytest.param(text, id=name) for name, text in cases.items()]


def se(spec: str, resolution: str | None = "DNS", labels: str = "") -> str:
    """A ServiceEntry with `spec` (written at column 0, indented here) and, when given, a resolution."""
    meta = "  labels:\n" + textwrap.indent(textwrap.dedent(labels).strip("\n"), "    ") + "\n" if labels else ""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    tail = f"\n  resolution: {resolution}" if resolution else ""
    return (
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ext\n  namespace: shop\n"
        f"{meta}spec:\n{body}{tail}\n"
    )


HTTP_PORT = "ports: [{number: 80, name: http, protocol: HTTP}]"

# ---- cases ------------------------------------------------------------------------

CASES = {
    # hosts
    "hosts-empty": se(f"hosts: []  # !invalid-serviceentry-host\n{HTTP_PORT}"),
    "hosts-one": se(f"hosts: [api.example.com]\n{HTTP_PORT}"),
    "host-star": se(f'hosts:\n- "*"  # !invalid-serviceentry-host\n{HTTP_PORT}', resolution="NONE"),
    "host-wildcard-ok": se(f'hosts:\n- "*.example.com"\n{HTTP_PORT}', resolution="NONE"),
    "host-not-a-domain": se(f"hosts:\n- api_payments.example.com  # !invalid-serviceentry-host\n{HTTP_PORT}"),
    "host-ip-is-not-a-host": se(f"hosts:\n- 192.0.2.10  # !invalid-serviceentry-host\n{HTTP_PORT}", "NONE"),
    "host-valid-domain": se(f"hosts:\n- api-payments.example.com\n{HTTP_PORT}"),
    "host-partial-wildcard": se(
        f'hosts:\n- "*cdn.example.com"  # !invalid-serviceentry-host@warning\n{HTTP_PORT}', resolution="NONE"
    ),
    "host-leading-wildcard": se(f'hosts:\n- "*.cdn.example.com"\n{HTTP_PORT}', resolution="NONE"),
    "host-partial-wildcard-dynamic-dns": se(f'hosts:\n- "*cdn.example.com"\n{HTTP_PORT}', resolution="DYNAMIC_DNS"),
    # addresses
    "address-not-ip": se(
        f"""
        hosts: [db.example.com]
        addresses:
        - db.internal  # !invalid-serviceentry-address
        - 10.1.0.0/33  # !invalid-serviceentry-address
        {HTTP_PORT}
        """,
        resolution="NONE",
    ),
    "address-ip-and-cidr": se(
        f"""
        hosts: [db.example.com]
        addresses:
        - 10.1.2.3
        - 10.1.0.0/16
        - 2001:db8::/32
        {HTTP_PORT}
        """,
        resolution="NONE",
    ),
    "cidr-with-dns": se(
        f"""
        hosts: [db.example.com]
        addresses:
        - 10.1.0.0/16  # !invalid-serviceentry-resolution
        {HTTP_PORT}
        """
    ),
    "cidr-with-static": se(
        f"""
        hosts: [db.example.com]
        addresses:
        - 10.1.0.0/16
        {HTTP_PORT}
        endpoints:
        - address: 10.1.0.7
        """,
        resolution="STATIC",
    ),
    # ports
    "port-null": se(
        """
        hosts: [api.example.com]
        ports:
        - {number: 80, name: http, protocol: HTTP}
        -  # !invalid-serviceentry-port
        """
    ),
    "port-duplicate-name-and-number": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 443
          name: https
          protocol: HTTPS
        - number: 443  # !invalid-serviceentry-port
          name: https  # !invalid-serviceentry-port
          protocol: HTTPS
        """
    ),
    "port-distinct": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 443
          name: https
          protocol: HTTPS
        - number: 8443
          name: https-alt
          protocol: HTTPS
        """
    ),
    "port-name-not-dns-label": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 8080
          name: Web_Port  # !invalid-serviceentry-port
          protocol: HTTP
        """
    ),
    "port-name-missing": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 8080  # !invalid-serviceentry-port
          protocol: HTTP
        """
    ),
    "port-name-dns-label": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 8080
          name: http-web
          protocol: HTTP
        """
    ),
    "port-unknown-protocol": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 443
          name: https
          protocol: HTTPS2  # !invalid-serviceentry-port
        """
    ),
    "port-protocol-any-case": se(
        """
        hosts: [api.example.com]
        ports:
        - number: 443
          name: https
          protocol: https
        """
    ),
    # addresses required (auto-allocation off)
    "tcp-port-resolution-none": se(
        """
        hosts: [db.example.com]
        ports:
        - number: 5432  # !serviceentry-addresses-required
          name: tcp-db
          protocol: TCP
        - number: 6379  # !serviceentry-addresses-required
          name: redis
        """,
        resolution=None,
    ),
    "tcp-port-auto-allocated": se(
        """
        hosts: [db.example.com]
        ports:
        - number: 5432
          name: tcp-db
          protocol: TCP
        """
    ),
    "tcp-port-opted-out": se(
        """
        hosts: [db.example.com]
        ports:
        - number: 5432  # !serviceentry-addresses-required
          name: tcp-db
          protocol: TCP
        """,
        labels='networking.istio.io/enable-autoallocate-ip: "false"',
    ),
    "tcp-port-with-address": se(
        """
        hosts: [db.example.com]
        addresses: [192.0.2.10]
        ports:
        - number: 5432
          name: tcp-db
          protocol: TCP
        """,
        resolution="NONE",
    ),
    "http-port-resolution-none": se(f"hosts: [api.example.com]\n{HTTP_PORT}", resolution="NONE"),
    # exported from a cluster: the status holds the addresses Istio allocated
    "tcp-port-allocated-in-status": se(
        """
        hosts: [db.example.com]
        ports:
        - number: 5432
          name: tcp-db
          protocol: TCP
        """,
        resolution="NONE",
    ).rstrip("\n")
    + "\nstatus:\n  addresses:\n  - {host: db.example.com, value: 240.240.0.1}\n",
    # the proxy reads the protocol in any case: `tcp` is TCP
    "lowercase-tcp-port-resolution-none": se(
        """
        hosts: [ssh.example.com]
        ports:
        - number: 22  # !serviceentry-addresses-required
          name: ssh
          protocol: tcp
        """,
        resolution="NONE",
    ),
    # endpoints
    "selector-and-endpoints": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        workloadSelector:
          labels: {{app: vm}}
        endpoints:  # !invalid-serviceentry-endpoint
        - address: 10.0.0.5
        """,
        resolution="STATIC",
    ),
    "selector-only": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        workloadSelector:
          labels: {{app: vm}}
        """,
        resolution="STATIC",
    ),
    "endpoint-null": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: 10.0.0.5
        -  # !invalid-serviceentry-endpoint
        """,
        resolution="STATIC",
    ),
    "static-endpoint-without-address": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - labels: {{app: vm}}  # !invalid-serviceentry-endpoint
        - network: vpc-2  # !invalid-serviceentry-endpoint@warning
        """,
        resolution="STATIC",
    ),
    "static-endpoint-with-address": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: 10.0.0.5
          labels: {{app: vm}}
        - address: 10.0.0.6
          network: vpc-2
        """,
        resolution="STATIC",
    ),
    "static-endpoint-host-name": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: vm1.internal.example.com  # !invalid-serviceentry-endpoint
        """,
        resolution="STATIC",
    ),
    "dns-endpoint-host-name": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: vm1.internal.example.com
        """
    ),
    "static-unix-endpoint-bad": se(
        """
        hosts: [local.example.com]
        ports:
        - {number: 80, name: http, protocol: HTTP}
        - {number: 81, name: http-admin, protocol: HTTP}
        endpoints:
        - address: unix://var/run/app.sock  # !invalid-serviceentry-endpoint
          ports: {http: 80}  # !invalid-serviceentry-endpoint
        """,
        resolution="STATIC",
    ),
    "static-unix-endpoint-ok": se(
        """
        hosts: [local.example.com]
        ports:
        - {number: 80, name: http, protocol: HTTP}
        endpoints:
        - address: unix:///var/run/app.sock
        """,
        resolution="STATIC",
    ),
    "endpoint-port-unknown-name": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: 10.0.0.5
          ports:
            web: 8080  # !invalid-serviceentry-endpoint
        """,
        resolution="STATIC",
    ),
    "endpoint-port-invalid-name": se(
        """
        hosts: [vm.example.com]
        ports:
        - number: 80
          name: Http  # !invalid-serviceentry-port
          protocol: HTTP
        endpoints:
        - address: 10.0.0.5
          ports:
            Http: 8080  # !invalid-serviceentry-endpoint
        """,
        resolution="STATIC",
    ),
    "endpoint-port-known-name": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: 10.0.0.5
          ports:
            http: 8080
        """,
        resolution="STATIC",
    ),
    "dns-endpoint-not-a-name": se(
        f"""
        hosts: [api.example.com]
        {HTTP_PORT}
        endpoints:
        - address: api_backend.example.com  # !invalid-serviceentry-endpoint
        - address: 192.0.2.1
        """
    ),
    # resolution
    "none-with-endpoints": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:  # !invalid-serviceentry-resolution
        - address: 10.0.0.5
        """,
        resolution="NONE",
    ),
    "static-with-endpoints": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        endpoints:
        - address: 10.0.0.5
        """,
        resolution="STATIC",
    ),
    "none-with-selector": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        workloadSelector:  # !invalid-serviceentry-resolution@warning
          labels: {{app: vm}}
        """,
        resolution=None,
    ),
    "dns-with-selector": se(
        f"""
        hosts: [vm.example.com]
        {HTTP_PORT}
        workloadSelector:  # !invalid-serviceentry-resolution@warning
          labels: {{app: vm}}
        """
    ),
    "dns-wildcard-host-without-endpoints": se(
        f"""
        hosts:
        - "*.cdn.example.com"  # !invalid-serviceentry-resolution
        {HTTP_PORT}
        """
    ),
    "dns-wildcard-host-with-endpoint": se(
        f"""
        hosts:
        - "*.cdn.example.com"
        {HTTP_PORT}
        endpoints:
        - address: edge.cdn.example.com
        """
    ),
    "dns-round-robin-two-endpoints": se(
        f"""
        hosts: [api.example.com]
        {HTTP_PORT}
        endpoints:
        - address: a.api.example.com
        - address: b.api.example.com  # !invalid-serviceentry-resolution
        """,
        resolution="DNS_ROUND_ROBIN",
    ),
    "dns-round-robin-one-endpoint": se(
        f"""
        hosts: [api.example.com]
        {HTTP_PORT}
        endpoints:
        - address: a.api.example.com
        """,
        resolution="DNS_ROUND_ROBIN",
    ),
    "dns-address-tls-port-two-hosts": se(
        """
        hosts: [a.example.com, b.example.com]
        addresses:  # !invalid-serviceentry-resolution@warning
        - 192.0.2.10
        ports:
        - {number: 443, name: https, protocol: HTTPS}
        """
    ),
    "dns-address-tls-port-one-host": se(
        """
        hosts: [a.example.com]
        addresses:
        - 192.0.2.10
        ports:
        - {number: 443, name: https, protocol: HTTPS}
        """
    ),
    "multiple-hosts-tcp": se(
        """
        hosts: [db-a.example.com, db-b.example.com]
        ports:
        - {number: 5432, name: tcp-db, protocol: TCP}  # !invalid-serviceentry-resolution
        """
    ),
    "multiple-hosts-no-protocol": se(
        """
        hosts: [db-a.example.com, db-b.example.com]
        addresses: [192.0.2.10]
        ports:
        - {number: 5432, name: db}  # !invalid-serviceentry-resolution
        """,
        resolution="STATIC",
    ),
    "multiple-hosts-tcp-resolution-none": se(
        """
        hosts: [db-a.example.com, db-b.example.com]
        addresses: [192.0.2.0/28]
        ports:
        - {number: 5432, name: tcp-db, protocol: TCP}
        """,
        resolution="NONE",
    ),
    "multiple-hosts-http-and-tls": se(
        """
        hosts: [a.example.com, b.example.com]
        ports:
        - {number: 80, name: http, protocol: HTTP}
        - {number: 443, name: tls, protocol: TLS}
        """
    ),
    "dynamic-dns-everything-wrong": se(
        """
        hosts:
        - api.example.com  # !invalid-serviceentry-resolution
        addresses:  # !invalid-serviceentry-resolution
        - 192.0.2.10
        ports:
        - number: 5432
          name: tcp-db
          protocol: TCP  # !invalid-serviceentry-resolution
        endpoints:  # !invalid-serviceentry-resolution
        - address: 192.0.2.11
        location: MESH_INTERNAL  # !invalid-serviceentry-resolution
        """,
        resolution="DYNAMIC_DNS",
        labels="istio.io/use-waypoint: waypoint",
    ),
    "dynamic-dns-valid": se(
        """
        hosts:
        - "*.example.com"
        ports:
        - {number: 443, name: tls, protocol: TLS}
        - {number: 80, name: http, protocol: HTTP}
        location: MESH_EXTERNAL
        """,
        resolution="DYNAMIC_DNS",
        labels="istio.io/use-waypoint: waypoint",
    ),
}


@pytest.mark.parametrize("yaml_text", params(CASES))
def test_serviceentry_case(yaml_text: str) -> None:
    assert actual(yaml_text, SE_CODES) == expected(yaml_text)


def test_every_code_has_a_failing_case() -> None:
    fired = {code for text in CASES.values() for code, _, _ in expected(text)}
    assert fired == SE_CODES


def test_unknown_protocol_offers_the_closest_known_one() -> None:
    finding = next(f for f in findings_for(CASES["port-unknown-protocol"]) if f.code == "invalid-serviceentry-port")
    titles = [fix.title for fix in finding.fixes]
    assert titles[0] == "Did you mean `HTTP2`?" and "Did you mean `HTTPS`?" in titles


def test_missing_spec_and_hosts_are_left_to_the_schema() -> None:
    text = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: x\nspec:\n  resolution: DNS\n"
    assert actual(text, SE_CODES) == set()
    assert actual(text.replace("spec:\n  resolution: DNS\n", ""), SE_CODES) == set()
