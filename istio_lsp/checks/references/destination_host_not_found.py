"""destination-host-not-found: a route to a host that nothing in the workspace declares."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import (
    Context,
    Finding,
    Rule,
    Severity,
    close_matches,
    likely_typo,
    related_to,
    replace_fixes,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import HostResolution, only_virtual, resolve_host
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, is_ip, namespaces_match, service_fqdn
from istio_lsp.model.resources import Destination, Service, VirtualService

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
    domain = ctx.settings.cluster_domain
    host = dest.host.value
    related = []
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
        # `api.example` may also read as Service `api` in namespace `example`: believe that reading
        # only when the workspace has something in that namespace
        namespace = cluster_namespace(res.candidates[0], domain) or next(
            (ns for c in res.candidates[1:] if (ns := cluster_namespace(c, domain)) and ctx.index.in_namespace(ns)),
            None,
        )
        message = f"No Service or ServiceEntry in the workspace provides `{host}`"
        if res.fqdn != host and namespace != ANY_NAMESPACE:
            message += f" ({res.fqdn})"
        message += "; if it does not exist, Envoy answers 503."
        if res.declaring:
            message += f" {res.declaring[0].display} declares it, but a VirtualService is not a service."
            related = [related_to(v, "declares the host") for v in res.declaring]
    # a hidden provider means the name is right and only its visibility is wrong
    suggestions = [] if res.hidden else close_matches(host, _known_hosts(ctx, vs, host))
    if not res.hidden:
        elsewhere = _same_name_elsewhere(ctx, host, namespace)
        suggestions = list(dict.fromkeys([*elsewhere, *suggestions]))
        severity, why = _how_sure(ctx, res, namespace, suggestions, elsewhere)
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


def _same_name_elsewhere(ctx: Context, host: str, namespace: str | None) -> list[str]:
    """`name.ns` of the Services named like a short host in other namespaces (a short name means
    the VirtualService's own namespace: the usual mistake)."""
    if "." in host or namespace in (None, ANY_NAMESPACE):
        return []
    found = ctx.index.named(host.strip().lower())
    return sorted(
        {
            f"{s.name}.{s.namespace}"
            for s in found
            if isinstance(s, Service) and s.namespace not in (namespace, ANY_NAMESPACE)
        }
    )


def _how_sure(
    ctx: Context, res: HostResolution, namespace: str | None, suggestions: list[str], elsewhere: list[str]
) -> tuple[Severity, str]:
    """A warning needs evidence that the host should be in the workspace: a build that renamed it,
    a Service of that name in another namespace, or a close name among the Services the workspace
    places in its namespace (a typo). Otherwise the Service may come from anywhere the files do
    not show (a chart, an operator, another repository): information, saying what was not seen."""
    domain = ctx.settings.cluster_domain
    name = res.fqdn.partition(".")[0]
    renamed = ctx.renamed(name)
    if renamed is not None and namespace and ctx.index.services_for([service_fqdn(renamed, namespace, domain)]):
        return Severity.WARNING, (
            f" The build {ctx.build_label()} renames Service `{name}` to `{renamed}` (namePrefix/nameSuffix), "
            f"and kustomize does not rewrite hosts in Istio resources: write `{renamed}`, or add a "
            f"nameReference configuration for this field."
        )
    if namespace == ANY_NAMESPACE:
        return Severity.INFORMATION, (
            " The VirtualService says no namespace and no kustomization or defaultNamespace setting gives it one, "
            "and no Service of that name is in the workspace in any namespace: it may come from elsewhere "
            "(see the externalHosts setting)."
        )
    if elsewhere:
        listed = ", ".join(f"`{e}`" for e in elsewhere)
        return Severity.WARNING, (
            f" A short name means the VirtualService's own namespace; the workspace has {listed}."
        )
    if namespace is None:
        return Severity.INFORMATION, " It may be an external host declared elsewhere (see the externalHosts setting)."
    if not ctx.index.namespace_provides_services(namespace):
        return Severity.INFORMATION, (
            f" The workspace places no Services in `{namespace}`, so it may live elsewhere "
            f"(see the externalHosts setting)."
        )
    if any(likely_typo(res.written, s) for s in suggestions):
        return Severity.WARNING, ""
    return Severity.INFORMATION, (
        f" The workspace places other Services in `{namespace}` but none of a close name: it may be created "
        f"elsewhere (a chart, an operator, another repository; see the externalHosts setting)."
    )


def _known_hosts(ctx: Context, vs: VirtualService, host: str) -> list[str]:
    """Host spellings to suggest, in the same form as the one written (short names stay short)."""
    domain = ctx.settings.cluster_domain
    keys = list(ctx.index.services.keys())
    if "." not in host:
        return [f.split(".")[0] for f in keys if namespaces_match(cluster_namespace(f, domain) or "", vs.namespace)]
    fqdns = [fqdn for fqdn in keys if cluster_namespace(fqdn, domain) != ANY_NAMESPACE]
    table = ctx.index.service_entries
    entries = {ref.value for key in table.keys() for e in table.get(key) for ref in e.hosts}  # noqa: SIM118
    return fqdns + [h for h in entries if not h.startswith("*")]


RULE = Rule(
    code="destination-host-not-found",
    severity=Severity.WARNING,
    summary="A route or mirror destination whose host nothing in the workspace provides.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA1101",),
)
