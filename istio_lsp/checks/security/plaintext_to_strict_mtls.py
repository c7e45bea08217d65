"""plaintext-to-strict-mtls: a DestinationRule that turns TLS off towards pods a PeerAuthentication makes STRICT."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.checks.security._mtls import (
    PeerMode,
    how_certain,
    mesh_mode,
    namespace_mode,
    reach,
)
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.index.resolve import mtls_mode_of, peer_authentications
from istio_lsp.model.resources import DestinationRule, TlsMode

DOC = """\
A DestinationRule sets `tls.mode: DISABLE` (for its host, a subset or a port) while the
PeerAuthentication that governs the destination's namespace is STRICT: the namespace's
own PeerAuthentication without selector, or, when it has none, the root namespace's
(`istio-system` unless the `rootNamespace` setting says otherwise). A DestinationRule
for `*.local` (every service) is compared with the root namespace's.

## Why it matters

A DestinationRule's `tls` overrides automatic mTLS: with DISABLE the client sidecars
send plain text. STRICT server sidecars accept mTLS only, so they reset every such
connection, and the callers see 503 "upstream connect error … connection reset".
Nothing fails at apply time, and the two resources usually live in different files.

## How sure it is

| situation | severity |
|---|---|
| both in one file or one kustomize build | error |
| deployed separately (other folders, other builds) | information: only if both reach the same cluster |
| PeerAuthentications with selectors in the namespace that are not STRICT (pods accepting plain text) | not reported |
| the namespace's PeerAuthentications without selector disagree, or its namespace is not known | not reported |

## Wrong

```yaml
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
---
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  trafficPolicy:
    tls: {mode: DISABLE}
```

## Right

Remove the `tls` setting (automatic mTLS picks mTLS for pods with sidecars), or set
`mode: ISTIO_MUTUAL`; or make the PeerAuthentication PERMISSIVE while clients migrate.

## Fixes

Set the mode to `ISTIO_MUTUAL`.

Related: Kiali KIA0207 (a namespace-wide DestinationRule disables mTLS, the namespace
is STRICT), KIA0208 (the mesh is STRICT); this rule also covers DestinationRules for
one host.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index, settings = ctx.index, ctx.settings
    root = settings.root_namespace
    for dr in summary.resources:
        if not isinstance(dr, DestinationRule) or dr.host is None:
            continue
        disabled = [t for t in dr.tls_modes if t.mode == "DISABLE"]
        scope = reach(dr, settings.cluster_domain) if disabled else None
        if scope is None:
            continue
        namespace = root if scope.namespace is None else scope.namespace
        peer = mesh_mode(index, root) if scope.namespace is None else _namespace_peer(index, namespace, root)
        if peer is None or peer.policy is None or peer.mode != "STRICT":
            continue
        strict = peer.policy
        severity, hedge = how_certain(index, dr, strict, RULE.severity)
        for setting in disabled:
            where = f"port {setting.port}" if setting.port is not None else "its traffic"
            if setting.subset is not None:
                where += f" of subset `{setting.subset}`"
            scope_text = "every namespace without a PeerAuthentication of its own" if namespace == root else namespace
            yield ctx.finding(
                RULE,
                dr,
                setting.span,
                f"`tls.mode: DISABLE` makes the client sidecars send {where} to `{dr.host.value}` as plain text, but "
                f"{strict.display} requires mTLS (STRICT) in {scope_text}: the server sidecars "
                f"reset every such connection and callers see 503. Remove this `tls` setting or use ISTIO_MUTUAL."
                f"{hedge}",
                severity=severity,
                related=[Related(strict.uri, strict.mtls_span or strict.name_span, f"{strict.display} is STRICT")],
                fixes=[_fix(dr, setting)],
            )


def _namespace_peer(index: WorkspaceIndex, namespace: str, root: str) -> PeerMode | None:
    """The mode of a namespace's pods; None when some of them accept plain text by a selector."""
    if any(p.selector and mtls_mode_of(p) not in ("STRICT", "UNSET") for p in peer_authentications(index, namespace)):
        return None
    return namespace_mode(index, namespace, root)


def _fix(dr: DestinationRule, setting: TlsMode) -> Fix:
    return Fix("Use `ISTIO_MUTUAL`", (TextEdit(dr.uri, setting.span, "ISTIO_MUTUAL"),), preferred=True)


RULE = Rule(
    code="plaintext-to-strict-mtls",
    severity=Severity.ERROR,
    summary="A DestinationRule disables TLS towards pods whose PeerAuthentication is STRICT: connections are reset",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0207", "KIA0208"),
)
