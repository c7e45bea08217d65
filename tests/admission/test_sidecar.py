"""Sidecar admission rules (checklist §5), table-driven with the markers of test_serviceentry.py."""

from __future__ import annotations

import textwrap

import pytest

from tests.admission.helpers import findings_for
from tests.admission.test_serviceentry import actual, expected, params

SIDECAR_CODES = {
    "empty-sidecar",
    "invalid-sidecar-ingress",
    "invalid-sidecar-egress",
    "invalid-outbound-traffic-policy",
}


def sidecar(spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return (
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: reviews\n  namespace: bookinfo\n"
        f"spec:\n  workloadSelector:\n    labels: {{app: reviews}}\n{body}\n"
    )


EGRESS = 'egress:\n- hosts: ["./*", "istio-system/*"]'

CASES = {
    # empty configuration
    "empty": (
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: reviews\n"
        "spec:  # !empty-sidecar\n  workloadSelector:\n    labels: {app: reviews}\n"
    ),
    "empty-egress-list": (
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: reviews\n"
        "spec:  # !empty-sidecar\n  egress: []\n  ingress:\n"
    ),
    "only-egress": sidecar(EGRESS),
    "only-outbound-policy": sidecar("outboundTrafficPolicy: {mode: REGISTRY_ONLY}"),
    "only-inbound-pool": sidecar("inboundConnectionPool:\n  tcp: {maxConnections: 100}"),
    # ingress listeners
    "ingress-null-and-no-port": sidecar(
        """
        ingress:
        -  # !invalid-sidecar-ingress
        - defaultEndpoint: 127.0.0.1:8080  # !invalid-sidecar-ingress
        """
    ),
    "ingress-target-port": sidecar(
        """
        ingress:
        - port:
            number: 9080
            protocol: HTTP
            name: http
            targetPort: 8080  # !invalid-sidecar-ingress
          defaultEndpoint: 127.0.0.1:8080
        """
    ),
    "ingress-valid": sidecar(
        """
        ingress:
        - port:
            number: 9080
            protocol: HTTP
            name: http
          defaultEndpoint: 127.0.0.1:8080
        - port: {number: 9443, protocol: TLS, name: tls}
          bind: 0.0.0.0
          defaultEndpoint: "[::1]:8443"
        - port: {number: 9090, protocol: GRPC}
          defaultEndpoint: unix:///var/run/app/grpc.sock
        """
    ),
    "ingress-port-name-protocol-bind": sidecar(
        """
        ingress:
        - port:
            number: 9080
            protocol: HTTP1  # !invalid-sidecar-ingress
            name: Http  # !invalid-sidecar-ingress
          bind: reviews.local  # !invalid-sidecar-ingress
          defaultEndpoint: 127.0.0.1:8080
        """
    ),
    "ingress-duplicate-port": sidecar(
        """
        ingress:
        - port: {number: 9080, protocol: HTTP, name: http}
          defaultEndpoint: 127.0.0.1:8080
        - port:
            number: 9080  # !invalid-sidecar-ingress
            protocol: HTTP
            name: http-2
          defaultEndpoint: 127.0.0.1:8081
        """
    ),
    "ingress-default-endpoint-elsewhere": sidecar(
        """
        ingress:
        - port: {number: 9080, protocol: HTTP, name: http}
          defaultEndpoint: 10.0.0.5:8080  # !invalid-sidecar-ingress
        - port: {number: 9081, protocol: HTTP, name: http-b}
          defaultEndpoint: 127.0.0.1:99999  # !invalid-sidecar-ingress
        - port: {number: 9082, protocol: HTTP, name: http-c}
          defaultEndpoint: 127.0.0.1  # !invalid-sidecar-ingress
        - port: {number: 9083, protocol: HTTP, name: http-d}
          defaultEndpoint: unix://app.sock  # !invalid-sidecar-ingress
        """
    ),
    "ingress-tls-unsupported": sidecar(
        """
        ingress:
        - port: {number: 9443, protocol: HTTPS, name: https}
          defaultEndpoint: 127.0.0.1:8080
          tls:
            mode: ISTIO_MUTUAL  # !invalid-sidecar-ingress
            subjectAltNames: [spiffe://cluster.local/ns/a/sa/b]  # !invalid-sidecar-ingress
            credentialName: reviews-cert  # !invalid-sidecar-ingress
            httpsRedirect: true  # !invalid-sidecar-ingress
        """
    ),
    "ingress-tls-on-http-port": sidecar(
        """
        ingress:
        - port:
            number: 9080
            protocol: HTTP  # !invalid-sidecar-ingress
            name: http
          defaultEndpoint: 127.0.0.1:8080
          tls:
            mode: SIMPLE
            serverCertificate: /etc/certs/cert.pem
            privateKey: /etc/certs/key.pem
        """
    ),
    "ingress-tls-missing-files": sidecar(
        """
        ingress:
        - port: {number: 9443, protocol: HTTPS, name: https}
          defaultEndpoint: 127.0.0.1:8080
          tls:
            mode: MUTUAL  # !invalid-sidecar-ingress
            serverCertificate: /etc/certs/cert.pem
            privateKey: /etc/certs/key.pem
        - port: {number: 9444, protocol: TLS, name: tls}
          defaultEndpoint: 127.0.0.1:8081
          tls:
            mode: SIMPLE
            serverCertificate: /etc/certs/cert.pem
            privateKey: /etc/certs/key.pem
            caCrl: /etc/certs/crl.pem  # !invalid-sidecar-ingress
        """
    ),
    "ingress-tls-warnings": sidecar(
        """
        ingress:
        - port: {number: 9443, protocol: TLS, name: tls}
          defaultEndpoint: 127.0.0.1:8080
          tls:
            mode: PASSTHROUGH  # !invalid-sidecar-ingress@warning
            serverCertificate: /etc/certs/cert.pem
        - port: {number: 9444, protocol: HTTPS, name: https}
          defaultEndpoint: 127.0.0.1:8081
          tls:
            mode: SIMPLE
            serverCertificate: /etc/certs/cert.pem
            privateKey: /etc/certs/key.pem
            minProtocolVersion: TLSV1_1  # !invalid-sidecar-ingress@warning
        - port: {number: 9445, protocol: HTTPS, name: https-b}
          defaultEndpoint: 127.0.0.1:8082
          tls:
            mode: SIMPLE
            serverCertificate: /etc/certs/cert.pem
            privateKey: /etc/certs/key.pem
            cipherSuites:
            - ECDHE-RSA-AES256-GCM-SHA384
            - ECDHE-RSA-AES256-GCM-SHA384  # !invalid-sidecar-ingress@warning
            - TLS_FANCY_CIPHER  # !invalid-sidecar-ingress@warning
        """
    ),
    "ingress-tls-valid": sidecar(
        """
        ingress:
        - port: {number: 9443, protocol: HTTPS, name: https}
          defaultEndpoint: 127.0.0.1:8080
          tls:
            mode: MUTUAL
            serverCertificate: /etc/certs/cert.pem
            privateKey: /etc/certs/key.pem
            caCertificates: /etc/certs/ca.pem
            caCrl: /etc/certs/crl.pem
            minProtocolVersion: TLSV1_1
            cipherSuites: [ECDHE-RSA-AES128-SHA, "-AES128-SHA"]
        """
    ),
    "ingress-connection-pool": sidecar(
        """
        ingress:
        - port: {number: 9080, protocol: HTTP, name: http}
          defaultEndpoint: 127.0.0.1:8080
          connectionPool: {}  # !invalid-sidecar-ingress
        - port: {number: 9081, protocol: HTTP, name: http-b}
          defaultEndpoint: 127.0.0.1:8081
          connectionPool:
            http:
              maxRetries: -1  # !invalid-sidecar-ingress
              h2UpgradePolicy: UPGRADE
              useClientProtocol: true  # !invalid-sidecar-ingress
        inboundConnectionPool:
          tcp:
            maxConnections: -5  # !invalid-sidecar-ingress
        """
    ),
    "ingress-http-pool-on-tcp-port": sidecar(
        """
        ingress:
        - port: {number: 5432, protocol: TCP, name: tcp-db}
          defaultEndpoint: 127.0.0.1:5432
          connectionPool:
            http:  # !invalid-sidecar-ingress@warning
              http1MaxPendingRequests: 10
        """
    ),
    "ingress-connection-pool-valid": sidecar(
        """
        ingress:
        - port: {number: 9080, protocol: HTTP, name: http}
          defaultEndpoint: 127.0.0.1:8080
          connectionPool:
            http: {http1MaxPendingRequests: 10, maxRetries: 3, h2UpgradePolicy: UPGRADE}
            tcp: {maxConnections: 100}
        inboundConnectionPool:
          tcp: {maxConnections: 500}
        """
    ),
    # egress listeners
    "egress-null-and-catch-all-not-last": sidecar(
        """
        egress:
        -  # !invalid-sidecar-egress
        - hosts: ["./*"]  # !invalid-sidecar-egress
        - port: {number: 3306, protocol: MYSQL, name: mysql}
          hosts: ["db/mysql.db.svc.cluster.local"]
        """
    ),
    "egress-catch-all-last": sidecar(
        """
        egress:
        - port: {number: 3306, protocol: MYSQL, name: mysql}
          hosts: ["db/mysql.db.svc.cluster.local"]
        - hosts: ["./*"]
        """
    ),
    "egress-port-problems": sidecar(
        """
        egress:
        - port:
            number: 9080
            protocol: HTTP
            name: http
            targetPort: 8080  # !invalid-sidecar-egress
          bind: not-an-ip  # !invalid-sidecar-egress
          hosts: ["./*"]
        - port:
            number: 9080  # !invalid-sidecar-egress
            protocol: HTTP
            name: http-2
          hosts: ["./*"]
        """
    ),
    "egress-unix-socket": sidecar(
        """
        egress:
        - port: {number: 0, protocol: HTTP, name: uds}
          bind: 127.0.0.1  # !invalid-sidecar-egress
          hosts: ["./*"]
        - port: {number: 0, protocol: HTTP, name: uds-b}
          bind: unix:///var/run/egress.sock
          captureMode: IPTABLES  # !invalid-sidecar-egress
          hosts: ["./*"]
        - port: {number: 0, protocol: HTTP, name: uds-c}
          bind: unix:///var/run/egress.sock  # !invalid-sidecar-egress
          hosts: ["./*"]
        """
    ),
    "egress-unix-socket-valid": sidecar(
        """
        egress:
        - port: {number: 0, protocol: HTTP, name: uds}
          bind: unix:///var/run/egress.sock
          captureMode: NONE
          hosts: ["./*"]
        - port: {number: 9080, protocol: HTTP, name: http}
          bind: 127.0.0.1
          hosts: ["./*"]
        """
    ),
    "egress-no-hosts": sidecar(
        """
        egress:
        - port: {number: 9080, protocol: HTTP, name: http}
          hosts: []  # !invalid-sidecar-egress
        """
    ),
    "egress-host-forms": sidecar(
        """
        egress:
        - hosts:
          - reviews.bookinfo.svc.cluster.local  # !invalid-sidecar-egress
          - "*/ratings"  # !invalid-sidecar-egress
          - "Bad_NS/details.bookinfo.svc.cluster.local"  # !invalid-sidecar-egress
          - "./*.cdn*.example.com"  # !invalid-sidecar-egress
          - "/productpage.bookinfo.svc.cluster.local"  # !invalid-sidecar-egress
        """
    ),
    "egress-host-forms-valid": sidecar(
        """
        egress:
        - hosts:
          - "bookinfo/reviews.bookinfo.svc.cluster.local"
          - "*/ratings.bookinfo.svc.cluster.local"
          - "./*.example.com"
          - "~/*"
          - "~legacy/*"
          - "istio-system/*"
        """
    ),
    "egress-duplicates": sidecar(
        """
        egress:
        - hosts:
          - "./reviews.bookinfo.svc.cluster.local"
          - "bookinfo/reviews.bookinfo.svc.cluster.local"  # !invalid-sidecar-egress@warning
          - "istio-system/*"
          - "istio-system/istiod.istio-system.svc.cluster.local"  # !invalid-sidecar-egress@warning
        """
    ),
    "egress-star-star-with-others": sidecar(
        """
        egress:
        - hosts:  # !invalid-sidecar-egress@warning
          - "*/*"
          - "istio-system/*"
        """
    ),
    "egress-star-star-alone": sidecar('egress:\n- hosts: ["*/*"]'),
    # outboundTrafficPolicy
    "outbound-dynamic-dns": sidecar(
        """
        outboundTrafficPolicy:
          mode: ALLOW_ANY_DYNAMIC_DNS  # !invalid-outbound-traffic-policy
        """
    ),
    "outbound-allow-any": sidecar("outboundTrafficPolicy:\n  mode: ALLOW_ANY"),
    "egress-proxy-wrong-mode": sidecar(
        """
        outboundTrafficPolicy:
          egressProxy:  # !invalid-outbound-traffic-policy
            host: squid.proxies.svc.cluster.local
            port: {number: 3128}
        """
    ),
    "egress-proxy-bad": sidecar(
        """
        outboundTrafficPolicy:
          mode: ALLOW_ANY
          egressProxy:  # !invalid-outbound-traffic-policy
            host: squid_proxy  # !invalid-outbound-traffic-policy
            subset: V1  # !invalid-outbound-traffic-policy
        """
    ),
    "egress-proxy-valid": sidecar(
        """
        outboundTrafficPolicy:
          mode: ALLOW_ANY
          egressProxy:
            host: squid.proxies.svc.cluster.local
            subset: v1
            port: {number: 3128}
        """
    ),
}


@pytest.mark.parametrize("yaml_text", params(CASES))
def test_sidecar_case(yaml_text: str) -> None:
    assert actual(yaml_text, SIDECAR_CODES) == expected(yaml_text)


def test_every_code_has_a_failing_case() -> None:
    fired = {code for text in CASES.values() for code, _, _ in expected(text)}
    assert fired == SIDECAR_CODES


def test_egress_host_without_namespace_offers_prefixes() -> None:
    text = sidecar('egress:\n- hosts: ["reviews.bookinfo.svc.cluster.local"]')
    (finding,) = [f for f in findings_for(text) if f.code == "invalid-sidecar-egress"]
    assert [fix.title.split(" (")[0] for fix in finding.fixes] == ["Prefix with `*/`", "Prefix with `./`"]
    assert finding.fixes[0].preferred
    assert finding.fixes[0].edits[0].new_text == '"*/reviews.bookinfo.svc.cluster.local"'


def test_sidecar_without_spec_is_left_to_the_schema() -> None:
    text = "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: reviews\n"
    assert actual(text, SIDECAR_CODES) == set()
