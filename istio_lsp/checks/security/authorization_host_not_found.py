"""authorization-host-not-found: an AuthorizationPolicy short host that names no service of the workspace."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, replace_fixes
from istio_lsp.checks.namespaces import known_namespaces
from istio_lsp.checks.security._authorization import authorization_policies, judged_values, outcome
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import glob_match, host_candidates, is_ip

DOC = """\
An AuthorizationPolicy's `to.operation.hosts` (or `notHosts`) holds a short name, `svc` or
`svc.<namespace>`, that names no Service, ServiceEntry host or VirtualService host of the
workspace, where the workspace holds that namespace's Services or workloads.

Only short names are judged. `hosts` are compared with the request's `Host` header, not
looked up in the service registry, so any other value is a header a client may well send:
wildcards (`*.example.com`, `api.*`), names with two dots or more, and `name.suffix` where
the suffix is no namespace the workspace knows (`api.info`) are not reported. A port
(`svc:8080`) is left out of the lookup.

## Why it matters

A client in the mesh sends the name it called as the `Host` header, and it can only call
services that exist: no request carries a host that names nothing, so the entry matches
nothing. An ALLOW rule that needs it lets no one in, a DENY rule that needs it denies
nothing, and in `notHosts` it excludes nothing, so the rule also applies to the requests
meant to be left out.

The comparison is exact apart from letter case, port included: `svc` matches `Host: svc`,
not `Host: svc:8080` (a client calling a Service on a port other than 80 sends the port).

## How sure it is

Always information: the Service may be deployed from elsewhere, or clients may set the
`Host` header themselves. Hosts matching the `externalHosts` setting are not reported.

## Wrong

```yaml
kind: Service
metadata: {name: ratings, namespace: shop}
---
kind: AuthorizationPolicy
metadata: {name: ratings-read-only, namespace: shop}
spec:
  action: DENY
  rules:
  - to:
    - operation:
        hosts: ["rating"]
        methods: ["POST", "PUT", "DELETE"]
```

## Right

```yaml
        hosts: ["ratings", "ratings:9080"]
```

## Fixes

**Did you mean `x`?** replaces the name with a close Service of the namespace.

Related: Kiali KIA0104 (which, since Kiali's issue 10188, skips wildcards and external
hosts the same way).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index, domain = ctx.index, ctx.settings.cluster_domain
    external = ctx.settings.external_hosts
    for policy in authorization_policies(summary):
        for item in judged_values(policy, "hosts", "notHosts"):
            value = item.value.value.strip()
            name, colon, port = value.rpartition(":")
            host = name if colon and port.isdigit() else value
            if "*" in host or host.count(".") > 1 or ":" in host or is_ip(host) or host.lower() == "localhost":
                continue
            service, _, namespace = host.lower().partition(".")
            if not namespace:
                namespace = policy.namespace
            elif namespace != policy.namespace and not known_namespaces(index).knows(namespace):
                continue  # `name.suffix` with no namespace of the workspace: a Host header outside the cluster
            candidates = host_candidates(host, policy.namespace, domain)
            if any(glob_match(external, c) for c in (host, *candidates)):
                continue
            if not index.namespace_provides_services(namespace) or _provided(index, candidates):
                continue
            names = _service_names(index, namespace)
            suggestions = close_matches(service, names)
            written = [s if host == service else f"{s}.{namespace}" for s in suggestions]
            if colon and port.isdigit():
                written = [f"{w}:{port}" for w in written]
            hint = f" Did you mean `{written[0]}`?" if written else ""
            where = "its own namespace" if namespace == policy.namespace else f"namespace `{namespace}`"
            yield ctx.finding(
                RULE,
                policy,
                item.value.span,
                f"No Service, ServiceEntry or VirtualService of the workspace is `{host}` (a service of {where}), "
                f"though the workspace holds that namespace's services. Clients send the name of the service they call "
                f"as the Host header, so unless the service is deployed from elsewhere this `{item.key}` entry matches "
                f"no request: {outcome(policy, item.key)}.{hint}",
                fixes=replace_fixes(policy.uri, item.value, written),
            )


def _provided(index: WorkspaceIndex, candidates: list[str]) -> bool:
    return bool(
        index.services_for(candidates)
        or index.service_entries_for(candidates)
        or index.virtual_services_declaring(candidates)
    )


def _service_names(index: WorkspaceIndex, namespace: str) -> list[str]:
    """The names of the Services of a namespace (with those of unknown namespace, which may be deployed there)."""
    return sorted({r.name.lower() for r in index.of_kind(namespace, "Service")})


RULE = Rule(
    code="authorization-host-not-found",
    severity=Severity.INFORMATION,
    summary="An AuthorizationPolicy short host (`svc`, `svc.<namespace>`) that names no service of the workspace",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0104",),
)
