"""authorization-namespace-not-found: an AuthorizationPolicy source namespace the workspace never mentions."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, replace_fixes
from istio_lsp.checks.namespaces import CLUSTER_NAMESPACES, known_namespaces, pattern_matches
from istio_lsp.checks.security._authorization import authorization_policies, judged_values, outcome
from istio_lsp.index import FileSummary

DOC = """\
An AuthorizationPolicy's `from.source.namespaces` (or `notNamespaces`) names a namespace
that no manifest of the workspace declares (a `Namespace` object) or deploys anything to,
or a pattern (`prefix*`, `*suffix`) that matches none of those. The namespaces every
cluster has (`default`, `kube-system`, `kube-public`, `kube-node-lease`) and the root
namespace (`rootNamespace`, `istio-system` by default) count as known.

## Why it matters

A caller's namespace is read from its mTLS identity, so an entry for a namespace that
does not exist matches no request. Nothing fails at apply time: an ALLOW rule that needs
it lets no one in (callers from the namespace meant are refused), a DENY rule that needs
it denies nothing, and in `notNamespaces` it excludes no caller, so the rule also applies
to the namespace meant to be left out.

## How sure it is

Always information: the namespaces of other repositories, of add-ons and of the cluster
itself exist without a manifest here, so a name the files never mention may still be
right. A close name of a known namespace is offered, but is no proof of a typo either
(`shop-dev` in a repository that only holds `shop-prod` is usually a namespace deployed
from elsewhere).

## Wrong

```yaml
kind: Namespace
metadata: {name: frontend}
---
kind: AuthorizationPolicy
metadata: {name: allow-frontend, namespace: shop}
spec:
  rules:
  - from:
    - source:
        namespaces: ["fronted"]
```

## Right

```yaml
        namespaces: ["frontend"]
```

## Fixes

**Did you mean `x`?** replaces the name with a known namespace close to it.

Related: `istioctl analyze` IST0101 (ReferencedResourceNotFound, for a namespace of an
AuthorizationPolicy; istioctl knows only `Namespace` objects and reports an error); Kiali
KIA0101.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    names: list[str] | None = None
    for policy in authorization_policies(summary):
        for item in judged_values(policy, "namespaces", "notNamespaces"):
            value = item.value.value
            if value == "*":
                continue
            if names is None:
                known = known_namespaces(ctx.index)
                names = sorted(known.names | CLUSTER_NAMESPACES | {ctx.settings.root_namespace})
            if any(pattern_matches(value, name) for name in names):
                continue
            pattern = "*" in value
            suggestions = [] if pattern else close_matches(value, names)
            if pattern:
                what = f"No namespace the workspace declares or uses matches `{value}`. If none exists"
            else:
                what = f"No manifest in the workspace declares or uses namespace `{value}`. If it does not exist"
            hint = f" Did you mean `{suggestions[0]}`?" if suggestions else ""
            yield ctx.finding(
                RULE,
                policy,
                item.value.span,
                f"{what}, this `{item.key}` entry matches no caller: {outcome(policy, item.key)}.{hint} (Nothing to "
                f"do if the namespace is created elsewhere.)",
                fixes=replace_fixes(policy.uri, item.value, suggestions),
            )


RULE = Rule(
    code="authorization-namespace-not-found",
    severity=Severity.INFORMATION,
    summary="An AuthorizationPolicy source namespace (or pattern) that matches no namespace the workspace knows",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA0101",),
)
