"""What the VirtualService route-rule checks share (route actions, matches, fault, mirror,
redirect, …): the route lists, destinations, subnets, and the edits of their quick fixes.
Defines no rule.

Reading the fields the way Istio decodes them (a YAML `null` is an absent field, a
message given as `{}` is set, …) is `istio_lsp.checks.fields`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from istio_lsp.checks.admission.common import dns1123_label_problem, is_cidr, is_ip, wildcard_domain_problem
from istio_lsp.checks.fields import distinct, value_at
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Fix, TextEdit
from istio_lsp.syntax import MappingNode, Node, Span
from istio_lsp.syntax.nodes import get, items, key_node, pairs, scalar, string_map

REJECTED = "kubectl apply is rejected by Istio's webhook"
GATEWAY_SEMANTICS = "internal.istio.io/gateway-semantics"
ISTIO_NETWORKING = "networking.istio.io"


def key_or_value(node: Node, key: str) -> Node:
    """The key node of `key` in `node` (for a short span on the field name), else `node` itself."""
    return key_node(node, key) or node


def spec_routes(ctx: DocumentContext, kind: str) -> list[tuple[int, MappingNode]]:
    """(index, rule) of the `http`, `tls` or `tcp` rules that are mappings (null entries are skipped,
    and a rule repeated through a YAML alias is read once)."""
    if ctx.resource.api_version.split("/")[0] != ISTIO_NETWORKING:
        return []
    seen: set[int] = set()
    rules = []
    for i, rule in enumerate(items(value_at(ctx.spec, kind))):
        if isinstance(rule, MappingNode) and id(rule) not in seen:
            seen.add(id(rule))
            rules.append((i, rule))
    return rules


def vs_hosts(ctx: DocumentContext) -> list[str]:
    return [host for host in (scalar(item) for item in items(get(ctx.spec, "hosts"))) if host is not None]


def is_delegate(ctx: DocumentContext) -> bool:
    """A VirtualService without hosts is a delegate, as Istio's webhook reads it."""
    return not items(get(ctx.spec, "hosts"))


def gateway_semantics(ctx: DocumentContext) -> bool:
    """Converted from a Gateway API route: Istio then skips the destination host checks."""
    annotations = string_map(get(get(ctx.node, "metadata"), "annotations"))
    return annotations.get(GATEWAY_SEMANTICS) == "gateway"


def destination_problems(destination: MappingNode, what: str) -> Iterator[tuple[Node, str]]:
    """Istio's validateDestination, without the port (checked with every other port):
    the host is not `*` and is a (wildcard) domain name; a subset is a DNS-1123 label."""
    host_node = get(destination, "host")
    host = scalar(host_node)
    if host_node is not None and host is not None:
        if host == "*":
            yield host_node, (f"{what} host `*` is not allowed: a destination names one service. {REJECTED}.")
        else:
            problem = wildcard_domain_problem(host)
            if problem is not None:
                yield host_node, f"{what} host is invalid: {problem}. {REJECTED}."
    subset_node = get(destination, "subset")
    subset = scalar(subset_node)
    if subset_node is not None and subset:
        problem = dns1123_label_problem(subset, "subset name")
        if problem is not None:
            yield subset_node, f"{what}: {problem}. {REJECTED}."


def lowercase_fix(ctx: DocumentContext, node: Node, current: str, check: Callable[[str], str | None]) -> list[Fix]:
    """`Change to <lowercase>` when the lowercase spelling passes `check` (which returns a problem or None)."""
    lower = current.lower()
    if lower != current and check(lower) is None:
        return [replace_scalar(ctx, node, lower, f"Change to `{lower}`")]
    return []


def rename_key_fix(
    ctx: DocumentContext,
    key: Node,
    new_key: str,
    value_node: Node | None,
    new_value: str | None,
    title: str,
    *,
    preferred: bool = True,
    safe: bool = True,
) -> Fix:
    """A fix that renames a key and optionally rewrites its (scalar) value."""
    edits = [TextEdit(ctx.uri, ctx.node_span(key), new_key)]
    if value_node is not None and new_value is not None:
        edits.append(TextEdit(ctx.uri, ctx.node_span(value_node), new_value))
    return Fix(title, tuple(edits), preferred=preferred, safe=safe)


def insert_first_field_fix(
    ctx: DocumentContext, parent: MappingNode, field: str, title: str, *, safe: bool = True
) -> Fix | None:
    """A fix that adds `field` (`key: value`) as the first entry of a non-empty mapping, in its style."""
    first = next((k for k, _ in pairs(parent)), None)
    if first is None:
        return None
    span = ctx.node_span(first)
    at = Span(span.start_line, span.start_char, span.start_line, span.start_char)
    flow = getattr(parent, "flow_style", False)
    new_text = f"{field}, " if flow else f"{field}\n{' ' * span.start_char}"
    return Fix(title, (TextEdit(ctx.uri, at, new_text),), preferred=True, safe=safe)


def subnet_problems(match: Node) -> Iterator[tuple[Node, str]]:
    """TLS/TCP `destinationSubnets`: each entry is an IP address or a CIDR block (Istio's ValidateIPSubnet)."""
    for entry in distinct(items(get(match, "destinationSubnets"))):
        subnet = scalar(entry)
        if subnet is None:
            continue
        valid = is_cidr(subnet) if "/" in subnet else is_ip(subnet)
        if not valid:
            kind = "CIDR block" if "/" in subnet else "IP address"
            yield entry, f"destinationSubnets entry `{subnet}` is not a valid {kind}. {REJECTED}."
