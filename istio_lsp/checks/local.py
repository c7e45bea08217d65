"""Per-document checks: what one resource's own text shows, without the rest of the workspace.

They run when a file's summary is (re)built, on the parse tree that is then dropped,
and their findings stay in the summary. A check reports at a field path
(`spec.http[0].timeout`); `DocumentContext.span` turns the path into a range, so no
check computes positions by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from istio_lsp.findings import Finding, Fix, Related, Severity, TextEdit
from istio_lsp.model.resources import Resource
from istio_lsp.settings import Settings
from istio_lsp.syntax import MappingNode, Node, Span, YamlDocument
from istio_lsp.syntax.nodes import PathSegment, get, items, key_node, locate, pairs, parse_path, scalar

log = logging.getLogger(__name__)

Path = str | list[PathSegment]


@dataclass
class DocumentContext:
    """One resource of one document, as a local check sees it."""

    doc: YamlDocument
    node: MappingNode  # the resource's mapping (the document root, or a `kind: List` item)
    resource: Resource
    settings: Settings
    # what several checks derive from the same resource (one walk of the spec), derived once
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def uri(self) -> str:
        return self.resource.uri

    @property
    def spec(self) -> Node | None:
        return get(self.node, "spec")

    def at(self, path: Path) -> Node | None:
        return locate(self.node, path)[1]

    def text(self, path: Path) -> str | None:
        return scalar(self.at(path))

    def list_at(self, path: Path) -> list[Node]:
        return items(self.at(path))

    def span(self, path: Path, *, key: bool = False) -> Span:
        """The span of the value at `path` (or of its key), else of the deepest part of the path that exists."""
        segments = parse_path(path) if isinstance(path, str) else list(path)
        while True:
            key_node, value = locate(self.node, segments)
            target = key_node if key and key_node is not None else value
            if target is not None:
                return self.node_span(target)
            if not segments:
                return self.resource.name_span
            segments = segments[:-1]
            key = True  # point at the key of the parent that lacks the field

    def node_span(self, node: Node) -> Span:
        if isinstance(node, MappingNode) or hasattr(node, "flow_style"):
            from istio_lsp.model.extract import content_span

            return content_span(self.doc, node)
        return self.doc.span_of(node)

    def finding(
        self,
        code: str,
        severity: Severity,
        where: Path | Node | Span,
        message: str,
        *,
        key: bool = False,
        fixes: Iterable[Fix] = (),
        related: Iterable[Related] = (),
    ) -> Finding:
        if isinstance(where, Span):
            span = where
        elif isinstance(where, (str, list)):
            span = self.span(where, key=key)
        else:
            span = self.node_span(where)
        return Finding(
            code=code,
            severity=severity,
            message=message,
            uri=self.uri,
            span=span,
            resource=self.resource.display,
            related=list(related),
            fixes=list(fixes),
        )


def quote_of(node: Node) -> str:
    """The quote character a scalar was written with, if any."""
    style = getattr(node, "style", None)
    return style if style in ("'", '"') else ""


def first_key(node: Node) -> Node:
    """Where to report on a multi-line mapping: its first key (the `- name:` or `- match:` line), else the node."""
    for key, _ in pairs(node):
        return key
    return node


def name_or_first_key(node: Node) -> Node:
    """Where to report on a whole rule or list entry: its `name` key, else its first key, else the node."""
    if isinstance(node, MappingNode):
        named = key_node(node, "name")
        if named is not None:
            return named
    return first_key(node)


def replace_scalar(
    ctx: DocumentContext, node: Node, text: str, title: str, *, preferred: bool = True, safe: bool = True
) -> Fix:
    """A fix that rewrites one scalar's text, keeping its quotes."""
    quote = quote_of(node)
    edit = TextEdit(ctx.uri, ctx.node_span(node), f"{quote}{text}{quote}")
    return Fix(title, (edit,), preferred=preferred, safe=safe)


def walk_pairs(node: Node | None, path: list[PathSegment]) -> Iterator[tuple[list[PathSegment], Node]]:
    """Every (path, node) below `node`, for checks that look at all fields of a kind (durations, ports)."""
    seen: set[int] = set()
    stack: list[tuple[list[PathSegment], Node]] = [(path, node)] if node is not None else []
    while stack:
        here, current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield here, current
        if isinstance(current, MappingNode):
            for k, v in pairs(current):
                stack.append(([*here, str(k.value)], v))
        else:
            for i, child in enumerate(items(current)):
                stack.append(([*here, i], child))
