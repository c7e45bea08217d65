"""Gateway admission rules (checklist §3), table-driven.

Same format as test_destinationrule.py: `# !code[@severity]` markers at the end of the
line where a finding must start; cases without markers must produce none of the codes.
"""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.checks import RULES_BY_CODE
from tests.admission.test_destinationrule import actual, apply_fix, expected, only_finding, run_rules

GW_CODES = {"invalid-gateway-name", "invalid-gateway-server", "invalid-server-tls"}


def gw(servers: str, name: str = "shop-gateway") -> str:
    """A Gateway document with the given `servers` list (indented under `spec`)."""
    body = "\n".join(f"  {line}" if line else line for line in textwrap.dedent(servers).strip("\n").split("\n"))
    return (
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n"
        f"  name: {name}\n  namespace: shop\nspec:\n  selector:\n    istio: ingressgateway\n"
        f"  servers:\n{body}\n"
    )


HTTP = """
- port: {number: 80, name: http, protocol: HTTP}
  hosts: [shop.example.com]
"""

CASES: list[tuple[str, str]] = [
    # §3 metadata.name is a DNS-1123 label
    ("name-dots", gw(HTTP, name="shop.example.com  # !invalid-gateway-name")),
    ("name-ok", gw(HTTP, name="shop-example-com")),
    # §3 at least one server; no null server
    (
        "no-servers",
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n"
        "spec:  # !invalid-gateway-server\n  selector: {istio: ingressgateway}\n",
    ),
    (
        "empty-and-null-servers",
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n"
        "  servers: []  # !invalid-gateway-server\n",
    ),
    ("null-server", gw(HTTP + "- null  # !invalid-gateway-server\n")),
    ("one-server-ok", gw(HTTP)),
    # §3 port names unique across servers
    (
        "duplicate-port-names",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts: [shop.example.com]
            - port:
                number: 8080
                name: http  # !invalid-gateway-server
                protocol: HTTP
              hosts: [admin.example.com]
            """
        ),
    ),
    (
        "distinct-port-names-ok",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts: [shop.example.com]
            - port: {number: 8080, name: http-admin, protocol: HTTP}
              hosts: [admin.example.com]
            """
        ),
    ),
    # §3 at least one host
    (
        "no-hosts",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}  # !invalid-gateway-server
            - port: {number: 81, name: http-2, protocol: HTTP}
              hosts: []  # !invalid-gateway-server
            """
        ),
    ),
    # §3 hosts: `ns/host` forms, short names, wildcard domain or IP, partial wildcards
    (
        "bad-hosts",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts:
              - /shop.example.com  # !invalid-gateway-server
              - bad_ns/shop.example.com  # !invalid-gateway-server
              - bookinfo  # !invalid-gateway-server
              - prod/reviews  # !invalid-gateway-server
              - shop..example.com  # !invalid-gateway-server
              - shop_1.example.com  # !invalid-gateway-server
              - "*shop.example.com"  # !invalid-gateway-server
              - "shop.*.com"  # !invalid-gateway-server
              - ""  # !invalid-gateway-server
            """
        ),
    ),
    (
        "good-hosts",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts:
              - "*"
              - "*/*"
              - ./shop.example.com
              - "*/shop.example.com"
              - prod/*.example.com
              - "*.example.com"
              - 10.0.0.10
              - shop.example.com.
            """
        ),
    ),
    # §3 port required; protocol parses; name required; targetPort rejected
    (
        "port-problems",
        gw(
            """
            - hosts: [shop.example.com]  # !invalid-gateway-server
            - port:
                number: 81
                name: web
                protocol: HTTPX  # !invalid-gateway-server
              hosts: [shop.example.com]
            - port:  # !invalid-gateway-server
                number: 82
                protocol: HTTP
              hosts: [shop.example.com]
            - port:
                number: 83
                name: http-83
                protocol: HTTP
                targetPort: 8083  # !invalid-gateway-server
              hosts: [shop.example.com]
            """
        ),
    ),
    (
        "port-ok",
        gw(
            """
            - port: {number: 80, name: http, protocol: http}
              hosts: [shop.example.com]
            - port: {number: 81, name: grpc-web, protocol: GRPC-WEB}
              hosts: [shop.example.com]
            - port: {number: 82, name: mongo, protocol: Mongo}
              hosts: [shop.example.com]
            """
        ),
    ),
    # §3 bind: unix:// absolute path or @abstract with port 0; otherwise an IP
    (
        "bad-binds",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts: [shop.example.com]
              bind: localhost  # !invalid-gateway-server
            - port:
                number: 0
                name: uds
                protocol: HTTP
              hosts: [shop.example.com]
              bind: unix://run/gw.sock  # !invalid-gateway-server
            - port:
                number: 8080  # !invalid-gateway-server
                name: uds-2
                protocol: HTTP
              hosts: [shop.example.com]
              bind: unix:///run/gw.sock
            """
        ),
    ),
    (
        "binds-ok",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts: [shop.example.com]
              bind: 0.0.0.0
            - port: {number: 0, name: uds, protocol: HTTP}
              hosts: [shop.example.com]
              bind: unix:///run/gw.sock
            - port: {number: 0, name: uds-2, protocol: HTTP}
              hosts: [shop.example.com]
              bind: unix://@gateway
            """
        ),
    ),
    # §3 HTTPS/TLS server without tls
    (
        "https-without-tls",
        gw(
            """
            - port:
                number: 443
                name: https
                protocol: HTTPS  # !invalid-server-tls
              hosts: [shop.example.com]
            """
        ),
    ),
    # §3 plain HTTP with tls: only passthrough without certificate files
    (
        "http-with-tls",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts: [shop.example.com]
              tls:  # !invalid-server-tls
                mode: SIMPLE
                credentialName: shop-cert
            - port: {number: 81, name: http-2, protocol: HTTP}
              hosts: [shop.example.com]
              tls:  # !invalid-server-tls
                serverCertificate: /etc/certs/cert.pem  # !invalid-server-tls@warning
                httpsRedirect: true
            """
        ),
    ),
    # §3 a non-TLS, non-HTTP protocol with tls
    (
        "tcp-with-tls",
        gw(
            """
            - port: {number: 9000, name: tcp, protocol: TCP}
              hosts: [db.example.com]
              tls:  # !invalid-server-tls
                mode: PASSTHROUGH
            """
        ),
    ),
    # §3 tls.httpsRedirect on a non-HTTP server (W)
    (
        "redirect-on-https",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                httpsRedirect: true  # !invalid-server-tls@warning
                mode: SIMPLE
                credentialName: shop-cert
            """
        ),
    ),
    (
        "http-redirect-and-https-ok",
        gw(
            """
            - port: {number: 80, name: http, protocol: HTTP}
              hosts: [shop.example.com]
              tls:
                httpsRedirect: true
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                credentialName: shop-cert
            - port: {number: 8443, name: tls-passthrough, protocol: TLS}
              hosts: [db.example.com]
              tls:
                mode: PASSTHROUGH
            """
        ),
    ),
    # §3 minProtocolVersion below TLS 1.2 without cipherSuites (W); invalid/duplicate ciphers (W)
    (
        "old-tls-and-ciphers",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                credentialName: shop-cert
                minProtocolVersion: TLSV1_1  # !invalid-server-tls@warning
            - port: {number: 8443, name: https-2, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                credentialName: shop-cert
                cipherSuites:  # !invalid-server-tls@warning
                - ECDHE-RSA-AES128-GCM-SHA256
                - ECDHE-RSA-AES128-GCM-SHA256
                - TLS_FAKE_CIPHER
            """
        ),
    ),
    (
        "ciphers-ok",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                credentialName: shop-cert
                minProtocolVersion: TLSV1_0
                cipherSuites: [ECDHE-RSA-AES128-SHA, AES128-SHA, "-DES-CBC3-SHA"]
            """
        ),
    ),
    # §3 ISTIO_MUTUAL with certificates
    (
        "istio-mutual-with-certs",
        gw(
            """
            - port: {number: 15443, name: tls-mtls, protocol: TLS}
              hosts: ["*.local"]
              tls:
                mode: ISTIO_MUTUAL  # !invalid-server-tls
                credentialName: shop-cert
            """
        ),
    ),
    (
        "istio-mutual-ok",
        gw(
            """
            - port: {number: 15443, name: tls-mtls, protocol: TLS}
              hosts: ["*.local"]
              tls: {mode: ISTIO_MUTUAL}
            """
        ),
    ),
    # §3 PASSTHROUGH/AUTO_PASSTHROUGH with certificates (W), including the default mode
    (
        "passthrough-with-certs",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                credentialName: shop-cert  # !invalid-server-tls@warning
            - port: {number: 8443, name: tls, protocol: TLS}
              hosts: [db.example.com]
              tls:
                mode: AUTO_PASSTHROUGH  # !invalid-server-tls@warning
                serverCertificate: /etc/certs/cert.pem
            """
        ),
    ),
    (
        "passthrough-ok",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls: {mode: PASSTHROUGH}
            - port: {number: 8443, name: https-2, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                credentialName: shop-cert
            """
        ),
    ),
    # §3 more than one certificate source
    (
        "two-cert-sources",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:  # !invalid-server-tls
                mode: SIMPLE
                credentialName: shop-cert
                serverCertificate: /etc/certs/cert.pem
                privateKey: /etc/certs/key.pem
            """
        ),
    ),
    # §3 SIMPLE/MUTUAL without credentialName: certificate and key; MUTUAL needs caCertificates
    (
        "file-certs-missing",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:  # !invalid-server-tls
                mode: SIMPLE
                serverCertificate: /etc/certs/cert.pem
            - port: {number: 8443, name: https-mtls, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: MUTUAL  # !invalid-server-tls
                serverCertificate: /etc/certs/cert.pem
                privateKey: /etc/certs/key.pem
            - port: {number: 9443, name: https-multi, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                tlsCertificates:
                - {serverCertificate: /etc/certs/rsa.pem, privateKey: /etc/certs/rsa.key}
                - {serverCertificate: /etc/certs/ec.pem}  # !invalid-server-tls
            """
        ),
    ),
    (
        "file-certs-ok",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                serverCertificate: /etc/certs/cert.pem
                privateKey: /etc/certs/key.pem
            - port: {number: 8443, name: https-mtls, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: OPTIONAL_MUTUAL
                serverCertificate: /etc/certs/cert.pem
                privateKey: /etc/certs/key.pem
                caCertificates: /etc/certs/ca.pem
                caCrl: /etc/certs/crl.pem
            - port: {number: 9443, name: https-cred-mtls, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: MUTUAL
                credentialName: shop-cert
            """
        ),
    ),
    # §3 more than 2 tlsCertificates (W)
    (
        "three-certificates",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                tlsCertificates:  # !invalid-server-tls@warning
                - {serverCertificate: /c/1.pem, privateKey: /c/1.key}
                - {serverCertificate: /c/2.pem, privateKey: /c/2.key}
                - {serverCertificate: /c/3.pem, privateKey: /c/3.key}
            """
        ),
    ),
    # §3 caCrl with SIMPLE, or with credentialName
    (
        "crl-with-simple",
        gw(
            """
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: [shop.example.com]
              tls:
                mode: SIMPLE
                serverCertificate: /etc/certs/cert.pem
                privateKey: /etc/certs/key.pem
                caCrl: /etc/certs/crl.pem  # !invalid-server-tls
            - port: {number: 8443, name: tls, protocol: TLS}
              hosts: [db.example.com]
              tls:
                mode: PASSTHROUGH  # !invalid-server-tls@warning
                credentialName: db-cert
                caCrl: /etc/certs/crl.pem  # !invalid-server-tls
            """
        ),
    ),
]


@pytest.mark.parametrize(("name", "yaml_text"), CASES, ids=[c[0] for c in CASES])
def test_case(name: str, yaml_text: str) -> None:
    assert actual(yaml_text, GW_CODES) == expected(yaml_text)


def test_every_code_has_failing_and_passing_cases() -> None:
    failing = {code for _, text in CASES for code, _, _ in expected(text)}
    assert failing == GW_CODES
    assert any(not expected(text) for _, text in CASES)


def test_gateway_api_gateways_are_not_istio_gateways() -> None:
    text = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: shop.example.com
        spec:
          gatewayClassName: istio
          listeners:
          - name: http
            port: 80
            protocol: HTTP
        """
    assert actual(text, GW_CODES) == set()


def test_v1alpha3_gateways_are_checked() -> None:
    text = gw(HTTP, name="shop.example.com  # !invalid-gateway-name").replace(
        "networking.istio.io/v1", "networking.istio.io/v1alpha3"
    )
    assert actual(text, GW_CODES) == expected(text)


def test_default_passthrough_warning_explains_and_offers_simple() -> None:
    text = gw(
        """
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: [shop.example.com]
          tls:
            credentialName: shop-cert
        """
    )
    found = only_finding(text, "invalid-server-tls")
    assert "PASSTHROUGH" in found.message and "mode: SIMPLE" in found.message
    fix = found.fixes[0]
    assert fix.title == "Set `mode: SIMPLE`" and not fix.safe
    fixed = apply_fix(text, fix)
    assert "    tls:\n      mode: SIMPLE\n      credentialName: shop-cert" in fixed
    assert actual(fixed, GW_CODES) == set()


def test_default_passthrough_fix_in_flow_style() -> None:
    text = gw(
        """
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: [shop.example.com]
          tls: {credentialName: shop-cert}
        """
    )
    fixed = apply_fix(text, only_finding(text, "invalid-server-tls").fixes[0])
    assert "tls: {mode: SIMPLE, credentialName: shop-cert}" in fixed
    assert actual(fixed, GW_CODES) == set()


def test_target_port_fix_removes_the_line() -> None:
    text = gw(
        """
        - port:
            number: 80
            name: http
            protocol: HTTP
            targetPort: 8080
          hosts: [shop.example.com]
        """
    )
    fixed = apply_fix(text, only_finding(text, "invalid-gateway-server").fixes[0])
    assert "targetPort" not in fixed and "protocol: HTTP\n" in fixed
    assert actual(fixed, GW_CODES) == set()


def test_rules_map_to_istioctl_webhook_codes() -> None:
    for code in GW_CODES:
        assert "IST0106" in RULES_BY_CODE[code].istio_codes
    assert "IST0133" in RULES_BY_CODE["invalid-server-tls"].istio_codes


def test_aliased_servers_and_hosts_do_not_multiply_the_work() -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n"
        "  servers: [&s {port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}, "
        "hosts: [&h bookinfo" + ", *h" * 2000 + "]}" + ", *s" * 2000 + "]\n"
    )
    # (timed alone: the shared resource model has its own cost for aliased lists)
    seconds, codes = run_rules(text, GW_CODES)
    assert seconds < 1.0
    assert set(codes) == {"invalid-gateway-server"}
