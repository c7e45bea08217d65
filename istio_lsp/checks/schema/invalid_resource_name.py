"""invalid-resource-name: a `metadata.name` or `metadata.namespace` the Kubernetes API server refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.base import Rule
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import ISTIO_KINDS, WORKLOAD_KINDS

DOC = """\
A resource's `metadata.name` or `metadata.namespace` breaks the naming rules of the
Kubernetes API server: an underscore, an upper-case letter, a name that starts or ends
with something other than a letter or digit, or one that is too long.

The rules, as the API server applies them:

- most kinds (Istio's, Deployments, ConfigMaps…): a DNS subdomain, lower-case letters,
  digits, `-` and `.`, starting and ending with a letter or digit, at most 253 characters;
- Services: a DNS label (RFC 1035): lower-case letters, digits and `-`, starting with a
  letter, at most 63 characters (the name becomes a DNS name of the cluster);
- Namespaces, and every `metadata.namespace`: a DNS label (RFC 1123), at most 63 characters.

Kinds with other rules (RBAC roles allow `:`, for example) are not judged, nor names that
are blanks to fill in (`<namespace>`, `{name}`, `MY_NAMESPACE`, `$(NAME)`, a template).

## Why it matters

`kubectl apply` fails for that document. Because the failure happens at apply time, a
manifest with `reviews_v2` as a name goes unnoticed until a deployment breaks.

## Wrong

```yaml
metadata:
  name: reviews_v2
```

## Right

```yaml
metadata:
  name: reviews-v2
```

## Fixes

Write the name in lower case with `-` for `_` (other references to it must change too).
"""

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_KINDS = frozenset(
    {
        *ISTIO_KINDS,
        *WORKLOAD_KINDS,
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "HTTPRoute",
        "GRPCRoute",
        "TCPRoute",
        "TLSRoute",
        "ReferenceGrant",
        "GatewayClass",
    }
)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    resource = ctx.resource
    kind = resource.kind
    if kind == "Service" and resource.api_version == "v1":
        pattern, limit, what = LABEL_1035, 63, "a DNS label starting with a letter (RFC 1035)"
    elif kind == "Namespace" and resource.api_version == "v1":
        pattern, limit, what = LABEL_1123, 63, "a DNS label (RFC 1123)"
    elif kind in SUBDOMAIN_KINDS or kind == "Gateway":
        pattern, limit, what = SUBDOMAIN, 253, "a DNS subdomain"
    else:
        return
    yield from _judge(ctx, ["metadata", "name"], pattern, limit, f"A {kind} name must be {what}")
    yield from _judge(ctx, ["metadata", "namespace"], LABEL_1123, 63, "A namespace must be a DNS label (RFC 1123)")


def _judge(
    ctx: DocumentContext, path: list[str | int], pattern: re.Pattern[str], limit: int, rule: str
) -> Iterator[Finding]:
    value = ctx.text(path)
    node = ctx.at(path)
    if value is None or node is None or not value or _fill_in(value):
        return
    if pattern.match(value) and len(value) <= limit:
        return
    problem = f"{len(value)} characters, over {limit}" if pattern.match(value) else _what_breaks(value)
    suggestion = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.")
    fixes = []
    if suggestion and suggestion != value and pattern.match(suggestion) and len(suggestion) <= limit:
        fixes.append(Fix(f"Use `{suggestion}`", (TextEdit(ctx.uri, ctx.node_span(node), suggestion),)))
    yield ctx.finding(
        RULE.code,
        RULE.severity,
        path,
        f"{rule}: `{value}` has {problem}, so the API server rejects this document (`kubectl apply` fails).",
        fixes=fixes,
    )


# what documentation and tools write for a name to be filled in: `<namespace>`, `{name}`, `MY_NAMESPACE`
_FILL_IN = re.compile(r"^[A-Z0-9_]+$|[<>{}$]")


def _fill_in(value: str) -> bool:
    """A placeholder rather than a name: a token a tool substitutes, or a blank to fill in."""
    return is_placeholder(value) or _FILL_IN.search(value) is not None


def _what_breaks(value: str) -> str:
    if "_" in value:
        return "an underscore"
    if any(c.isupper() for c in value):
        return "upper-case letters"
    if not value[0].isalnum() or not value[-1].isalnum():
        return "a first or last character that is not a letter or digit"
    return "characters it does not allow"


RULE = Rule(
    code="invalid-resource-name",
    severity=Severity.ERROR,
    summary="A metadata.name or metadata.namespace the Kubernetes API server rejects (an underscore, upper case…)",
    doc=DOC,
    local=check,
)
