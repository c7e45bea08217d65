"""referencegrant-namespace-not-found: a ReferenceGrant's `from[].namespace` names a namespace no file of the
workspace shows."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission.common import dns1123_label_problem
from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, likely_typo, replace_fixes
from istio_lsp.checks.namespaces import CLUSTER_NAMESPACES, known_namespaces
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import ReferenceGrant

DOC = """\
A ReferenceGrant lets resources of the namespaces in `from` refer to objects of its own
namespace (a route's backend, a Gateway's certificate). An entry names a namespace that no
file of the workspace shows: no Namespace object declares it and no resource lives in it.

## Why it matters

A grant from a namespace that does not exist permits nothing. If it was meant for an
existing namespace (a typo, a renamed namespace), the routes or Gateways there still get
`ResolvedRefs: False` with reason `RefNotPermitted`, and their backends answer 500 or their
listeners serve no certificate, although the grant looks right at a glance.

## How sure it is

Repositories rarely hold every namespace of the cluster. The finding is information, and
it is made only with evidence: a known namespace of a close name (then it is offered), or a
workspace that declares its Namespace objects and places every resource in a known
namespace.

## Wrong

```yaml
kind: ReferenceGrant
metadata: {name: from-shop, namespace: backends}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shpo}
  to:
  - {group: "", kind: Service}
```

## Right

```yaml
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}
```

## Fixes

"Did you mean" a known namespace of a close name.

Related: Kiali KIA1601 (from the cluster's namespace list). No `istioctl analyze` equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    grants = [r for r in summary.resources if isinstance(r, ReferenceGrant) and r.from_refs]
    if not grants:
        return
    known = known_namespaces(ctx.index)
    candidates = sorted(known.names | CLUSTER_NAMESPACES)
    for grant in grants:
        for ref in grant.from_refs:
            name = ref.value
            if is_placeholder(name) or dns1123_label_problem(name) is not None or known.knows(name):
                continue
            suggestions = [s for s in close_matches(name, candidates) if likely_typo(name, s)]
            if not suggestions and (name.startswith("istio") or known.some_unknown or not known.declared):
                continue  # created outside these files, or a namespace some files only get at deploy time
            message = (
                f"No namespace `{name}` is seen in the workspace (no Namespace object, no resource in it). If the "
                "cluster has none either, this entry permits nothing"
            )
            if suggestions:
                message += f": did you mean {' or '.join(f'`{s}`' for s in suggestions)}?"
            else:
                message += f". Ignore this if `{name}` is created outside these files."
            yield ctx.finding(RULE, grant, ref.span, message, fixes=list(replace_fixes(grant.uri, ref, suggestions)))


RULE = Rule(
    code="referencegrant-namespace-not-found",
    severity=Severity.INFORMATION,
    summary="A ReferenceGrant's from namespace is one no file of the workspace shows.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1601",),
)
