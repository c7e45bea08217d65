"""deprecated-api-version: an Istio kind at an older served version where a newer one is preferred."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Fix, Rule, Severity, TextEdit
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import store
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import get

DOC = """\
An Istio resource uses an older version of its API that Istio still serves, such as
`networking.istio.io/v1alpha3` or `v1beta1` for a VirtualService, or
`telemetry.istio.io/v1alpha1` for Telemetry, where a newer (`v1`) version exists.
Gateway API resources are judged the same way against the versions its CRDs
(v1.6.1) serve: `gateway.networking.k8s.io/v1beta1` for an HTTPRoute or a Gateway.
A version the CRD itself marks deprecated is reported too, with the CRD's warning.

This is a hint, not a problem: Istio serves the old versions for compatibility, and
for the kinds above the schemas are the same, so the resource means the same at
either version. Kinds with a single version (EnvoyFilter at `v1alpha3`, WasmPlugin
at `v1alpha1`, ProxyConfig at `v1beta1`) are not reported.

## Why it matters

Istio's documentation and tools use `v1` (Istio 1.22 made its networking and security
APIs v1). Keeping manifests on the current version avoids surprises when old versions
are retired, and keeps a repository consistent. For a version the CRD deprecates, the
API server returns a deprecation warning on every apply.

## Wrong

```yaml
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
```

## Right

```yaml
apiVersion: networking.istio.io/v1
kind: VirtualService
```

## Fixes

- **Use `group/v1`**: rewrites apiVersion to the preferred version (marked safe when
  the two versions have the same schema).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    api_version = ctx.resource.api_version.strip()
    group, version = store.split_api_version(api_version)
    info = store.kind_info(ctx.resource.kind, group)
    if info is None or version not in info.served:
        return
    warning = info.deprecated.get(version)
    if version == info.preferred and warning is None:
        return
    preferred = info.api_version()
    same = store.same_schema(api_version, preferred, info.kind)
    if version == info.preferred:
        message = f"`{api_version}` is deprecated by its CRD" + (f": {warning}" if warning else ".")
        replacement = next(
            (v for v in info.api_versions if v != preferred and v.split("/")[1] not in info.deprecated), None
        )
    else:
        message = (
            f"`{api_version}` is an older version of {_api_name(info)}; `{preferred}` is the current one"
            + (" (same schema)" if same else "")
            + f". {'Istio' if info.source == 'istio' else 'The Gateway API CRDs'} still serve"
            + f"{'s' if info.source == 'istio' else ''} it: this is not an error."
        )
        if warning is not None:
            message += " The CRD marks this version deprecated" + (f": {warning}" if warning else ".")
        replacement = preferred
    node = get(ctx.node, "apiVersion")
    fixes = []
    if replacement is not None and isinstance(node, ScalarNode):
        span = ctx.node_span(node)
        quote = node.style if node.style in ("'", '"') else ""
        safe = store.same_schema(api_version, replacement, info.kind)
        fixes.append(
            Fix(f"Use `{replacement}`", (TextEdit(ctx.uri, span, f"{quote}{replacement}{quote}"),), True, safe)
        )
    yield ctx.finding(RULE.code, RULE.severity, "apiVersion", message, fixes=fixes)


def _api_name(info: store.KindInfo) -> str:
    """`the VirtualService API`; `the Istio Gateway API` and `the Gateway API's Gateway`, so the
    namesakes read apart."""
    if info.source != "istio":
        return f"the Gateway API's {info.kind}"
    return f"the Istio {info.kind} API" if info.kind == "Gateway" else f"the {info.kind} API"


RULE = Rule(
    code="deprecated-api-version",
    severity=Severity.HINT,
    summary="An Istio kind at an older API version (v1alpha3, v1beta1) where v1 is served.",
    doc=DOC,
    local=check,
    # every kind of the schema bundles, Istio's and the Gateway API's: the schema is looked up by
    # (group, kind), so Istio's Gateway and the Gateway API's are each checked against their own
    kinds=(),
)
