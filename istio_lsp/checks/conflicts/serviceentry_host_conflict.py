"""serviceentry-host-conflict: ServiceEntries that the same namespaces see defining one host and port."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.ports._serviceentry_ports import SamePort, protocol, same_port
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import ServiceEntry, ServiceEntryPort

DOC = """\
Two ServiceEntries that the same namespaces see define the same host and port number,
with the same protocol. (With different protocols it is
`serviceentry-protocol-conflict`.)

## Why it matters

Istio does not add the two definitions up the way one might expect:

- **entries of one namespace** are joined: the proxies take the port's definition from
  the oldest entry (its `resolution`, `location`, `addresses`) and send to the
  endpoints of both (with `DNS_ROUND_ROBIN`, the oldest entry's only). The newer
  entry's settings for that port are silently ignored, and its endpoints are mixed
  with the other's;
- **entries of different namespaces** are not joined: a proxy that sees both uses one
  of them (one exported to its namespace by name before one exported everywhere,
  else the oldest) and ignores the other entirely, endpoints included.

Either way which entry counts depends on the order they were created, and changes when
they are re-created. When the two define the host alike (same resolution and location,
no endpoints of their own), nothing differs today, but an edit to the one that does not
count has no effect.

## How sure it is

- **warning**: the entries are deployed together (one file, one folder or one kustomize
  build), and differ in resolution, location, endpoints or workload selector;
- **information**: deployed together and defining the host alike; or their written
  namespaces meet but nothing says they are applied together;
- **not reported**: one object written twice (the same name, namespaces that may be
  one), entries whose `exportTo` keeps them apart, entries of unrelated folders without
  a namespace, placeholders.

## Wrong

```yaml
kind: ServiceEntry
metadata: {name: payments, namespace: egress}
spec:
  hosts: [api.payments.example]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: HTTPS}]
---
kind: ServiceEntry
metadata: {name: payments-static, namespace: egress}
spec:
  hosts: [api.payments.example]
  resolution: STATIC
  endpoints: [{address: 203.0.113.10}]
  ports: [{number: 443, name: https, protocol: HTTPS}]
```

## Right

One ServiceEntry per host and port: merge the two (endpoints, ports) into one entry,
or give each its own host.

## Fixes

None: which definition is the right one is for you to decide.

Related: Kiali KIA1211. No `istioctl analyze` equivalent (IST0177 is the different-protocol case).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for entry in summary.resources:
        if not isinstance(entry, ServiceEntry):
            continue
        for port, found in same_port(ctx.index, entry, ctx.settings.cluster_domain):
            alike = [c for c in found if protocol(c.port) == protocol(port)]
            if alike:
                yield _finding(ctx, entry, port, alike)


def differences(a: ServiceEntry, b: ServiceEntry) -> list[str]:
    """How two entries' definitions of a host differ, for messages; empty when alike."""
    found = []
    if a.resolution != b.resolution:
        found.append(f"resolution {a.resolution} here, {b.resolution} there")
    if a.location != b.location:
        found.append(f"location {a.location} here, {b.location} there")
    if a.endpoint_count or b.endpoint_count:
        found.append(f"endpoints: {a.endpoint_count or 'none'} here, {b.endpoint_count or 'none'} there")
    if a.has_workload_selector or b.has_workload_selector:
        found.append("a workloadSelector picks endpoints")
    return found


def _finding(ctx: Context, entry: ServiceEntry, port: ServiceEntryPort, clashes: list[SamePort]) -> Finding:
    hosts = ", ".join(f"`{h}`" for h in sorted({c.host for c in clashes}))
    others = list(dict.fromkeys(c.other for c in clashes))
    names = ", ".join(o.display for o in others)
    message = f"Port {port.number} ({protocol(port)}) of {hosts} is also defined by {names}. "
    if all(o.namespace == entry.namespace for o in others):
        message += (
            "Istio joins the entries of a host in one namespace: the proxies take the port's definition from the "
            "oldest entry (resolution, location, addresses) and send to the endpoints of both"
            + (" (with DNS_ROUND_ROBIN, the oldest's only)" if _round_robin(entry, others) else "")
            + "."
        )
    else:
        message += (
            "A proxy that sees entries of different namespaces for one host uses one of them (one exported to its "
            "namespace by name first, else the oldest) and ignores the other entirely, endpoints included."
        )
    differ = {o.display: d for o in others if (d := differences(entry, o))}
    if differ:
        details = "; ".join(f"{name}: {', '.join(d)}" for name, d in differ.items())
        message += f" The definitions differ ({details}), so which one counts depends on the order they were created."
    else:
        message += (
            " The entries define the host alike, so nothing differs today, but an edit to the one that does not "
            "count has no effect."
        )
    message += " Keep one ServiceEntry per host and port."
    certain = any(c.certain for c in clashes if c.other.display in differ)
    apart = list(dict.fromkeys(c.other.display for c in clashes if not c.certain))
    if apart:
        message += (
            f" ({', '.join(apart)} {'is' if len(apart) == 1 else 'are'} not deployed with this one: nothing says "
            f"they are applied together.)"
        )
    severity = Severity.WARNING if certain else Severity.INFORMATION
    related = list(
        dict.fromkeys(
            Related(c.other.uri, c.port.span, f"{c.other.display}: port {c.port.number} of `{c.host}`") for c in clashes
        )
    )
    return ctx.finding(RULE, entry, port.span, message, severity=severity, related=related)


def _round_robin(entry: ServiceEntry, others: list[ServiceEntry]) -> bool:
    return any(e.resolution == "DNS_ROUND_ROBIN" for e in (entry, *others))


RULE = Rule(
    code="serviceentry-host-conflict",
    severity=Severity.WARNING,
    summary="ServiceEntries that the same namespaces see defining one host and port: only one definition counts.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1211",),
)
