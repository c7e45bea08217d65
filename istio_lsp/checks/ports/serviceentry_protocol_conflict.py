"""serviceentry-protocol-conflict: ServiceEntries that give one host and port different protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.index import FileSummary
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, host_candidates, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
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


@dataclass
class Clash:
    other: ServiceEntry
    port: ServiceEntryPort
    host: str
    certain: bool  # deployed together


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    domain = ctx.settings.cluster_domain
    for entry in summary.resources:
        if not isinstance(entry, ServiceEntry) or not entry.port_items:
            continue
        hosts = [h.value.strip() for h in entry.hosts if h.value.strip() and not is_placeholder(h.value)]
        for port in entry.port_items:
            protocol = _protocol(port)
            if protocol is None or port.number is None:
                continue
            clashes: list[Clash] = []
            for host in hosts:
                key = host_candidates(host, entry.namespace, domain)[0]
                for other in index.service_entries_exactly(key):
                    if other is entry or (other.uri == entry.uri and other.doc_index == entry.doc_index):
                        continue
                    if other.name == entry.name and namespaces_match(other.namespace, entry.namespace):
                        continue  # one object written twice (alternatives): applying one replaces the other
                    if key not in {host_candidates(h.value, other.namespace, domain)[0] for h in other.hosts}:
                        continue
                    together = _meet(index, entry, other)
                    if together is None:
                        continue
                    for theirs in other.port_items:
                        their_protocol = _protocol(theirs)
                        if theirs.number == port.number and their_protocol not in (None, protocol):
                            clashes.append(Clash(other, theirs, host, together))
            if clashes:
                yield _finding(ctx, entry, port, protocol, clashes)


def _protocol(port: ServiceEntryPort) -> str | None:
    text = (port.protocol or "").strip()
    return None if not text or is_placeholder(text) else text.upper()


def _scopes(entry: ServiceEntry) -> set[str]:
    """The namespaces whose proxies see the entry, as Istio's analyzer keys them: `*` for all."""
    written = [e.strip() for e in entry.export_to if e.strip()]
    if not written or "*" in written:
        return {"*"}
    return {entry.namespace if e == "." else e for e in written if e != "~"}


def _meet(index: WorkspaceIndex, entry: ServiceEntry, other: ServiceEntry) -> bool | None:
    """True when the two entries are deployed together and seen by a common namespace; False when a
    common namespace sees them by their written namespaces but they are not deployed together; None
    when nothing says they meet."""
    together = index.deployed_together(entry.uri, other.uri)
    mine, theirs = _scopes(entry), _scopes(other)
    if "*" in mine or "*" in theirs:
        shared = bool(mine and theirs)
        known = ANY_NAMESPACE not in (entry.namespace, other.namespace)
    else:
        # a namespace not known (`.` of an entry whose namespace is not written) is the same one
        # only for entries applied together
        shared = bool(mine & theirs)
        known = ANY_NAMESPACE not in mine | theirs
    if not shared:
        return None
    if together:
        return True
    return False if known else None


def _finding(ctx: Context, entry: ServiceEntry, port: ServiceEntryPort, protocol: str, clashes: list[Clash]) -> Finding:
    others = "; ".join(f"{c.other.display} says {_protocol(c.port)}" for c in clashes)
    hosts = sorted({c.host for c in clashes})
    host_text = ", ".join(f"`{h}`" for h in hosts)
    message = (
        f"Port {port.number} of {host_text} is {protocol} here, but other ServiceEntries define the same host "
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
            Related(c.other.uri, c.port.span, f"{c.other.display}: port {c.port.number} as {_protocol(c.port)}")
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
