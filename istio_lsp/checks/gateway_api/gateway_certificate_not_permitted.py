"""gateway-certificate-not-permitted: a listener's certificateRef to a Secret of another namespace that no
ReferenceGrant allows (RefNotPermitted)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.gateway_api._backends import group_kind, target_namespace
from istio_lsp.checks.gateway_api._grants import create_grant_fix, permitted
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import KubernetesGateway, ListenerSet

DOC = """\
A Gateway listener's `tls.certificateRefs` names a Secret in another namespace, and no
ReferenceGrant in that namespace allows Gateways of the listener's namespace to read it.

## Why it matters

Istio's controller sets the listener's `ResolvedRefs` condition to False (reason
`RefNotPermitted`) and the Gateway's `Programmed` condition to False for it: the listener
serves no TLS, so HTTPS clients fail the handshake.

## How sure it is

ReferenceGrants live in the Secret's namespace. When the workspace holds nothing of that
namespace, or the Gateway's namespace is only known at deploy time, nothing is reported.

## Wrong

```yaml
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls:
      certificateRefs: [{name: shop-cert, namespace: shop}]
```

## Right

```yaml
kind: ReferenceGrant
metadata: {name: infra-gateways, namespace: shop}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: Secret, name: shop-cert}]
```

## Fixes

**Create a ReferenceGrant** in the Secret's namespace (marked unsafe: its owner decides).

Related: Istio's Gateway listener status `ResolvedRefs=False`, reason `RefNotPermitted`; the
Gateway API conformance test `GatewaySecretMissingReferenceGrant`. Kiali has no equivalent.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for gateway in summary.resources:
        if not isinstance(gateway, (KubernetesGateway, ListenerSet)):
            continue
        from_kind = "Gateway" if isinstance(gateway, KubernetesGateway) else gateway.kind
        for listener in gateway.listeners:
            for ref in listener.certificate_refs:
                if ref.namespace is None or ref.name is None or ref.namespace.value == gateway.namespace:
                    continue
                namespace = target_namespace(gateway, ref)
                group, kind = group_kind(ref)
                if is_placeholder(namespace) or (group, kind) != ("", "Secret"):
                    continue
                if permitted(ctx, from_kind, gateway.namespace, group, kind, namespace, ref.name.value) is not False:
                    continue
                message = (
                    f"No ReferenceGrant in `{namespace}` lets {from_kind}s of `{gateway.namespace}` read Secret "
                    f"`{ref.name.value}`: Istio sets listener `{listener.name}`'s ResolvedRefs condition to False "
                    f"(RefNotPermitted) and the listener serves no TLS."
                )
                fix = create_grant_fix(gateway, from_kind, group, kind, namespace, ref.name.value)
                yield ctx.finding(RULE, gateway, ref.namespace.span, message, fixes=[fix])


RULE = Rule(
    code="gateway-certificate-not-permitted",
    severity=Severity.ERROR,
    summary="A Gateway listener certificateRef to another namespace that no ReferenceGrant allows (RefNotPermitted).",
    doc=DOC,
    run=run,
)
