"""serviceentry-protocol-conflict: ServiceEntries that give one host and port different protocols."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.ports._serviceentry_ports import SamePort, protocol, same_port
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import ServiceEntry, ServiceEntryPort

DOC = """\
Two ServiceEntries that the same namespaces see define the same host and port
number with different protocols (`HTTP` in one, `HTTPS` in the other).

## Why it matters

Istio keeps one definition of a host's port for the proxies of a namespace. When
ServiceEntries disagree on its protocol, one of them wins (which one depends on their
order of creation), and the traffic the other was written for is handled with the
wrong protocol: TLS sent to a port Istio thinks is plain HTTP, or HTTP routing that
never applies to a port taken as HTTPS or TCP. The result changes when the entries
are re-created.

## How sure it is

- **warning**: the two entries are deployed together (the same folder or the same
  kustomize build) and visible in a common namespace: one of them exported to every
  namespace (no `exportTo`, or `*`), or both to a namespace they name.
- **information**: the same, for entries whose namespaces are written in their files
  but that are not deployed together (they may never be applied together).
- **not reported**: entries of one name that may be in one namespace (two versions of
  one object: applying one replaces the other), entries of unrelated folders without a
  known namespace, entries
  whose `exportTo` keeps them apart, ports without a protocol (the webhook rejects
  those), placeholders.

Protocols are compared as Istio's analyzer does, ignoring case.

## Wrong

```yaml
kind: ServiceEntry
metadata: {name: api-https}
spec:
  hosts: [api.example.com]
  ports: [{number: 8443, name: https, protocol: HTTPS}]
---
kind: ServiceEntry
metadata: {name: api-http}
spec:
  hosts: [api.example.com]
  ports: [{number: 8443, name: http, protocol: HTTP}]
```

## Right

One protocol per host and port: merge the entries, or fix the one that is wrong.

## Fixes

None: which protocol the port speaks is not known from the files.

Related: `istioctl analyze` IST0177 ConflictingServiceEntryProtocol.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for entry in summary.resources:
        if not isinstance(entry, ServiceEntry):
            continue
        for port, found in same_port(ctx.index, entry, ctx.settings.cluster_domain):
            mine = protocol(port)
            clashes = [c for c in found if protocol(c.port) != mine]
            if mine is not None and clashes:
                yield _finding(ctx, entry, port, mine, clashes)


def _finding(ctx: Context, entry: ServiceEntry, port: ServiceEntryPort, mine: str, clashes: list[SamePort]) -> Finding:
    others = "; ".join(f"{c.other.display} says {protocol(c.port)}" for c in clashes)
    hosts = sorted({c.host for c in clashes})
    host_text = ", ".join(f"`{h}`" for h in hosts)
    message = (
        f"Port {port.number} of {host_text} is {mine} here, but other ServiceEntries define the same host "
        f"and port with another protocol ({others}). Istio keeps one definition for the proxies that see "
        f"both, the oldest, so one entry's traffic is handled with the other's protocol, and which one "
        f"changes when they are re-created."
    )
    if not all(c.certain for c in clashes):
        message += " The entries are not deployed together, so they may never be applied together."
    message += " istioctl analyze reports it (IST0177)."
    severity = Severity.WARNING if any(c.certain for c in clashes) else Severity.INFORMATION
    related = list(
        dict.fromkeys(
            Related(c.other.uri, c.port.span, f"{c.other.display}: port {c.port.number} as {protocol(c.port)}")
            for c in clashes
        )
    )
    return ctx.finding(RULE, entry, port.span, message, severity=severity, related=related)


RULE = Rule(
    code="serviceentry-protocol-conflict",
    severity=Severity.WARNING,
    summary="ServiceEntries that define the same host and port with different protocols.",
    doc=DOC,
    run=run,
    istio_codes=("IST0177",),
    kiali_codes=("KIA1212",),
)
