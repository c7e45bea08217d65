"""Helpers the DestinationRule and Gateway admission rules share (no rule here).

The walk over a DestinationRule's traffic policies, and the small text edits their quick
fixes make. Reading the fields themselves is `istio_lsp.checks.fields`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Fix, TextEdit
from istio_lsp.syntax import MappingNode, Node, ScalarNode, Span
from istio_lsp.syntax.nodes import PathSegment, get, items, key_node

WEBHOOK_CODES = ("IST0106", "IST0133")  # SchemaValidationError, SchemaWarning


def is_networking(ctx: DocumentContext) -> bool:
    """An Istio networking resource (not Gateway API's `Gateway`, which shares the kind name)."""
    return ctx.resource.api_version.split("/")[0] == "networking.istio.io"


def listing(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


# ---- DestinationRule traffic policies -------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """One traffic policy of a DestinationRule: top level, a subset's, or a port-level setting."""

    path: list[PathSegment]
    node: MappingNode
    port_level: bool


def traffic_policies(ctx: DocumentContext) -> Iterator[Policy]:
    """spec.trafficPolicy, every subset's trafficPolicy, and the portLevelSettings entries of each.

    A node shared through YAML aliases is yielded once: its findings would land on the same
    text anyway, and aliased subsets times aliased port settings must not multiply the work."""
    spec = ctx.spec
    seen: set[int] = set()
    roots: list[tuple[list[PathSegment], Node | None]] = [(["spec", "trafficPolicy"], get(spec, "trafficPolicy"))]
    for index, subset in enumerate(items(get(spec, "subsets"))):
        if id(subset) not in seen:
            seen.add(id(subset))
            roots.append((["spec", "subsets", index, "trafficPolicy"], get(subset, "trafficPolicy")))
    for path, node in roots:
        if not isinstance(node, MappingNode) or id(node) in seen:
            continue
        seen.add(id(node))
        yield Policy(path, node, False)
        for index, setting in enumerate(items(get(node, "portLevelSettings"))):
            if isinstance(setting, MappingNode) and id(setting) not in seen:
                seen.add(id(setting))
                yield Policy([*path, "portLevelSettings", index], setting, True)


# ---- edits ----------------------------------------------------------------------------


def _line_text(ctx: DocumentContext, line: int) -> str | None:
    lines = ctx.doc.text.split("\n")
    index = line - ctx.doc.start_line
    return lines[index] if 0 <= index < len(lines) else None


def insert_key_fix(
    ctx: DocumentContext, node: MappingNode, entry: str, title: str, *, preferred: bool = True, safe: bool = True
) -> Fix | None:
    """Add `entry` (`key: value`) as the first key of a mapping, block or flow style."""
    if node.flow_style:
        start = ctx.doc.span_of(node)
        if not node.value:
            at = Span(start.start_line, start.start_char + 1, start.start_line, start.start_char + 1)
            return Fix(title, (TextEdit(ctx.uri, at, entry),), preferred=preferred, safe=safe)
        first = ctx.doc.span_of(node.value[0][0])
        at = Span(first.start_line, first.start_char, first.start_line, first.start_char)
        return Fix(title, (TextEdit(ctx.uri, at, f"{entry}, "),), preferred=preferred, safe=safe)
    if not node.value:
        return None
    first = ctx.doc.span_of(node.value[0][0])
    at = Span(first.start_line, first.start_char, first.start_line, first.start_char)
    return Fix(title, (TextEdit(ctx.uri, at, f"{entry}\n{' ' * first.start_char}"),), preferred=preferred, safe=safe)


def delete_key_fix(ctx: DocumentContext, node: MappingNode, key: str, title: str) -> Fix | None:
    """Remove `key: value` from a block mapping when it sits alone on its line."""
    key_scalar = key_node(node, key)
    value = get(node, key)
    if node.flow_style or key_scalar is None or not isinstance(value, ScalarNode) or len(node.value) < 2:
        return None
    key_span = ctx.doc.span_of(key_scalar)
    value_span = ctx.doc.span_of(value)
    line = _line_text(ctx, key_span.start_line)
    if line is None or value_span.end_line != key_span.start_line or line[: key_span.start_char].strip():
        return None
    if line[value_span.end_char :].strip() and not line[value_span.end_char :].strip().startswith("#"):
        return None
    at = Span(key_span.start_line, 0, key_span.start_line + 1, 0)
    return Fix(title, (TextEdit(ctx.uri, at, ""),), preferred=True)


def replace_scalar_fix(
    ctx: DocumentContext, node: Node, new_value: str, title: str, *, preferred: bool = True, safe: bool = True
) -> Fix | None:
    """Rewrite a scalar's value, keeping its quotes."""
    if not isinstance(node, ScalarNode) or node.style not in (None, "", "'", '"'):
        return None
    quote = node.style or ""
    edit = TextEdit(ctx.uri, ctx.doc.span_of(node), f"{quote}{new_value}{quote}")
    return Fix(title, (edit,), preferred=preferred, safe=safe)
