"""destination-host-not-found: a route to a host that nothing in the workspace declares."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, related_to, replace_fixes
from istio_lsp.checks.references._evidence import (
    host_namespace,
    how_sure,
    known_hosts,
    not_provided,
    same_name_elsewhere,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import HostResolution, only_virtual, resolve_host
from istio_lsp.model.hosts import is_ip
from istio_lsp.model.resources import Destination, VirtualService

DOC = """\
A route or mirror destination names a host that no Kubernetes Service and no
ServiceEntry in the workspace provides (or one that exists but is not exported to
the namespaces that use the route).

## Why it matters

`destination.host` must name a service in Istio's registry. When it does not,
Envoy has no cluster for the route and requests fail with 503. Typical causes: a
typo, a short name resolved in the wrong namespace (`reviews` in a VirtualService
in `shop` means `reviews.shop.svc.cluster.local`), or a Service whose
`networking.istio.io/exportTo` annotation (or a ServiceEntry whose `exportTo`)
hides it from the VirtualService's namespace.

## How sure it is

A workspace rarely holds the whole mesh: Services come from charts, operators, code and other
repositories. So a missing host is a warning only with evidence that it should be in the
workspace, and information otherwise, saying what was not seen:

| situation | severity |
|---|---|
| the provider exists but is not exported to the route's namespace | warning |
| the build deploying the route renames the Service (kustomize namePrefix, nameSuffix) | warning |
| a short name, and a Service of that name exists in another namespace | warning |
| one or two typing mistakes away from a Service the workspace places in that namespace | warning |
| the route's namespace is not known, and no Service of that name is anywhere | information |
| anything else (no or other Services in that namespace, a host outside the cluster) | information |
| a host matching the `externalHosts` setting, or a placeholder (`$(VAR)`, a replacement) | not reported |

Set `externalHosts` (for example `["*.corp.example.com", "*.other-team.svc.cluster.local"]`)
for hosts provided from another repository, or change the rule's severity.

## Wrong

```yaml
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reveiws}
```

## Right

```yaml
    - destination: {host: reviews}
```

## Fixes

**Did you mean `x`?** for Services and ServiceEntry hosts with a close name.

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound; Kiali KIA1101.
Hosts that only a VirtualService declares are reported by
`destination-host-is-virtualservice` instead.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService):
            continue
        for dest in vs.destinations:
            host = dest.host.value.strip().lower()
            if not host or host == "*" or is_ip(host):
                continue
            resolution = resolve_host(ctx.index, dest.host.value, vs)
            if resolution.provided or resolution.hollow_entries or only_virtual(ctx.index, resolution):
                continue
            yield _finding(ctx, vs, dest, resolution)


def _finding(ctx: Context, vs: VirtualService, dest: Destination, res: HostResolution) -> Finding:
    host = dest.host.value
    if res.hidden:
        names = ", ".join(r.display for r in res.hidden)
        consumers = ", ".join(f"`{ns}`" for ns in res.consumers)
        message = (
            f"`{host}` is provided by {names}, which is not exported to {consumers} where this route is used; "
            f"Envoy there has no such service and answers 503."
        )
        related = [related_to(r, "provides the host but is not exported to the route's namespace") for r in res.hidden]
        severity = Severity.WARNING
    else:
        namespace = host_namespace(ctx, res)
        message, related = not_provided(host, res, namespace, "if it does not exist, Envoy answers 503")
    # a hidden provider means the name is right and only its visibility is wrong
    suggestions = [] if res.hidden else close_matches(host, known_hosts(ctx, vs, host))
    if not res.hidden:
        elsewhere = same_name_elsewhere(ctx, host, namespace)
        suggestions = list(dict.fromkeys([*elsewhere, *suggestions]))
        severity, why = how_sure(ctx, res, namespace, suggestions, elsewhere)
        message += why
    return ctx.finding(
        RULE,
        vs,
        dest.host.span,
        message,
        severity=severity,
        related=related,
        fixes=list(replace_fixes(vs.uri, dest.host, suggestions)),
    )


RULE = Rule(
    code="destination-host-not-found",
    severity=Severity.WARNING,
    summary="A route or mirror destination whose host nothing in the workspace provides.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA1101",),
)
