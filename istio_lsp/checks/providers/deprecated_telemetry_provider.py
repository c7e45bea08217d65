"""deprecated-telemetry-provider: a Telemetry names a Lightstep or OpenCensus provider, deprecated in the mesh API."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, related_to
from istio_lsp.checks.providers._mesh import DEPRECATED_KINDS, mesh_providers
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import SelectorPolicy

DOC = """\
A Telemetry's `tracing` entry names an extension provider that a mesh configuration
deployed with it declares as `lightstep` or `opencensus`: kinds of provider the mesh
configuration API marks deprecated.

## Why it matters

Lightstep has moved to OpenTelemetry, and the OpenCensus project is sunset: Istio keeps
these providers only for compatibility and will drop them, and neither receives fixes.
Traces keep flowing today; they stop on the upgrade that removes the provider.

## Wrong

```yaml
# mesh config: extensionProviders: [{name: lightstep, lightstep: {…}}]
kind: Telemetry
spec:
  tracing:
  - providers:
    - name: lightstep
```

## Right

Declare an `opentelemetry` provider pointing at an OpenTelemetry collector (which can
export to Lightstep or any backend), and name it instead.

## Fixes

None: the collector's address is yours to give.

Related: `istioctl analyze` IST0002 (Deprecated).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for telemetry in summary.resources:
        if not isinstance(telemetry, SelectorPolicy) or telemetry.kind != "Telemetry":
            continue
        mesh = mesh_providers(ctx.index, telemetry)
        if mesh is None:
            continue
        for use in telemetry.providers:
            if use.signal != "tracing" or use.name is None:
                continue
            kind = mesh.kinds.get(use.name.value)
            replacement = DEPRECATED_KINDS.get(kind or "")
            declared = mesh.declared_by.get(use.name.value)
            if replacement is None or declared is None:
                continue
            yield ctx.finding(
                RULE,
                telemetry,
                use.name.span,
                f"`{use.name.value}` is a `{kind}` provider, which the mesh configuration API deprecates: it stays "
                f"only for compatibility and goes away in a later release. Declare an `{replacement}` provider and "
                "trace with it.",
                related=[related_to(declared, f"declares `{use.name.value}` as a `{kind}` provider")],
            )


RULE = Rule(
    code="deprecated-telemetry-provider",
    severity=Severity.WARNING,
    summary="A Telemetry traces with a Lightstep or OpenCensus provider, deprecated in the mesh configuration API",
    doc=DOC,
    run=run,
    istio_codes=("IST0002",),
)
