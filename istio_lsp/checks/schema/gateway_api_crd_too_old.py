"""gateway-api-crd-too-old: a Gateway API CRD in the workspace older than the bundle version Istio needs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import get, key_node

DOC = """\
A CustomResourceDefinition of the Kubernetes Gateway API in the workspace (the files
that install the CRDs, as `kubectl apply -f standard-install.yaml` or a Helm chart
vendors them) carries a `gateway.networking.k8s.io/bundle-version` annotation below the
minimum release this version of Istio (1.31) needs for that kind:

| CRD | minimum bundle version |
|---|---|
| `grpcroutes.gateway.networking.k8s.io` | v1.1.0 |
| `backendtlspolicies.gateway.networking.k8s.io` | v1.4.0 |
| `tlsroutes.gateway.networking.k8s.io` | v1.5.0 |
| `tcproutes.gateway.networking.k8s.io` | v1.6.0 |

A pre-release (`v1.5.0-rc.1`) counts as its release. CRDs without the annotation, or
with a version that does not read as one, are left alone.

## Why it matters

istiod does not watch a Gateway API CRD older than its minimum: every resource of that
kind is ignored. TLSRoutes of an old CRD never attach, so a TLS passthrough Gateway
reports `attachedRoutes: 0` and programs no listener; nothing says why in the route's
status.

## Wrong

```yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: tlsroutes.gateway.networking.k8s.io
  annotations:
    gateway.networking.k8s.io/bundle-version: v1.4.1
```

## Right

The CRDs of a Gateway API release at or above the minimum (v1.6.1 installs every kind
Istio supports):

```yaml
metadata:
  name: tlsroutes.gateway.networking.k8s.io
  annotations:
    gateway.networking.k8s.io/bundle-version: v1.6.1
```

## Fixes

None: upgrade the whole CRD bundle (the CRD's schema changes with its version, not
only the annotation).

Corresponds to `istioctl analyze` IST0176 (GatewayAPICRDVersionBelowMinimum).
"""

BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"
# the bundle version each Gateway API CRD must have at least, by CRD name (Istio 1.31:
# pkg/config/schema/gatewayapi/minimumversions.go)
MINIMUM: dict[str, tuple[int, int, int]] = {
    "grpcroutes.gateway.networking.k8s.io": (1, 1, 0),
    "backendtlspolicies.gateway.networking.k8s.io": (1, 4, 0),
    "tlsroutes.gateway.networking.k8s.io": (1, 5, 0),
    "tcproutes.gateway.networking.k8s.io": (1, 6, 0),
}
# a semantic version as Masterminds/semver reads one: an optional `v`, one to three numbers,
# then a pre-release and build metadata, both ignored here
_SEMVER = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _SEMVER.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch = match.groups()
    return (int(major), int(minor or 0), int(patch or 0))


def _text(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(str(n) for n in version)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if ctx.resource.kind != "CustomResourceDefinition" or not ctx.resource.api_version.startswith(
        "apiextensions.k8s.io/"
    ):
        return
    minimum = MINIMUM.get(ctx.resource.name)
    annotations = get(get(ctx.node, "metadata"), "annotations")
    node = get(annotations, BUNDLE_VERSION)
    if minimum is None or not isinstance(node, ScalarNode):
        return
    written = str(node.value)
    installed = parse_version(written)
    if installed is None or installed >= minimum:
        return
    kind = ctx.resource.name.split(".", 1)[0]
    yield ctx.finding(
        RULE.code,
        RULE.severity,
        node if node.value else (key_node(annotations, BUNDLE_VERSION) or node),
        f"Gateway API CRD `{ctx.resource.name}` is at bundle version `{written}`; Istio 1.31 needs at least "
        f"`{_text(minimum)}`. istiod does not watch an older CRD, so it processes none of the {kind}: "
        f"upgrade the Gateway API CRDs to {_text(minimum)} or later.",
    )


RULE = Rule(
    code="gateway-api-crd-too-old",
    severity=Severity.WARNING,
    summary="A Gateway API CRD older than Istio's minimum bundle version: istiod ignores that kind.",
    doc=DOC,
    local=check,
    kinds=(),  # CustomResourceDefinition is not an Istio kind: checked by its own kind inside
    istio_codes=("IST0176",),
)
