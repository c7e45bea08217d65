"""export-to-namespace-not-found: an `exportTo` entry naming a namespace the workspace never shows."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission.common import dns1123_label_problem
from istio_lsp.checks.base import Context, Finding, Rule, Severity, close_matches, likely_typo, replace_fixes
from istio_lsp.checks.namespaces import CLUSTER_NAMESPACES, KnownNamespaces, known_namespaces
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import DestinationRule, Ref, Resource, Service, ServiceEntry, VirtualService
from istio_lsp.syntax import Span, utf16_len

DOC = """\
An `exportTo` entry of a VirtualService, DestinationRule or ServiceEntry (or the
`networking.istio.io/exportTo` annotation of a Service) names a namespace that no file of
the workspace shows: no Namespace object declares it and no resource lives in it.

`.`, `*` and `~` are not namespaces and are not judged; nor are entries the webhook
rejects (`invalid-export-to` reports those), placeholders, the cluster's own namespaces
(`default`, `kube-system`, …), and, when nothing looks like a typo, Istio's own (`istio-…`).

## Why it matters

`exportTo` lists the namespaces whose proxies (and gateways) use the resource. An entry
naming a namespace that does not exist exports to nobody: if it was meant for an existing
namespace (a typo, a renamed namespace), that namespace's proxies never get the routes,
traffic policy or registry entry, and nothing reports it. When it is the only entry, the
resource applies nowhere.

## How sure it is

A repository rarely holds every namespace of the cluster: other teams, charts and
pipelines create theirs. So the finding is information, saying what was not seen, and:

- with a known namespace of a close name (one or two typing mistakes), it offers that
  name;
- without one, it is reported only when the workspace declares Namespace objects (it
  manages namespaces, so one it never shows is evidence) and every resource of the
  workspace has a known namespace (when some get theirs at deploy time, the entry may
  name that one).

Kiali reports the same (KIA0005) as an error, from the cluster's namespace list.

## Wrong

```yaml
kind: Namespace
metadata: {name: frontend}
---
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  exportTo: [".", "frontent"]
```

## Right

```yaml
  exportTo: [".", "frontend"]
```

## Fixes

"Did you mean" a known namespace of a close name.

Related: Kiali KIA0005. No `istioctl analyze` equivalent.
"""

_NOT_NAMESPACES = frozenset({".", "*", "~", ""})
_WHAT = {
    "VirtualService": "its routes",
    "DestinationRule": "its traffic policy",
    "ServiceEntry": "its host",
    "Service": "the Service",
}


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    known: KnownNamespaces | None = None
    for resource in summary.resources:
        entries = _entries(resource)
        if not any(_judged(ref.value.strip()) for ref in entries):
            continue
        if known is None:
            known = known_namespaces(ctx.index)
        root = ctx.settings.root_namespace
        candidates = sorted(known.names | CLUSTER_NAMESPACES | {root})
        values = [ref.value.strip() for ref in entries]
        unknown = {v for v in values if _judged(v) and not known.knows(v) and v != root}
        reaches_some = any(v in (".", "*") or (_judged(v) and v not in unknown) for v in values)
        for ref in entries:
            name = ref.value.strip()
            if name not in unknown:
                continue
            suggestions = [s for s in close_matches(name, candidates) if likely_typo(name, s)]
            if not suggestions and (name.startswith("istio") or known.some_unknown or not known.declared):
                # Istio's own namespaces; the namespace some files get at deploy time; or a workspace that
                # declares no Namespace at all (it does not manage them: other repositories create theirs)
                continue
            yield _finding(ctx, resource, ref, name, suggestions, reaches_some)


def _judged(entry: str) -> bool:
    """Whether an entry names a namespace this rule judges: not `.`/`*`/`~`, not a placeholder, and
    a name the webhook admits in lowercase (`invalid-export-to` reports the others)."""
    return (
        entry not in _NOT_NAMESPACES
        and not is_placeholder(entry)
        and entry == entry.lower()
        and dns1123_label_problem(entry) is None
    )


def _entries(resource: Resource) -> list[Ref]:
    if isinstance(resource, (VirtualService, DestinationRule, ServiceEntry)):
        return resource.export_to_refs
    if isinstance(resource, Service) and resource.export_to_ref is not None:
        return _annotation_entries(resource.export_to_ref)
    return []


def _annotation_entries(ref: Ref) -> list[Ref]:
    """The entries of the comma-separated annotation, each with its own span when the value is written
    on one line without escapes (else the whole value's)."""
    span = ref.span
    exact = span.start_line == span.end_line and span.end_char - span.start_char == utf16_len(ref.value) + 2 * len(
        ref.quote
    )
    found: list[Ref] = []
    offset = 0
    for part in ref.value.split(","):
        name = part.strip()
        if name:
            if exact:
                start = span.start_char + len(ref.quote) + utf16_len(ref.value[: offset + part.index(name)])
                found.append(Ref(name, Span(span.start_line, start, span.start_line, start + utf16_len(name))))
            else:
                found.append(Ref(name, span))
        offset += len(part) + 1
    return found


def _finding(
    ctx: Context, resource: Resource, ref: Ref, name: str, suggestions: list[str], reaches_some: bool
) -> Finding:
    what = _WHAT.get(resource.kind, "it")
    message = (
        f"No namespace `{name}` is seen in the workspace (no Namespace object, no resource in it). If the cluster "
        f"has none either, this entry exports {what} to nobody"
    )
    message += "." if reaches_some else f", and, being the only one, leaves the {resource.kind} visible to no proxy."
    if suggestions:
        message += f" Did you mean {' or '.join(f'`{s}`' for s in suggestions)}?"
    else:
        message += f" Ignore this if `{name}` is created outside these files (another repository, a pipeline)."
    fixes = list(replace_fixes(resource.uri, ref, suggestions)) if ref.span != _whole(resource, ref) else []
    return ctx.finding(RULE, resource, ref.span, message, severity=Severity.INFORMATION, fixes=fixes)


def _whole(resource: Resource, ref: Ref) -> Span | None:
    """The span of a Service's whole annotation value when its entries have no spans of their own."""
    if isinstance(resource, Service) and resource.export_to_ref is not None:
        whole = resource.export_to_ref
        if whole.value.strip() != ref.value:
            return whole.span
    return None


RULE = Rule(
    code="export-to-namespace-not-found",
    severity=Severity.INFORMATION,
    summary="An exportTo entry names a namespace no file of the workspace shows.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0005",),
)
