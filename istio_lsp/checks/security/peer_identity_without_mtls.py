"""peer-identity-without-mtls: an AuthorizationPolicy matches on the caller's mTLS identity for pods that
certainly receive no mTLS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.security._mtls import (
    host_rules,
    how_certain,
    mesh_rules,
    namespace_rules,
    own_mode,
    own_tls,
    pods_mode,
    service_rules,
)
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import DestinationRule, Resource, SelectorPolicy, Service

DOC = """\
An AuthorizationPolicy matches on who the caller is (`from.source.principals`,
`notPrincipals`, `namespaces`, `notNamespaces`, or a `when` condition on
`source.principal`, `source.namespace` or `connection.sni`), and the workspace shows that
the pods it applies to receive requests without mTLS:

- the PeerAuthentication that governs those pods is DISABLE: one with a selector that
  picks all of them, else their namespace's, else the mesh's (root namespace);
- a DestinationRule for every host of their namespace (`*.<ns>.svc.cluster.local`) or,
  when there is none, of the mesh (`*.local`) sets `tls.mode: DISABLE`;
- for a policy with a selector: a DestinationRule sets DISABLE for a Service whose
  selector picks all of the policy's pods;
- with the `enableAutoMtls` setting `false` (automatic mTLS off), no PeerAuthentication
  requires mTLS and no DestinationRule of the workspace sets ISTIO_MUTUAL towards the
  namespace (information: those rules may live elsewhere).

## Why it matters

A sidecar learns the caller's identity (its service account, hence its namespace) from
the client certificate of an mTLS connection. Without mTLS there is none: `principals`,
`namespaces` and the conditions on them never match, and `notPrincipals` and
`notNamespaces` always do. An ALLOW policy then refuses the callers it means to let in
(403 "RBAC: access denied"), and a DENY policy lets through the callers it means to stop.

With automatic mTLS on (Istio's default) and PERMISSIVE or STRICT pods, callers with a
sidecar do send mTLS, so a policy there is not reported: only what the files show to be
plain text is.

## How sure it is

| situation | severity |
|---|---|
| the policy and what turns mTLS off in one file or one kustomize build | error |
| in one folder no kustomization builds, or deployed separately | information |
| automatic mTLS off and nothing originates mTLS | information |
| pods a PeerAuthentication with a selector may pick accept mTLS (against a DISABLE one) | not reported |
| the policy is in the root namespace, names `targetRefs`, or its namespace is not known | not reported |

## Wrong

```yaml
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: DISABLE}
---
kind: AuthorizationPolicy
metadata: {name: orders, namespace: shop}
spec:
  selector:
    matchLabels: {app: orders}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/frontend"]
```

## Right

Turn mTLS on for those pods (`mtls.mode: PERMISSIVE` or `STRICT`), or match on what
plain text carries (`ipBlocks`, request headers, a JWT via `requestPrincipals`).

## Fixes

None: whether to turn mTLS on or to match on something else is yours to decide.

Related: Kiali KIA0105. Kiali also reports it with automatic mTLS off when no
PeerAuthentication or no DestinationRule enables mTLS; here a STRICT PeerAuthentication or
an ISTIO_MUTUAL DestinationRule is enough, as in Istio.
"""

POSITIVE = {"principals", "namespaces", "source.principal", "source.namespace", "connection.sni"}


@dataclass(frozen=True, slots=True)
class Cause:
    """What turns mTLS off for the policy's pods."""

    resource: Resource | None  # None: the `enableAutoMtls` setting, with nothing that originates mTLS
    text: str  # for the message: "… because <text>"
    related: Related | None
    advice: str


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    root = ctx.settings.root_namespace
    for policy in summary.resources:
        if (
            not isinstance(policy, SelectorPolicy)
            or policy.kind != "AuthorizationPolicy"
            or not policy.peer_identity
            or policy.targeted
            or policy.namespace in ("", ANY_NAMESPACE, root)
        ):
            continue
        causes = [(_certainty(ctx, policy, c), c) for c in _causes(ctx, policy)]
        if not causes:
            continue
        (severity, hedge), cause = min(causes, key=lambda found: found[0])  # the most certain
        pods = "the pods it selects" if policy.selector else f"the pods of `{policy.namespace}`"
        for ref in policy.peer_identity:
            matching = "never match" if ref.value in POSITIVE else "match every such request"
            yield ctx.finding(
                RULE,
                policy,
                ref.span,
                f"`{ref.value}` reads the caller's mTLS identity, but {pods} receive requests without mTLS "
                f"({cause.text}): requests carry no identity, so conditions like this one {matching} and the "
                f"policy does not act on the callers it names. {cause.advice}.{hedge}",
                severity=severity,
                related=[cause.related] if cause.related is not None else [],
            )


def _certainty(ctx: Context, policy: SelectorPolicy, cause: Cause) -> tuple[Severity, str]:
    if cause.resource is None:
        return Severity.INFORMATION, ""
    return how_certain(ctx.index, policy, cause.resource, RULE.severity)


def _causes(ctx: Context, policy: SelectorPolicy) -> Iterator[Cause]:
    """What the files show turns mTLS off for the policy's pods."""
    index, domain, root = ctx.index, ctx.settings.cluster_domain, ctx.settings.root_namespace
    namespace = policy.namespace
    peer = pods_mode(index, namespace, root, policy.selector or None)
    if peer is not None and peer.policy is not None and peer.mode == "DISABLE":
        pa = peer.policy
        yield Cause(
            pa,
            f"{pa.display} is DISABLE",
            Related(pa.uri, pa.mtls_span or pa.name_span, f"{pa.display} turns mTLS off"),
            f"Set {pa.display} to PERMISSIVE or STRICT, or match on something plain text carries",
        )
    wide = namespace_rules(index, namespace, domain) or mesh_rules(index, domain)
    for dr in wide:
        if own_mode(dr) == "DISABLE":
            yield _rule_cause(dr, "for every host of the namespace")
    if policy.selector:
        for service in _services_of(index, namespace, policy.selector):
            for dr in service_rules(index, service, domain):
                if own_mode(dr) == "DISABLE":
                    yield _rule_cause(dr, f"for Service `{service.name}`, whose pods these are")
    if ctx.settings.enable_auto_mtls or peer is None or peer.mode != "PERMISSIVE":
        return
    if any(own_mode(dr) == "ISTIO_MUTUAL" for dr in wide) or any(
        any(t.mode.upper() == "ISTIO_MUTUAL" for t in dr.tls_modes) for dr in host_rules(index, namespace, domain)
    ):
        return
    yield Cause(
        None,
        "automatic mTLS is off (the `enableAutoMtls` setting), the pods accept plain text (PERMISSIVE) and no "
        "DestinationRule of the workspace sets ISTIO_MUTUAL towards them",
        None,
        f"Add a DestinationRule for `*.{namespace}.svc.{domain}` with `tls.mode: ISTIO_MUTUAL`, or make the "
        f"pods STRICT",
    )


def _rule_cause(dr: DestinationRule, what: str) -> Cause:
    tls = own_tls(dr)
    return Cause(
        dr,
        f"{dr.display} sets `tls.mode: DISABLE` {what}, so client sidecars send plain text",
        Related(dr.uri, tls.span if tls else dr.name_span, f"{dr.display} turns mTLS off {what}"),
        f"Remove that `tls` setting from {dr.display} (automatic mTLS then picks mTLS for pods with a sidecar)",
    )


def _services_of(index: WorkspaceIndex, namespace: str, selector: dict[str, str]) -> list[Service]:
    """The Services of a namespace whose selector picks every pod carrying `selector`'s labels."""
    found: list[Service] = []
    for key, value in selector.items():
        for service in index.services_labelled(namespace, key, value):
            labels = service.selector or {}
            covers = labels and all(selector.get(k) == v for k, v in labels.items())
            if covers and service.namespace == namespace and all(service is not s for s in found):
                found.append(service)
    return found


RULE = Rule(
    code="peer-identity-without-mtls",
    severity=Severity.ERROR,
    summary="An AuthorizationPolicy matches on the caller's mTLS identity for pods that receive no mTLS",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0105",),
)
