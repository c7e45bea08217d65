"""Helpers the "generic" value rules share (durations, ports, percentages, headers, regexes, …).

This module defines no rule. It finds fields by name and place in a resource's spec, so
each rule lists the fields it judges instead of spelling out every path of every kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from istio_lsp.checks.fields import unseen
from istio_lsp.checks.local import DocumentContext, walk_pairs
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode, Span
from istio_lsp.syntax.nodes import PathSegment, get, items, pairs, scalar

ISTIO_GROUPS = ("networking.istio.io", "security.istio.io")
ISTIO_KINDS = (
    "VirtualService",
    "DestinationRule",
    "Gateway",
    "ServiceEntry",
    "Sidecar",
    "AuthorizationPolicy",
    "PeerAuthentication",
    "RequestAuthentication",
)

REJECTED = "kubectl apply is rejected by Istio's validating webhook"
ADMITTED = "Istio's validating webhook admits it with a warning"

Pattern = tuple[str, ...]


def is_istio(ctx: DocumentContext) -> bool:
    """An Istio resource, not a namesake of another API group (Gateway API's `Gateway`)."""
    return ctx.resource.api_version.split("/")[0] in ISTIO_GROUPS


def names(path: Sequence[PathSegment]) -> tuple[str, ...]:
    """The field names of a path, without list indexes: `spec.http[0].timeout` → (spec, http, timeout)."""
    return tuple(segment for segment in path if isinstance(segment, str))


def ends_with(field_names: tuple[str, ...], pattern: Pattern) -> bool:
    """Whether the names end with the pattern; `*` in the pattern stands for any one name."""
    if len(pattern) > len(field_names):
        return False
    tail = field_names[len(field_names) - len(pattern) :]
    return all(want in ("*", have) for want, have in zip(pattern, tail, strict=True))


def spec_fields(ctx: DocumentContext) -> Iterator[tuple[list[PathSegment], Node]]:
    """Every node under `spec` with its path (each shared alias node once)."""
    yield from walk_pairs(ctx.spec, ["spec"])


# patterns (by identity: they are module constants) → their entries by last name, in order
_BY_LAST: dict[int, tuple[Sequence[tuple[Pattern, str]], dict[str, list[tuple[int, Pattern, str]]]]] = {}


def first_match(field_names: tuple[str, ...], patterns: Sequence[tuple[Pattern, str]]) -> str | None:
    """The tag of the first pattern the names end with."""
    if not field_names:
        return None
    cached = _BY_LAST.get(id(patterns))
    if cached is None or cached[0] is not patterns:
        table: dict[str, list[tuple[int, Pattern, str]]] = {}
        for order, (pattern, tag) in enumerate(patterns):
            table.setdefault(pattern[-1] if pattern else "*", []).append((order, pattern, tag))
        cached = _BY_LAST[id(patterns)] = (patterns, table)
    table = cached[1]
    # only patterns ending in this field's name (or in `*`) can match: most fields have none
    candidates = table.get(field_names[-1], []) + table.get("*", [])
    for _, pattern, tag in sorted(candidates, key=lambda entry: entry[0]):
        if ends_with(field_names, pattern):
            return tag
    return None


# A field path as a linked list, (parent, segment), built into a list only for the fields a rule judges.
_Loc = tuple[Any, PathSegment]
# each scalar under `spec` (its place, node) in the order of `spec_fields`, and their positions by field name
_Scalars = tuple[list[tuple[_Loc, ScalarNode]], dict[str, list[int]]]


def _spec_scalars(ctx: DocumentContext) -> _Scalars:
    """One walk of the spec for all the rules that judge scalar fields by name (the walk of `spec_fields`)."""
    found: _Scalars | None = ctx.memo.get("spec_scalars")
    if found is not None:
        return found
    scalars: list[tuple[_Loc, ScalarNode]] = []
    by_last: dict[str, list[int]] = {}
    spec = ctx.spec
    # (place, name of the innermost field, node)
    stack: list[tuple[_Loc, str, Node]] = [((None, "spec"), "spec", spec)] if spec is not None else []
    seen: set[int] = set()
    while stack:
        loc, last, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            by_last.setdefault(last, []).append(len(scalars))
            scalars.append((loc, node))
        elif isinstance(node, MappingNode):
            for k, v in pairs(node):
                name = str(k.value)
                stack.append(((loc, name), name, v))
        elif isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                stack.append(((loc, i), last, child))
    found = ctx.memo["spec_scalars"] = (scalars, by_last)
    return found


def _path(loc: _Loc | None) -> list[PathSegment]:
    segments: list[PathSegment] = []
    while loc is not None:
        loc, segment = loc
        segments.append(segment)
    segments.reverse()
    return segments


def matching_scalars(
    ctx: DocumentContext, patterns: Sequence[tuple[Pattern, str]]
) -> Iterator[tuple[list[PathSegment], ScalarNode, str]]:
    """(path, node, tag of the first matching pattern) of each scalar under `spec` that a pattern
    matches, in the order of `spec_fields`. The spec is walked once for all the rules that ask."""
    scalars, by_last = _spec_scalars(ctx)
    lasts = {pattern[-1] if pattern else "*" for pattern, _ in patterns}
    if "*" in lasts:
        positions: Iterable[int] = range(len(scalars))
    else:
        positions = sorted(i for last in lasts for i in by_last.get(last, ()))
    for i in positions:
        loc, node = scalars[i]
        path = _path(loc)
        tag = first_match(names(path), patterns)
        if tag is not None:
            yield path, node, tag


def key_and_value_span(ctx: DocumentContext, key: Node, value: Node) -> Span:
    start, end = ctx.node_span(key), ctx.node_span(value)
    return Span(start.start_line, start.start_char, end.end_line, end.end_char)


# ---- VirtualService shapes ------------------------------------------------------------


def vs_gateways(ctx: DocumentContext) -> list[str]:
    return [g for g in (scalar(item) for item in ctx.list_at("spec.gateways")) if g is not None]


def vs_applies_to_gateway_only(ctx: DocumentContext) -> bool:
    """Istio's isGateway: gateways are listed and `mesh` is not among them."""
    gateways = vs_gateways(ctx)
    return bool(ctx.list_at("spec.gateways")) and "mesh" not in gateways


def rules_and_children(ctx: DocumentContext, protocols: Sequence[str], child: str) -> Iterator[tuple[str, Node, Node]]:
    """(protocol, rule, child item) for each distinct item of `spec.<protocol>[].<child>`."""
    seen_rules: set[int] = set()
    seen_children: set[int] = set()
    for protocol in protocols:
        for _, rule in unseen(ctx.list_at(f"spec.{protocol}"), seen_rules):
            for _, item in unseen(items(get(rule, child)), seen_children):
                yield protocol, rule, item


def http_matches(ctx: DocumentContext) -> Iterator[tuple[list[PathSegment], Node]]:
    """Each distinct `spec.http[i].match[j]` with its path."""
    seen_rules: set[int] = set()
    seen_matches: set[int] = set()
    for i, rule in unseen(ctx.list_at("spec.http"), seen_rules):
        for j, match in unseen(items(get(rule, "match")), seen_matches):
            yield ["spec", "http", i, "match", j], match
