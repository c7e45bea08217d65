"""experimental-channel-only: a Gateway API field, kind or version only the experimental channel serves."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import store
from istio_lsp.findings import Finding
from istio_lsp.syntax import MappingNode, Node, SequenceNode
from istio_lsp.syntax.nodes import get, pairs

DOC = """\
A Gateway API resource uses a field, a kind or an apiVersion that only the
**experimental** channel of the Gateway API CRDs (release v1.6.1) has: a listener's
`defaultScope`, a route's `useDefaultGateways`, an `ExternalAuth` filter, a
`TLSRoute` at `v1alpha2`, an `XBackend`. istio-lsp validates against the experimental
channel, which includes the standard one, so these are not errors here; this note says
that the manifest needs the experimental CRDs.

## Why it matters

Clusters install one channel. With the standard channel, the API server does not know
an experimental field: `kubectl apply` rejects it under strict field validation, and
other clients have it silently dropped (the feature is then simply off). An
experimental kind or version is not served at all (`no matches for kind`).

## Wrong

With the standard-channel CRDs installed:

```yaml
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
spec:
  useDefaultGateways: All
```

## Right

Install the experimental channel (`config/crd/experimental` of the Gateway API
release), or leave out what the standard channel lacks.

## Fixes

None: which channel the cluster runs is not in the files. Turn the rule off
(`severity: {experimental-channel-only: off}`) when the cluster runs the experimental
channel.

No `istioctl analyze` or Kiali code.
"""

_MARK = "x-istio-lsp-experimental"
_MAX_FINDINGS = 20


def check(ctx: DocumentContext) -> Iterator[Finding]:
    group, version = store.split_api_version(ctx.resource.api_version)
    info = store.kind_info(ctx.resource.kind, group)
    if info is None or info.source != "gateway-api" or version not in info.served:
        return
    if version in info.experimental:
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            "apiVersion" if len(info.experimental) < len(info.served) else "kind",
            (
                f"`{ctx.resource.api_version}` {info.kind} is served only by the Gateway API's experimental "
                f"channel CRDs; with the standard channel installed, kubectl apply fails (no matches for kind)."
            ),
        )
        return  # everything below is experimental too
    schema = store.schema_for(ctx.resource.api_version, ctx.resource.kind)
    spec = get(ctx.node, "spec")
    if schema is None or spec is None:
        return
    sub = store.subschema(schema, "spec")
    if sub is None:
        return
    for count, (path, key) in enumerate(_marked(spec, sub, ["spec"]), start=1):
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            key,
            f"`{_path_text(path)}` exists only in the Gateway API's experimental channel: with the "
            "standard-channel CRDs, the API server drops it (kubectl apply rejects it under strict field "
            "validation).",
        )
        if count >= _MAX_FINDINGS:
            return


def _path_text(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _marked(node: Node, schema: store.Schema, path: list[str | int]) -> Iterator[tuple[list[str | int], Node]]:
    if isinstance(node, MappingNode):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, value in pairs(node):
            name = str(key.value)
            sub = props.get(name)
            if not isinstance(sub, dict):
                sub = extra if isinstance(extra, dict) else None
            if sub is None:
                continue
            if sub.get(_MARK):
                yield [*path, name], key
                continue
            yield from _marked(value, sub, [*path, name])
    elif isinstance(node, SequenceNode) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(node.value):
            yield from _marked(item, schema["items"], [*path, i])


RULE = Rule(
    code="experimental-channel-only",
    severity=Severity.INFORMATION,
    summary="A Gateway API field, kind or version only the experimental channel CRDs serve.",
    doc=DOC,
    local=check,
    kinds=(),  # looked up by (group, kind): only the Gateway API groups' resources
)
