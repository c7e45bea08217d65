"""unknown-api-version: an apiVersion/kind pair in an Istio or Gateway API group that its CRDs do not serve."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Finding, Fix, Rule, Severity, TextEdit, close_matches
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import store
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import get

DOC = """\
A resource names an Istio API group (`networking.istio.io`, `security.istio.io`,
`telemetry.istio.io`, `extensions.istio.io`) with a version or a kind that Istio's
CustomResourceDefinitions do not serve: `networking.istio.io/v2`,
`security.istio.io/v1alpha3`, `kind: VirtualServce`, an AuthorizationPolicy under
`networking.istio.io`, or a misspelt Istio group (`networking.istio/v1`) for an Istio
kind. The Kubernetes Gateway API groups (`gateway.networking.k8s.io`,
`gateway.networking.x-k8s.io`) are checked the same way against release v1.6.1 of
its CRDs, experimental channel (which serves every version the standard channel
does). Groups of other projects are not checked.

The served versions come from the CRD bundles the schemas were generated from (see
`istio_lsp/schemas/README.md`).

## Why it matters

`kubectl apply` fails before anything is created: `no matches for kind
"VirtualService" in version "networking.istio.io/v2"` (or `ensure CRDs are installed
first`). GitOps tools report the same error and stop syncing the application.

## Wrong

```yaml
apiVersion: security.istio.io/v1alpha3
kind: AuthorizationPolicy
```

## Right

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
```

## Fixes

- **Use `group/version`**: rewrites apiVersion to a version Istio serves for the
  kind (the preferred one first), or to the kind's own group.
- **Did you mean `Kind`?** for a misspelt kind.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    api_version = ctx.resource.api_version.strip()
    kind = ctx.resource.kind
    group, version = store.split_api_version(api_version)
    if not group and api_version in store.groups():
        group, version = api_version, ""  # `apiVersion: networking.istio.io`: the version is missing
    info = store.kind_info(kind, group) or store.kind_info(kind)
    api_node = get(ctx.node, "apiVersion")
    if group in store.groups():
        if info is not None and info.group == group:
            if version in info.served:
                return
            served = ", ".join(f"`{v}`" for v in info.api_versions)
            problem = "names no version" if not version else f"is not a version {_served_by(info)} for {kind}"
            yield _at(
                ctx,
                api_node,
                f"`{api_version}` {problem}; served: {served}. {_fails(kind, api_version)}",
                [(f"Use `{v}`", v) for v in info.api_versions],
            )
        elif info is not None:
            yield _at(
                ctx,
                api_node,
                f"{kind} belongs to the API group `{info.group}`, not `{group}`. {_fails(kind, api_version)}",
                [(f"Use `{info.api_version()}`", info.api_version())],
            )
        elif not _is_list_kind(kind, group):
            yield from _unknown_kind(ctx, kind, group, api_version)
    elif info is not None and "istio" in group.lower() and close_matches(group, store.groups()):
        yield _at(
            ctx,
            api_node,
            f"`{group}` is not an Istio API group; {kind} is served as `{info.api_version()}`. "
            f"{_fails(kind, api_version)}",
            [(f"Use `{info.api_version()}`", info.api_version())],
        )


def _fails(kind: str, api_version: str) -> str:
    return f'kubectl apply fails: no matches for kind "{kind}" in version "{api_version}".'


def _is_list_kind(kind: str, group: str) -> bool:
    return any(info.group == group and info.list_kind == kind for info in store.kinds().values())


def _served_by(info: store.KindInfo) -> str:
    return "Istio serves" if info.source == "istio" else "the Gateway API CRDs (v1.6.1, experimental channel) serve"


def _unknown_kind(ctx: DocumentContext, kind: str, group: str, api_version: str) -> Iterator[Finding]:
    own = sorted(k for g, k in store.kinds() if g == group)
    suggestions = close_matches(kind, own) or close_matches(kind, store.kind_names())
    hint = f" (did you mean `{suggestions[0]}`?)" if suggestions else ""
    kind_node = get(ctx.node, "kind")
    yield _at(
        ctx,
        kind_node,
        f"The API group `{group}` has no kind `{kind}`{hint}; its kinds: {', '.join(own)}. {_fails(kind, api_version)}",
        [(f"Did you mean `{s}`?", s) for s in suggestions],
    )


def _at(ctx: DocumentContext, node: object, message: str, replacements: list[tuple[str, str]]) -> Finding:
    if not isinstance(node, ScalarNode):  # pragma: no cover - the resource has both as scalars
        return ctx.finding(RULE.code, RULE.severity, "apiVersion", message)
    span = ctx.node_span(node)
    quote = node.style if node.style in ("'", '"') else ""
    fixes = [
        Fix(title, (TextEdit(ctx.uri, span, f"{quote}{text}{quote}"),), preferred=i == 0)
        for i, (title, text) in enumerate(replacements)
    ]
    return ctx.finding(RULE.code, RULE.severity, span, message, fixes=fixes)


RULE = Rule(
    code="unknown-api-version",
    severity=Severity.ERROR,
    summary="An Istio or Gateway API apiVersion/kind pair its CRDs do not serve: kubectl apply fails (no matches "
    "for kind).",
    doc=DOC,
    local=check,
)
