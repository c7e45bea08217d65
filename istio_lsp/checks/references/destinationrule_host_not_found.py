"""destinationrule-host-not-found: a DestinationRule for a host that nothing in the workspace provides."""

from __future__ import annotations

import re
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
from istio_lsp.checks.references._evidence import (
    host_namespace,
    how_sure,
    known_hosts,
    not_provided,
    renamed_service,
    same_name_elsewhere,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import (
    HostResolution,
    mesh_wide,
    only_virtual,
    resolve_host,
    resolve_rule_host,
    wildcard_rule_targets,
)
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, glob_match, host_candidates, is_ip
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import DestinationRule, Ref, VirtualService

DOC = """\
A DestinationRule's `host` names a service that no Kubernetes Service and no
ServiceEntry in the workspace provides, or one that exists but is not exported to
any namespace the DestinationRule applies in.

## Why it matters

Istio attaches a DestinationRule to the service registry entry of its host. When no
Service or ServiceEntry has that host, the rule attaches to nothing: its TLS
settings, load balancing, connection pool, outlier detection and subsets have no
effect, and routes to its subsets have no cluster to go to. Typical causes: a typo,
a short name written in a DestinationRule of another namespace (`reviews` in a
DestinationRule in `ops` means `reviews.ops.svc.cluster.local`), a Service renamed
by the build, or the rule written for a VirtualService's host (`shop.example.com`)
instead of the service that VirtualService routes to: a DestinationRule applies to
where traffic goes, not to the name a client asks for.

## How sure it is

A workspace rarely holds the whole mesh, so a missing host is a warning only with
evidence, and information otherwise, saying what was not seen:

| situation | severity |
|---|---|
| the provider exists but is not exported to any namespace the rule applies in | warning |
| only VirtualServices declare the host, and route it elsewhere (sidecar ones, for a cluster-local host) | warning |
| the build deploying the rule renames the Service (kustomize namePrefix, nameSuffix) | warning |
| a short name, and a Service of that name exists in another namespace | warning |
| one or two typing mistakes away from a Service the workspace places in that namespace | warning |
| a namespace wildcard (`*.ns.svc.cluster.local`) a typing mistake away from a namespace with Services | warning |
| a workload labelled `app: <name>` runs in the namespace but no Service of that name is seen | information |
| anything else (no or other Services in that namespace, a host outside the cluster) | information |
| a wildcard host that covers some Service, ServiceEntry or workload of the workspace | not reported |
| a mesh-wide wildcard (`*`, `*.local`, `*.svc.cluster.local`) | not reported |
| a host matching the `externalHosts` setting, or a placeholder (`$(VAR)`, a replacement) | not reported |

Set `externalHosts` for hosts provided from another repository, or change the
rule's severity.

## Wrong

```yaml
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gateway]
  http:
  - route:
    - destination: {host: storefront}
---
kind: DestinationRule
metadata: {name: shop, namespace: shop}
spec:
  host: shop.example.com          # a routing name: the policy applies to nothing
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
```

## Right

```yaml
spec:
  host: storefront
```

## Fixes

**Did you mean `x`?**: the hosts the declaring VirtualService routes to, Services and
ServiceEntry hosts with a close name, or the namespace wildcard of a close namespace.

Related: `istioctl analyze` IST0174 UnknownDestinationRuleHost; Kiali KIA0202.
Unlike istioctl, namespace-wide and mesh-wide wildcard hosts are not reported when
they cover something (istioctl reports `*.ns.svc.cluster.local` unless a wildcard
ServiceEntry covers it). Like Kiali, a workload whose `app` label is the name keeps
the finding at information.
"""

# what the webhook accepts as a host; anything else is `invalid-destinationrule-host`'s
_HOST = re.compile(r"\*|(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for rule in summary.resources:
        if not isinstance(rule, DestinationRule) or rule.host is None:
            continue
        written = rule.host.value
        host = written.strip().lower()
        if not _HOST.fullmatch(host) or is_ip(host) or is_placeholder(written):
            continue
        found = _wildcard(ctx, rule, rule.host, host) if host.startswith("*") else _exact(ctx, rule, rule.host)
        if found is not None:
            yield found


def _exact(ctx: Context, rule: DestinationRule, ref: Ref) -> Finding | None:
    res = resolve_rule_host(ctx.index, ref.value, rule)
    if res.provided or res.hollow_entries:
        return None
    host = ref.value
    if res.hidden:
        names = ", ".join(r.display for r in res.hidden)
        where = _consumers(res)
        related = [related_to(r, "provides the host but is not exported to where the rule applies") for r in res.hidden]
        message = (
            f"`{host}` is provided by {names}, which is not exported to {where} where this DestinationRule "
            f"applies: the policy applies to nothing."
        )
        return ctx.finding(RULE, rule, ref.span, message, severity=Severity.WARNING, related=related)
    namespace = host_namespace(ctx, res)
    if only_virtual(ctx.index, res) and (namespace is None or all(_meshes(vs) for vs in res.declaring)):
        # a cluster-local name declared only for gateways may still be a Service elsewhere that
        # sidecars call directly; an external name has no cluster unless a ServiceEntry gives it one
        return _virtual_only(ctx, rule, ref, res)
    outcome = "if none exists, this DestinationRule's policy applies to nothing"
    message, related = not_provided(host, res, namespace, outcome)
    elsewhere = same_name_elsewhere(ctx, host, namespace)
    suggestions = list(dict.fromkeys([*elsewhere, *close_matches(host, known_hosts(ctx, rule, host))]))
    severity, why = how_sure(ctx, res, namespace, suggestions, elsewhere, referrer="DestinationRule")
    message += why
    labelled = _app_labelled(ctx, res, namespace)
    if labelled and severity == Severity.WARNING and renamed_service(ctx, res, namespace) is None:
        # Kiali counts a workload carrying the name as the service: its Service may be made elsewhere
        severity = Severity.INFORMATION
        message += f" {labelled} is labelled `app: {res.fqdn.partition('.')[0]}`: its Service may be created elsewhere."
    return ctx.finding(
        RULE,
        rule,
        ref.span,
        message,
        severity=severity,
        related=related,
        fixes=list(replace_fixes(rule.uri, ref, suggestions)),
    )


def _virtual_only(ctx: Context, rule: DestinationRule, ref: Ref, res: HostResolution) -> Finding:
    """The host is a routing name: the VirtualServices declaring it send its traffic elsewhere."""
    owners = ", ".join(v.display for v in res.declaring)
    targets = _route_targets(ctx, rule, res)
    message = (
        f"`{ref.value}` is only a VirtualService host (declared by {owners}), which routes its traffic elsewhere; "
        f"no Service or ServiceEntry has this host, so this DestinationRule's policy applies to nothing. "
        f"A DestinationRule applies to the destination a route sends traffic to"
    )
    message += f": {', '.join(f'`{t}`' for t in targets)}." if targets else "."
    related = [related_to(v, f"declares `{ref.value}` in its hosts") for v in res.declaring]
    return ctx.finding(
        RULE,
        rule,
        ref.span,
        message,
        severity=Severity.WARNING,
        related=related,
        fixes=list(replace_fixes(rule.uri, ref, targets)),
    )


def _meshes(vs: VirtualService) -> bool:
    """Whether a VirtualService applies to the sidecars (no `gateways`, or `mesh` among them)."""
    return not vs.gateways or any(g.value.strip() == "mesh" for g in vs.gateways)


def _route_targets(ctx: Context, rule: DestinationRule, res: HostResolution) -> list[str]:
    """The provided hosts the declaring VirtualServices route to, written as they would read in the rule."""
    domain = ctx.settings.cluster_domain
    targets: list[str] = []
    for vs in res.declaring:
        for dest in vs.destinations:
            target = resolve_host(ctx.index, dest.host.value, vs)
            if dest.role != "route" or not target.provided or target.unknown:
                continue
            same = host_candidates(dest.host.value, rule.namespace, domain)[0] == target.fqdn
            text = dest.host.value.strip() if same else target.fqdn
            if text not in targets:
                targets.append(text)
    return targets


def _app_labelled(ctx: Context, res: HostResolution, namespace: str | None) -> str | None:
    """A workload of the host's namespace labelled `app: <name>`, as Kiali looks for one."""
    if namespace in (None, ANY_NAMESPACE):
        return None
    name = res.fqdn.partition(".")[0]
    found = ctx.index.workloads_labelled(namespace, "app", name)
    return found[0].display if found else None


def _consumers(res: HostResolution) -> str:
    return ", ".join(f"`{ns}`" for ns in res.consumers if ns != ANY_NAMESPACE) or "any namespace"


def _wildcard(ctx: Context, rule: DestinationRule, ref: Ref, host: str) -> Finding | None:
    domain = ctx.settings.cluster_domain
    external = ctx.settings.external_hosts
    if mesh_wide(host, domain) or glob_match(external, host) or wildcard_rule_targets(ctx.index, host):
        return None
    namespace = cluster_namespace(host, domain)
    if namespace is not None:
        close = _close_namespaces(ctx, namespace)
        message = (
            f"`{ref.value}` covers nothing in the workspace: no Service, ServiceEntry host or workload "
            f"is in namespace `{namespace}`."
        )
        if close:
            suggestions = [f"*.{ns}.svc.{domain}" for ns in close]
            message += f" Namespace `{close[0]}` has Services: a typo?"
            return ctx.finding(
                RULE,
                rule,
                ref.span,
                message,
                severity=Severity.WARNING,
                fixes=list(replace_fixes(rule.uri, ref, suggestions)),
            )
        message += " It may be a namespace managed elsewhere (see the externalHosts setting)."
        return ctx.finding(RULE, rule, ref.span, message, severity=Severity.INFORMATION)
    message = (
        f"No ServiceEntry in the workspace has a host under `{ref.value}`; if none exists, this DestinationRule's "
        f"policy applies to nothing (hosts outside the registry get no DestinationRule). "
        f"It may be declared elsewhere (see the externalHosts setting)."
    )
    wildcards = [h for h in ctx.index.service_entries.keys() if h.startswith("*.")]  # noqa: SIM118
    return ctx.finding(
        RULE,
        rule,
        ref.span,
        message,
        severity=Severity.INFORMATION,
        fixes=list(replace_fixes(rule.uri, ref, close_matches(host, wildcards))),
    )


def _close_namespaces(ctx: Context, namespace: str) -> list[str]:
    """Namespaces with Services that a typing mistake turns into `namespace`."""
    known = [ns for ns in ctx.index.by_namespace.keys() if ns not in ("", ANY_NAMESPACE)]  # noqa: SIM118
    return sorted(ns for ns in known if likely_typo(namespace, ns) and ctx.index.namespace_provides_services(ns))


RULE = Rule(
    code="destinationrule-host-not-found",
    severity=Severity.WARNING,
    summary="A DestinationRule whose host no Service or ServiceEntry in the workspace provides.",
    doc=DOC,
    run=run,
    istio_codes=("IST0174",),
    kiali_codes=("KIA0202",),
)
