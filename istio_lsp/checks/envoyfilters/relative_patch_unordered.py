"""envoyfilter-relative-patch-unordered: a patch placed relative to existing configuration, in an
EnvoyFilter whose order among the others is left to creation time."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.envoyfilters._patches import (
    at,
    is_envoy_filter,
    is_relative,
    label,
    priority_fix,
    unordered_with,
    version_partners,
    where,
)
from istio_lsp.checks.together import how_sure
from istio_lsp.index import FileSummary

DOC = """\
An EnvoyFilter without `priority` (or with `priority: 0`) has a patch whose operation is
relative to configuration already there: INSERT_BEFORE or INSERT_AFTER (next to the
filter, listener filter or route its `match` names), REPLACE or REMOVE (of the object it
matches). The finding sits on the first such patch and names the others.

## Why it matters

A proxy gets the patches of every EnvoyFilter that applies to it, one EnvoyFilter after
the other: by `priority`, then (at equal priority) those of the root namespace first,
then the older before the newer. So two EnvoyFilters of one namespace with the default
priority run in the order they happened to be created, which differs between clusters
and changes when one is deleted and applied again. A relative patch that runs before the
filter it refers to is in place (another EnvoyFilter adds it) finds nothing and is
skipped without an error; two patches inserting next to the same filter end up in
creation order.

## How sure it is

| another EnvoyFilter of priority 0 in its namespace, for some of the same pods, is… | severity |
|---|---|
| deployed with it: in the same file, or in the same kustomize build | warning |
| only in the same folder (a folder may hold alternatives applied one at a time) | information |
| not in the workspace (it may still come from a chart, an add-on, another team) | information |
| (`priority` set to anything but 0) | not reported |

Only an EnvoyFilter with a patch of the same `applyTo` as the relative patch counts: one
that patches clusters or virtual hosts cannot add, move or remove the HTTP filter another
inserts next to. Two EnvoyFilters whose `workloadSelector`s want different values of one
label never apply to the same proxy, and do not count either. Neither do those of the root namespace for an
EnvoyFilter of another namespace: at equal priority they always come first (among
themselves, in the root namespace, the order is creation order again). A patch that
`envoyfilter-relative-patch-proxy-version` reports is left to it.

## Wrong

```yaml
kind: EnvoyFilter
metadata: {name: lua, namespace: shop}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.ext_authz}   # added by another EnvoyFilter
    patch:
      operation: INSERT_AFTER
      value: {name: envoy.lua}   # typed_config left out
```

## Right

```yaml
spec:
  priority: 10        # applied after the EnvoyFilters of priority 0
  configPatches:      # the same patches
```

Or an absolute operation, where the position does not depend on another filter: ADD
(with `filterClass`), INSERT_FIRST.

## Fixes

Set `priority: 10`, so that it is applied after the EnvoyFilters of priority 0 and
before those the workspace gives a higher one (a lower value when one of them has 10 or
less). Unsafe: it changes the order, and a filter others depend on needs a negative
priority instead.

Related: `istioctl analyze` IST0151 EnvoyFilterUsesRelativeOperation (a warning for every
such EnvoyFilter, whatever else is deployed).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index = ctx.index
    for ef in summary.resources:
        if not is_envoy_filter(ef) or ef.priority != 0:
            continue
        relative = [p for p in ef.patches if is_relative(p) and not version_partners(index, ef, p)]
        if not relative:
            continue
        # only an EnvoyFilter patching the same kind of configuration can add, move or remove a target
        kinds = {p.apply_to for p in relative}
        others = [n for n in unordered_with(index, ef) if any(p.apply_to in kinds for p in n.other.patches)]
        patches = ", ".join(label(p) for p in relative)
        head = (
            f"This EnvoyFilter sets no `priority`, and {patches} {'acts' if len(relative) == 1 else 'act'} "
            f"relative to configuration other EnvoyFilters may add, move or remove"
        )
        tail = (
            "a relative patch that runs before its target exists is skipped without notice. Set a `priority` "
            "(lower values are applied first) to make the order explicit, or use INSERT_FIRST or ADD."
        )
        if others:
            severity, hedge = how_sure(RULE.severity, [n.how for n in others])
            names = ", ".join(n.other.display for n in others)
            message = (
                f"{head}. {names} {'has' if len(others) == 1 else 'have'} priority 0 too and may patch the same "
                f"proxies in {where(ef)}, so istiod applies them in the order they were created, and {tail}{hedge}"
            )
        else:
            severity = Severity.INFORMATION
            message = (
                f"{head}. None in these files with its priority patches that kind of configuration for its proxies "
                f"in {where(ef)}, but any other of "
                f"priority 0 there (from a chart, an add-on, another team) runs before or after it by creation "
                f"time, and {tail}"
            )
        related = [Related(ef.uri, at(p), label(p)) for p in relative[1:]]
        related += [Related(n.other.uri, n.other.name_span, f"{n.other.display}: priority 0") for n in others]
        fix = priority_fix(index, ef)
        yield ctx.finding(
            RULE,
            ef,
            at(relative[0]),
            message,
            severity=severity,
            related=related,
            fixes=[fix] if fix is not None else [],
        )


RULE = Rule(
    code="envoyfilter-relative-patch-unordered",
    severity=Severity.WARNING,
    summary="An EnvoyFilter without priority patches relative to existing configuration: its order is creation order.",
    doc=DOC,
    run=run,
    istio_codes=("IST0151",),
)
