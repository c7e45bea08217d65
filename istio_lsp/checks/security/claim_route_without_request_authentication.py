"""claim-route-without-request-authentication: a route on JWT claims at a gateway whose pods validate no token."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity
from istio_lsp.checks.pods import judgeable, selects, workloads_selected
from istio_lsp.checks.together import how_sure, together
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, gateway_key
from istio_lsp.model.resources import Gateway, SelectorPolicy, VirtualService, Workload

DOC = """\
A VirtualService bound to a Gateway matches a header `@request.auth.claims.…` (routing on
a claim of the request's JWT), but no RequestAuthentication applies to the gateway's
pods: none in their namespace or in the root namespace selects them (or has no
selector). Only judged when the workspace declares the gateway pods.

## Why it matters

The gateway learns a token's claims only by validating it, which a RequestAuthentication
makes it do. Without one, no request carries claims, the match never holds, and every
request falls through to the next route (often a catch-all to the default version).
Nothing fails at apply time.

## How sure it is

| the gateway pods are… | severity |
|---|---|
| in one file or one kustomize build with the VirtualService | error |
| elsewhere in the workspace | information (a RequestAuthentication may be deployed elsewhere too) |
| not in the workspace | not reported |

## Wrong

```yaml
kind: VirtualService
spec:
  gateways: [istio-system/public]
  http:
  - match:
    - headers:
        "@request.auth.claims.group": {exact: beta-testers}
    route: [{destination: {host: shop, subset: beta}}]
```

## Right

```yaml
kind: RequestAuthentication
metadata: {name: gateway-jwt, namespace: istio-system}
spec:
  selector:
    matchLabels: {istio: ingressgateway}
  jwtRules:
  - issuer: https://auth.example.com
    jwksUri: https://auth.example.com/.well-known/jwks.json
```

## Fixes

None: the issuer and keys are yours to give.

Related: `istioctl analyze` IST0149 (JwtClaimBasedRoutingWithoutRequestAuthN).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    index, root = ctx.index, ctx.settings.root_namespace
    for vs in summary.resources:
        if not isinstance(vs, VirtualService) or not vs.claim_matches:
            continue
        spec_gateways = [g.value for g in vs.gateways[: vs.spec_gateway_count]]
        for claim, named in vs.claim_matches:
            unguarded: list[tuple[Gateway, Workload]] = []
            for reference in named if named is not None else spec_gateways:
                if reference.strip() == "mesh":
                    continue
                for gateway in index.gateway(*gateway_key(reference, vs.namespace)):
                    unguarded += [(gateway, pod) for pod in _pods_without_token_checks(index, gateway, root)]
            if not unguarded:
                continue
            evidence = [how for _, pod in unguarded if (how := together(index, vs, pod)) is not None]
            severity, hedge = how_sure(RULE.severity, evidence)
            pods = ", ".join(dict.fromkeys(pod.display for _, pod in unguarded))
            yield ctx.finding(
                RULE,
                vs,
                claim.span,
                f"This match reads a JWT claim, but no RequestAuthentication applies to the pods of the gateway it is "
                f"bound to ({pods}): they validate no token, so no request carries claims and the match never holds. "
                f"Add a RequestAuthentication selecting them (in their namespace or `{root}`).{hedge}",
                severity=severity,
                related=[Related(g.uri, g.name_span, f"{g.display} runs on {p.display}") for g, p in unguarded],
            )


def _pods_without_token_checks(index: WorkspaceIndex, gateway: Gateway, root: str) -> list[Workload]:
    """The gateway's pods in the workspace that no RequestAuthentication applies to; none when the
    pods are not in the workspace or a policy targeting by reference may apply."""
    if not judgeable(gateway.selector):
        return []
    pods = workloads_selected(index, gateway.selector, ANY_NAMESPACE) or []
    return [pod for pod in pods if pod.namespace != ANY_NAMESPACE and not _checked(index, pod, root)]


def _checked(index: WorkspaceIndex, pod: Workload, root: str) -> bool:
    for namespace in dict.fromkeys((pod.namespace, root)):
        for policy in index.in_namespace(namespace):
            if not isinstance(policy, SelectorPolicy) or policy.kind != "RequestAuthentication":
                continue
            if policy.targeted or not policy.selector or selects(policy.selector, pod.pod_labels):
                return True  # a targetRef may name the gateway: say nothing
    return False


RULE = Rule(
    code="claim-route-without-request-authentication",
    severity=Severity.ERROR,
    summary="A route on JWT claims at a gateway whose pods no RequestAuthentication applies to: it never matches",
    doc=DOC,
    run=run,
    istio_codes=("IST0149",),
)
