"""ServiceEntry admission rules (`ValidateServiceEntry`): hosts, addresses, ports, endpoints, resolution.

Port number ranges, exportTo, workloadSelector and endpoint label values are the
generic rules' (`invalid-port`, `invalid-export-to`, `invalid-selector`,
`invalid-labels`); an unknown `resolution` or `location` is the schema's
`invalid-enum-value`. Here: what only a ServiceEntry's own combination of fields shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from istio_lsp.checks.admission._se_security import (
    PROTOCOL_NAMES,
    UNIX_PREFIX,
    Path,
    did_you_mean,
    ip_or_cidr_problem,
    is_http,
    is_tcp,
    is_tls,
    parse_protocol,
    port_name_problem,
    protocol_problem,
    unix_address_problem,
)
from istio_lsp.checks.admission.common import as_int, fqdn_problem, is_ip, partial_wildcard, wildcard_domain_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import count, distinct_items, mapping_items, present, scalar_items_or_empty, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, Node, SequenceNode
from istio_lsp.syntax.nodes import get, scalar

REJECTED = "kubectl apply is rejected by Istio's webhook"
RESOLUTIONS = ("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS")
AUTOALLOCATE_LABEL = "networking.istio.io/enable-autoallocate-ip"
WAYPOINT_LABEL = "istio.io/use-waypoint"


@dataclass
class _Port:
    index: int
    node: Node
    name: str
    protocol: str


@dataclass
class _Entry:
    """What the rules read from one ServiceEntry, in the forms Istio's Go code sees."""

    hosts: list[tuple[int, Node, str]]
    hosts_node: Node | None
    addresses: list[tuple[int, Node, str]]
    resolution: str  # "" when not one of RESOLUTIONS (the schema reports it)
    location: str
    ports: list[_Port] = field(default_factory=list)
    null_ports: list[int] = field(default_factory=list)
    endpoints_node: Node | None = None
    endpoints: list[tuple[int, Node]] = field(default_factory=list)  # each distinct node once
    selector_set: bool = False

    @property
    def port_names(self) -> set[str]:
        return {p.name for p in self.ports}


def _entry(ctx: DocumentContext) -> _Entry:
    spec = ctx.spec
    resolution = scalar(get(spec, "resolution")) or "NONE"
    entry = _Entry(
        hosts=scalar_items_or_empty(get(spec, "hosts")),
        hosts_node=get(spec, "hosts"),
        addresses=scalar_items_or_empty(get(spec, "addresses")),
        resolution=resolution if resolution in RESOLUTIONS else "",
        location=scalar(get(spec, "location")) or "MESH_EXTERNAL",
    )
    ports = get(spec, "ports")
    if isinstance(ports, SequenceNode):
        for i, item in enumerate(ports.value):
            if isinstance(item, MappingNode):
                entry.ports.append(_Port(i, item, text_or_empty(item, "name"), text_or_empty(item, "protocol")))
            elif not present(item):
                entry.null_ports.append(i)
    entry.endpoints_node = get(spec, "endpoints")
    if isinstance(entry.endpoints_node, SequenceNode):
        entry.endpoints = distinct_items(entry.endpoints_node)
    entry.selector_set = present(get(spec, "workloadSelector"))
    return entry


# ---- invalid-serviceentry-host -----------------------------------------------------

HOST_DOC = """\
A ServiceEntry host is missing, is `*`, or is not a valid (wildcard) domain name; or
it uses a partial wildcard such as `*foo.example.com`.

Checklist rows (§4 ServiceEntry): at least one host; a host is not `*`; each host is
a valid wildcard domain; a partial wildcard host when resolution is not
DYNAMIC_DNS (warning). (A `hosts` field left out or null is the schema rule
`missing-required-field`'s; this rule reports an empty list.)

## Why it matters

The hosts are the names the mesh learns for the external (or VM) service: sidecars
build routes and DNS answers from them. Istio's webhook rejects a ServiceEntry
without hosts, with the catch-all `*` (it would capture every outbound name), or
with a host that is not a DNS name (`api_example.com`, an IP address). A partial
wildcard (`*foo.example.com`) is admitted with a warning: Istio matches wildcards
by whole leading labels, so such a host does not match what it seems to.

## Wrong

```yaml
kind: ServiceEntry
spec:
  hosts: ["*", "api_payments.example.com", "*cdn.example.com"]
```

## Right

```yaml
kind: ServiceEntry
spec:
  hosts: ["api-payments.example.com", "*.cdn.example.com"]
```

IP destinations go in `addresses`, not `hosts`.
"""


def check_hosts(ctx: DocumentContext) -> Iterator[Finding]:
    entry = _entry(ctx)
    code = HOST_RULE.code
    if not present(entry.hosts_node):
        return  # a missing or null `hosts` field is the schema's missing-required-field
    if not entry.hosts:
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "hosts"],
            f"A ServiceEntry needs at least one host; {REJECTED}.",
            key=True,
        )
        return
    for i, _, host in entry.hosts:
        where: Path = ["spec", "hosts", i]
        if host == "*":
            yield ctx.finding(
                code,
                Severity.ERROR,
                where,
                f"Host `*` is not allowed in a ServiceEntry (it would capture every outbound name); {REJECTED}.",
            )
            continue
        problem = wildcard_domain_problem(host)
        if problem is not None:
            yield ctx.finding(code, Severity.ERROR, where, f"{_sentence(problem)}; {REJECTED}.")
        elif partial_wildcard(host) and entry.resolution != "DYNAMIC_DNS":
            yield ctx.finding(
                code,
                Severity.WARNING,
                where,
                f"Host `{host}` is a partial wildcard; Istio admits it with a warning, but only a whole leading "
                f"`*.` label is a wildcard, so it does not match the names it seems to.",
            )


HOST_RULE = Rule(
    code="invalid-serviceentry-host",
    severity=Severity.ERROR,
    summary="A ServiceEntry host is missing, `*`, not a valid domain name, or a partial wildcard.",
    doc=HOST_DOC,
    local=check_hosts,
    kinds=("ServiceEntry",),
    istio_codes=("IST0106", "IST0133"),
)


# ---- invalid-serviceentry-address --------------------------------------------------

ADDRESS_DOC = """\
An entry of a ServiceEntry's `addresses` is neither an IP address nor a CIDR block.

Checklist row (§4 ServiceEntry): `addresses[]` are IPs or CIDRs.

## Why it matters

`addresses` are the virtual IPs (or ranges) that sidecars capture for the
service's ports, typically for TCP services that cannot be told apart by host
name. Istio's webhook rejects anything else, such as a host name.

## Wrong

```yaml
spec:
  addresses: [db.example.com, 10.1.0.0/33]
```

## Right

```yaml
spec:
  addresses: [10.1.2.3, 10.1.0.0/16]
```

Whether a CIDR fits the resolution is `invalid-serviceentry-resolution`'s concern.
"""


def check_addresses(ctx: DocumentContext) -> Iterator[Finding]:
    for i, _, address in _entry(ctx).addresses:
        problem = ip_or_cidr_problem(address)
        if problem is not None:
            yield ctx.finding(
                ADDRESS_RULE.code,
                Severity.ERROR,
                ["spec", "addresses", i],
                f"Address {problem}; {REJECTED}.",
            )


ADDRESS_RULE = Rule(
    code="invalid-serviceentry-address",
    severity=Severity.ERROR,
    summary="A ServiceEntry address is not an IP address or CIDR block.",
    doc=ADDRESS_DOC,
    local=check_addresses,
    kinds=("ServiceEntry",),
    istio_codes=("IST0106",),
)


# ---- invalid-serviceentry-port -----------------------------------------------------

PORT_DOC = """\
A ServiceEntry port is null, repeats another port's name or number, has a name
that is not a DNS-1123 label, or names a protocol Istio does not know.

Checklist rows (§4 ServiceEntry): port not null; names unique; numbers unique;
name is a DNS-1123 label; protocol known or empty. (Port number and targetPort
ranges are `invalid-port`'s.)

## Why it matters

Istio's webhook rejects each of these. Port names are how endpoints map their own
ports (`endpoints[].ports`) to the service's, so a name is required and must be
unique; the protocol decides whether the sidecar routes the port as HTTP, TLS or
opaque TCP.

## Wrong

```yaml
spec:
  ports:
  - {number: 443, name: https, protocol: HTTPS}
  - {number: 443, name: https, protocol: HTTPS2}
  - {number: 8080, name: Web_Port}
```

## Right

```yaml
spec:
  ports:
  - {number: 443, name: https, protocol: HTTPS}
  - {number: 8080, name: http-web, protocol: HTTP}
```

## Fixes

- **Did you mean `X`?** for a protocol close to a known one.
"""


def check_ports(ctx: DocumentContext) -> Iterator[Finding]:
    entry = _entry(ctx)
    code = PORT_RULE.code
    for i in entry.null_ports:
        yield ctx.finding(code, Severity.ERROR, ["spec", "ports", i], f"A ServiceEntry port is null; {REJECTED}.")
    names: set[str] = set()
    numbers: set[int] = set()
    for port in entry.ports:
        where: Path = ["spec", "ports", port.index]
        name_node = get(port.node, "name")
        if port.name in names:
            shown = f"`{port.name}`" if port.name else "(empty)"
            yield ctx.finding(
                code,
                Severity.ERROR,
                [*where, "name"] if name_node is not None else where,
                f"Port name {shown} is used by an earlier port; names must be unique; {REJECTED}.",
            )
        else:
            problem = port_name_problem(port.name) if port.name else "every ServiceEntry port needs a `name`"
            if problem is not None:
                yield ctx.finding(code, Severity.ERROR, [*where, "name"], f"{_sentence(problem)}; {REJECTED}.")
        names.add(port.name)
        number = as_int(text_or_empty(port.node, "number") or "0")
        if number is not None and number in numbers:
            yield ctx.finding(
                code,
                Severity.ERROR,
                [*where, "number"],
                f"Port {number} is defined twice in this ServiceEntry; {REJECTED}.",
            )
        if number is not None:
            numbers.add(number)
        problem = protocol_problem(port.protocol)
        if problem is not None:
            node = get(port.node, "protocol")
            fixes = did_you_mean(ctx, node, PROTOCOL_NAMES) if node is not None else []
            yield ctx.finding(
                code, Severity.ERROR, [*where, "protocol"], f"{_sentence(problem)}; {REJECTED}.", fixes=fixes
            )


PORT_RULE = Rule(
    code="invalid-serviceentry-port",
    severity=Severity.ERROR,
    summary="A ServiceEntry port is null, duplicated, badly named, or has an unknown protocol.",
    doc=PORT_DOC,
    local=check_ports,
    kinds=("ServiceEntry",),
    istio_codes=("IST0106",),
)


# ---- invalid-serviceentry-endpoint -------------------------------------------------

ENDPOINT_DOC = """\
A ServiceEntry endpoint is null, has no or a malformed address, or maps a port
name the ServiceEntry does not define; or the ServiceEntry sets both `endpoints`
and `workloadSelector`.

Checklist rows (§4 ServiceEntry): workloadSelector and endpoints are mutually
exclusive; STATIC endpoints: address required (a warning when only `network` is
set), address is an IP or a `unix://` absolute path, a unix endpoint has no ports
and the ServiceEntry exactly one port, endpoint port names exist in `ports` and
are valid names; DNS endpoints: address is an IP or an FQDN, port names as above.
(Endpoint port numbers are `invalid-port`'s, endpoint labels `invalid-labels`'.)

## Why it matters

Istio's webhook rejects these, and each would otherwise leave Envoy without a
usable endpoint: STATIC resolution connects to the addresses as written (so they
must be IPs or unix sockets), DNS resolution resolves them (so they must be IPs or
host names), and an endpoint port is looked up by the service port's name.

## Wrong

```yaml
spec:
  resolution: STATIC
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
  endpoints:
  - address: db.internal.example.com   # STATIC needs an IP
    ports: {postgres: 5432}            # no service port is named postgres
```

## Right

```yaml
spec:
  resolution: STATIC
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
  endpoints:
  - address: 10.0.5.12
    ports: {tcp-db: 5432}
```

Or use `resolution: DNS` to keep a host name as the endpoint address.
"""


def check_endpoints(ctx: DocumentContext) -> Iterator[Finding]:
    entry = _entry(ctx)
    code = ENDPOINT_RULE.code
    if entry.selector_set and count(entry.endpoints_node) > 0:
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "endpoints"],
            f"`endpoints` and `workloadSelector` cannot both be set (endpoints come either from the list or "
            f"from the selected workloads); {REJECTED}.",
            key=True,
        )
    if entry.resolution not in ("STATIC", "DNS", "DNS_ROUND_ROBIN"):
        return  # NONE with endpoints and DYNAMIC_DNS with endpoints are resolution problems
    static = entry.resolution == "STATIC"
    names = entry.port_names
    for i, endpoint in entry.endpoints:
        where: Path = ["spec", "endpoints", i]
        if not isinstance(endpoint, MappingNode):
            if not present(endpoint):
                yield ctx.finding(code, Severity.ERROR, where, f"An endpoint is null; {REJECTED}.")
            continue
        address = text_or_empty(endpoint, "address")
        ports = get(endpoint, "ports")
        if static:
            unix = address.startswith(UNIX_PREFIX)
            if not address:
                if not text_or_empty(endpoint, "network"):
                    yield ctx.finding(code, Severity.ERROR, where, f"A STATIC endpoint needs an `address`; {REJECTED}.")
                    continue
                yield ctx.finding(
                    code,
                    Severity.WARNING,
                    where,
                    "This endpoint has a `network` but no `address`; Istio admits it with a warning and can only "
                    "reach it through that network's gateway.",
                )
            elif unix:
                problem = unix_address_problem(address[len(UNIX_PREFIX) :])
                if problem is not None:
                    yield ctx.finding(code, Severity.ERROR, [*where, "address"], f"{_sentence(problem)}; {REJECTED}.")
                if count(ports) > 0:
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        [*where, "ports"],
                        f"A unix socket endpoint (`{address}`) cannot map ports; {REJECTED}.",
                        key=True,
                    )
                if len(names) != 1:
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        [*where, "address"],
                        f"A unix socket endpoint needs a ServiceEntry with exactly one port "
                        f"(this one has {len(names)}); {REJECTED}.",
                    )
            elif not is_ip(address):
                yield ctx.finding(
                    code,
                    Severity.ERROR,
                    [*where, "address"],
                    f"Endpoint address `{address}` is not an IP address, which STATIC resolution needs "
                    f"(use `unix://` for sockets, or resolution DNS for host names); {REJECTED}.",
                )
        elif not is_ip(address) and fqdn_problem(address) is not None:
            yield ctx.finding(
                code,
                Severity.ERROR,
                [*where, "address"] if address else where,
                f"Endpoint address `{address}` is neither an IP address nor a domain name; {REJECTED}.",
            )
        for name, key, _ in mapping_items(ports):
            if name not in names:
                yield ctx.finding(
                    code,
                    Severity.ERROR,
                    ctx.node_span(key),
                    f"Endpoint port `{name}` is not the name of any port of this ServiceEntry "
                    f"({_listing(sorted(names))}); {REJECTED}.",
                )
            elif port_name_problem(name) is not None:
                yield ctx.finding(
                    code, Severity.ERROR, ctx.node_span(key), f"{_sentence(port_name_problem(name))}; {REJECTED}."
                )


ENDPOINT_RULE = Rule(
    code="invalid-serviceentry-endpoint",
    severity=Severity.ERROR,
    summary="A ServiceEntry endpoint is null, badly addressed, maps an unknown port, or conflicts with a selector.",
    doc=ENDPOINT_DOC,
    local=check_endpoints,
    kinds=("ServiceEntry",),
    istio_codes=("IST0106", "IST0133"),
)


# ---- invalid-serviceentry-resolution -----------------------------------------------

RESOLUTION_DOC = """\
A ServiceEntry's hosts, addresses, endpoints, ports or selector do not fit its
`resolution` (NONE, STATIC, DNS, DNS_ROUND_ROBIN or DYNAMIC_DNS; NONE when unset).

Checklist rows (§4 ServiceEntry):

- a CIDR address requires resolution NONE or STATIC;
- NONE: no endpoints (error); no workloadSelector (warning);
- DNS/DNS_ROUND_ROBIN without endpoints: hosts must be FQDNs, not wildcards;
- DNS_ROUND_ROBIN: at most one endpoint;
- DNS/DNS_ROUND_ROBIN: a workloadSelector has no effect (warning); addresses with a
  TCP-based port and more than one host (warning);
- DYNAMIC_DNS: every host is a wildcard, no addresses, no endpoints, ports are
  HTTP, HTTP2, GRPC or TLS, and MESH_INTERNAL is not combined with the
  `istio.io/use-waypoint` label;
- resolution other than NONE with more than one host and a port that is neither
  HTTP nor TLS: "multiple hosts provided with non-HTTP, non-TLS ports".

An unknown resolution value is reported by the schema rule `invalid-enum-value`.

## Why it matters

The resolution decides where Envoy sends the traffic: NONE forwards to the
original destination IP (so endpoints are meaningless), STATIC uses the endpoint
IPs, DNS resolves the endpoints or else the hosts (a wildcard cannot be resolved),
DNS_ROUND_ROBIN uses a single name. With several hosts, Envoy tells them apart by
the HTTP `Host` header or the TLS SNI; plain TCP carries neither, so Istio rejects
the combination unless resolution is NONE.

## Wrong

```yaml
spec:
  hosts: [db-a.example.com, db-b.example.com]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
  resolution: DNS
```

## Right

One ServiceEntry per TCP host, or resolution NONE with `addresses`:

```yaml
spec:
  hosts: [db-a.example.com]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
  resolution: DNS
```
"""


def check_resolution(ctx: DocumentContext) -> Iterator[Finding]:
    entry = _entry(ctx)
    code = RESOLUTION_RULE.code
    resolution = entry.resolution
    if not resolution:
        return
    has_endpoints = count(entry.endpoints_node) > 0
    for i, _, address in entry.addresses:
        if "/" in address and resolution not in ("NONE", "STATIC"):
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", "addresses", i],
                f"CIDR address `{address}` is only allowed with resolution NONE or STATIC, not {resolution}; "
                f"{REJECTED}.",
            )
    if resolution == "NONE":
        if has_endpoints:
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", "endpoints"],
                f"Resolution NONE (the default) forwards to the original destination IP, so it takes no "
                f"`endpoints`; set resolution STATIC or DNS to use them; {REJECTED}.",
                key=True,
            )
        if entry.selector_set:
            yield ctx.finding(
                code,
                Severity.WARNING,
                ["spec", "workloadSelector"],
                "With resolution NONE (the default) the workloadSelector has no effect; Istio admits it with a "
                "warning. Set resolution STATIC to send traffic to the selected workloads.",
                key=True,
            )
    elif resolution in ("DNS", "DNS_ROUND_ROBIN"):
        if not has_endpoints:
            for i, _, host in entry.hosts:
                if host != "*" and wildcard_domain_problem(host) is None and fqdn_problem(host) is not None:
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        ["spec", "hosts", i],
                        f"Resolution {resolution} without endpoints resolves the hosts themselves, so `{host}` "
                        f"must be a full domain name, not a wildcard; {REJECTED}.",
                    )
        if resolution == "DNS_ROUND_ROBIN" and count(entry.endpoints_node) > 1:
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", "endpoints", 1],
                f"Resolution DNS_ROUND_ROBIN takes at most one endpoint (this has {count(entry.endpoints_node)}); "
                f"use DNS for several; {REJECTED}.",
            )
        if entry.selector_set:
            yield ctx.finding(
                code,
                Severity.WARNING,
                ["spec", "workloadSelector"],
                f"With resolution {resolution} the workloadSelector has no effect; Istio admits it with a warning.",
                key=True,
            )
    elif resolution == "DYNAMIC_DNS":
        yield from _dynamic_dns(ctx, entry)
    multi_host_error = False
    if resolution != "NONE" and len(entry.hosts) > 1:
        for port in entry.ports:
            if not is_http(port.protocol) and not is_tls(port.protocol):
                multi_host_error = True
                shown = f"protocol {port.protocol}" if port.protocol else "no protocol"
                yield ctx.finding(
                    code,
                    Severity.ERROR,
                    ["spec", "ports", port.index],
                    f"Several hosts with a port that is neither HTTP nor TLS ({shown}): Envoy cannot tell the "
                    f"hosts apart without a Host header or SNI. Use resolution NONE, one host per ServiceEntry, "
                    f"or an HTTP/TLS protocol; {REJECTED}.",
                )
                break
    if (
        resolution in ("DNS", "DNS_ROUND_ROBIN")
        and entry.addresses
        and len(entry.hosts) > 1
        and not multi_host_error
        and any(is_tcp(p.protocol) for p in entry.ports)
    ):
        yield ctx.finding(
            code,
            Severity.WARNING,
            ["spec", "addresses"],
            f"Resolution {resolution} with `addresses`, a TCP-based port and several hosts: the address cannot be "
            f"shared between the hosts; Istio admits it with a warning. Use one ServiceEntry per host.",
            key=True,
        )


def _dynamic_dns(ctx: DocumentContext, entry: _Entry) -> Iterator[Finding]:
    code = RESOLUTION_RULE.code
    for i, _, host in entry.hosts:
        if host != "*" and not host.startswith("*"):
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", "hosts", i],
                f"Resolution DYNAMIC_DNS is for wildcard hosts; `{host}` is not one (use DNS for a single "
                f"name); {REJECTED}.",
            )
    if entry.addresses:
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "addresses"],
            f"Resolution DYNAMIC_DNS takes no `addresses`; {REJECTED}.",
            key=True,
        )
    if count(entry.endpoints_node) > 0:
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "endpoints"],
            f"Resolution DYNAMIC_DNS takes no `endpoints` (names are resolved per request); {REJECTED}.",
            key=True,
        )
    for port in entry.ports:
        if parse_protocol(port.protocol) not in ("HTTP", "HTTP2", "GRPC", "TLS"):
            shown = f"`{port.protocol}`" if port.protocol else "unset"
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", "ports", port.index, "protocol"],
                f"Resolution DYNAMIC_DNS needs HTTP, HTTP2, GRPC or TLS ports (the name to resolve comes from the "
                f"Host header or SNI); the protocol is {shown}; {REJECTED}.",
            )
    if entry.location == "MESH_INTERNAL" and WAYPOINT_LABEL in ctx.resource.labels:
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "location"],
            f"Resolution DYNAMIC_DNS with location MESH_INTERNAL cannot use a waypoint (`{WAYPOINT_LABEL}` "
            f"label); {REJECTED}.",
        )


RESOLUTION_RULE = Rule(
    code="invalid-serviceentry-resolution",
    severity=Severity.ERROR,
    summary="A ServiceEntry's hosts, addresses, endpoints or ports do not fit its resolution.",
    doc=RESOLUTION_DOC,
    local=check_resolution,
    kinds=("ServiceEntry",),
    istio_codes=("IST0106", "IST0133"),
)


# ---- serviceentry-addresses-required -----------------------------------------------

ADDRESSES_REQUIRED_DOC = """\
A ServiceEntry has a TCP (or protocol-less) port but no `addresses`, and Istio will
not auto-allocate a virtual IP for it.

Checklist row (§4 ServiceEntry): no addresses and no IP auto-allocation, with a TCP
or empty-protocol port: "addresses are required…" (warning).

## When it is reported

Istio allocates a virtual IP for ServiceEntries without addresses by default
(istiod's `PILOT_ENABLE_IP_AUTOALLOCATE`, on by default), except when:

- the resolution is NONE (also the default when `resolution` is unset), or
- the ServiceEntry carries the label `networking.istio.io/enable-autoallocate-ip: "false"`.

Only in those cases does the webhook warn, and so does this rule. It assumes the
mesh keeps the default; a mesh that turned auto-allocation off sees the warning for
every such ServiceEntry, which this rule does not know about (there is no setting
for it). A port counts when its protocol is unset or TCP in any case: the webhook
compares `TCP` exactly, but the proxy reads `tcp` as TCP too, so the problem is the same.

## Why it matters

A sidecar captures plain TCP by destination IP and port: it has no Host header or
SNI to match the ServiceEntry's host by. Without an address (given or allocated),
the TCP port of the ServiceEntry matches nothing, or every address on that port.

## Wrong

```yaml
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
  # resolution unset: NONE, so no auto-allocated address
```

## Right

```yaml
spec:
  hosts: [db.example.com]
  addresses: [192.0.2.10]
  ports: [{number: 5432, name: tcp-db, protocol: TCP}]
```

or `resolution: DNS`, which lets Istio allocate the address.
"""


def check_addresses_required(ctx: DocumentContext) -> Iterator[Finding]:
    entry = _entry(ctx)
    if entry.addresses or not entry.resolution:
        return
    if ctx.list_at(["status", "addresses"]):
        return  # exported from a cluster: the addresses Istio allocated are in the status
    opted_out = ctx.resource.labels.get(AUTOALLOCATE_LABEL, "").lower() == "false"
    if entry.resolution != "NONE" and not opted_out:
        return  # auto-allocation gives it an address (PILOT_ENABLE_IP_AUTOALLOCATE, on by default)
    why = f'the label `{AUTOALLOCATE_LABEL}: "false"`' if opted_out else "resolution NONE"
    for port in entry.ports:
        if port.protocol.upper() in ("", "TCP"):
            shown = port.protocol or "no protocol"
            yield ctx.finding(
                ADDRESSES_REQUIRED_RULE.code,
                Severity.WARNING,
                ["spec", "ports", port.index],
                f"This port ({shown}) is matched by IP, but the ServiceEntry has no `addresses` and {why} turns "
                f"off IP auto-allocation; Istio admits it with a warning (addresses are required for TCP ports). "
                f"Add `addresses`, or use resolution DNS.",
            )


ADDRESSES_REQUIRED_RULE = Rule(
    code="serviceentry-addresses-required",
    severity=Severity.WARNING,
    summary="A TCP ServiceEntry port has no address to be matched by, and none is auto-allocated.",
    doc=ADDRESSES_REQUIRED_DOC,
    local=check_addresses_required,
    kinds=("ServiceEntry",),
    istio_codes=("IST0133", "IST0134"),
)


def _sentence(problem: str | None) -> str:
    text = problem or ""
    return text[:1].upper() + text[1:]


def _listing(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "it has none"


RULES = (HOST_RULE, ADDRESS_RULE, PORT_RULE, ENDPOINT_RULE, RESOLUTION_RULE, ADDRESSES_REQUIRED_RULE)
