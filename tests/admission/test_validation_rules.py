# ruff: noqa: E501  (the table holds one-line YAML manifests)
"""validation-rule-violated: every CEL rule of the shipped Gateway API schemas, broken once and kept once.

Each case is a manifest that breaks one rule (the finding with the rule's message is expected) and one
that keeps it (no finding with that message). `test_every_shipped_rule_has_a_case` fails when a rule
of the shipped schemas is broken by none of the cases: add one when the schemas are regenerated."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from istio_lsp.checks.schema import cel, store, validation_rule
from istio_lsp.findings import Severity
from tests.admission.helpers import findings_for

CODE = "validation-rule-violated"
V1 = "gateway.networking.k8s.io/v1"
X = "gateway.networking.x-k8s.io/v1alpha1"


@dataclass(frozen=True)
class Case:
    message: str
    bad: str
    good: str


def doc(kind: str, spec: str, api: str = V1) -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x, namespace: ns}}\nspec: {spec}\n"


def route(rules: str, kind: str = "HTTPRoute", extra: str = "") -> str:
    return doc(kind, f"{{parentRefs: [{{name: gw}}], rules: {rules}{extra}}}")


def http_filter(f: str, on_backend: bool = False) -> str:
    if on_backend:
        return route(f"[{{backendRefs: [{{name: s, port: 80, filters: [{f}]}}]}}]")
    return route(f"[{{filters: [{f}]}}]")


def grpc_filter(f: str) -> str:
    return route(f"[{{filters: [{f}]}}]", kind="GRPCRoute")


def gateway(listeners: str, extra: str = "") -> str:
    return doc("Gateway", f"{{gatewayClassName: istio, listeners: {listeners}{extra}}}")


def btls(validation: str, targets: str = "[{group: '', kind: Service, name: s}]") -> str:
    return doc("BackendTLSPolicy", f"{{targetRefs: {targets}, validation: {validation}}}")


def path_match(path_type: str, value: str) -> str:
    return route(f"[{{matches: [{{path: {{type: {path_type}, value: '{value}'}}}}]}}]")


def redirect_path(path: str, on: str = "requestRedirect") -> str:
    return http_filter(
        f"{{type: {'RequestRedirect' if on == 'requestRedirect' else 'URLRewrite'}, {on}: {{path: {path}}}}}"
    )


def ext_auth(body: str) -> str:
    return http_filter(f"{{type: ExternalAuth, externalAuth: {{backendRef: {{name: a, port: 9000}}, {body}}}}}")


def cors(field: str, values: str) -> str:
    return http_filter(f"{{type: CORS, cors: {{{field}: {values}}}}}")


def session(body: str, kind: str = "HTTPRoute") -> str:
    return route(f"[{{sessionPersistence: {body}}}]", kind=kind)


def many_matches(kind: str, per_rule: int) -> str:
    match = "{method: {service: a.B, method: M}}" if kind == "GRPCRoute" else "{path: {type: PathPrefix, value: /a}}"
    rules = ", ".join(f"{{matches: [{', '.join([match] * per_rule)}]}}" for _ in range(16))
    return route(f"[{rules}]", kind=kind)


SAN = "{caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], hostname: a.example.com, subjectAltNames: [%s]}"
PREFIX = "{type: ReplacePrefixMatch, replacePrefixMatch: /b}"


def prefix_rule(filter_on: str, on_backend: bool, matches: str) -> str:
    kind = "RequestRedirect" if filter_on == "requestRedirect" else "URLRewrite"
    f = f"{{type: {kind}, {filter_on}: {{path: {PREFIX}}}}}"
    if on_backend:
        return route(f"[{{matches: {matches}, backendRefs: [{{name: s, port: 80, filters: [{f}]}}]}}]")
    return route(f"[{{matches: {matches}, filters: [{f}]}}]")


ONE_PREFIX = "[{path: {type: PathPrefix, value: /a}}]"
ONE_EXACT = "[{path: {type: Exact, value: /a}}]"
PARENTS = "{parentRefs: %s, rules: [{backendRefs: [{name: s, port: 80}]}]}"


def parents(kind: str, refs: str) -> str:
    return doc(kind, PARENTS % refs)


def infra(field: str, key: str) -> str:
    return gateway("[{name: a, port: 80, protocol: HTTP}]", f", infrastructure: {{{field}: {{'{key}': v}}}}")


def xbackend(spec: str) -> str:
    return doc("XBackend", spec, X)


def retry(interval_field: str, value: str) -> str:
    body = (
        f"{{budget: {{percent: 20, interval: {value}}}}}"
        if interval_field == "budget"
        else f"{{minRetryRate: {{count: 3, interval: {value}}}}}"
    )
    spec = f"{{targetRefs: [{{group: '', kind: Service, name: s}}], retryConstraint: {body}}}"
    return doc("XBackendTrafficPolicy", spec, X)


def listenerset(listeners: str) -> str:
    return doc("ListenerSet", f"{{parentRef: {{name: gw}}, listeners: {listeners}}}")


def tls_route(hostnames: str) -> str:
    return doc(
        "TLSRoute",
        f"{{parentRefs: [{{name: gw}}], hostnames: {hostnames}, rules: [{{backendRefs: [{{name: s, port: 443}}]}}]}}",
    )


def grpc_method(method: str) -> str:
    return route(f"[{{matches: [{{method: {method}}}]}}]", kind="GRPCRoute")


HTTP = "{name: a, port: 80, protocol: HTTP}"
TLS_TERMINATE = "{mode: Terminate, certificateRefs: [{name: c}]}"
SAME_TARGET = "[{group: '', kind: Service, name: s%s}, {group: '', kind: Service, name: s%s}]"
MIRROR = "{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}%s}}"

CASES: list[Case] = [
    # BackendTLSPolicy
    Case(
        "sectionName must be specified when targetRefs includes 2 or more references to the same target",
        btls("{wellKnownCACertificates: System, hostname: a.example.com}", SAME_TARGET % ("", ", sectionName: p")),
        btls(
            "{wellKnownCACertificates: System, hostname: a.example.com}",
            SAME_TARGET % (", sectionName: q", ", sectionName: p"),
        ),
    ),
    Case(
        "sectionName must be unique when targetRefs includes 2 or more references to the same target",
        btls(
            "{wellKnownCACertificates: System, hostname: a.example.com}",
            SAME_TARGET % (", sectionName: p", ", sectionName: p"),
        ),
        btls(
            "{wellKnownCACertificates: System, hostname: a.example.com}",
            SAME_TARGET % (", sectionName: q", ", sectionName: p"),
        ),
    ),
    Case(
        "must not contain both CACertificateRefs and WellKnownCACertificates",
        btls(
            "{caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], wellKnownCACertificates: System, hostname: a.b}"
        ),
        btls("{caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], hostname: a.b}"),
    ),
    Case(
        "must specify either CACertificateRefs or WellKnownCACertificates",
        btls("{hostname: a.example.com}"),
        btls("{wellKnownCACertificates: System, hostname: a.example.com}"),
    ),
    Case(
        "SubjectAltName element must contain Hostname, if Type is set to Hostname",
        btls(SAN % "{type: Hostname}"),
        btls(SAN % "{type: Hostname, hostname: b.example.com}"),
    ),
    Case(
        "SubjectAltName element must not contain Hostname, if Type is not set to Hostname",
        btls(SAN % "{type: URI, uri: 'spiffe://a', hostname: b.example.com}"),
        btls(SAN % "{type: URI, uri: 'spiffe://a'}"),
    ),
    Case(
        "SubjectAltName element must contain URI, if Type is set to URI",
        btls(SAN % "{type: URI}"),
        btls(SAN % "{type: URI, uri: 'spiffe://a'}"),
    ),
    Case(
        "SubjectAltName element must not contain URI, if Type is not set to URI",
        btls(SAN % "{type: Hostname, hostname: b.example.com, uri: 'spiffe://a'}"),
        btls(SAN % "{type: Hostname, hostname: b.example.com}"),
    ),
    # parentRefs (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute)
    Case(
        "sectionName or port must be specified when parentRefs includes 2 or more references to the same parent",
        parents("HTTPRoute", "[{name: gw}, {name: gw, sectionName: a}]"),
        parents("HTTPRoute", "[{name: gw, sectionName: b}, {name: gw, sectionName: a}]"),
    ),
    Case(
        "sectionName or port must be unique when parentRefs includes 2 or more references to the same parent",
        parents("GRPCRoute", "[{name: gw, sectionName: a}, {name: gw, sectionName: a}]"),
        parents("GRPCRoute", "[{name: gw, sectionName: a}, {name: gw, namespace: other, sectionName: a}]"),
    ),
    # rules
    Case(
        "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a "
        "route must be less than 128",
        many_matches("GRPCRoute", 9),
        many_matches("GRPCRoute", 8),
    ),
    Case(
        "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a "
        "route must be less than 128",
        many_matches("HTTPRoute", 9),
        many_matches("HTTPRoute", 8),
    ),
    Case(
        "Rule name must be unique within the route",
        route("[{name: a, backendRefs: [{name: s, port: 80}]}, {name: a, backendRefs: [{name: s, port: 81}]}]"),
        route("[{name: a, backendRefs: [{name: s, port: 80}]}, {name: b, backendRefs: [{name: s, port: 81}]}]"),
    ),
    Case(
        "Must have port for Service reference",
        route("[{backendRefs: [{name: s}]}]"),
        route("[{backendRefs: [{name: s, port: 80}, {name: b, group: example.com, kind: Bucket}]}]"),
    ),
    # filters
    Case(
        "RequestHeaderModifier filter cannot be repeated",
        grpc_filter(
            "{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}}, "
            "{type: RequestHeaderModifier, requestHeaderModifier: {remove: [b]}}"
        ),
        grpc_filter("{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a, b]}}"),
    ),
    Case(
        "ResponseHeaderModifier filter cannot be repeated",
        http_filter(
            "{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a]}}, "
            "{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [b]}}",
            on_backend=True,
        ),
        http_filter("{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a, b]}}", on_backend=True),
    ),
    Case(
        "filter.requestHeaderModifier must be nil if the filter.type is not RequestHeaderModifier",
        http_filter(
            "{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a]}, requestHeaderModifier: {remove: [a]}}"
        ),
        http_filter("{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a]}}"),
    ),
    Case(
        "filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type",
        http_filter("{type: RequestHeaderModifier}"),
        http_filter("{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}}"),
    ),
    Case(
        "filter.responseHeaderModifier must be nil if the filter.type is not ResponseHeaderModifier",
        grpc_filter(
            "{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}, responseHeaderModifier: {remove: [a]}}"
        ),
        grpc_filter("{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}}"),
    ),
    Case(
        "filter.responseHeaderModifier must be specified for ResponseHeaderModifier filter.type",
        grpc_filter("{type: ResponseHeaderModifier}"),
        grpc_filter("{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a]}}"),
    ),
    Case(
        "filter.requestMirror must be nil if the filter.type is not RequestMirror",
        http_filter(
            "{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}, "
            "requestMirror: {backendRef: {name: m, port: 80}}}"
        ),
        http_filter(MIRROR % ""),
    ),
    Case(
        "filter.requestMirror must be specified for RequestMirror filter.type",
        http_filter("{type: RequestMirror}"),
        http_filter(MIRROR % ""),
    ),
    Case(
        "filter.extensionRef must be nil if the filter.type is not ExtensionRef",
        http_filter(
            "{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}, "
            "extensionRef: {group: example.com, kind: Ext, name: e}}"
        ),
        http_filter("{type: ExtensionRef, extensionRef: {group: example.com, kind: Ext, name: e}}"),
    ),
    Case(
        "filter.extensionRef must be specified for ExtensionRef filter.type",
        grpc_filter("{type: ExtensionRef}"),
        grpc_filter("{type: ExtensionRef, extensionRef: {group: example.com, kind: Ext, name: e}}"),
    ),
    Case(
        "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter",
        http_filter(MIRROR % ", percent: 10, fraction: {numerator: 1, denominator: 10}"),
        http_filter(MIRROR % ", percent: 10"),
    ),
    Case(
        "numerator must be less than or equal to denominator",
        http_filter(MIRROR % ", fraction: {numerator: 11, denominator: 10}"),
        http_filter(MIRROR % ", fraction: {numerator: 10, denominator: 10}"),
    ),
    # GRPCRoute method matches
    Case(
        "One or both of 'service' or 'method' must be specified",
        grpc_method("{type: Exact}"),
        grpc_method("{type: Exact, service: foo.Bar}"),
    ),
    Case(
        r"service must only contain valid characters (matching ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)",
        grpc_method("{service: 'foo-bar.Svc'}"),
        grpc_method("{service: 'foo_bar.Svc', method: Get}"),
    ),
    Case(
        "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)",
        grpc_method("{method: 'Get-Thing'}"),
        grpc_method("{type: RegularExpression, method: 'Get-.*'}"),
    ),
    # sessionPersistence
    Case(
        "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent",
        session("{sessionName: s, type: Cookie, cookieConfig: {lifetimeType: Permanent}}", kind="GRPCRoute"),
        session(
            "{sessionName: s, type: Cookie, absoluteTimeout: 1h, cookieConfig: {lifetimeType: Permanent}}",
            kind="GRPCRoute",
        ),
    ),
    Case(
        "cookieConfig can only be set with type Cookie",
        session("{sessionName: s, type: Header, cookieConfig: {lifetimeType: Session}}"),
        session("{sessionName: s, type: Cookie, cookieConfig: {lifetimeType: Session}}"),
    ),
    # Gateway
    Case(
        "IPAddress values must be unique",
        gateway(f"[{HTTP}]", ", addresses: [{type: IPAddress, value: 10.0.0.1}, {type: IPAddress, value: 10.0.0.1}]"),
        gateway(f"[{HTTP}]", ", addresses: [{type: IPAddress, value: 10.0.0.1}, {type: IPAddress, value: 10.0.0.2}]"),
    ),
    Case(
        "Hostname values must be unique",
        gateway(
            f"[{HTTP}]", ", addresses: [{type: Hostname, value: a.example.com}, {type: Hostname, value: a.example.com}]"
        ),
        gateway(
            f"[{HTTP}]", ", addresses: [{type: Hostname, value: a.example.com}, {type: Hostname, value: b.example.com}]"
        ),
    ),
    Case(
        r"Hostname value must be empty or contain only valid characters (matching "
        r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
        gateway(f"[{HTTP}]", ", addresses: [{type: Hostname, value: A_B.example.com}]"),
        gateway(f"[{HTTP}]", ", addresses: [{type: Hostname, value: '*.example.com'}]"),
    ),
    Case(
        "Annotation keys must be in the form of an optional DNS subdomain prefix followed by a required name "
        "segment of up to 63 characters",
        infra("annotations", "example.com/-bad"),
        infra("annotations", "example.com/good"),
    ),
    Case(
        "If specified, the annotation key's prefix must be a DNS subdomain not longer than 253 characters in total",
        infra("annotations", "a" * 253 + "/k"),
        infra("annotations", "a" * 252 + "/k"),
    ),
    Case(
        "Label keys must be in the form of an optional DNS subdomain prefix followed by a required name segment "
        "of up to 63 characters",
        infra("labels", "Bad_/k"),
        infra("labels", "example.com/k"),
    ),
    Case(
        "If specified, the label key's prefix must be a DNS subdomain not longer than 253 characters in total",
        infra("labels", "b" * 253 + "/k"),
        infra("labels", "b" * 252 + "/k"),
    ),
    Case(
        "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
        gateway(f"[{{name: a, port: 80, protocol: HTTP, tls: {TLS_TERMINATE}}}]"),
        gateway(f"[{{name: a, port: 443, protocol: HTTPS, tls: {TLS_TERMINATE}}}]"),
    ),
    Case(
        "tls mode must be Terminate for protocol HTTPS",
        gateway("[{name: a, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}]"),
        gateway(f"[{{name: a, port: 443, protocol: HTTPS, tls: {TLS_TERMINATE}}}]"),
    ),
    Case(
        "tls mode must be set for protocol TLS",
        gateway("[{name: a, port: 443, protocol: TLS}]"),
        gateway("[{name: a, port: 443, protocol: TLS, tls: {mode: Passthrough}}]"),
    ),
    Case(
        "hostname must not be specified for protocols ['TCP', 'UDP']",
        gateway("[{name: a, port: 9000, protocol: TCP, hostname: a.example.com}]"),
        gateway("[{name: a, port: 9000, protocol: TCP}]"),
    ),
    Case(
        "Listener name must be unique within the Gateway",
        gateway("[{name: a, port: 80, protocol: HTTP}, {name: a, port: 8080, protocol: HTTP}]"),
        gateway("[{name: a, port: 80, protocol: HTTP}, {name: b, port: 8080, protocol: HTTP}]"),
    ),
    Case(
        "Combination of port, protocol and hostname must be unique for each listener",
        gateway(
            "[{name: a, port: 80, protocol: HTTP, hostname: a.com}, {name: b, port: 80, protocol: HTTP, hostname: a.com}]"
        ),
        gateway(
            "[{name: a, port: 80, protocol: HTTP, hostname: a.com}, {name: b, port: 80, protocol: HTTP, hostname: b.com}]"
        ),
    ),
    Case(
        "certificateRefs or options must be specified when mode is Terminate",
        gateway("[{name: a, port: 443, protocol: HTTPS, tls: {mode: Terminate, certificateRefs: [], options: {}}}]"),
        gateway("[{name: a, port: 443, protocol: HTTPS, tls: {mode: Terminate, certificateRefs: [{name: c}]}}]"),
    ),
    Case(
        "Port for TLS configuration must be unique within the Gateway",
        gateway(
            f"[{HTTP}]",
            ", tls: {frontend: {default: {validation: {caCertificateRefs: [{name: ca, group: '', "
            "kind: ConfigMap}]}}, perPort: [{port: 443, tls: {validation: {caCertificateRefs: [{name: ca, group: '', "
            "kind: ConfigMap}]}}}, {port: 443, tls: {validation: {caCertificateRefs: [{name: cb, group: '', kind: ConfigMap}]}}}]}}",
        ),
        gateway(
            f"[{HTTP}]",
            ", tls: {frontend: {default: {validation: {caCertificateRefs: [{name: ca, group: '', "
            "kind: ConfigMap}]}}, perPort: [{port: 443, tls: {validation: {caCertificateRefs: [{name: ca, group: '', "
            "kind: ConfigMap}]}}}, {port: 8443, tls: {validation: {caCertificateRefs: [{name: cb, group: '', kind: ConfigMap}]}}}]}}",
        ),
    ),
    # HTTPRoute rules
    Case(
        "RequestRedirect filter must not be used together with backendRefs",
        route(
            "[{filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}], backendRefs: [{name: s, port: 80}]}]"
        ),
        route("[{filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]}]"),
    ),
    Case(
        "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        prefix_rule("requestRedirect", False, ONE_EXACT),
        prefix_rule("requestRedirect", False, ONE_PREFIX),
    ),
    Case(
        "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        prefix_rule(
            "urlRewrite", False, "[{path: {type: PathPrefix, value: /a}}, {path: {type: PathPrefix, value: /c}}]"
        ),
        prefix_rule("urlRewrite", False, ONE_PREFIX),
    ),
    Case(
        "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix "
        "match must be specified",
        prefix_rule("requestRedirect", True, ONE_EXACT),
        prefix_rule("requestRedirect", True, ONE_PREFIX),
    ),
    Case(
        "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match "
        "must be specified",
        prefix_rule("urlRewrite", True, ONE_EXACT),
        prefix_rule("urlRewrite", True, ONE_PREFIX),
    ),
    Case(
        "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
        route(
            "[{filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}, "
            "{type: URLRewrite, urlRewrite: {hostname: a.com}}]}]"
        ),
        route("[{filters: [{type: URLRewrite, urlRewrite: {hostname: a.com}}], backendRefs: [{name: s, port: 80}]}]"),
    ),
    Case(
        "CORS filter cannot be repeated",
        http_filter(
            "{type: CORS, cors: {allowOrigins: ['https://a.com']}}, {type: CORS, cors: {allowOrigins: ['https://b.com']}}"
        ),
        http_filter("{type: CORS, cors: {allowOrigins: ['https://a.com', 'https://b.com']}}"),
    ),
    Case(
        "RequestRedirect filter cannot be repeated",
        http_filter(
            "{type: RequestRedirect, requestRedirect: {scheme: https}}, {type: RequestRedirect, requestRedirect: {port: 8443}}"
        ),
        http_filter("{type: RequestRedirect, requestRedirect: {scheme: https, port: 8443}}"),
    ),
    Case(
        "URLRewrite filter cannot be repeated",
        http_filter(
            "{type: URLRewrite, urlRewrite: {hostname: a.com}}, {type: URLRewrite, urlRewrite: {hostname: b.com}}"
        ),
        http_filter("{type: URLRewrite, urlRewrite: {hostname: a.com}}"),
    ),
    Case(
        "filter.cors must be nil if the filter.type is not CORS",
        http_filter("{type: URLRewrite, urlRewrite: {hostname: a.com}, cors: {allowOrigins: ['https://a.com']}}"),
        http_filter("{type: CORS, cors: {allowOrigins: ['https://a.com']}}"),
    ),
    Case(
        "filter.cors must be specified for CORS filter.type",
        http_filter("{type: CORS}"),
        http_filter("{type: CORS, cors: {allowOrigins: ['https://a.com']}}"),
    ),
    Case(
        "filter.requestRedirect must be nil if the filter.type is not RequestRedirect",
        http_filter("{type: URLRewrite, urlRewrite: {hostname: a.com}, requestRedirect: {scheme: https}}"),
        http_filter("{type: RequestRedirect, requestRedirect: {scheme: https}}"),
    ),
    Case(
        "filter.requestRedirect must be specified for RequestRedirect filter.type",
        http_filter("{type: RequestRedirect}"),
        http_filter("{type: RequestRedirect, requestRedirect: {scheme: https}}"),
    ),
    Case(
        "filter.urlRewrite must be nil if the filter.type is not URLRewrite",
        http_filter("{type: RequestRedirect, requestRedirect: {scheme: https}, urlRewrite: {hostname: a.com}}"),
        http_filter("{type: URLRewrite, urlRewrite: {hostname: a.com}}"),
    ),
    Case(
        "filter.urlRewrite must be specified for URLRewrite filter.type",
        http_filter("{type: URLRewrite}"),
        http_filter("{type: URLRewrite, urlRewrite: {hostname: a.com}}"),
    ),
    Case(
        "filter.externalAuth must be nil if the filter.type is not ExternalAuth",
        http_filter(
            "{type: URLRewrite, urlRewrite: {hostname: a.com}, externalAuth: {protocol: HTTP, "
            "backendRef: {name: a, port: 9000}, http: {}}}"
        ),
        http_filter(
            "{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: a, port: 9000}, http: {}}}"
        ),
    ),
    Case(
        "filter.externalAuth must be specified for ExternalAuth filter.type",
        http_filter("{type: ExternalAuth}"),
        http_filter(
            "{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: a, port: 9000}, http: {}}}"
        ),
    ),
    Case(
        "AllowHeaders cannot contain '*' alongside other methods",
        cors("allowHeaders", "['*', X-A]"),
        cors("allowHeaders", "['*']"),
    ),
    Case(
        "AllowMethods cannot contain '*' alongside other methods",
        cors("allowMethods", "['*', GET]"),
        cors("allowMethods", "[GET, POST]"),
    ),
    Case(
        "AllowOrigins cannot contain '*' alongside other origins",
        cors("allowOrigins", "['*', 'https://a.com']"),
        cors("allowOrigins", "['*']"),
    ),
    Case(
        "grpc must be specified when protocol is set to 'GRPC'",
        ext_auth("protocol: GRPC"),
        ext_auth("protocol: GRPC, grpc: {}"),
    ),
    Case(
        "protocol must be 'GRPC' when grpc is set",
        ext_auth("protocol: HTTP, http: {}, grpc: {}"),
        ext_auth("protocol: GRPC, grpc: {}"),
    ),
    Case(
        "http must be specified when protocol is set to 'HTTP'",
        ext_auth("protocol: HTTP"),
        ext_auth("protocol: HTTP, http: {}"),
    ),
    Case(
        "protocol must be 'HTTP' when http is set",
        ext_auth("protocol: GRPC, grpc: {}, http: {}"),
        ext_auth("protocol: HTTP, http: {}"),
    ),
    Case(
        "replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
        redirect_path("{type: ReplaceFullPath}"),
        redirect_path("{type: ReplaceFullPath, replaceFullPath: /b}"),
    ),
    Case(
        "type must be 'ReplaceFullPath' when replaceFullPath is set",
        redirect_path("{type: ReplacePrefixMatch, replacePrefixMatch: /b, replaceFullPath: /b}", on="urlRewrite"),
        redirect_path("{type: ReplaceFullPath, replaceFullPath: /b}", on="urlRewrite"),
    ),
    Case(
        "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'",
        redirect_path("{type: ReplacePrefixMatch}"),
        redirect_path(PREFIX),
    ),
    Case(
        "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
        redirect_path("{type: ReplaceFullPath, replaceFullPath: /b, replacePrefixMatch: /b}"),
        redirect_path("{type: ReplaceFullPath, replaceFullPath: /b}"),
    ),
    # path matches
    Case(
        "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
        path_match("PathPrefix", "api"),
        path_match("RegularExpression", "api.*"),
    ),
    Case(
        "must not contain '//' when type one of ['Exact', 'PathPrefix']",
        path_match("Exact", "/a//b"),
        path_match("Exact", "/a/b"),
    ),
    Case(
        "must not contain '/./' when type one of ['Exact', 'PathPrefix']",
        path_match("Exact", "/a/./b"),
        path_match("Exact", "/a/.b"),
    ),
    Case(
        "must not contain '/../' when type one of ['Exact', 'PathPrefix']",
        path_match("PathPrefix", "/a/../b"),
        path_match("PathPrefix", "/a/..b"),
    ),
    Case(
        "must not contain '%2f' when type one of ['Exact', 'PathPrefix']",
        path_match("Exact", "/a%2fb"),
        path_match("Exact", "/a%20b"),
    ),
    Case(
        "must not contain '%2F' when type one of ['Exact', 'PathPrefix']",
        path_match("Exact", "/a%2Fb"),
        path_match("Exact", "/a%20b"),
    ),
    Case(
        "must not contain '#' when type one of ['Exact', 'PathPrefix']",
        path_match("Exact", "/a#b"),
        path_match("RegularExpression", "/a#b"),
    ),
    Case(
        "must not end with '/..' when type one of ['Exact', 'PathPrefix']",
        path_match("PathPrefix", "/a/.."),
        path_match("PathPrefix", "/a/..b"),
    ),
    Case(
        "must not end with '/.' when type one of ['Exact', 'PathPrefix']",
        path_match("PathPrefix", "/a/."),
        path_match("PathPrefix", "/a/.b"),
    ),
    Case(
        "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
        path_match("Prefix", "/a"),
        path_match("RegularExpression", "/a"),
    ),
    Case(
        "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for "
        "types ['Exact', 'PathPrefix']",
        path_match("Exact", "/a b"),
        path_match("Exact", "/a%20b"),
    ),
    Case(
        "backendRequest timeout cannot be longer than request timeout",
        route("[{timeouts: {request: 10s, backendRequest: 20s}, backendRefs: [{name: s, port: 80}]}]"),
        route("[{timeouts: {request: 0s, backendRequest: 20s}, backendRefs: [{name: s, port: 80}]}]"),
    ),
    Case(
        "Combination of port, protocol and hostname must be unique for each listener",
        listenerset("[{name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTP}]"),
        listenerset("[{name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTP, hostname: b.com}]"),
    ),
    # TLSRoute
    Case("Hostnames cannot contain an IP", tls_route("['10.0.0.1']"), tls_route("[a.example.com]")),
    Case("Hostnames must be valid based on RFC-1123", tls_route("[A_B.example.com]"), tls_route("[a-b.example.com]")),
    Case(
        "Wildcards on hostnames must be the first label, and the rest of hostname must be valid based on RFC-1123",
        tls_route("['a.*.example.com']"),
        tls_route("['*.example.com']"),
    ),
    # experimental channel: XBackend, XBackendTrafficPolicy
    Case(
        "externalHostname must be set when type is ExternalHostname and must be unset otherwise",
        xbackend("{type: ExternalHostname, port: {port: 443}}"),
        xbackend("{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {port: 443}}"),
    ),
    Case(
        "hostname must not be an IP address or end with .cluster.local",
        xbackend("{type: ExternalHostname, externalHostname: {hostname: a.ns.svc.cluster.local}, port: {port: 443}}"),
        xbackend("{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {port: 443}}"),
    ),
    Case(
        "Name must be a valid DNS label",
        xbackend(
            "{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {name: Web_1, port: 443}}"
        ),
        xbackend(
            "{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {name: web-1, port: 443}}"
        ),
    ),
    Case(
        "clientCertificateRef must be set if and only if mode is ClientAndServer",
        xbackend(
            "{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {port: 443}, "
            "tls: {mode: ClientAndServer, validation: {wellKnownCACertificates: System, hostname: a.example.com}}}"
        ),
        xbackend(
            "{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {port: 443}, "
            "tls: {mode: ClientAndServer, clientCertificateRef: {name: c}, validation: {wellKnownCACertificates: System, "
            "hostname: a.example.com}}}"
        ),
    ),
    Case(
        "interval cannot be greater than one hour or less than one second",
        retry("budget", "500ms"),
        retry("budget", "10s"),
    ),
    Case("interval cannot be greater than one hour", retry("minRetryRate", "2h"), retry("minRetryRate", "1h")),
]

# rules a manifest cannot break: they compare with the stored object, or sit in `status`, which
# `kubectl apply` does not write
NOT_APPLICABLE = {
    ("self == oldSelf", "Value is immutable"),
}
STATUS_ONLY_MESSAGES = {
    r"Hostname value must only contain valid characters (matching "
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
}


def _messages(text: str) -> list[str]:
    return [f.message for f in findings_for(text) if f.code == CODE]


def _has(messages: list[str], message: str) -> bool:
    return any(f": {message}. The API server rejects" in m for m in messages)


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.message[:40]}" for i, c in enumerate(CASES)])
def test_rule_broken_and_kept(case: Case) -> None:
    bad = _messages(case.bad)
    assert _has(bad, case.message), (case.bad, bad)
    good = findings_for(case.good)
    assert not _has([f.message for f in good if f.code == CODE], case.message), case.good
    # the kept manifests are valid as a whole: no other rule, no schema finding
    schema_codes = {CODE, "unknown-field", "invalid-type", "invalid-enum-value", "missing-required-field"}
    assert [f.message for f in good if f.code in schema_codes] == [], case.good


def _shipped_rules() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(schema: Any, path: str) -> None:
        if isinstance(schema, dict):
            for entry in schema.get("x-kubernetes-validations") or ():
                found.add((entry["rule"], entry.get("message", "")))
            for key, value in schema.items():
                if key == "properties":
                    for sub in value.values():
                        walk(sub, path)
                elif key in ("items", "additionalProperties"):
                    walk(value, path)

    for info in store.kinds().values():
        if info.source == "gateway-api":
            for api_version in info.api_versions:
                walk(store.schema_for(api_version, info.kind), "")
    return found


def _rules_broken_by(text: str, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    original = validation_rule._Walker._finding

    def spy(self: Any, rule: Any, *args: Any) -> Any:
        seen.add((rule.program.rule, rule.raw_message))
        return original(self, rule, *args)

    monkeypatch.setattr(validation_rule._Walker, "_finding", spy)
    findings_for(text)
    return seen


def test_every_shipped_rule_has_a_case(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = _shipped_rules()
    assert len(shipped) == 98
    broken: set[tuple[str, str]] = set()
    for case in CASES:
        broken |= _rules_broken_by(case.bad, monkeypatch)
    status_only = {(rule, message) for rule, message in shipped if message in STATUS_ONLY_MESSAGES}
    missing = shipped - broken - NOT_APPLICABLE - status_only
    assert not missing, "add a case for: " + json.dumps(sorted(missing), indent=1)
    # and every rule compiles, but the transition rules
    assert {rule for rule, _ in shipped if cel.compile_rule(rule) is None} == {"self == oldSelf"}


def test_status_and_transition_rules_are_not_evaluated() -> None:
    text = doc("Gateway", f"{{gatewayClassName: istio, listeners: [{HTTP}]}}") + (
        "status: {addresses: [{type: Hostname, value: BAD_HOST}]}\n"
    )
    assert _messages(text) == []


def test_where_findings_point() -> None:
    text = gateway("[{name: a, port: 80, protocol: HTTP}, {name: a, port: 8080, protocol: HTTP}]")
    (finding,) = [f for f in findings_for(text) if f.code == CODE]
    assert finding.severity is Severity.ERROR
    assert finding.span.start_line == 3 and text.splitlines()[3][finding.span.start_char :].startswith("listeners")
    assert finding.message.startswith("`spec.listeners`: Listener name must be unique within the Gateway.")
    # a rule on a list item points at the item's first key
    bad = path_match("PathPrefix", "api")
    (finding,) = [f for f in findings_for(bad) if f.code == CODE]
    assert "`spec.rules[0].matches[0].path`" in finding.message


def test_defaults_are_filled_in_first() -> None:
    # backendRefs[].kind defaults to Service and group to "": the port is required
    assert _has(_messages(route("[{backendRefs: [{name: s}]}]")), "Must have port for Service reference")
    assert _messages(route("[{backendRefs: [{name: s, group: example.com, kind: Bucket}]}]")) == []
    # GRPCRoute matches default to none; HTTPRoute's default to one PathPrefix `/`: a ReplacePrefixMatch
    # redirect on a rule without matches is fine
    assert _messages(prefix_rule("requestRedirect", False, "[]")) != []  # an empty list is no default
    text = route(f"[{{filters: [{{type: RequestRedirect, requestRedirect: {{path: {PREFIX}}}}}]}}]")
    assert _messages(text) == []


@pytest.mark.parametrize(
    "text",
    [
        route("[{backendRefs: [{name: s, port: $(PORT)}]}]"),
        path_match("PathPrefix", "${PREFIX}"),
        gateway("[{name: '$(NAME)', port: 80, protocol: HTTP}, {name: a, port: 8080, protocol: HTTP}]"),
        tls_route("['{{ .Values.host }}']"),
    ],
)
def test_placeholders_decide_nothing(text: str) -> None:
    assert _messages(text) == []


N = "networking.istio.io/v1"
S = "security.istio.io/v1"
ISTIO_COVERED = [
    # (manifest breaking an Istio CRD rule, the hand-written admission rule that reports it)
    (
        doc("ServiceEntry", "{hosts: ['*'], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}", N),
        "invalid-serviceentry-host",
    ),
    (
        doc(
            "ServiceEntry",
            "{hosts: [a.b], ports: [{number: 80, name: http, protocol: HTTP}], resolution: NONE, endpoints: [{address: 1.1.1.1}]}",
            N,
        ),
        "invalid-serviceentry-resolution",
    ),
    (
        doc("AuthorizationPolicy", "{selector: {matchLabels: {app: a}}, targetRefs: [{kind: Service, name: s}]}", S),
        "invalid-authorization-policy",
    ),
    (doc("WorkloadEntry", "{address: 'unix:///a/b/'}", N), "invalid-workload-entry"),
    (doc("PeerAuthentication", "{portLevelMtls: {'8080': {mode: DISABLE}}}", S), "invalid-peer-authentication"),
]


@pytest.mark.parametrize(("text", "code"), ISTIO_COVERED, ids=[c for _, c in ISTIO_COVERED])
def test_istio_rules_covered_by_admission_rules_are_not_repeated(text: str, code: str) -> None:
    found = findings_for(text)
    assert code in {f.code for f in found}
    assert [f.message for f in found if f.code == CODE] == []


T = "telemetry.istio.io/v1"
E = "extensions.istio.io/v1alpha1"
EF = "networking.istio.io/v1alpha3"
ISTIO_UNCOVERED = [
    Case(
        "only one of targetRefs or selector can be set",
        doc("Telemetry", "{selector: {matchLabels: {app: a}}, targetRef: {kind: Service, name: s}}", T),
        doc("Telemetry", "{targetRef: {kind: Service, name: s}}", T),
    ),
    Case(
        "value must be set when operation is UPSERT",
        doc("Telemetry", "{metrics: [{overrides: [{tagOverrides: {a: {operation: UPSERT, value: ''}}}]}]}", T),
        doc("Telemetry", "{metrics: [{overrides: [{tagOverrides: {a: {operation: UPSERT, value: x}}}]}]}", T),
    ),
    Case(
        "value must not be set when operation is REMOVE",
        doc("Telemetry", "{metrics: [{overrides: [{tagOverrides: {a: {operation: REMOVE, value: x}}}]}]}", T),
        doc("Telemetry", "{metrics: [{overrides: [{tagOverrides: {a: {operation: REMOVE}}}]}]}", T),
    ),
    Case(
        "only one of targetRefs or workloadSelector can be set",
        doc(
            "EnvoyFilter",
            "{workloadSelector: {labels: {app: a}}, targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: g}], configPatches: []}",
            EF,
        ),
        doc(
            "EnvoyFilter",
            "{targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: g}], configPatches: []}",
            EF,
        ),
    ),
    Case(
        "only support waypointMatch when context is WAYPOINT",
        doc(
            "EnvoyFilter",
            "{configPatches: [{applyTo: HTTP_FILTER, match: {context: SIDECAR_INBOUND, waypoint: {}}, patch: {operation: REMOVE}}]}",
            EF,
        ),
        doc(
            "EnvoyFilter",
            "{configPatches: [{applyTo: HTTP_FILTER, match: {context: WAYPOINT, waypoint: {}}, patch: {operation: REMOVE}}]}",
            EF,
        ),
    ),
    Case(
        "only one of targetRefs or selector can be set",
        doc(
            "TrafficExtension",
            "{selector: {matchLabels: {app: a}}, targetRefs: [{kind: Service, name: s}], lua: {inlineCode: x}}",
            E,
        ),
        doc("TrafficExtension", "{targetRefs: [{kind: Service, name: s}], lua: {inlineCode: x}}", E),
    ),
    Case(
        "exactly one of wasm or lua must be set",
        doc("TrafficExtension", "{selector: {matchLabels: {app: a}}}", E),
        doc("TrafficExtension", "{selector: {matchLabels: {app: a}}, wasm: {url: 'oci://r/p'}}", E),
    ),
    Case(
        "url must have schema one of [http, https, file, oci]",
        doc("TrafficExtension", "{wasm: {url: 'ftp://r/p'}}", E),
        doc("TrafficExtension", "{wasm: {url: 'r.example.com/p'}}", E),
    ),
]


@pytest.mark.parametrize("case", ISTIO_UNCOVERED, ids=[f"{i}-{c.message[:40]}" for i, c in enumerate(ISTIO_UNCOVERED)])
def test_istio_rules_no_admission_rule_covers(case: Case) -> None:
    assert _has(_messages(case.bad), case.message), case.bad
    assert not _has(_messages(case.good), case.message), case.good


def test_the_istio_allowlist_names_shipped_rules() -> None:
    messages: dict[str, set[str]] = {}

    def walk(kind: str, schema: Any) -> None:
        if isinstance(schema, dict):
            for entry in schema.get("x-kubernetes-validations") or ():
                messages.setdefault(kind, set()).add(entry.get("message", ""))
            for value in schema.values():
                walk(kind, value)
        elif isinstance(schema, list):
            for value in schema:
                walk(kind, value)

    for info in store.kinds().values():
        if info.source == "istio":
            walk(info.kind, store.schema_for(info.api_version(), info.kind))
    for kind, allowed in validation_rule.ISTIO_RULES.items():
        assert allowed is None or allowed <= messages[kind], kind


def _many_routes(count: int) -> Iterator[str]:
    for i in range(count):
        yield route(
            f"[{{matches: [{{path: {{type: PathPrefix, value: /r{i}}}}}], filters: [{{type: RequestHeaderModifier, "
            f"requestHeaderModifier: {{set: [{{name: x, value: y}}]}}}}], backendRefs: [{{name: s{i}, port: 80}}]}}]"
        ).replace("name: x,", f"name: r{i},", 1)


def test_a_thousand_routes_are_quick() -> None:
    text = "---\n".join(_many_routes(1000))
    start = time.perf_counter()
    assert _messages(text) == []
    assert time.perf_counter() - start < 30  # the whole analysis; the rules take a small share (see report)


# --- experimental-channel-only -------------------------------------------------------------------

EXPERIMENTAL = "experimental-channel-only"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            gateway(f"[{HTTP}]", ", defaultScope: All"),
            "`spec.defaultScope` exists only in the Gateway API's experimental",
        ),
        (
            route("[{backendRefs: [{name: s, port: 80}]}]", extra=", useDefaultGateways: All"),
            "`spec.useDefaultGateways`",
        ),
        (
            http_filter(
                "{type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: a, port: 9000}, http: {}}}"
            ),
            "`spec.rules[0].filters[0].externalAuth`",
        ),
        (tls_route("[a.example.com]").replace(V1, "gateway.networking.k8s.io/v1alpha2"), "served only by the"),
        (
            xbackend("{type: ExternalHostname, externalHostname: {hostname: a.example.com}, port: {port: 443}}"),
            "XBackend is served only by the Gateway API's experimental channel",
        ),
    ],
)
def test_experimental_channel_only(text: str, expected: str) -> None:
    found = [f for f in findings_for(text) if f.code == EXPERIMENTAL]
    assert len(found) == 1 and expected in found[0].message, [f.message for f in found]
    assert found[0].severity is Severity.INFORMATION


@pytest.mark.parametrize(
    "text",
    [
        gateway(f"[{HTTP}]"),
        route("[{backendRefs: [{name: s, port: 80}]}]"),
        http_filter("{type: RequestRedirect, requestRedirect: {scheme: https}}"),
        tls_route("[a.example.com]"),
    ],
)
def test_standard_channel_is_quiet(text: str) -> None:
    assert [f.message for f in findings_for(text) if f.code == EXPERIMENTAL] == []
