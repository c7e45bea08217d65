"""sidecar-egress-host-not-found: a Sidecar egress host that its import namespace cannot provide."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, close_matches, likely_typo
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, service_fqdn
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Ref, SelectorPolicy, Service, ServiceEntry, VirtualService

DOC = """\
A Sidecar's `egress[].hosts` entry (`namespace/dnsName`) imports a cluster service from a
namespace that cannot hold it, or names a Service that is not there:

- the host is a Service name of another namespace (`shop/reviews.bookinfo.svc.cluster.local`:
  a Service of `shop` is always `….shop.svc.<domain>`), and nothing in the import namespace
  (a ServiceEntry, a VirtualService) declares that host;
- the host is in the import namespace, the workspace declares Services there, none of that
  name, and one of a close name (a typo).

Entries with `*` (any namespace or any host) or `~` are not judged, nor hosts outside the
cluster: their ServiceEntries may be declared elsewhere.

## Why it matters

A Sidecar with `egress` limits what its proxies know to the services the entries import.
A host imported from the wrong namespace, or misspelt, imports nothing: requests to it
leave through the passthrough cluster (no routing, retries or mTLS of the mesh) or, with
`outboundTrafficPolicy: REGISTRY_ONLY`, fail with 502.

## Wrong

```yaml
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - hosts:
    - "./reviews.bookinfo.svc.cluster.local"
```

## Right

```yaml
  egress:
  - hosts:
    - "bookinfo/reviews.bookinfo.svc.cluster.local"
```

## Fixes

Import from the host's own namespace; "did you mean" for a close Service name.

Related: Kiali KIA1004.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    domain = ctx.settings.cluster_domain
    for sidecar in summary.resources:
        if not isinstance(sidecar, SelectorPolicy) or sidecar.kind != "Sidecar":
            continue
        for ref in sidecar.egress_hosts:
            imported, slash, host = ref.value.partition("/")
            if not slash or "*" in host or imported in ("*", "~") or is_placeholder(ref.value):
                continue
            namespace = sidecar.namespace if imported == "." else imported
            home = cluster_namespace(host.lower(), domain)
            if namespace in (ANY_NAMESPACE, "") or home is None or home == ANY_NAMESPACE:
                continue
            if _declared_in(ctx.index, host.lower(), namespace):
                continue
            if home != namespace:
                yield _wrong_namespace(ctx, sidecar, ref, imported, host, home)
                continue
            names = _service_hosts(ctx.index, namespace, domain)
            suggestions = [s for s in close_matches(host.lower(), names) if likely_typo(host.lower(), s)]
            if suggestions:
                yield ctx.finding(
                    RULE,
                    sidecar,
                    ref.span,
                    f"No Service `{host}` in namespace `{namespace}`, where the workspace declares its Services: this "
                    f"entry imports nothing, so the proxies know no such service.",
                    fixes=[
                        _replace(sidecar.uri, ref, f"{imported}/{s}", f"Did you mean `{s}`?", n == 0)
                        for n, s in enumerate(suggestions)
                    ],
                )


def _declared_in(index: WorkspaceIndex, host: str, namespace: str) -> bool:
    """Whether the namespace holds a Service, ServiceEntry or VirtualService for the host."""
    found = [*index.services_for([host]), *index.service_entries_for([host]), *index.virtual_services_declaring([host])]
    return any(
        isinstance(r, (Service, ServiceEntry, VirtualService)) and r.namespace in (namespace, ANY_NAMESPACE)
        for r in found
    )


def _service_hosts(index: WorkspaceIndex, namespace: str, domain: str) -> list[str]:
    return [
        service_fqdn(r.name, namespace, domain) for r in index.of_kind(namespace, "Service") if r.namespace == namespace
    ]


def _wrong_namespace(ctx: Context, sidecar: SelectorPolicy, ref: Ref, imported: str, host: str, home: str) -> Finding:
    where = "its own namespace" if imported == "." else f"namespace `{imported}`"
    return ctx.finding(
        RULE,
        sidecar,
        ref.span,
        f"`{host}` is a service of namespace `{home}`, but this entry imports it from {where}, where nothing "
        f"declares it: the entry imports nothing, so these proxies do not know the service. Write `{home}/{host}` "
        f"(or `*/{host}`).",
        fixes=[_replace(sidecar.uri, ref, f"{home}/{host}", f"Import it from `{home}`", True)],
    )


def _replace(uri: str, ref: Ref, value: str, title: str, preferred: bool) -> Fix:
    return Fix(title, (TextEdit(uri, ref.span, f"{ref.quote}{value}{ref.quote}"),), preferred=preferred)


RULE = Rule(
    code="sidecar-egress-host-not-found",
    severity=Severity.WARNING,
    summary="A Sidecar egress host imported from a namespace that cannot provide it, or misspelt",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1004",),
)
