"""one-sided-mtls: with automatic mTLS off, one side of mTLS is configured and the other is not."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.security._mtls import (
    host_rules,
    mesh_rules,
    namespace_level,
    namespace_mode,
    namespace_rules,
    own_mode,
    own_tls,
    reach,
)
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.index.resolve import mtls_mode_of, peer_authentications
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import DestinationRule, SelectorPolicy

DOC = """\
Only reported when the `enableAutoMtls` setting is `false`, for meshes whose MeshConfig
turns automatic mTLS off. Then client sidecars send plain text unless a DestinationRule
sets `tls.mode: ISTIO_MUTUAL`, so mTLS takes both a PeerAuthentication on the servers'
side and a DestinationRule on the clients' side. This rule reports one side without the
other:

- A PeerAuthentication without selector is STRICT, and no DestinationRule of the
  workspace sets ISTIO_MUTUAL for the hosts it governs: for a namespace's, neither one
  for `*.<ns>.svc.cluster.local` (or, when there is none, for `*.local`) nor one for a host
  of the namespace; for the root namespace's (the mesh's), no DestinationRule at all.
  Reported as a warning on the PeerAuthentication.
- A DestinationRule for every host of a namespace or of the mesh sets ISTIO_MUTUAL, and
  no PeerAuthentication governs those pods at all. Reported as information on the
  DestinationRule.

## Why it matters

With automatic mTLS off, a client sidecar does not look at what the server accepts.
Towards STRICT pods without an ISTIO_MUTUAL DestinationRule it sends plain text, the
server sidecars reset the connections and callers see 503. The other way round nothing
breaks (pods without a PeerAuthentication are PERMISSIVE), but mTLS is only offered, not
required: clients without a sidecar are still served in plain text.

With automatic mTLS on (Istio's default), sidecars send mTLS to every pod with a sidecar
by themselves, and neither case is a problem: the rule stays silent.

## How sure it is

The DestinationRules that originate mTLS may be kept in another repository than the
PeerAuthentication, so a PeerAuthentication without one is a warning, not an error. A
namespace that is not known is not reported.

## Wrong

```yaml
# enableAutoMtls: false
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
```

## Right

```yaml
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
---
kind: DestinationRule
metadata: {name: default, namespace: shop}
spec:
  host: "*.shop.svc.cluster.local"
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
```

## Fixes

None: add the DestinationRule (or the PeerAuthentication) that is missing.

Related: Kiali KIA0205 (a mesh-wide DestinationRule enables mTLS, no mesh-wide
PeerAuthentication does), KIA0206 (the same for a namespace), KIA0401 (the mesh's
PeerAuthentication is STRICT, no mesh-wide DestinationRule enables mTLS), KIA0501 (the
same for a namespace). Kiali reports the DestinationRule side as an error; here it is
information, because the PERMISSIVE default accepts the mTLS those rules originate.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    if ctx.settings.enable_auto_mtls:
        return
    for resource in summary.resources:
        if isinstance(resource, SelectorPolicy):
            yield from _strict_without_origination(ctx, resource)
        elif isinstance(resource, DestinationRule):
            yield from _origination_without_policy(ctx, resource)


def _strict_without_origination(ctx: Context, policy: SelectorPolicy) -> Iterator[Finding]:
    namespace = policy.namespace
    if (
        policy.kind != "PeerAuthentication"
        or policy.selector
        or policy.targeted
        or mtls_mode_of(policy) != "STRICT"
        or namespace in ("", ANY_NAMESPACE)
    ):
        return
    index, domain, root = ctx.index, ctx.settings.cluster_domain, ctx.settings.root_namespace
    if namespace == root:
        if _mutual_anywhere(index):
            return
        scope = "every namespace without a PeerAuthentication of its own"
        advice = f"Add a DestinationRule for `*.local` in `{root}` with `tls.mode: ISTIO_MUTUAL`"
    else:
        wide = namespace_rules(index, namespace, domain) or mesh_rules(index, domain)
        if any(own_mode(dr) == "ISTIO_MUTUAL" for dr in wide):
            return
        if any(_sets_mutual(dr) for dr in host_rules(index, namespace, domain)):
            return  # mTLS originated host by host
        scope = f"namespace `{namespace}`"
        advice = f"Add a DestinationRule for `*.{namespace}.svc.{domain}` with `tls.mode: ISTIO_MUTUAL`"
    yield ctx.finding(
        RULE,
        policy,
        policy.mtls_span or policy.name_span,
        f"This PeerAuthentication requires mTLS (STRICT) in {scope}, but with automatic mTLS off (the "
        f"`enableAutoMtls` setting) client sidecars send plain text unless a DestinationRule sets ISTIO_MUTUAL, and "
        f"no DestinationRule of the workspace does for these hosts: the server sidecars reset those connections "
        f"and callers see 503. {advice}.",
        severity=RULE.severity,
    )


def _origination_without_policy(ctx: Context, dr: DestinationRule) -> Iterator[Finding]:
    index, root = ctx.index, ctx.settings.root_namespace
    scope = reach(dr, ctx.settings.cluster_domain)
    setting = own_tls(dr)
    if scope is None or not scope.wildcard or setting is None or setting.mode.upper() != "ISTIO_MUTUAL":
        return
    if scope.namespace is None:
        if namespace_level(peer_authentications(index, root)) is not None:
            return
        where = "the mesh"
    else:
        peer = namespace_mode(index, scope.namespace, root)
        if peer is None or peer.policy is not None:
            return
        where = f"namespace `{scope.namespace}`"
    yield ctx.finding(
        RULE,
        dr,
        setting.span,
        f"This DestinationRule makes clients use mTLS towards every host of {where}, but no PeerAuthentication "
        f"governs those pods, so they stay PERMISSIVE (Istio's default) and keep serving plain text to clients "
        f"without a sidecar. Add a PeerAuthentication with `mtls.mode: STRICT` if mTLS should be required.",
        severity=Severity.INFORMATION,
    )


def _sets_mutual(dr: DestinationRule) -> bool:
    return any(t.mode.upper() == "ISTIO_MUTUAL" for t in dr.tls_modes)


def _mutual_anywhere(index: WorkspaceIndex) -> bool:
    """Whether some DestinationRule of the workspace sets ISTIO_MUTUAL."""
    rules = index.destination_rules
    return any(_sets_mutual(dr) for key in list(rules.keys()) for dr in rules.get(key))


RULE = Rule(
    code="one-sided-mtls",
    severity=Severity.WARNING,
    summary="With automatic mTLS off, STRICT pods get no DestinationRule that originates mTLS (or the reverse)",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0205", "KIA0206", "KIA0401", "KIA0501"),
)
