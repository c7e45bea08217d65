"""Sidecar admission rules (`ValidateSidecar`): an empty Sidecar, ingress and egress listeners, outbound policy.

Port number ranges and the workloadSelector are the generic rules' (`invalid-port`,
`invalid-selector`, `empty-selector`); durations inside connection pools are
`invalid-duration`'s.
"""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._se_security import (
    PROTOCOL_NAMES,
    UNIX_PREFIX,
    Path,
    did_you_mean,
    is_http,
    is_tls,
    port_name_problem,
    prefix_fix,
    protocol_problem,
    split_host_port,
    unix_address_problem,
)
from istio_lsp.checks.admission.common import (
    as_int,
    dns1123_label_problem,
    fqdn_problem,
    is_ip,
    partial_wildcard,
    port_problem,
    wildcard_domain_problem,
)
from istio_lsp.checks.admission.gateway import VALID_CIPHERS
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import count, distinct_items, is_true_text, present, scalar_items_or_empty, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, Node, SequenceNode
from istio_lsp.syntax.nodes import get, scalar

REJECTED = "kubectl apply is rejected by Istio's webhook"


def _sentence(problem: str | None) -> str:
    text = problem or ""
    return text[:1].upper() + text[1:]


# ---- empty-sidecar -------------------------------------------------------------

EMPTY_DOC = """\
A Sidecar sets none of `egress`, `ingress`, `outboundTrafficPolicy` and
`inboundConnectionPool`.

Checklist row (§5 Sidecar): empty configuration. (A Sidecar without any `spec` is
the schema rule `missing-required-field`'s.)

## Why it matters

Istio's webhook rejects a Sidecar that configures nothing ("sidecar: empty
configuration provided"). A Sidecar with only a `workloadSelector` usually lost
its `egress` section in an edit.

## Wrong

```yaml
kind: Sidecar
spec:
  workloadSelector:
    labels: {app: reviews}
```

## Right

```yaml
kind: Sidecar
spec:
  workloadSelector:
    labels: {app: reviews}
  egress:
  - hosts: ["./*", "istio-system/*"]
```
"""


def check_empty(ctx: DocumentContext) -> Iterator[Finding]:
    spec = ctx.spec
    if not isinstance(spec, MappingNode):
        return  # no `spec` at all is the schema's missing-required-field
    if count(get(spec, "egress")) or count(get(spec, "ingress")):
        return
    if present(get(spec, "outboundTrafficPolicy")) or present(get(spec, "inboundConnectionPool")):
        return
    yield ctx.finding(
        EMPTY_RULE.code,
        Severity.ERROR,
        "spec",
        "This Sidecar configures nothing: it needs `egress`, `ingress`, `outboundTrafficPolicy` or "
        f"`inboundConnectionPool`; {REJECTED}.",
        key=True,
    )


EMPTY_RULE = Rule(
    code="empty-sidecar",
    severity=Severity.ERROR,
    summary="A Sidecar has no egress, ingress, outboundTrafficPolicy or inboundConnectionPool.",
    doc=EMPTY_DOC,
    local=check_empty,
    kinds=("Sidecar",),
    istio_codes=("IST0106",),
)


# ---- shared port checks ----------------------------------------------------------


def _port_findings(ctx: DocumentContext, code: str, where: Path, port: MappingNode) -> Iterator[Finding]:
    """Name (optional) and protocol of a SidecarPort, and the targetPort that has no effect."""
    name = text_or_empty(port, "name")
    if name and port_name_problem(name) is not None:
        yield ctx.finding(code, Severity.ERROR, [*where, "name"], f"{_sentence(port_name_problem(name))}; {REJECTED}.")
    protocol_node = get(port, "protocol")
    problem = protocol_problem(text_or_empty(port, "protocol"))
    if problem is not None and protocol_node is not None:
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "protocol"],
            f"{_sentence(problem)}; {REJECTED}.",
            fixes=did_you_mean(ctx, protocol_node, PROTOCOL_NAMES),
        )
    target = as_int(text_or_empty(port, "targetPort"))
    if target is not None and target > 0:
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "targetPort"],
            f"`targetPort` has no effect on a Sidecar listener; {REJECTED}.",
            key=True,
        )


def _bind_ip_finding(ctx: DocumentContext, code: str, where: Path, bind: str) -> Iterator[Finding]:
    if bind and not is_ip(bind):
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "bind"],
            f"`bind` `{bind}` is not an IP address; {REJECTED}.",
        )


# ---- invalid-sidecar-ingress ---------------------------------------------------

INGRESS_DOC = """\
A Sidecar `ingress` listener (or the inbound connection pool) is not valid.

Checklist rows (§5 Sidecar): ingress not null; `port` required; `targetPort` has
no effect; port name is DNS-1123 and protocol valid; `bind` is an IP; port numbers
unique; `defaultEndpoint` is `unix://<absolute path>` or
`<127.0.0.1|0.0.0.0|[::1]|[::]>:<port>`; ingress `tls` does not support
subjectAltNames, httpsRedirect, credentialName(s) or tlsCertificates, nor the
modes ISTIO_MUTUAL and AUTO_PASSTHROUGH, needs a TLS port (HTTPS or TLS) and
follows the server TLS rules (SIMPLE needs a certificate and key, MUTUAL also a
CA bundle, no CRL with SIMPLE, certificates ignored with PASSTHROUGH (warning),
TLS below 1.2 without cipher suites (warning), unknown or repeated cipher suites
(warning)); connection pools set `http` or `tcp` and no negative limits, and
`h2UpgradePolicy: UPGRADE` is not combined with `useClientProtocol`; HTTP pool
settings on a port that is not HTTP have no effect (warning).

## Why it matters

Istio's webhook rejects the errors. An ingress listener tells the sidecar how to
accept traffic for the workload and where to forward it (`defaultEndpoint`); the
forward target must be the workload itself on loopback, any other address would
turn the sidecar into an open relay.

## Wrong

```yaml
kind: Sidecar
spec:
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http, targetPort: 8080}
    defaultEndpoint: 10.0.0.5:8080
```

## Right

```yaml
kind: Sidecar
spec:
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
```
"""

_LOOPBACK_HOSTS = ("", "127.0.0.1", "0.0.0.0", "::1", "::")


def check_ingress(ctx: DocumentContext) -> Iterator[Finding]:
    code = INGRESS_RULE.code
    spec = ctx.spec
    ingress = get(spec, "ingress")
    yield from _duplicate_ports(ctx, code, "ingress", ingress)
    for i, listener in distinct_items(ingress):
        where: Path = ["spec", "ingress", i]
        if not isinstance(listener, MappingNode):
            if not present(listener):
                yield ctx.finding(code, Severity.ERROR, where, f"An ingress listener is null; {REJECTED}.")
            continue
        port = get(listener, "port")
        if not isinstance(port, MappingNode):
            yield ctx.finding(
                code,
                Severity.ERROR,
                [*where, "port"],
                f"An ingress listener needs a `port`; {REJECTED}.",
                key=True,
            )
            continue
        yield from _port_findings(ctx, code, [*where, "port"], port)
        yield from _bind_ip_finding(ctx, code, where, text_or_empty(listener, "bind"))
        yield from _default_endpoint(ctx, code, where, text_or_empty(listener, "defaultEndpoint"))
        tls = get(listener, "tls")
        if isinstance(tls, MappingNode):
            yield from _ingress_tls(ctx, code, [*where, "tls"], tls, text_or_empty(port, "protocol"))
        pool = get(listener, "connectionPool")
        yield from _connection_pool(ctx, code, [*where, "connectionPool"], pool)
        if (
            isinstance(pool, MappingNode)
            and present(get(pool, "http"))
            and not is_http(text_or_empty(port, "protocol"))
        ):
            protocol = text_or_empty(port, "protocol") or "unset"
            yield ctx.finding(
                code,
                Severity.WARNING,
                [*where, "connectionPool", "http"],
                f"HTTP connection pool settings on port {text_or_empty(port, 'number')} whose protocol ({protocol}) is "
                f"not HTTP: only the TCP settings apply; Istio admits it with a warning.",
                key=True,
            )
    yield from _connection_pool(ctx, code, ["spec", "inboundConnectionPool"], get(spec, "inboundConnectionPool"))


def _duplicate_ports(ctx: DocumentContext, code: str, field: str, listeners: Node | None) -> Iterator[Finding]:
    """Port numbers (and, for egress, unix socket binds) used by two listeners, aliases included."""
    numbers: set[int] = set()
    sockets: set[str] = set()
    for i, listener in enumerate(listeners.value if isinstance(listeners, SequenceNode) else []):
        port = get(listener, "port")
        if not isinstance(listener, MappingNode) or not isinstance(port, MappingNode):
            continue
        number = as_int(text_or_empty(port, "number") or "0")
        bind = text_or_empty(listener, "bind")
        if number is None:
            continue
        if field == "egress" and number == 0:
            if bind.startswith(UNIX_PREFIX):
                if bind in sockets:
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        ["spec", field, i, "bind"],
                        f"Unix socket `{bind}` is bound by an earlier egress listener; {REJECTED}.",
                    )
                sockets.add(bind)
            continue
        if number in numbers:
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", field, i, "port", "number"],
                f"Port {number} is used by an earlier {field} listener; ports must be unique; {REJECTED}.",
            )
        numbers.add(number)


def _default_endpoint(ctx: DocumentContext, code: str, where: Path, endpoint: str) -> Iterator[Finding]:
    if not endpoint:
        return
    at: Path = [*where, "defaultEndpoint"]
    if endpoint.startswith(UNIX_PREFIX):
        problem = unix_address_problem(endpoint[len(UNIX_PREFIX) :])
        if problem is not None:
            yield ctx.finding(code, Severity.ERROR, at, f"`defaultEndpoint`: {problem}; {REJECTED}.")
        return
    parts = split_host_port(endpoint)
    if parts is None or parts[0] not in _LOOPBACK_HOSTS:
        yield ctx.finding(
            code,
            Severity.ERROR,
            at,
            f"`defaultEndpoint` `{endpoint}` must be `127.0.0.1:<port>`, `0.0.0.0:<port>`, `[::1]:<port>`, "
            f"`[::]:<port>` or `unix://<path>`: a sidecar only forwards inbound traffic to its own workload; "
            f"{REJECTED}.",
        )
        return
    problem = port_problem(parts[1])
    if problem is not None:
        yield ctx.finding(code, Severity.ERROR, at, f"`defaultEndpoint`: {problem}; {REJECTED}.")


_UNSUPPORTED_TLS = ("subjectAltNames", "credentialName", "credentialNames", "tlsCertificates")


def _ingress_tls(ctx: DocumentContext, code: str, where: Path, tls: MappingNode, protocol: str) -> Iterator[Finding]:
    for key in _UNSUPPORTED_TLS:
        value = get(tls, key)
        if (count(value) if key != "credentialName" else bool(scalar(value))) > 0:
            yield ctx.finding(
                code,
                Severity.ERROR,
                [*where, key],
                f"`{key}` is not supported in a Sidecar ingress `tls`; {REJECTED}.",
                key=True,
            )
    if is_true_text(text_or_empty(tls, "httpsRedirect")):
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "httpsRedirect"],
            f"`httpsRedirect` is not supported in a Sidecar ingress `tls`; {REJECTED}.",
            key=True,
        )
    mode = text_or_empty(tls, "mode") or "PASSTHROUGH"
    if mode in ("ISTIO_MUTUAL", "AUTO_PASSTHROUGH"):
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "mode"],
            f"TLS mode {mode} cannot be used in a Sidecar ingress `tls` (SIMPLE or MUTUAL terminate TLS from "
            f"clients outside the mesh); {REJECTED}.",
        )
    if not is_tls(protocol):
        shown = protocol or "unset"
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where[:-1], "port", "protocol"] if protocol else where,
            f"An ingress listener with `tls` needs a TLS port protocol (HTTPS or TLS), not {shown}; {REJECTED}.",
            key=not protocol,
        )
    yield from _server_tls_options(ctx, code, where, tls, mode)


def _server_tls_options(ctx: DocumentContext, code: str, where: Path, tls: MappingNode, mode: str) -> Iterator[Finding]:
    """The parts of Istio's validateTLSOptions that apply to a Sidecar ingress."""
    if mode == "ISTIO_MUTUAL":
        return  # already an error in a Sidecar
    ciphers = scalar_items_or_empty(get(tls, "cipherSuites"))
    if text_or_empty(tls, "minProtocolVersion") in ("TLSV1_0", "TLSV1_1") and not ciphers:
        yield ctx.finding(
            code,
            Severity.WARNING,
            [*where, "minProtocolVersion"],
            "TLS versions below 1.2 need `cipherSuites` that support them (the defaults no longer do); Istio "
            "admits it with a warning.",
        )
    seen: set[str] = set()
    for i, _, cipher in ciphers:
        known = cipher in ("", "ALL") or not cipher[:1].isalnum() or cipher in VALID_CIPHERS
        if not known or cipher in seen:
            why = "is not a cipher suite Envoy knows" if not known else "is listed twice"
            yield ctx.finding(
                code,
                Severity.WARNING,
                [*where, "cipherSuites", i],
                f"Cipher suite `{cipher}` {why}; Istio admits it with a warning and ignores it.",
            )
        seen.add(cipher)
    certs = {key: text_or_empty(tls, key) for key in ("serverCertificate", "privateKey", "caCertificates", "caCrl")}
    if mode == "PASSTHROUGH" and any(certs.values()):
        yield ctx.finding(
            code,
            Severity.WARNING,
            [*where, "mode"] if get(tls, "mode") is not None else where,
            "PASSTHROUGH does not terminate TLS, so the certificates are ignored; Istio admits it with a warning.",
        )
    if text_or_empty(tls, "credentialName"):
        return  # already an error in a Sidecar; Istio skips the file checks then
    required: dict[str, tuple[str, ...]] = {"SIMPLE": ("serverCertificate", "privateKey")}
    required["MUTUAL"] = required["OPTIONAL_MUTUAL"] = ("serverCertificate", "privateKey", "caCertificates")
    for key in required.get(mode, ()):
        if not certs[key]:
            yield ctx.finding(
                code,
                Severity.ERROR,
                [*where, "mode"],
                f"TLS mode {mode} needs `{key}`; {REJECTED}.",
            )
    if certs["caCrl"] and mode == "SIMPLE":
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "caCrl"],
            f"`caCrl` is not supported with SIMPLE TLS (there are no client certificates to revoke); {REJECTED}.",
            key=True,
        )


_NON_NEGATIVE = {
    "http": (
        "http1MaxPendingRequests",
        "http2MaxRequests",
        "maxRequestsPerConnection",
        "maxRetries",
        "maxConcurrentStreams",
    ),
    "tcp": ("maxConnections",),
}


def _connection_pool(ctx: DocumentContext, code: str, where: Path, pool: Node | None) -> Iterator[Finding]:
    """Istio's validateConnectionPool, without the durations (invalid-duration's)."""
    if not present(pool):
        return
    if not isinstance(pool, MappingNode):
        return
    if not present(get(pool, "http")) and not present(get(pool, "tcp")):
        yield ctx.finding(
            code,
            Severity.ERROR,
            where,
            f"A connection pool needs `http` or `tcp` settings; {REJECTED}.",
            key=True,
        )
        return
    for section, fields in _NON_NEGATIVE.items():
        settings = get(pool, section)
        for name in fields:
            value = as_int(text_or_empty(settings, name))
            if value is not None and value < 0:
                yield ctx.finding(
                    code,
                    Severity.ERROR,
                    [*where, section, name],
                    f"`{name}` cannot be negative; {REJECTED}.",
                )
    http = get(pool, "http")
    if text_or_empty(http, "h2UpgradePolicy") == "UPGRADE" and is_true_text(text_or_empty(http, "useClientProtocol")):
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "http", "useClientProtocol"],
            f"`useClientProtocol` cannot be true with `h2UpgradePolicy: UPGRADE`; {REJECTED}.",
            key=True,
        )


INGRESS_RULE = Rule(
    code="invalid-sidecar-ingress",
    severity=Severity.ERROR,
    summary="A Sidecar ingress listener (port, bind, defaultEndpoint, tls, connection pool) is not valid.",
    doc=INGRESS_DOC,
    local=check_ingress,
    kinds=("Sidecar",),
    istio_codes=("IST0106", "IST0133"),
)


# ---- invalid-sidecar-egress ------------------------------------------------------

EGRESS_DOC = """\
A Sidecar `egress` listener is not valid: its port and bind, or its `hosts`.

Checklist rows (§5 Sidecar): egress not null; a listener without a port must be
last and alone; `targetPort` has no effect; port 0 needs a `unix://` bind and
captureMode DEFAULT or NONE; any other port binds to an IP; port names and
protocols valid; unique port numbers and unix socket binds; at least one host;
each host is `namespace/dnsName` with namespace `.`, `*`, `~`, `~ns` or a
namespace name, and a dnsName that is `*`, an FQDN (not a short name) or a
leading-wildcard FQDN, never a partial wildcard; a repeated host (warning); `*/*`
next to other hosts (warning).

## Why it matters

Egress hosts decide which services a workload's sidecar learns about; everything
else is trimmed from its configuration. A host without the `namespace/` part, or a
short name such as `*/reviews` (the sidecar's hosts are not expanded the way
route hosts are), is rejected by Istio's webhook. `*/*` already imports
everything, so other hosts next to it only show a misunderstanding.

## Wrong

```yaml
kind: Sidecar
spec:
  egress:
  - hosts:
    - reviews.bookinfo.svc.cluster.local
    - "*/ratings"
```

## Right

```yaml
kind: Sidecar
spec:
  egress:
  - hosts:
    - "bookinfo/reviews.bookinfo.svc.cluster.local"
    - "*/ratings.bookinfo.svc.cluster.local"
```

## Fixes

- **Prefix with `*/`** or **Prefix with `./`** for a host without a namespace part.
"""


def check_egress(ctx: DocumentContext) -> Iterator[Finding]:
    code = EGRESS_RULE.code
    egress = get(ctx.spec, "egress")
    last = len(egress.value) - 1 if isinstance(egress, SequenceNode) else -1
    yield from _duplicate_ports(ctx, code, "egress", egress)
    for i, listener in distinct_items(egress):
        where: Path = ["spec", "egress", i]
        if not isinstance(listener, MappingNode):
            if not present(listener):
                yield ctx.finding(code, Severity.ERROR, where, f"An egress listener is null; {REJECTED}.")
            continue
        port = get(listener, "port")
        bind = text_or_empty(listener, "bind")
        if not present(port):
            if i != last:
                yield ctx.finding(
                    code,
                    Severity.ERROR,
                    where,
                    f"An egress listener without a `port` catches everything not listed, so it must be the last "
                    f"one (and the only one without a port); {REJECTED}.",
                )
        elif isinstance(port, MappingNode):
            yield from _port_findings(ctx, code, [*where, "port"], port)
            number = as_int(text_or_empty(port, "number") or "0")
            if number == 0:
                if not bind.startswith(UNIX_PREFIX):
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        [*where, "bind"] if bind else [*where, "port"],
                        f"An egress listener with port 0 (or no number) must bind a unix socket "
                        f"(`bind: unix:///path`); {REJECTED}.",
                        key=not bind,
                    )
                else:
                    problem = unix_address_problem(bind[len(UNIX_PREFIX) :])
                    if problem is not None:
                        yield ctx.finding(code, Severity.ERROR, [*where, "bind"], f"`bind`: {problem}; {REJECTED}.")
                capture = text_or_empty(listener, "captureMode") or "DEFAULT"
                if capture not in ("DEFAULT", "NONE"):
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        [*where, "captureMode"],
                        f"A unix socket listener needs captureMode DEFAULT or NONE, not {capture}; {REJECTED}.",
                    )
            elif number is not None:
                yield from _bind_ip_finding(ctx, code, where, bind)
        yield from _egress_hosts(ctx, code, where, get(listener, "hosts"))


def _egress_hosts(ctx: DocumentContext, code: str, where: Path, hosts_node: Node | None) -> Iterator[Finding]:
    hosts = scalar_items_or_empty(hosts_node)
    if not hosts:
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "hosts"],
            f"An egress listener needs at least one host (`namespace/dnsName`); {REJECTED}.",
            key=True,
        )
        return
    own = ctx.resource.namespace
    by_namespace: dict[str, set[str]] = {}
    for i, node, host in hosts:
        at: Path = [*where, "hosts", i]
        namespace, slash, name = host.partition("/")
        if not slash:
            fixes = [
                prefix_fix(ctx, node, "*/", f"Prefix with `*/` (`{host}` in any namespace)", preferred=True),
                prefix_fix(ctx, node, "./", f"Prefix with `./` (`{host}` in the Sidecar's namespace)"),
            ]
            yield ctx.finding(
                code,
                Severity.ERROR,
                at,
                f"Egress host `{host}` must have the form `namespace/dnsName` (e.g. `*/{host}`); {REJECTED}.",
                fixes=fixes,
            )
            continue
        problem = _egress_host_problem(namespace, name)
        if problem is not None:
            yield ctx.finding(code, Severity.ERROR, at, f"Egress host `{host}`: {problem}; {REJECTED}.")
        key_ns = own if namespace == "." else namespace
        names = by_namespace.setdefault(key_ns, set())
        if (name != "*" and (name in names or "*" in names)) or (name == "*" and names):
            yield ctx.finding(
                code,
                Severity.WARNING,
                at,
                f"Egress host `{host}` repeats or is covered by an earlier host of this listener; Istio admits it "
                f"with a warning.",
            )
        names.add(name)
    if "*" in by_namespace.get("*", set()) and len(by_namespace) > 1:
        yield ctx.finding(
            code,
            Severity.WARNING,
            [*where, "hosts"],
            "`*/*` already selects every host; the other hosts of this listener add nothing. Istio admits it with a "
            "warning.",
            key=True,
        )


def _egress_host_problem(namespace: str, name: str) -> str | None:
    if not namespace or not name:
        return "the namespace and the dnsName cannot be empty"
    plain = namespace[1:] if namespace.startswith("~") and len(namespace) > 1 else namespace
    if namespace not in ("*", ".", "~") and dns1123_label_problem(plain) is not None:
        return f"`{namespace}` is not `.`, `*`, `~`, `~<namespace>` or a namespace name"
    if name == "*":
        return None
    if "." not in name:
        return f"`{name}` is a short name; write the full domain name (short names are not expanded here)"
    if partial_wildcard(name):
        return f"`{name}` is a partial wildcard; only a leading `*.` is allowed"
    return wildcard_domain_problem(name)


EGRESS_RULE = Rule(
    code="invalid-sidecar-egress",
    severity=Severity.ERROR,
    summary="A Sidecar egress listener has a bad port or bind, or a host not of the form `namespace/dnsName`.",
    doc=EGRESS_DOC,
    local=check_egress,
    kinds=("Sidecar",),
    istio_codes=("IST0106", "IST0133"),
)


# ---- invalid-outbound-traffic-policy -------------------------------------------

OUTBOUND_DOC = """\
A Sidecar's `outboundTrafficPolicy` uses a mode Sidecars do not accept, or an
`egressProxy` that is not valid.

Checklist rows (§5 Sidecar): mode ALLOW_ANY_DYNAMIC_DNS is not allowed in a
Sidecar; `egressProxy` only with mode ALLOW_ANY, with an FQDN host and a port, and
valid as a destination (host not `*`, subset name a DNS-1123 label).

## Why it matters

Istio's webhook rejects these. `egressProxy` sends traffic to unknown destinations
through a proxy, which only makes sense when unknown destinations are allowed at
all (ALLOW_ANY; the default mode is REGISTRY_ONLY). ALLOW_ANY_DYNAMIC_DNS is a
mesh-wide (ambient) setting. Note that `egressProxy` is deprecated
(`istioctl analyze` reports IST0002).

## Wrong

```yaml
spec:
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
    egressProxy:
      host: egress-proxy
```

## Right

```yaml
spec:
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy:
      host: egress-proxy.proxies.svc.cluster.local
      port: {number: 3128}
```
"""


def check_outbound(ctx: DocumentContext) -> Iterator[Finding]:
    code = OUTBOUND_RULE.code
    policy = get(ctx.spec, "outboundTrafficPolicy")
    if not isinstance(policy, MappingNode):
        return
    where: Path = ["spec", "outboundTrafficPolicy"]
    mode = text_or_empty(policy, "mode") or "REGISTRY_ONLY"
    if mode == "ALLOW_ANY_DYNAMIC_DNS":
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "mode"],
            f"Mode ALLOW_ANY_DYNAMIC_DNS is a mesh-wide setting and cannot be used in a Sidecar; {REJECTED}.",
        )
    proxy = get(policy, "egressProxy")
    if not present(proxy):
        return
    at: Path = [*where, "egressProxy"]
    if mode != "ALLOW_ANY":
        yield ctx.finding(
            code,
            Severity.ERROR,
            at,
            f"`egressProxy` is only used with mode ALLOW_ANY (the mode here is {mode}); {REJECTED}.",
            key=True,
        )
        return
    host = text_or_empty(proxy, "host")
    if host == "*":
        yield ctx.finding(code, Severity.ERROR, [*at, "host"], f"The egress proxy host cannot be `*`; {REJECTED}.")
    else:
        problem = fqdn_problem(host) if host else "the egress proxy needs a `host`"
        if problem is not None:
            yield ctx.finding(code, Severity.ERROR, [*at, "host"], f"{_sentence(problem)}; {REJECTED}.")
    if not present(get(proxy, "port")):
        yield ctx.finding(
            code, Severity.ERROR, [*at, "port"], f"The egress proxy needs a `port`; {REJECTED}.", key=True
        )
    subset = text_or_empty(proxy, "subset")
    if subset and dns1123_label_problem(subset) is not None:
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*at, "subset"],
            f"{_sentence(dns1123_label_problem(subset, 'subset name'))}; {REJECTED}.",
        )


OUTBOUND_RULE = Rule(
    code="invalid-outbound-traffic-policy",
    severity=Severity.ERROR,
    summary="A Sidecar outboundTrafficPolicy uses ALLOW_ANY_DYNAMIC_DNS or an invalid egressProxy.",
    doc=OUTBOUND_DOC,
    local=check_outbound,
    kinds=("Sidecar",),
    istio_codes=("IST0106",),
)


RULES = (EMPTY_RULE, INGRESS_RULE, EGRESS_RULE, OUTBOUND_RULE)
