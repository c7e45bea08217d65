"""plaintext-to-strict-mtls: a DestinationRule that turns TLS off towards pods a PeerAuthentication makes STRICT."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.checks.conflicts._together import BUILD, FILE, together
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, host_candidates
from istio_lsp.model.resources import DestinationRule, SelectorPolicy, TlsMode

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

MESH_WIDE = ("*", "*.local", "*.cluster.local")


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index, settings = ctx.index, ctx.settings
    root = settings.root_namespace
    for dr in summary.resources:
        if not isinstance(dr, DestinationRule) or dr.host is None:
            continue
        disabled = [t for t in dr.tls_modes if t.mode == "DISABLE"]
        if not disabled:
            continue
        host = dr.host.value.lower()
        domain = settings.cluster_domain
        if host in MESH_WIDE or host == f"*.svc.{domain}":
            namespace, strict = root, _mesh_strict(index, root)
        else:
            found = cluster_namespace(host_candidates(host, dr.namespace, domain)[0], domain)
            if found is None or found == ANY_NAMESPACE:
                continue
            namespace, strict = found, _namespace_strict(index, found, root)
        if strict is None:
            continue
        how = together(index, dr, strict)
        certain = how in (FILE, BUILD)
        for setting in disabled:
            where = f"port {setting.port}" if setting.port is not None else "its traffic"
            if setting.subset is not None:
                where += f" of subset `{setting.subset}`"
            scope = "every namespace without a PeerAuthentication of its own" if namespace == root else namespace
            hedge = "" if certain else " (The two are deployed separately: this holds where both reach one cluster.)"
            yield ctx.finding(
                RULE,
                dr,
                setting.span,
                f"`tls.mode: DISABLE` makes the client sidecars send {where} to `{dr.host.value}` as plain text, but "
                f"PeerAuthentication {strict.display} requires mTLS (STRICT) in {scope}: the server sidecars reset "
                f"every such connection and callers see 503. Remove this `tls` setting or use ISTIO_MUTUAL.{hedge}",
                severity=RULE.severity if certain else Severity.INFORMATION,
                related=[Related(strict.uri, strict.mtls_span or strict.name_span, f"{strict.display} is STRICT")],
                fixes=[_fix(dr, setting)],
            )


def _peer_authentications(index: WorkspaceIndex, namespace: str) -> list[SelectorPolicy]:
    return [
        r
        for r in index.in_namespace(namespace)
        if isinstance(r, SelectorPolicy) and r.kind == "PeerAuthentication" and not r.targeted
    ]


def _namespace_level(policies: list[SelectorPolicy]) -> SelectorPolicy | bool | None:
    """The namespace-wide PeerAuthentication that decides (None: none; False: several that disagree)."""
    wide = [p for p in policies if not p.selector and (p.mtls_mode or "UNSET").upper() != "UNSET"]
    if len({(p.mtls_mode or "").upper() for p in wide}) > 1:
        return False
    return wide[0] if wide else None


def _mesh_strict(index: WorkspaceIndex, root: str) -> SelectorPolicy | None:
    decided = _namespace_level(_peer_authentications(index, root))
    return decided if isinstance(decided, SelectorPolicy) and _is_strict(decided) else None


def _namespace_strict(index: WorkspaceIndex, namespace: str, root: str) -> SelectorPolicy | None:
    policies = _peer_authentications(index, namespace)
    if any(p.selector and (p.mtls_mode or "UNSET").upper() not in ("STRICT", "UNSET") for p in policies):
        return None  # some pods accept plain text
    decided = _namespace_level(policies)
    if decided is False:
        return None
    if decided is None:
        return _mesh_strict(index, root)
    return decided if isinstance(decided, SelectorPolicy) and _is_strict(decided) else None


def _is_strict(policy: SelectorPolicy) -> bool:
    return (policy.mtls_mode or "").upper() == "STRICT"


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
