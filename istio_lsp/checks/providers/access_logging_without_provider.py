"""access-logging-without-provider: an access-logging entry naming no provider where the mesh has no default."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit
from istio_lsp.checks.providers._mesh import mesh_providers
from istio_lsp.checks.together import BUILD, FOLDER, how_sure
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import ProviderUse, SelectorPolicy
from istio_lsp.syntax import Span

DOC = """\
An `accessLogging` entry of a Telemetry names no `providers` and does not disable
logging, while no mesh configuration sets `defaultProviders.accessLogging`.

## Why it matters

An entry without providers applies to the mesh's default access-logging providers.
Istio's default mesh configuration has none, so the entry (often a `filter` meant to
keep only failed requests) configures nothing: no access log is written because of it,
and no error says so.

## How sure it is

- **warning**: a mesh configuration (the `istio` ConfigMap's `data.mesh`, or an
  IstioOperator's `spec.meshConfig`) is in the Telemetry's file or kustomize build, and
  none of those deployed with it sets `defaultProviders.accessLogging`.
- **information**: such a configuration is only in its folder, or none is deployed with it
  (the install, Helm values or a cluster may set default providers the files do not show).
- **not reported**: the entry sets `disabled: true`, or a mesh configuration deployed with
  it cannot be read as written (a template, a kustomize patch).

## Wrong

```yaml
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  accessLogging:
  - filter:
      expression: response.code >= 400
```

## Right

```yaml
spec:
  accessLogging:
  - providers:
    - name: envoy
    filter:
      expression: response.code >= 400
```

## Fixes

Name the built-in `envoy` provider (logs to the proxy's standard output) in the entry.

Related: `istioctl analyze` IST0157 (InvalidTelemetryProvider).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for telemetry in summary.resources:
        if not isinstance(telemetry, SelectorPolicy) or telemetry.kind != "Telemetry":
            continue
        for use in telemetry.providers:
            if use.signal != "accessLogging" or use.name is not None or use.disabled:
                continue
            mesh = mesh_providers(ctx.index, telemetry)
            if mesh is not None and mesh.default_access_logging:
                continue
            if mesh is not None:
                sources = ", ".join(f"`{s.display}`" for s in mesh.sources)
                severity, hedge = how_sure(RULE.severity, [BUILD] if mesh.certain else [FOLDER])
                seen = f"The mesh configuration deployed with it ({sources}) sets no default"
            else:
                severity, hedge = Severity.INFORMATION, ""
                seen = (
                    "No mesh configuration is deployed with it in the workspace, and Istio's default sets no "
                    "default access-logging provider (the install may set one the files do not show)"
                )
            yield ctx.finding(
                RULE,
                telemetry,
                use.span,
                f"This access-logging entry names no provider, so it applies to the mesh's default access-logging "
                f"providers. {seen}: the entry configures nothing and writes no log. Name a provider (`envoy` logs "
                f"to the proxy's standard output).{hedge}",
                severity=severity,
                fixes=_fixes(telemetry, use),
            )


def _fixes(telemetry: SelectorPolicy, use: ProviderUse) -> list[Fix]:
    key = use.first_key
    if key is None:
        return []
    indent = " " * key.start_char
    at = Span(key.start_line, key.start_char, key.start_line, key.start_char)
    text = f"providers:\n{indent}- name: envoy\n{indent}"
    return [Fix("Log with the built-in `envoy` provider", (TextEdit(telemetry.uri, at, text),), safe=False)]


RULE = Rule(
    code="access-logging-without-provider",
    severity=Severity.WARNING,
    summary="A Telemetry access-logging entry without providers where the mesh has no default: it logs nothing",
    doc=DOC,
    run=run,
    istio_codes=("IST0157",),
)
