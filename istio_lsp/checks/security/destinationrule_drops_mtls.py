"""destinationrule-drops-mtls: with automatic mTLS off, a DestinationRule for one host without `tls` replaces
a wildcard DestinationRule that sets ISTIO_MUTUAL."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.checks.security._mtls import (
    how_certain,
    mesh_rules,
    namespace_mode,
    namespace_rules,
    own_mode,
    own_tls,
    reach,
)
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import DestinationRule
from istio_lsp.syntax import Span

DOC = """\
Only reported when the `enableAutoMtls` setting is `false`. A DestinationRule for one
host sets no `tls` at all (neither for its traffic, nor a port, nor a subset), while a
DestinationRule for every host of its namespace (`*.<ns>.svc.cluster.local`) or, when
there is none, of the mesh (`*.local`) sets `tls.mode: ISTIO_MUTUAL`.

## Why it matters

A proxy applies one DestinationRule per host: the one for the host itself wins over the
wildcard ones, entirely. Its traffic policy is not merged with theirs, so the wildcard
rule's ISTIO_MUTUAL no longer applies to this host. With automatic mTLS off, the client
sidecars then send plain text to it: STRICT servers reset those connections (503), and
PERMISSIVE ones serve them without mTLS, so authorization by identity no longer holds.

With automatic mTLS on (Istio's default), a DestinationRule without `tls` lets the
sidecars choose mTLS by themselves, and nothing is lost: the rule stays silent.

## How sure it is

| situation | severity |
|---|---|
| both in one file or one kustomize build | warning |
| in one folder no kustomization builds, or deployed separately | information |
| the wildcard rule lives in a namespace whose clients never pick it for this host | not reported |
| its namespace is not known | not reported |

## Wrong

```yaml
# enableAutoMtls: false
kind: DestinationRule
metadata: {name: default, namespace: istio-system}
spec:
  host: "*.local"
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
---
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  subsets:
  - name: v1
    labels: {version: v1}
```

## Right

```yaml
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - name: v1
    labels: {version: v1}
```

## Fixes

Add `trafficPolicy.tls.mode: ISTIO_MUTUAL` (offered when the DestinationRule has no
`trafficPolicy` yet).

Related: Kiali KIA0204 (Kiali reports it whatever the automatic mTLS setting).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    if ctx.settings.enable_auto_mtls:
        return
    index, domain, root = ctx.index, ctx.settings.cluster_domain, ctx.settings.root_namespace
    for dr in summary.resources:
        if not isinstance(dr, DestinationRule) or dr.host is None or dr.tls_modes:
            continue
        scope = reach(dr, domain)
        if scope is None or scope.wildcard or scope.namespace is None:
            continue
        namespace = scope.namespace
        wide = namespace_rules(index, namespace, domain) or mesh_rules(index, domain)
        # a wildcard rule the clients that pick this one would otherwise pick (see DOC)
        replaced = [
            w
            for w in wide
            if own_mode(w) == "ISTIO_MUTUAL" and w.namespace in (root, namespace, dr.namespace) and w is not dr
        ]
        if not replaced:
            continue
        wildcard = replaced[0]
        severity, hedge = min(how_certain(index, dr, w, RULE.severity) for w in replaced)
        peer = namespace_mode(index, namespace, root)
        outcome = (
            f"{peer.policy.display} is STRICT, so those connections are reset (503)"
            if peer is not None and peer.policy is not None and peer.mode == "STRICT"
            else "servers that require mTLS reset them, the others serve them without a caller identity"
        )
        mutual = own_tls(wildcard)
        pattern = wildcard.host.value if wildcard.host is not None else "*"
        yield ctx.finding(
            RULE,
            dr,
            dr.traffic_policy_span or dr.host.span,
            f"This DestinationRule for `{dr.host.value}` replaces {wildcard.display} (`{pattern}`, ISTIO_MUTUAL) for "
            f"this host and sets no `tls` of its own: with automatic mTLS off (the `enableAutoMtls` setting), client "
            f"sidecars send it plain text, and {outcome}. Set `trafficPolicy.tls.mode: ISTIO_MUTUAL` here.{hedge}",
            severity=severity,
            related=[Related(wildcard.uri, mutual.span if mutual else wildcard.name_span, "sets ISTIO_MUTUAL")],
            fixes=_fix(dr),
        )


def _fix(dr: DestinationRule) -> list[Fix]:
    if dr.traffic_policy_span is not None or dr.insert_after is None:
        return []  # a `trafficPolicy` of its own: where its `tls` goes is for the user to place
    indent = " " * dr.spec_indent
    lines = [f"{indent}trafficPolicy:", f"{indent}  tls:", f"{indent}    mode: ISTIO_MUTUAL"]
    line, char = dr.insert_after
    edit = TextEdit(dr.uri, Span(line, char, line, char), "\n" + "\n".join(lines))
    return [Fix("Add `trafficPolicy.tls.mode: ISTIO_MUTUAL`", (edit,), preferred=True)]


RULE = Rule(
    code="destinationrule-drops-mtls",
    severity=Severity.WARNING,
    summary="With automatic mTLS off, a DestinationRule without `tls` replaces a wildcard one that sets ISTIO_MUTUAL",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0204",),
)
