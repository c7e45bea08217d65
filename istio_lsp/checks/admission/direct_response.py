"""invalid-direct-response: a directResponse status out of range or a body too large for the control plane."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes
from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import mapping_at
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import get, key_node, scalar

DOC = """\
A `directResponse` that Istio's webhook rejects or warns about.

Covers these rows of the webhook checklist (HTTP route, directResponse):

- `status` below 200 or above 600 (error);
- a `body` larger than 1 MB (error) or larger than 100 KB (warning), counting the
  UTF-8 bytes of `body.string` or the decoded bytes of `body.bytes`.

## Why it matters

The body of a direct response travels in the route configuration that istiod
pushes to every proxy that uses the route, on every configuration change. Large
bodies slow the control plane and every proxy down; beyond 1 MB the webhook
refuses the VirtualService. A status outside the range is refused as well.

## Wrong

```yaml
directResponse:
  status: 102
  body:
    string: "<several megabytes of HTML>"
```

## Right

```yaml
directResponse:
  status: 503
  body:
    string: '{"error": "maintenance"}'
```

Serve large pages from a workload (or a ConfigMap mounted into one) and route to
it instead.

Related: `istioctl analyze` IST0106 (schema validation error), IST0133 (schema
warning).
"""

KB = 1024
MB = 1024 * KB
_BASE64_IGNORED = re.compile(r"[\s=]")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        response = mapping_at(rule, "directResponse")
        if response is None:
            continue
        status_node = get(response, "status")
        status = as_int(scalar(status_node))
        if status_node is not None and status is not None and not 200 <= status <= 600:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                status_node,
                f"directResponse `status: {status}` is not a status Istio accepts (200 to 599). {REJECTED}.",
            )
        body = mapping_at(response, "body")
        if body is None:
            continue
        size = _body_size(body)
        where = key_node(response, "body") or body
        if size > MB:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                where,
                f"The directResponse body is {_human(size)}, more than the 1 MB Istio allows: every proxy would "
                f"receive it with its route configuration. {REJECTED}.",
            )
        elif size > 100 * KB:
            yield ctx.finding(
                RULE.code,
                Severity.WARNING,
                where,
                f"The directResponse body is {_human(size)}: bodies over 100 KB are pushed to every proxy with the "
                "route configuration and slow the control plane (kubectl apply warns).",
            )


def _body_size(body: MappingNode) -> int:
    text = scalar(get(body, "string"))
    if text is not None:
        return len(text.encode("utf-8", "surrogatepass"))
    encoded = scalar(get(body, "bytes"))
    if encoded is not None:
        return len(_BASE64_IGNORED.sub("", encoded)) * 3 // 4
    return 0


def _human(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{size / KB:.0f} KB"


RULE = Rule(
    code="invalid-direct-response",
    severity=Severity.ERROR,
    summary="A directResponse Istio rejects (status outside 200-600, body over 1 MB) or warns about (body over "
    "100 KB).",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106", "IST0133"),
)
