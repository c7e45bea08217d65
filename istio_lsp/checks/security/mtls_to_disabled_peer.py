"""mtls-to-disabled-peer: a DestinationRule that originates Istio mTLS towards pods whose PeerAuthentication
is DISABLE."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit, related_to
from istio_lsp.checks.security._mtls import (
    accepts_mtls,
    how_certain,
    mesh_rules,
    namespace_mode,
    namespace_rules,
    own_mode,
    own_tls,
    reach,
)
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import mtls_mode_of, peer_authentications
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import DestinationRule, SelectorPolicy, TlsMode

DOC = """\
A DestinationRule sets `tls.mode: ISTIO_MUTUAL` towards pods whose PeerAuthentication
is DISABLE, so the client sidecars speak mTLS to server sidecars that do not.

- A namespace's PeerAuthentication without selector is DISABLE while a DestinationRule
  for every host of that namespace (`*.<ns>.svc.cluster.local`) sets ISTIO_MUTUAL, or,
  when no such DestinationRule exists, one for every host of the mesh (`*.local`) does.
  Reported on the PeerAuthentication.
- The root namespace's PeerAuthentication (the mesh's, `istio-system` unless the
  `rootNamespace` setting says otherwise) is DISABLE while a DestinationRule for every
  host of the mesh sets ISTIO_MUTUAL. Reported on the PeerAuthentication.
- A DestinationRule for one host sets ISTIO_MUTUAL (for its traffic, a port or a subset)
  and the host's namespace is DISABLE, by its own PeerAuthentication or the mesh's.
  Reported on the DestinationRule.

## Why it matters

An explicit `tls` in a DestinationRule wins over automatic mTLS, so the client sidecar
starts a TLS handshake whatever the server accepts. A server sidecar with mTLS DISABLE
expects plain text: the handshake fails and callers see 503 "upstream connect error …
connection termination" (for TCP the application receives TLS bytes it cannot read).
Nothing fails at apply time, and the two resources usually live in different files.

## How sure it is

| situation | severity |
|---|---|
| both in one file or one kustomize build | error |
| in one folder no kustomization builds, or deployed separately | information: only if both reach the same cluster |
| some pods of the namespace accept mTLS by a PeerAuthentication with a selector (a rule for one host) | not reported |
| a DestinationRule for the namespace's hosts without ISTIO_MUTUAL overrides the mesh-wide one | not reported |
| the namespace's PeerAuthentications without selector disagree, or its namespace is not known | not reported |

`MUTUAL` and `SIMPLE` are not reported: with mTLS DISABLE the sidecar passes the
connection on, and the application may terminate TLS itself.

## Wrong

```yaml
kind: PeerAuthentication
metadata: {name: default, namespace: legacy}
spec:
  mtls: {mode: DISABLE}
---
kind: DestinationRule
metadata: {name: legacy-mtls, namespace: legacy}
spec:
  host: "*.legacy.svc.cluster.local"
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
```

## Right

```yaml
kind: DestinationRule
metadata: {name: legacy-plain, namespace: legacy}
spec:
  host: "*.legacy.svc.cluster.local"
  trafficPolicy:
    tls: {mode: DISABLE}
```

Or remove the `tls` setting: automatic mTLS sends plain text to pods whose
PeerAuthentication is DISABLE. A namespace that opts out of a mesh-wide ISTIO_MUTUAL
DestinationRule needs a DestinationRule of its own for `*.<ns>.svc.cluster.local`.

## Fixes

Set the DestinationRule's mode to `DISABLE` (on the PeerAuthentication: when one
DestinationRule for the namespace, or for the mesh against the mesh's PeerAuthentication,
is at fault).

Related: Kiali KIA0505 (a namespace is DISABLE), KIA0506 (the mesh is DISABLE); this rule
also covers DestinationRules for one host.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for resource in summary.resources:
        if isinstance(resource, DestinationRule):
            yield from _host_rule(ctx, resource)
        elif isinstance(resource, SelectorPolicy) and _disables_namespace(resource):
            yield from _disabled_namespace(ctx, resource)


def _disables_namespace(policy: SelectorPolicy) -> bool:
    """A PeerAuthentication DISABLE without selector, of a known namespace."""
    return (
        policy.kind == "PeerAuthentication"
        and not policy.selector
        and not policy.targeted
        and mtls_mode_of(policy) == "DISABLE"
        and policy.namespace not in ("", ANY_NAMESPACE)
    )


def _host_rule(ctx: Context, dr: DestinationRule) -> Iterator[Finding]:
    """A DestinationRule for one host, towards a namespace that is DISABLE."""
    mutual = [t for t in dr.tls_modes if t.mode.upper() == "ISTIO_MUTUAL"]
    scope = reach(dr, ctx.settings.cluster_domain) if mutual else None
    if scope is None or scope.wildcard or scope.namespace is None or dr.host is None:
        return
    index, root = ctx.index, ctx.settings.root_namespace
    if any(p.selector and accepts_mtls(p) for p in peer_authentications(index, scope.namespace)):
        return  # the host's pods may be those
    peer = namespace_mode(index, scope.namespace, root)
    if peer is None or peer.policy is None or peer.mode != "DISABLE":
        return
    disabled = peer.policy
    severity, hedge = how_certain(index, dr, disabled, RULE.severity)
    for setting in mutual:
        where = f"port {setting.port}" if setting.port is not None else "its traffic"
        if setting.subset is not None:
            where += f" of subset `{setting.subset}`"
        yield ctx.finding(
            RULE,
            dr,
            setting.span,
            f"`tls.mode: ISTIO_MUTUAL` makes the client sidecars send {where} to `{dr.host.value}` over mTLS, but "
            f"{disabled.display} turns mTLS off (DISABLE) for the pods of `{scope.namespace}`: "
            f"their sidecars expect plain text, the handshake fails and callers see 503. Use DISABLE, or remove "
            f"this `tls` setting and let automatic mTLS choose.{hedge}",
            severity=severity,
            related=[_related(disabled)],
            fixes=[_fix(dr, setting)],
        )


def _disabled_namespace(ctx: Context, policy: SelectorPolicy) -> Iterator[Finding]:
    """A PeerAuthentication DISABLE for a namespace, or for the mesh, against wildcard DestinationRules."""
    index, domain, root = ctx.index, ctx.settings.cluster_domain, ctx.settings.root_namespace
    namespace = policy.namespace
    wide = [] if namespace == root else namespace_rules(index, namespace, domain)
    own = bool(wide) or namespace == root  # the culprit is a rule to edit, not one to add
    # without a rule for its own hosts, a namespace gets the mesh-wide ones
    culprits = [dr for dr in wide or mesh_rules(index, domain) if own_mode(dr) == "ISTIO_MUTUAL"]
    if not culprits:
        return
    scope = "every namespace without one of its own" if namespace == root else f"namespace `{namespace}`"
    what = f"for every host of `{namespace}`" if wide else "for every host of the mesh"
    if own:
        advice = "Set its mode to DISABLE (or remove its `tls`)"
    else:
        advice = f"Add a DestinationRule for `*.{namespace}.svc.{domain}` with `tls.mode: DISABLE`"
    severity, hedge = min(how_certain(index, policy, dr, RULE.severity) for dr in culprits)
    names = ", ".join(dr.display for dr in culprits)
    fixes = []
    if own and len(culprits) == 1 and (setting := own_tls(culprits[0])) is not None:
        fixes.append(_fix(culprits[0], setting))
    verb = "sets" if len(culprits) == 1 else "set"
    yield ctx.finding(
        RULE,
        policy,
        policy.mtls_span or policy.name_span,
        f"This PeerAuthentication turns mTLS off (DISABLE) in {scope}, but {names} {verb} `tls.mode: ISTIO_MUTUAL` "
        f"{what}: client sidecars start mTLS handshakes that these pods' sidecars do not accept, so requests fail "
        f"with 503. {advice}, or let this PeerAuthentication accept mTLS.{hedge}",
        severity=severity,
        related=[related_to(dr, f"sets ISTIO_MUTUAL {what}") for dr in culprits],
        fixes=fixes,
    )


def _related(policy: SelectorPolicy) -> Related:
    return Related(policy.uri, policy.mtls_span or policy.name_span, f"{policy.display} is DISABLE")


def _fix(dr: DestinationRule, setting: TlsMode) -> Fix:
    return Fix(f"Use `DISABLE` in {dr.display}", (TextEdit(dr.uri, setting.span, "DISABLE"),), preferred=True)


RULE = Rule(
    code="mtls-to-disabled-peer",
    severity=Severity.ERROR,
    summary="A DestinationRule sends Istio mTLS to pods whose PeerAuthentication is DISABLE: handshakes fail",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0505", "KIA0506"),
)
