"""Gateway admission rules: the name, each server (hosts, port, bind) and each server's TLS
settings, as Istio's `ValidateGateway` judges them. Port number ranges are `invalid-port`'s."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from istio_lsp.checks.admission._drgw_helpers import (
    WEBHOOK_CODES,
    delete_key_fix,
    insert_key_fix,
    is_networking,
    listing,
)
from istio_lsp.checks.admission.common import (
    as_int,
    dns1123_label_problem,
    is_ip,
    partial_wildcard,
    wildcard_domain_problem,
)
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, as_mapping, is_set_at, is_yaml_true, present, set_keys, set_text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import PathSegment, get, items, scalar

REJECTED = "Istio's webhook rejects the Gateway"
WARNED = "Istio admits the Gateway with a warning"

# Istio's protocol names (matched ignoring case), and which of them are HTTP or TLS
PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "HTTP_PROXY", "TCP", "TLS", "UDP", "MONGO", "REDIS", "MYSQL")
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"})
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
UNIX = "unix://"

# ---- invalid-gateway-name --------------------------------------------------------------

NAME_DOC = """\
The Gateway's `metadata.name` is not a DNS-1123 label.

Checklist row (§3 Gateway): `metadata.name` is a DNS-1123 label.

## Why it matters

`kubectl apply` fails. Most Kubernetes objects may have dots in their names, but a
Gateway may not: VirtualServices refer to Gateways as `<namespace>/<name>`, and the old
reference form `<name>.<namespace>.svc.cluster.local` would be ambiguous with a dotted
name. Only lowercase letters, digits and `-` are allowed, at most 63 characters.

## Wrong

```yaml
kind: Gateway
metadata:
  name: shop.example.com
```

## Right

```yaml
kind: Gateway
metadata:
  name: shop-example-com
```

## Fixes

Rename the Gateway (and the VirtualServices' `gateways` entries that name it).

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check_name(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    name = ctx.text("metadata.name")
    if name is None:
        return  # no name (or generateName): nothing the webhook sees here yet
    if dns1123_label_problem(name) is not None:
        yield ctx.finding(
            NAME_RULE.code,
            NAME_RULE.severity,
            "metadata.name",
            f"Gateway name `{name}` is not a DNS-1123 label (lowercase letters, digits and `-`, no dots, at most "
            f"63 characters): {REJECTED}.",
        )


NAME_RULE = Rule(
    code="invalid-gateway-name",
    severity=Severity.ERROR,
    summary="A Gateway's name is not a DNS-1123 label (no dots).",
    doc=NAME_DOC,
    local=check_name,
    kinds=("Gateway",),
    istio_codes=("IST0106",),
)

# ---- invalid-gateway-server ---------------------------------------------------------------

SERVER_DOC = """\
A Gateway server is missing, null or malformed: no hosts, a host Istio does not accept,
no port, an unknown protocol, no port name, a port name used by another server, a
`targetPort`, or an invalid `bind`.

Checklist rows (§3 Gateway):

- ≥ 1 server; no null server;
- server `port.name` values are unique across servers;
- server: ≥ 1 `hosts`;
- server host: optional `ns/` prefix where ns is `*`, `.` or a DNS-1123 label, and
  neither part empty;
- server host: not a short name (it contains a dot unless it is `*`);
- server host: a valid wildcard domain, or an IP; no partial wildcard (`*` only as the
  whole host or a leading `*.` label);
- server: `port` is required; its protocol parses (HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2,
  HTTP_PROXY, TCP, TLS, UDP, MONGO, REDIS, MYSQL, any case); `name` is required;
  `targetPort` has no effect on Gateways and is rejected;
- bind `unix://path`: an absolute file path or `@abstract`, with port number 0; any other
  bind is an IP address.

(The port number range is checked by `invalid-port`.)

## Why it matters

`kubectl apply` fails on each of these. Gateway hosts are matched against the
VirtualServices' hosts: a short name such as `bookinfo` would only make sense inside one
namespace, so Gateways need fully qualified names (`bookinfo.example.com`) or `*`.

## Wrong

```yaml
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: [bookinfo, "shop/*.example.*"]
- port: {number: 8080, name: http, protocol: HTTP, targetPort: 8080}
  hosts: ["*"]
```

## Right

```yaml
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: [bookinfo.example.com, "shop/*.example.com"]
- port: {number: 8080, name: http-alt, protocol: HTTP}
  hosts: ["*"]
```

## Fixes

- **Remove `targetPort`**: it has no effect on Gateways.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def gateway_host_problem(host: str) -> str | None:
    """What Istio's `ValidateNamespaceSlashWildcardHostname` (gateway flavour) says about a server host."""
    if not host:
        return "a server host is empty"
    namespace, slash, name = host.partition("/")
    if not slash:
        name = host
    elif not namespace or not name:
        return f"server host `{host}` has an empty namespace or host name around `/`"
    elif namespace not in ("*", ".") and dns1123_label_problem(namespace.lower()) is not None:
        return f"server host `{host}` names `{namespace}`, which is not `*`, `.` or a namespace name"
    if name != "*" and "." not in name:
        return f"server host `{host}` is a short name; Gateways need a fully qualified name (or `*`)"
    if partial_wildcard(name):
        return f"server host `{host}` has a partial wildcard; `*` may only be the whole host or a leading `*.` label"
    problem = wildcard_domain_problem(name)
    if problem is not None and not is_ip(name):
        reason = problem.split(": ", 1)[1] if ": " in problem else problem
        if "``" in reason:
            reason = "it has an empty label"
        return f"server host `{host}` is neither a domain name nor an IP address ({reason})"
    return None


def parse_protocol(value: str | None) -> str | None:
    """Istio's protocol name for a server's `protocol`, None when it does not parse."""
    if value is None:
        return None
    upper = value.upper()
    return upper if upper in PROTOCOLS else None


def check_servers(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    rule = SERVER_RULE
    servers = ctx.list_at("spec.servers")
    if not servers:
        if ctx.spec is not None:
            yield ctx.finding(
                rule.code,
                rule.severity,
                "spec.servers",
                f"The Gateway has no servers (it would listen on nothing): {REJECTED}.",
                key=True,
            )
        return
    names: dict[str, int] = {}
    seen: set[int] = set()
    for index, server in enumerate(servers):
        path: list[PathSegment] = ["spec", "servers", index]
        if absent(server):
            yield ctx.finding(rule.code, rule.severity, path, f"Server {index + 1} is null: {REJECTED}.")
            continue
        if not isinstance(server, MappingNode):
            continue  # a wrong shape is the schema check's to report
        if id(server) not in seen:  # an aliased server is judged once (its findings land on one text)
            seen.add(id(server))
            yield from _server(ctx, path, server)
        port = as_mapping(get(server, "port"))
        name_node = get(port, "name")
        name = scalar(name_node)
        if name:
            if name in names and name_node is not None:
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    name_node,
                    f"Port name `{name}` is already used by server {names[name] + 1}; port names must be unique "
                    f"across a Gateway's servers: {REJECTED}.",
                )
            else:
                names.setdefault(name, index)


def _server(ctx: DocumentContext, path: list[PathSegment], server: MappingNode) -> Iterator[Finding]:
    rule = SERVER_RULE
    hosts = items(get(server, "hosts"))
    if not hosts:
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "hosts"] if get(server, "hosts") is not None else path,
            f"A server needs at least one entry in `hosts`: {REJECTED}.",
            key=True,
        )
    for host_node in {id(h): h for h in hosts}.values():  # an aliased host is judged once
        problem = gateway_host_problem(scalar(host_node) or "")
        if problem is not None:
            yield ctx.finding(rule.code, rule.severity, host_node, f"{problem[0].upper()}{problem[1:]}: {REJECTED}.")
    port_node = get(server, "port")
    bind = set_text(server, "bind")
    if not isinstance(port_node, MappingNode):
        if absent(port_node):
            yield ctx.finding(rule.code, rule.severity, path, f"The server has no `port`: {REJECTED}.")
    else:
        yield from _port(ctx, [*path, "port"], port_node)
    if bind is not None:
        yield from _bind(ctx, [*path, "bind"], bind, port_node)


def _port(ctx: DocumentContext, path: list[PathSegment], port: MappingNode) -> Iterator[Finding]:
    rule = SERVER_RULE
    protocol = set_text(port, "protocol")
    if parse_protocol(protocol) is None:
        what = f"`{protocol}` is not a protocol Istio knows" if protocol else "the port has no `protocol`"
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "protocol"] if protocol else path,
            f"Invalid server port: {what} (HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, TCP, TLS, MONGO, REDIS, MYSQL…): "
            f"{REJECTED}.",
            key=not protocol,
        )
    target = as_int(set_text(port, "targetPort"))
    if target is not None and target > 0:
        fix = delete_key_fix(ctx, port, "targetPort", "Remove `targetPort`")
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "targetPort"],
            f"`targetPort` has no effect on Gateways: {REJECTED}. The gateway listens on `number`.",
            key=True,
            fixes=[fix] if fix else [],
        )
    if set_text(port, "name") is None:
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "name"] if get(port, "name") is not None else path,
            f"The server port needs a `name`: {REJECTED}.",
            key=get(port, "name") is None,
        )


def _bind(ctx: DocumentContext, path: list[PathSegment], bind: str, port: Node | None) -> Iterator[Finding]:
    rule = SERVER_RULE
    if bind.startswith(UNIX):
        socket = bind.removeprefix(UNIX)
        if not socket:
            problem: str | None = "the unix socket path is empty"
        elif socket.startswith("@"):
            problem = None
        elif not posixpath.isabs(socket) or socket.endswith("/"):
            problem = f"`{socket}` is not an absolute path to a file (or an `@abstract` socket name)"
        else:
            problem = None
        if problem is not None:
            yield ctx.finding(rule.code, rule.severity, path, f"Invalid bind: {problem}: {REJECTED}.")
        number = as_int(set_text(port, "number"))
        if number is not None and number != 0:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path[:-1], "port", "number"],
                f"A server bound to a unix socket must have port number 0, not {number}: {REJECTED}.",
            )
    elif not is_ip(bind):
        yield ctx.finding(
            rule.code,
            rule.severity,
            path,
            f"Invalid bind `{bind}`: an IP address or `unix://<path>` is expected: {REJECTED}.",
        )


SERVER_RULE = Rule(
    code="invalid-gateway-server",
    severity=Severity.ERROR,
    summary="A Gateway server is missing, null, or has invalid hosts, port, port name, targetPort or bind.",
    doc=SERVER_DOC,
    local=check_servers,
    kinds=("Gateway",),
    istio_codes=("IST0106",),
)

# ---- invalid-server-tls -------------------------------------------------------------------

TLS_DOC = """\
A Gateway server's TLS settings do not fit its protocol or its TLS mode.

Checklist rows (§3 Gateway):

- an HTTPS or TLS server without a `tls` block (error);
- plain HTTP with `tls`: only allowed in PASSTHROUGH/AUTO_PASSTHROUGH mode (the default)
  without `serverCertificate`, `privateKey` or `caCertificates`, which is what a bare
  `tls: {httpsRedirect: true}` is (error);
- another non-TLS protocol (TCP, GRPC…) with `tls` (error; GRPC counts as HTTP);
- `tls.httpsRedirect` on a server that is not plain HTTP (warning);
- `minProtocolVersion` TLSV1_0/TLSV1_1 without `cipherSuites` (warning);
- unknown or duplicate `cipherSuites` (warning);
- ISTIO_MUTUAL with `serverCertificate`, `privateKey`, `caCertificates`,
  `tlsCertificates`, `credentialName` or `credentialNames` (error);
- PASSTHROUGH/AUTO_PASSTHROUGH with any certificate field: ignored (warning);
- more than one certificate source among `credentialName`, `credentialNames`,
  `serverCertificate`+`privateKey` and `tlsCertificates` (error);
- SIMPLE/MUTUAL/OPTIONAL_MUTUAL without `credentialName(s)`: every certificate needs
  `serverCertificate` and `privateKey`; MUTUAL/OPTIONAL_MUTUAL need `caCertificates`;
  more than 2 `tlsCertificates` (warning);
- `caCrl` with `credentialName`, or in SIMPLE mode (error).

## The default mode is PASSTHROUGH

`mode` defaults to PASSTHROUGH. An HTTPS server that names its certificate with
`credentialName` but sets no `mode` is therefore a passthrough server: the gateway does
not terminate TLS, ignores the certificate, and the VirtualServices' `http` routes do
not apply to it (only `tls` routes matching on SNI do). Istio admits it with the warning
"PASSTHROUGH mode does not use certificates, they will be ignored". Terminating TLS at
the gateway needs `mode: SIMPLE` (or MUTUAL).

## Wrong

```yaml
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: [shop.example.com]
  tls:
    credentialName: shop-cert      # mode defaults to PASSTHROUGH: the cert is ignored
```

## Right

```yaml
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: [shop.example.com]
  tls:
    mode: SIMPLE
    credentialName: shop-cert
```

## Fixes

- **Set `mode: SIMPLE`**: terminates TLS with the configured certificate. It changes how
  the server handles traffic, so it is never applied automatically.

Related: `istioctl analyze` IST0106 (SchemaValidationError), IST0133 (SchemaWarning).
"""

TLS_MODES = ("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL")
CERT_FIELDS = (
    "serverCertificate",
    "privateKey",
    "caCertificates",
    "caCrl",
    "tlsCertificates",
    "credentialName",
    "credentialNames",
)
# what `bssl ciphers -openssl-name ALL` lists without PSK, as Istio's security.ValidCipherSuites
VALID_CIPHERS = frozenset(
    {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-RSA-AES256-SHA",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "AES128-SHA",
        "AES256-SHA",
        "DES-CBC3-SHA",
    }
)


def valid_cipher(name: str) -> bool:
    """Istio's IsValidCipherSuite: known names, `ALL`, and expressions starting with an operator."""
    return not name or name == "ALL" or not name[0].isalnum() or name in VALID_CIPHERS


def check_tls(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    seen: set[int] = set()
    for index, server in enumerate(ctx.list_at("spec.servers")):
        if isinstance(server, MappingNode) and id(server) not in seen:
            seen.add(id(server))
            yield from _server_tls(ctx, ["spec", "servers", index], server)


def _server_tls(ctx: DocumentContext, path: list[PathSegment], server: MappingNode) -> Iterator[Finding]:
    rule = TLS_RULE
    tls_node = get(server, "tls")
    has_tls = present(tls_node)
    tls = as_mapping(tls_node)
    protocol = parse_protocol(set_text(get(server, "port"), "protocol"))
    mode = set_text(tls, "mode") or "PASSTHROUGH"
    passthrough = mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH") or mode not in TLS_MODES
    if protocol in TLS_PROTOCOLS and not has_tls:
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "port", "protocol"],
            f"An {protocol} server needs a `tls` block (mode and certificate): {REJECTED}.",
        )
    elif protocol is not None and protocol not in TLS_PROTOCOLS and has_tls:
        if protocol in HTTP_PROTOCOLS:
            certs = set_keys(tls, "caCertificates", "privateKey", "serverCertificate")
            if not passthrough or certs:
                why = f"mode {mode}" if not passthrough else listing(certs)
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    [*path, "tls"],
                    f"A plain-text {protocol} server cannot terminate TLS ({why}); only `httpsRedirect` is "
                    f"meaningful here: {REJECTED}. Use protocol HTTPS for TLS.",
                    key=True,
                )
        else:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "tls"],
                f"A {protocol} server cannot have TLS settings (only HTTPS and TLS servers can): {REJECTED}.",
                key=True,
            )
    if protocol is not None and protocol not in HTTP_PROTOCOLS and is_yaml_true(get(tls, "httpsRedirect")):
        yield ctx.finding(
            rule.code,
            Severity.WARNING,
            [*path, "tls", "httpsRedirect"],
            f"`httpsRedirect` only applies to plain HTTP servers; on this {protocol} server it does nothing. {WARNED}.",
            key=True,
        )
    if tls is not None:
        yield from _options(ctx, [*path, "tls"], tls, protocol)


def _options(
    ctx: DocumentContext, path: list[PathSegment], tls: MappingNode, protocol: str | None
) -> Iterator[Finding]:
    rule = TLS_RULE
    ciphers = [c for c in (scalar(i) for i in items(get(tls, "cipherSuites"))) if c is not None]
    if set_text(tls, "minProtocolVersion") in ("TLSV1_0", "TLSV1_1") and not ciphers:
        yield ctx.finding(
            rule.code,
            Severity.WARNING,
            [*path, "minProtocolVersion"],
            "TLS versions below 1.2 need `cipherSuites` that support them: Envoy's default ciphers no longer "
            f"include any, so old clients still cannot connect. {WARNED}.",
        )
    invalid = sorted({c for c in ciphers if not valid_cipher(c)})
    valid_seen: set[str] = set()
    duplicate: set[str] = set()
    for cipher in ciphers:
        if valid_cipher(cipher):
            if cipher in valid_seen:
                duplicate.add(cipher)
            valid_seen.add(cipher)
    if invalid:
        yield ctx.finding(
            rule.code,
            Severity.WARNING,
            [*path, "cipherSuites"],
            f"Unknown cipher suites {listing(invalid)} are ignored. {WARNED}.",
            key=True,
        )
    if duplicate:
        yield ctx.finding(
            rule.code,
            Severity.WARNING,
            [*path, "cipherSuites"],
            f"Cipher suites {listing(sorted(duplicate))} are listed twice; the repeats are ignored. {WARNED}.",
            key=True,
        )
    written_mode = set_text(tls, "mode")
    mode = written_mode or "PASSTHROUGH"
    if mode not in TLS_MODES:
        return  # an unknown mode is the schema check's to report
    if mode == "ISTIO_MUTUAL":
        present = set_keys(tls, "serverCertificate", "privateKey", "caCertificates", "tlsCertificates")
        present += set_keys(tls, "credentialName", "credentialNames")
        if present:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "mode"],
                f"ISTIO_MUTUAL uses the mesh's own certificates, so {listing(present)} cannot be set: {REJECTED}.",
            )
        return
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        present = set_keys(tls, *CERT_FIELDS)
        if present:
            yield _passthrough_warning(ctx, path, tls, mode, written_mode, present, protocol)
    credential = is_set_at(tls, "credentialName") or is_set_at(tls, "credentialNames")
    sources = [
        name
        for name, isset in (
            ("credentialName", is_set_at(tls, "credentialName")),
            ("credentialNames", is_set_at(tls, "credentialNames")),
            ("serverCertificate/privateKey", is_set_at(tls, "serverCertificate") and is_set_at(tls, "privateKey")),
            ("tlsCertificates", is_set_at(tls, "tlsCertificates")),
        )
        if isset
    ]
    if len(sources) > 1:
        yield ctx.finding(
            rule.code,
            rule.severity,
            path,
            f"Only one certificate source may be given, not {listing(sources)}: {REJECTED}.",
            key=True,
        )
    terminating = mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL")
    if terminating and credential:
        return  # the certificates come from the secret
    if terminating:
        yield from _certificates(ctx, path, tls, mode)
    if is_set_at(tls, "caCrl"):
        if is_set_at(tls, "credentialName"):
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "caCrl"],
                f"`caCrl` cannot be used with `credentialName`; put the CRL in the credential: {REJECTED}.",
                key=True,
            )
        if mode == "SIMPLE":
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "caCrl"],
                f"`caCrl` revokes client certificates, which SIMPLE TLS does not ask for: {REJECTED}.",
                key=True,
            )


def _certificates(ctx: DocumentContext, path: list[PathSegment], tls: MappingNode, mode: str) -> Iterator[Finding]:
    rule = TLS_RULE
    if mode != "SIMPLE" and not is_set_at(tls, "caCertificates") and not is_set_at(tls, "caCertCredentialName"):
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "mode"],
            f"{mode} TLS without `credentialName` needs `caCertificates` to verify clients with: {REJECTED}.",
        )
    certs = items(get(tls, "tlsCertificates"))
    if len(certs) > 2:
        yield ctx.finding(
            rule.code,
            Severity.WARNING,
            [*path, "tlsCertificates"],
            f"A server supports at most 2 `tlsCertificates` (one RSA, one ECDSA). {WARNED}.",
            key=True,
        )
    entries: list[tuple[list[PathSegment], Node | None]] = (
        [([*path, "tlsCertificates", i], cert) for i, cert in enumerate(certs)] if certs else [(path, tls)]
    )
    for where, cert in entries:
        missing = [k for k in ("serverCertificate", "privateKey") if not is_set_at(cert, k)]
        if missing:
            yield ctx.finding(
                rule.code,
                rule.severity,
                where,
                f"{mode} TLS without `credentialName` needs {listing(missing)}: {REJECTED}.",
                key=where is path,
            )


def _passthrough_warning(
    ctx: DocumentContext,
    path: list[PathSegment],
    tls: MappingNode,
    mode: str,
    written_mode: str | None,
    present: list[str],
    protocol: str | None,
) -> Finding:
    fixes: list[Fix] = []
    if written_mode is None:
        message = (
            f"`tls.mode` is not set, so it is PASSTHROUGH: the gateway does not terminate TLS and ignores "
            f"{listing(present)}."
        )
        if protocol == "HTTPS":
            message += (
                " HTTP routes of VirtualServices do not apply to this server; set `mode: SIMPLE` to terminate TLS."
            )
            fix = insert_key_fix(ctx, tls, "mode: SIMPLE", "Set `mode: SIMPLE`", safe=False)
            fixes = [fix] if fix else []
        where: list[PathSegment] = [*path, present[0]]
    else:
        message = f"{mode} mode passes TLS through untouched, so it ignores {listing(present)}."
        where = [*path, "mode"]
    return ctx.finding(
        TLS_RULE.code, Severity.WARNING, where, f"{message} {WARNED}.", key=written_mode is None, fixes=fixes
    )


TLS_RULE = Rule(
    code="invalid-server-tls",
    severity=Severity.ERROR,
    summary="A Gateway server's TLS settings do not fit its protocol or TLS mode (certificates, ciphers, redirect).",
    doc=TLS_DOC,
    local=check_tls,
    kinds=("Gateway",),
    istio_codes=WEBHOOK_CODES,
)

RULES = (NAME_RULE, SERVER_RULE, TLS_RULE)
