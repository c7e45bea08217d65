"""The generic value rules: invalid-duration, invalid-port and invalid-percentage, in every kind.

Lines a rule must report end with `#!`; a case without `#!` is a valid variant.
"""

from __future__ import annotations

import pytest

from istio_lsp.checks import Severity
from tests.admission.helpers import found
from tests.admission.test_generic import SECURITY, expect, fixed, marked, only, res, vs

DR = "DestinationRule"


def dr(spec: str) -> str:
    return res(DR, spec)


CASES = [
    # ---- invalid-duration: VirtualService ------------------------------------------------------
    ("invalid-duration", vs("hosts: [r]\nhttp:\n- route:\n  - destination: {host: r}\n  timeout: 10  #!")),
    ("invalid-duration", vs("hosts: [r]\nhttp:\n- route:\n  - destination: {host: r}\n  timeout: 1m30s")),
    (
        "invalid-duration",
        vs(
            """
            hosts: [r]
            http:
            - route:
              - destination: {host: r}
              retries:
                attempts: 3
                perTryTimeout: 500us  #!
                backoff: 0.5ms  #!
              fault:
                delay:
                  fixedDelay: 1.5ms  #!
                  percentage: {value: 10}
              corsPolicy:
                maxAge: 1.5s  #!
            """
        ),
    ),
    (
        "invalid-duration",
        vs(
            """
            hosts: [r]
            http:
            - route:
              - destination: {host: r}
                headers:
                  request:
                    set: {timeout: "5"}
              retries: {attempts: 3, perTryTimeout: 500ms, backoff: 25ms}
              fault:
                delay: {fixedDelay: 1500ms, percentage: {value: 10}}
              corsPolicy: {maxAge: 24h}
            """
        ),
    ),
    # ---- invalid-duration: DestinationRule -------------------------------------------------------
    (
        "invalid-duration",
        dr(
            """
            host: reviews
            trafficPolicy:
              connectionPool:
                tcp:
                  connectTimeout: 0s  #!
                  maxConnectionDuration: 1h
                  idleTimeout: 0s
                  tcpKeepalive: {time: 7200s, interval: 75}  #!
                http:
                  idleTimeout: 1.0001s  #!
                  http2KeepAlive: {interval: 30s, timeout: soon}  #!
              outlierDetection:
                interval: abc  #!
                baseEjectionTime: 30s
              loadBalancer:
                simple: LEAST_REQUEST
                warmup:
                  duration: 0ms  #!
            """
        ),
    ),
    (
        "invalid-duration",
        dr(
            """
            host: reviews
            trafficPolicy:
              connectionPool:
                tcp: {connectTimeout: 30ms, idleTimeout: 0, tcpKeepalive: {time: 2h, interval: 75s}}
                http: {idleTimeout: 1h, http2KeepAlive: {interval: 30s, timeout: 10s}}
              outlierDetection: {interval: 10s, baseEjectionTime: 30s}
              loadBalancer:
                consistentHash:
                  httpCookie: {name: session, ttl: 0s}
            """
        ),
    ),
    (
        "invalid-duration",
        dr(
            """
            host: reviews
            trafficPolicy:
              connectionPool:
                tcp: {idleTimeout: 0.1ms}  #!
              loadBalancer:
                consistentHash:
                  httpCookie: {name: session, ttl: 1 hour}  #!
              portLevelSettings:
              - port: {number: 9080}
                outlierDetection:
                  baseEjectionTime: 5  #!
            subsets:
            - name: v1
              labels: {version: v1}
              trafficPolicy:
                loadBalancer:
                  simple: ROUND_ROBIN
                  warmupDurationSecs: 30sec  #!
            """
        ),
    ),
    # ---- invalid-duration: Sidecar and RequestAuthentication -------------------------------------
    (
        "invalid-duration",
        res(
            "Sidecar",
            """
            inboundConnectionPool:
              tcp: {connectTimeout: 100}  #!
            ingress:
            - port: {number: 9080, protocol: HTTP, name: http}
              defaultEndpoint: 127.0.0.1:8080
              connectionPool:
                http:
                  idleTimeout: 0.5ms  #!
            """,
        ),
    ),
    (
        "invalid-duration",
        res(
            "Sidecar",
            "inboundConnectionPool:\n  tcp: {connectTimeout: 100ms}\n  http: {idleTimeout: 5m}",
        ),
    ),
    (
        "invalid-duration",
        res(
            "RequestAuthentication",
            "jwtRules:\n- issuer: https://issuer.example.com\n  timeout: 5  #!",
            api=SECURITY,
        ),
    ),
    (
        "invalid-duration",
        res("RequestAuthentication", "jwtRules:\n- issuer: https://issuer.example.com\n  timeout: 5s", api=SECURITY),
    ),
    # ---- invalid-port ------------------------------------------------------------------------
    (
        "invalid-port",
        vs(
            """
            hosts: [r]
            http:
            - match:
              - port: 70000  #!
              redirect:
                authority: r.example.com
                port: 65536  #!
            - mirror: {host: shadow, port: {number: 0}}  #!
              route:
              - destination:
                  host: r
                  port: {number: 0}  #!
            tcp:
            - match:
              - port: -1  #!
              route:
              - destination: {host: r, port: {number: 3306}}
            """
        ),
    ),
    (
        "invalid-port",
        vs(
            """
            hosts: [r]
            http:
            - match:
              - port: 0
              redirect: {authority: r.example.com, port: 8443}
            - route:
              - destination: {host: r, port: {number: 9080}}
            tls:
            - match:
              - {port: 443, sniHosts: [r]}
              route:
              - destination: {host: r, port: {number: http}}
            """
        ),
    ),
    (
        "invalid-port",
        dr(
            """
            host: reviews
            trafficPolicy:
              tunnel: {protocol: CONNECT, targetHost: proxy.example.com, targetPort: 0}  #!
              portLevelSettings:
              - port: {number: 90000}  #!
                loadBalancer: {simple: RANDOM}
            """
        ),
    ),
    (
        "invalid-port",
        dr(
            """
            host: reviews
            trafficPolicy:
              tunnel: {protocol: CONNECT, targetHost: proxy.example.com, targetPort: 3128}
              portLevelSettings:
              - port: {number: 9080}
                loadBalancer: {simple: RANDOM}
            """
        ),
    ),
    (
        "invalid-port",
        res(
            "Gateway",
            """
            selector: {istio: ingressgateway}
            servers:
            - port: {number: 0, name: http, protocol: HTTP}  #!
              hosts: ["*/shop.example.com"]
            - port: {number: 0, name: uds, protocol: HTTP}
              bind: unix:///var/run/gw.sock
              hosts: ["*/uds.example.com"]
            - port: {number: 443, name: https, protocol: HTTPS}
              hosts: ["*/shop.example.com"]
              tls: {mode: SIMPLE, credentialName: shop-cert}
            """,
        ),
    ),
    (
        "invalid-port",
        res(
            "ServiceEntry",
            """
            hosts: [api.example.com]
            ports:
            - {number: 0, name: http, protocol: HTTP}  #!
            - {number: 8443, name: https, protocol: TLS, targetPort: 70000}  #!
            - {number: 9000, name: grpc, protocol: GRPC, targetPort: 0}
            resolution: STATIC
            endpoints:
            - address: 10.0.0.1
              ports: {http: 99999, https: 443}  #!
            """,
        ),
    ),
    (
        "invalid-port",
        res(
            "Sidecar",
            """
            ingress:
            - port: {number: 0, protocol: HTTP, name: http}  #!
              defaultEndpoint: 127.0.0.1:8080
            egress:
            - port: {number: 0, protocol: HTTP, name: uds}
              bind: unix:///var/run/out.sock
              hosts: ["./*"]
            - hosts: ["istio-system/*"]
            outboundTrafficPolicy:
              mode: ALLOW_ANY
              egressProxy: {host: proxy.example.com, port: {number: 0}}  #!
            """,
        ),
    ),
    (
        "invalid-port",
        res(
            "PeerAuthentication",
            """
            selector:
              matchLabels: {app: db}
            portLevelMtls:
              "0": {mode: DISABLE}  #!
              http: {mode: DISABLE}  #!
              5432: {mode: PERMISSIVE}
            """,
            api=SECURITY,
        ),
    ),
    (
        "invalid-port",
        res(
            "AuthorizationPolicy",
            """
            action: DENY
            rules:
            - to:
              - operation:
                  ports: ["8080", "70000"]  #!
                  notPorts: ["0"]
              when:
              - key: destination.port
                values: ["http"]  #!
            """,
            api=SECURITY,
        ),
    ),
    (
        "invalid-port",
        res(
            "AuthorizationPolicy",
            """
            rules:
            - to:
              - operation: {ports: ["8080"], notPorts: ["0"]}
              when:
              - {key: destination.port, values: ["9080"]}
              - {key: request.headers[x-port], values: ["http"]}
            """,
            api=SECURITY,
        ),
    ),
    # ---- invalid-percentage --------------------------------------------------------------------
    (
        "invalid-percentage",
        vs(
            """
            hosts: [r]
            http:
            - fault:
                abort:
                  httpStatus: 503
                  percentage:
                    value: 150  #!
                delay:
                  fixedDelay: 1s
                  percentage: {value: 0.00001}  #!
              mirror: {host: shadow}
              mirrorPercentage: {value: 100.5}  #!
              route:
              - destination: {host: r}
            - mirrors:
              - destination: {host: shadow}
                percentage: {value: -3}  #!
              route:
              - destination: {host: r}
            """
        ),
    ),
    (
        "invalid-percentage",
        vs(
            """
            hosts: [r]
            http:
            - fault:
                abort: {httpStatus: 503, percentage: {value: 100}}
                delay: {fixedDelay: 1s, percentage: {value: 0}}
              mirror: {host: shadow}
              mirrorPercentage: {value: 0.5}
              route:
              - destination: {host: r}
            - mirrors:
              - destination: {host: shadow}
                percentage: {value: 12.5}
              route:
              - destination: {host: r}
            """
        ),
    ),
    (
        "invalid-percentage",
        vs(
            "hosts: [r]\nhttp:\n- mirror: {host: shadow}\n  mirrorPercent: 150  #!\n"
            "  route:\n  - destination: {host: r}"
        ),
    ),
    (
        "invalid-percentage",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection:
                maxEjectionPercent: 150  #!
                minHealthPercent: -1  #!
              loadBalancer:
                simple: ROUND_ROBIN
                warmup: {duration: 30s, minimumPercent: 101}  #!
              retryBudget: {percent: 200}  #!
            """
        ),
    ),
    (
        "invalid-percentage",
        dr(
            """
            host: reviews
            trafficPolicy:
              outlierDetection: {maxEjectionPercent: 100, minHealthPercent: 0}
              loadBalancer:
                simple: ROUND_ROBIN
                warmup: {duration: 30s, minimumPercent: 10.5}
            """
        ),
    ),
]


@pytest.mark.parametrize(("code", "text"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_case(code: str, text: str) -> None:
    expect(code, text)


def test_every_code_has_failing_and_passing_cases() -> None:
    for code in {c for c, _ in CASES}:
        assert {bool(marked(t)) for c, t in CASES if c == code} == {True, False}, code


def test_fault_percentage_150_is_an_error_on_its_line() -> None:
    text = vs(
        "hosts: [r]\nhttp:\n- fault:\n    abort:\n      httpStatus: 503\n      percentage:\n        value: 150\n"
        "  route:\n  - destination: {host: r}"
    )
    (finding,) = only("invalid-percentage", text)
    assert finding.severity == Severity.ERROR
    assert text.splitlines()[finding.span.start_line].strip() == "value: 150"


def test_bare_number_timeout_gets_a_unit() -> None:
    text = vs("hosts: [r]\nhttp:\n- route:\n  - destination: {host: r}\n  timeout: 10")
    (finding,) = only("invalid-duration", text)
    after = fixed(text, finding, "Use `10s`")
    assert "timeout: 10s" in after and not only("invalid-duration", after)


def test_spelled_out_unit_is_rewritten() -> None:
    text = dr("host: reviews\ntrafficPolicy:\n  loadBalancer:\n    simple: RANDOM\n    warmupDurationSecs: '30 sec'")
    (finding,) = only("invalid-duration", text)
    assert "warmupDurationSecs: '30s'" in fixed(text, finding, "Use `30s`")


def test_too_short_duration_has_no_guessed_fix() -> None:
    (finding,) = only("invalid-duration", vs("hosts: [r]\nhttp:\n- route:\n  - destination: {host: r}\n  timeout: 0s"))
    assert finding.fixes == []
    assert "1ms" in finding.message


def test_mirror_percent_is_deprecated_and_rewritten() -> None:
    text = vs("hosts: [r]\nhttp:\n- mirror: {host: shadow}\n  mirrorPercent: 50\n  route:\n  - destination: {host: r}")
    (finding,) = only("invalid-percentage", text)
    assert finding.severity == Severity.WARNING
    after = fixed(text, finding, "Use `mirrorPercentage`")
    assert "mirrorPercentage: {value: 50}" in after and not only("invalid-percentage", after)


def test_mirror_percent_above_100_is_an_error_and_a_warning() -> None:
    text = vs("hosts: [r]\nhttp:\n- mirror: {host: shadow}\n  mirrorPercent: 150\n  route:\n  - destination: {host: r}")
    assert sorted(f.severity for f in only("invalid-percentage", text)) == [Severity.ERROR, Severity.WARNING]


def test_port_level_settings_out_of_range_is_only_a_warning() -> None:
    text = dr(
        "host: r\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 0}\n    loadBalancer: {simple: RANDOM}"
    )
    (finding,) = only("invalid-port", text)
    assert finding.severity == Severity.WARNING


def test_non_istio_resources_are_ignored() -> None:
    text = res("DestinationRule", "host: r\ntrafficPolicy:\n  outlierDetection: {interval: 0s}", api="example.com/v1")
    assert not found(text, {"invalid-duration", "invalid-port", "invalid-percentage"})
