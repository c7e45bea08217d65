"""root-sidecar-with-selector: a Sidecar in the root namespace that has a workload selector."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.pods import format_labels, judgeable, workloads_selected
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import SelectorPolicy

DOC = """\
A Sidecar in the root namespace (`istio-system` unless the `rootNamespace` setting
says otherwise) has a `workloadSelector`, and no workload of the workspace in that
namespace carries its labels.

## Why it matters

A Sidecar in the root namespace is the mesh-wide default only without a selector: it
then applies to every namespace that has no Sidecar of its own. With a
`workloadSelector` it is an ordinary Sidecar of the root namespace, applying to pods of
that namespace only. Written to shape the sidecars of the whole mesh (or of the
application pods it names), it changes nothing there.

## Wrong

```yaml
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  workloadSelector:
    labels: {app: ratings}
  egress:
  - hosts: ["./*", "istio-system/*"]
```

## Right

Without `workloadSelector` for a mesh-wide default; or in the namespace of the pods it
selects.

## Fixes

None: whether it should apply to the whole mesh or move to the pods' namespace is for
you to say.

Related: Kiali KIA1006.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    root = ctx.settings.root_namespace
    for sidecar in summary.resources:
        if not (
            isinstance(sidecar, SelectorPolicy)
            and sidecar.kind == "Sidecar"
            and sidecar.namespace == root
            and sidecar.selector
            and judgeable(sidecar.selector)
        ):
            continue
        found = workloads_selected(ctx.index, sidecar.selector, root)
        if found is None or any(w.namespace == root for w in found):
            continue  # it picks (or may pick) pods of the root namespace: meant for them
        yield ctx.finding(
            RULE,
            sidecar,
            sidecar.selector_span or sidecar.name_span,
            f"This Sidecar is in the root namespace `{root}` but has a `workloadSelector` "
            f"({format_labels(sidecar.selector)}): it applies only to pods of `{root}` with those labels (none is "
            f"declared here), not to the mesh. Drop the selector for a mesh-wide default, or move it to the "
            f"namespace of the pods it is meant for.",
        )


RULE = Rule(
    code="root-sidecar-with-selector",
    severity=Severity.WARNING,
    summary="A root-namespace Sidecar with a workload selector: it applies to root-namespace pods only",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1006",),
)
