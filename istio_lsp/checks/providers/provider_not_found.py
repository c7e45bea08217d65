"""provider-not-found: a Telemetry or CUSTOM AuthorizationPolicy names a provider the mesh config does not declare."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Related, Rule, Severity, related_to, replace_fixes
from istio_lsp.checks.providers._mesh import SIGNALS_OF, MeshProviders, mesh_providers
from istio_lsp.checks.suggest import close_matches
from istio_lsp.checks.together import BUILD, FOLDER, how_sure
from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import ProviderUse, SelectorPolicy

DOC = """\
A Telemetry (`tracing`, `metrics`, `accessLogging`) or an AuthorizationPolicy with
`action: CUSTOM` names a provider that the mesh configuration in the workspace does not
declare in `extensionProviders` and that is not built in (`prometheus`, `stackdriver`,
`envoy`), or one of a kind that cannot serve that use (a Zipkin tracer named for access
logs, a metrics provider as an external authorizer).

## Why it matters

Istiod resolves provider names against the mesh configuration when it builds each
proxy's configuration. A Telemetry entry naming an unknown provider is dropped: the
traces, metrics or logs are simply not produced. A CUSTOM AuthorizationPolicy naming an
unknown provider is worse: istiod cannot ask the external authorizer, so it denies
every request the policy's rules match.

## How sure it is

Judged only against the mesh configurations deployed with the policy (the `istio`
ConfigMap's `data.mesh`, or an IstioOperator's `spec.meshConfig`, in the policy's file or
kustomize build: **warning**; only in its folder: **information**). A repository often
holds several (samples, install profiles) and Helm values or a cluster may declare
providers the files do not show, so configurations elsewhere in the workspace, ones a
kustomize patch may change, and templated ones judge nothing. Names that are
placeholders are left alone.

## Wrong

```yaml
# mesh config: extensionProviders: [{name: otel-tracing, opentelemetry: {…}}]
kind: Telemetry
spec:
  tracing:
  - providers:
    - name: otel-tracer
```

## Right

```yaml
  tracing:
  - providers:
    - name: otel-tracing
```

## Fixes

Replace the name with a close declared provider of a suitable kind.

Related: no `istioctl analyze` code; istiod reports it in its logs only.
"""

_USES = {
    "tracing": "tracing",
    "metrics": "metrics",
    "accessLogging": "access logging",
    "authorization": "external authorization (CUSTOM)",
}


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for policy in summary.resources:
        if not isinstance(policy, SelectorPolicy) or not policy.providers:
            continue
        mesh = mesh_providers(ctx.index, policy)
        if mesh is None:
            continue
        for use in policy.providers:
            if use.name is not None and not is_placeholder(use.name.value):
                finding = _judged(ctx, mesh, policy, use)
                if finding is not None:
                    yield finding


def _judged(ctx: Context, mesh: MeshProviders, policy: SelectorPolicy, use: ProviderUse) -> Finding | None:
    assert use.name is not None
    name, purpose = use.name.value, _USES[use.signal]
    sources = ", ".join(f"`{s.display}`" for s in mesh.sources)
    severity, hedge = how_sure(RULE.severity, [BUILD] if mesh.certain else [FOLDER])
    effect = (
        "istiod denies every request the policy's rules match, as it cannot ask the authorizer"
        if use.signal == "authorization"
        else "istiod drops the entry and nothing is produced for it"
    )
    kind = mesh.kinds.get(name)
    suitable = [n for n, k in mesh.kinds.items() if use.signal in SIGNALS_OF.get(k, ())]
    if kind is None:
        close = close_matches(name, suitable)
        hint = f" Did you mean `{close[0]}`?" if close else f" Declared for {purpose}: {_listed(suitable)}."
        message = f"No extension provider `{name}` is declared in the mesh configuration ({sources}): {effect}.{hint}"
        return ctx.finding(
            RULE,
            policy,
            use.name.span,
            message + hedge,
            severity=severity,
            related=_declarations(mesh),
            fixes=replace_fixes(policy.uri, use.name, close),
        )
    if kind in SIGNALS_OF and use.signal not in SIGNALS_OF[kind]:
        return ctx.finding(
            RULE,
            policy,
            use.name.span,
            f"`{name}` is a `{kind}` provider, which cannot serve {purpose}: {effect}. "
            f"Providers for {purpose}: {_listed(suitable)}.{hedge}",
            severity=severity,
            related=[related_to(s, f"declares `{name}`") for s in [mesh.declared_by[name]] if name in mesh.declared_by],
            fixes=replace_fixes(policy.uri, use.name, close_matches(name, suitable)),
        )
    return None


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "none"


def _declarations(mesh: MeshProviders) -> list[Related]:
    return [related_to(s, "declares the mesh's extension providers") for s in mesh.sources]


RULE = Rule(
    code="provider-not-found",
    severity=Severity.WARNING,
    summary="A Telemetry or CUSTOM authorization provider that the mesh configuration does not declare",
    doc=DOC,
    run=run,
)
