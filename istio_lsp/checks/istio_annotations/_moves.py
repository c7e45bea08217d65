"""A quick fix the annotation checks share: move a `key: value` line of one metadata mapping to
another (a Deployment's annotation into its pod template, an annotation into the labels).
This module defines no rule.

It is offered only where the edit is plain: block style on both sides, the entry alone on its
line, the destination holding no entry of that key yet.
"""

from __future__ import annotations

from istio_lsp.checks.istio_annotations._annotations import Written
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Fix, TextEdit
from istio_lsp.syntax import MappingNode, ScalarNode, Span
from istio_lsp.syntax.nodes import get, key_node


def move_fix(
    ctx: DocumentContext, entry: Written, parent: MappingNode | None, field: str, title: str, *, safe: bool = True
) -> Fix | None:
    """Move the entry's line into `parent[field]` (made when `parent` has no such field)."""
    source = get(entry.metadata, "annotations")
    if parent is None or parent.flow_style or not parent.value:
        return None
    if not isinstance(source, MappingNode) or source.flow_style or not isinstance(entry.value, ScalarNode):
        return None
    key_span = ctx.doc.span_of(entry.key)
    value_span = ctx.doc.span_of(entry.value)
    line = _line(ctx, key_span.start_line)
    if line is None or value_span.end_line != key_span.start_line or line[: key_span.start_char].strip():
        return None
    rest = line[value_span.end_char :].strip()
    if rest and not rest.startswith("#"):
        return None
    deleted = _deleted_lines(ctx, entry, source, key_span.start_line)
    if deleted is None:
        return None
    text = line[key_span.start_char :].rstrip()  # with its comment, if any
    insert = _insertion(ctx, parent, field, entry.name, text)
    if insert is None or deleted[0] <= insert.span.start_line < deleted[1]:
        return None
    delete = TextEdit(ctx.uri, Span(deleted[0], 0, deleted[1], 0), "")
    return Fix(title, (insert, delete), preferred=True, safe=safe)


def _line(ctx: DocumentContext, line: int) -> str | None:
    lines = ctx.doc.text.split("\n")
    index = line - ctx.doc.start_line
    if not 0 <= index < len(lines):
        return None
    text = lines[index]
    # spans count UTF-16 units: slicing by them is exact while no character needs two
    return text if all(ord(ch) < 0x10000 for ch in text) else None


def _deleted_lines(ctx: DocumentContext, entry: Written, source: MappingNode, line: int) -> tuple[int, int] | None:
    """The lines [first, last) to delete: the entry's, and `annotations:` too when it is the only entry."""
    if len(source.value) > 1:
        return (line, line + 1)
    key = key_node(entry.metadata, "annotations")
    if key is None:
        return None
    above = ctx.doc.span_of(key).start_line
    text = _line(ctx, above)
    if above != line - 1 or text is None or text.split("#")[0].strip() != "annotations:":
        return None
    return (above, line + 1)


def _insertion(ctx: DocumentContext, parent: MappingNode, field: str, name: str, text: str) -> TextEdit | None:
    """Where `text` (`key: value`) goes: first in `parent[field]`, or in a new `field:` first in `parent`."""
    target = get(parent, field)
    if isinstance(target, MappingNode):
        if target.flow_style or not target.value or get(target, name) is not None:
            return None
        first = ctx.doc.span_of(target.value[0][0])
        indent = " " * first.start_char
        return TextEdit(
            ctx.uri, Span(first.start_line, first.start_char, first.start_line, first.start_char), f"{text}\n{indent}"
        )
    if target is not None:
        return None  # a null (`field:` alone) or another shape: where an entry would go is not plain
    first = ctx.doc.span_of(parent.value[0][0])
    indent = " " * first.start_char
    at = Span(first.start_line, first.start_char, first.start_line, first.start_char)
    return TextEdit(ctx.uri, at, f"{field}:\n{indent}  {text}\n{indent}")
