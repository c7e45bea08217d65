"""mirror-to-own-destination: a route mirrors its requests to the destination it already routes them to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, as_mapping, distinct_items
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.routes._shared import Destination, RouteRef, destinations, routes
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.model.hosts import ANY_NAMESPACE, host_candidates
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode, Span
from istio_lsp.syntax.nodes import get, key_node, path, scalar

# the keys that only mean something with `mirror`
MIRROR_PERCENT_KEYS = ("mirrorPercentage", "mirror_percent", "mirrorPercent")

DOC = """\
An HTTP route mirrors its traffic (`mirror`, or an entry of `mirrors`) to the same
host, subset and port it routes that traffic to: every request reaches the same
backend twice.

## Why it matters

Mirroring is for shadow testing: Envoy sends a copy of each request to another
cluster, does not wait for it, and throws its answer away (the copy's `Host` gets
a `-shadow` suffix). Pointed at the route's own destination, the copy goes to the
very pods that serve the original: the backend gets twice the requests, and every
side effect (a row written, a message sent, a payment made) happens twice, once
for a request nobody sees the answer of. Mirroring "done badly doubles cost and
pollutes state" is the classic warning about shadow traffic
(<https://velobot-wiki.pages.dev/article/software/shadow-traffic-dark-launch-request-mirroring-production-playbook/>);
a mirror that names a route destination is usually a copy-paste slip, as in
<https://github.com/istio/old_issues_repo/issues/379>, where the mirror was meant
for `v2` but the route listed `v2` too.

The copy goes to the same cluster when the mirror names the same host (short and
fully qualified names of one Service are the same host), the same subset (or none
on both), and the same port (or no port on either). A destination of weight 0 gets
no original requests and is not a duplicate. `mirrorPercentage: {value: 0}` (or a
`mirrors` entry with `percentage: {value: 0}`) mirrors nothing and is not reported.

## Wrong

```yaml
http:
- route:
  - destination: {host: reviews, subset: v1}
  mirror: {host: reviews, subset: v1}
```

## Right

```yaml
http:
- route:
  - destination: {host: reviews, subset: v1}
  mirror: {host: reviews, subset: v2}   # the version under test
  mirrorPercentage: {value: 10}
```

## Fixes

**Remove the mirror**: deletes `mirror` (with `mirrorPercentage`) or the `mirrors`
entry, when each sits on lines of its own.

No `istioctl analyze` or Kiali counterpart.
"""


@dataclass
class Mirror:
    node: MappingNode  # the mirror destination
    host_node: Node
    host: str
    subset: str | None
    port: int | None
    entry: Node  # what to delete: the `mirror` value, or the `mirrors` item
    listed: bool  # an item of `mirrors`


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for route in routes(ctx, ("http",)):
        routed = destinations(route.node)
        if not routed:
            continue
        receiving = _receiving(routed)
        for mirror in _mirrors(route):
            same = next((d for d in receiving if _same(ctx, d, mirror)), None)
            if same is not None:
                yield _finding(ctx, route, mirror, same)


def _receiving(routed: list[Destination]) -> list[Destination]:
    """The destinations that get original requests: the only one, or those of a weight above 0 (every
    one when no weight is written)."""
    if len(routed) == 1 or all(d.weight is None for d in routed):
        return routed
    return [d for d in routed if (d.weight or 0) > 0]


def _mirrors(route: RouteRef) -> Iterator[Mirror]:
    mirror = as_mapping(get(route.node, "mirror"))
    mirrored = not _zero(get(route.node, "mirrorPercentage"), "value")
    mirrored = mirrored and all(as_int(scalar(get(route.node, k))) != 0 for k in ("mirror_percent", "mirrorPercent"))
    if mirror is not None and mirrored:
        found = _read(mirror, mirror, listed=False)
        if found is not None:
            yield found
    for _, item in distinct_items(get(route.node, "mirrors")):
        destination = as_mapping(get(item, "destination"))
        if destination is not None and not _zero(get(item, "percentage"), "value"):
            found = _read(destination, item, listed=True)
            if found is not None:
                yield found


def _zero(node: Node | None, key: str) -> bool:
    """A percentage written as 0: nothing is mirrored."""
    value = scalar(get(node, key)) if isinstance(node, MappingNode) else None
    try:
        return value is not None and float(value) == 0
    except ValueError:
        return False


def _read(node: MappingNode, entry: Node, *, listed: bool) -> Mirror | None:
    host_node = get(node, "host")
    host = scalar(host_node)
    subset = scalar(get(node, "subset"))
    if host_node is None or not host or is_placeholder(host) or (subset is not None and is_placeholder(subset)):
        return None
    port_text = scalar(path(node, "port", "number"))
    port = as_int(port_text) if port_text is not None else None
    if port_text is not None and port is None:
        return None  # a placeholder or a typo: which cluster is not known
    return Mirror(node, host_node, host, subset or None, port, entry, listed)


def _same(ctx: DocumentContext, routed: Destination, mirror: Mirror) -> bool:
    if routed.host is None or is_placeholder(routed.host) or (routed.subset or None) != mirror.subset:
        return False
    if routed.port is not None and mirror.port is not None and routed.port != mirror.port:
        return False
    return same_host(routed.host, mirror.host, ctx.resource.namespace, ctx.settings.cluster_domain)


def same_host(a: str, b: str, namespace: str, domain: str) -> bool:
    """Whether two hosts written in one resource name the same service: the same text, or, in a known
    namespace, readings that meet (`reviews` and `reviews.shop.svc.cluster.local` in `shop`)."""
    a, b = a.strip().lower(), b.strip().lower()
    if a == b:
        return True
    if namespace == ANY_NAMESPACE or "*" in a or "*" in b:
        return False
    return bool(set(host_candidates(a, namespace, domain)) & set(host_candidates(b, namespace, domain)))


def _finding(ctx: DocumentContext, route: RouteRef, mirror: Mirror, routed: Destination) -> Finding:
    target = f"`{mirror.host}`" + (f" subset `{mirror.subset}`" if mirror.subset else "")
    share = "every request" if len(destinations(route.node) or []) == 1 else "each request routed there"
    message = (
        f"The route mirrors to {target}, which is also its own destination (`{routed.host}`"
        + (f" subset `{routed.subset}`" if routed.subset else "")
        + f"): {share} reaches the same pods twice, the mirrored copy's answer is thrown away, and any side "
        f"effect (a write, a message, a payment) happens twice. Mirror to the version under test, or remove "
        f"the mirror."
    )
    fixes = [fix] if (fix := _removal(ctx, route, mirror)) is not None else []
    return ctx.finding(RULE.code, RULE.severity, mirror.host_node, message, fixes=fixes)


# ---- removing the mirror ----------------------------------------------------------------


def _removal(ctx: DocumentContext, route: RouteRef, mirror: Mirror) -> Fix | None:
    rule = route.node
    if rule.flow_style:
        return None
    ranges: list[tuple[int, int]] = []
    if mirror.listed:
        mirrors = get(rule, "mirrors")
        if not isinstance(mirrors, SequenceNode) or mirrors.flow_style:
            return None
        lines = _entry_lines(ctx, rule, "mirrors") if len(mirrors.value) == 1 else _item_lines(ctx, mirror.entry)
        if lines is None:
            return None
        ranges.append(lines)
    else:
        for key in ("mirror", *MIRROR_PERCENT_KEYS):
            if key_node(rule, key) is None:
                continue
            lines = _entry_lines(ctx, rule, key)
            if lines is None:
                return None
            ranges.append(lines)
    edits = tuple(TextEdit(ctx.uri, Span(first, 0, last, 0), "") for first, last in sorted(ranges))
    return Fix("Remove the mirror", edits, preferred=True, safe=False)


def _text_line(ctx: DocumentContext, line: int) -> str | None:
    lines = ctx.doc.text.split("\n")
    index = line - ctx.doc.start_line
    if not 0 <= index < len(lines):
        return None
    text = lines[index]
    return text if text.isascii() else None  # spans count UTF-16 units; ASCII lines slice exactly


def _ends_line(ctx: DocumentContext, span: Span) -> bool:
    text = _text_line(ctx, span.end_line)
    rest = text[span.end_char :].strip() if text is not None else "?"
    return rest == "" or rest.startswith("#")


def _entry_lines(ctx: DocumentContext, mapping: MappingNode, key: str) -> tuple[int, int] | None:
    """The lines [first, last) of a block mapping's `key: value`, when nothing else shares them."""
    for key_scalar, value in mapping.value:
        if not isinstance(key_scalar, ScalarNode) or key_scalar.value != key:
            continue
        start = ctx.doc.span_of(key_scalar)
        text = _text_line(ctx, start.start_line)
        end = ctx.node_span(value) if not absent(value) else start
        if text is None or text[: start.start_char].strip() or not _ends_line(ctx, end):
            return None
        return start.start_line, end.end_line + 1
    return None


def _item_lines(ctx: DocumentContext, item: Node) -> tuple[int, int] | None:
    """The lines [first, last) of a block sequence item (from its `-`), when nothing else shares them."""
    span = ctx.node_span(item)
    text = _text_line(ctx, span.start_line)
    if text is None or text[: span.start_char].strip() != "-" or not _ends_line(ctx, span):
        return None
    return span.start_line, span.end_line + 1


RULE = Rule(
    code="mirror-to-own-destination",
    severity=Severity.WARNING,
    summary="A route mirrors its requests to its own destination: each request reaches the same backend twice.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
)
