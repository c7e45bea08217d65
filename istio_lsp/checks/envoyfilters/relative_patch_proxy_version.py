"""envoyfilter-relative-patch-proxy-version: a relative patch, without priority, about an object that
another patch handles only for some proxy versions."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.envoyfilters._patches import (
    Partner,
    at,
    is_envoy_filter,
    is_relative,
    label,
    operation,
    priority_fix,
    version_partners,
)
from istio_lsp.checks.together import FILE, how_sure
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import EnvoyFilter

DOC = """\
A patch with a relative operation (INSERT_BEFORE, INSERT_AFTER, REPLACE, REMOVE), in an
EnvoyFilter without `priority`, is about the same object (the `name` of its value, else
the filter or route its `match` names) as another patch that applies only to proxies of
some versions (`match.proxy.proxyVersion`), in the same EnvoyFilter or in one deployed
with it in its namespace.

## Why it matters

`proxyVersion` matches exist for upgrades: a patch written for one Istio version applies
to the proxies of that version only. While proxies of several versions run side by side,
the object is added or changed on some proxies and not on others, so a patch that
inserts next to it, replaces or removes it finds it on some proxies and nothing on the
others, where istiod skips it without an error; and without a `priority` the order of
the EnvoyFilters involved is their creation order. The filter then works on one version
and silently not on the next.

## Wrong

```yaml
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      proxy: {proxyVersion: '^1\\.22.*'}
      listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
    patch:
      operation: INSERT_BEFORE
      value: {name: envoy.lua}
  - applyTo: HTTP_FILTER
    match:
      listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
    patch:
      operation: REPLACE          # replaces envoy.lua, which only 1.22 proxies have
      value: {name: envoy.lua}
```

## Right

Give the patches about one object the same `proxyVersion` match (or none), and set a
`priority` so that the order of the EnvoyFilters does not depend on creation time.

## Fixes

Set `priority: 10`, so that it is applied after the EnvoyFilters of priority 0 and
before those the workspace gives a higher one (unsafe: it changes the order). The
version matches are yours to align.

Related: `istioctl analyze` IST0155 EnvoyFilterUsesRelativeOperationWithProxyVersion.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for ef in summary.resources:
        if not is_envoy_filter(ef) or ef.priority != 0:
            continue
        fix = None
        for patch in ef.patches:
            if not is_relative(patch):
                continue
            partners = version_partners(index, ef, patch)
            if not partners:
                continue
            fix = fix or priority_fix(index, ef)
            severity, hedge = how_sure(RULE.severity, [FILE if p.how is None else p.how for p in partners])
            first = partners[0]
            message = (
                f"{label(patch)} is about `{patch.subject}`, which {_of(first, ef)} handles only on proxies whose "
                f"version matches `{first.version.value}`, and this EnvoyFilter sets no `priority`. "
                f"While proxies of several versions run (an upgrade), `{patch.subject}` is there or changed on some "
                f"proxies and not on others, so this {operation(patch)} finds nothing to act on there and istiod "
                f"skips it without notice. Give the patches about `{patch.subject}` the same `proxyVersion` match "
                f"(or none), and set a `priority` so the order of the EnvoyFilters is explicit.{hedge}"
            )
            related = [Related(p.owner.uri, p.version.span, f"{_of(p, ef)}: proxyVersion") for p in partners]
            yield ctx.finding(
                RULE, ef, at(patch), message, severity=severity, related=related, fixes=[fix] if fix else []
            )


def _of(partner: Partner, ef: EnvoyFilter) -> str:
    name = f"configPatches[{partner.patch.index}]"
    return name if partner.owner is ef else f"{name} of {partner.owner.display}"


RULE = Rule(
    code="envoyfilter-relative-patch-proxy-version",
    severity=Severity.WARNING,
    summary="A relative patch, without priority, about an object another patch handles only for some proxy versions.",
    doc=DOC,
    run=run,
    istio_codes=("IST0155",),
)
