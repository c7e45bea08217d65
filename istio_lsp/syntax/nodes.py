"""Lenient accessors over composed YAML nodes: wrong shapes give None, never raise."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from istio_lsp.syntax.parser import MappingNode, Node, ScalarNode, SequenceNode

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_VALUES = {"", "~", "null", "Null", "NULL"}


def is_plain(node: ScalarNode) -> bool:
    """Unquoted, not a block scalar (libyaml's composer says '' where PyYAML's says None)."""
    return not node.style


def is_null(node: ScalarNode) -> bool:
    return is_plain(node) and node.value in _NULL_VALUES


def pairs(node: Node | None) -> Iterator[tuple[ScalarNode, Node]]:
    """Key/value pairs of a mapping whose keys are scalars; `<<` merges expand one level."""
    if not isinstance(node, MappingNode):
        return
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        if key.tag == _MERGE_TAG or (key.value == "<<" and is_plain(key)):
            merged = value.value if isinstance(value, SequenceNode) else [value]
            # `<<: [*a, *a, …]` repeats one node: merge each once (at its last place, so the same
            # value wins), or every lookup pays for the repeats
            for source in reversed({id(source): source for source in reversed(merged)}.values()):
                if isinstance(source, MappingNode) and source is not node:
                    for inner_key, inner_value in source.value:
                        if isinstance(inner_key, ScalarNode):
                            yield inner_key, inner_value
            continue
        yield key, value


def _lookup(node: MappingNode) -> dict[str, tuple[ScalarNode, Node]]:
    """key → (key node, value node) of a mapping, built once per node: lookups are O(1).

    Documents are composed, read, and dropped; nothing mutates a node after composing,
    so the table stays true for the node's life.
    """
    table: dict[str, tuple[ScalarNode, Node]] | None = node.__dict__.get("_istio_lsp_keys")
    if table is None:
        table = {}
        for k, v in node.value:  # the common case, no `<<` merge: read the pairs directly
            if isinstance(k, ScalarNode):
                if k.tag == _MERGE_TAG or (k.value == "<<" and is_plain(k)):
                    table = {str(k.value): (k, v) for k, v in pairs(node)}
                    break
                table[str(k.value)] = (k, v)  # the last one wins, as in Kubernetes
        node.__dict__["_istio_lsp_keys"] = table
    return table


def entries(node: MappingNode) -> dict[str, tuple[ScalarNode, Node]]:
    """key → (key node, value node) of a mapping (the last one wins); shared: never change it."""
    return _lookup(node)


def get(node: Node | None, key: str) -> Node | None:
    """The value of `key` in a mapping node (the last one wins, as in Kubernetes)."""
    if not isinstance(node, MappingNode):
        return None
    # the hottest function of the checks: the table is read inline, built by `_lookup` once
    table = node.__dict__.get("_istio_lsp_keys")
    found = (table if table is not None else _lookup(node)).get(key)
    return found[1] if found is not None else None


def key_node(node: Node | None, key: str) -> ScalarNode | None:
    """The key node of `key` in a mapping, for spans that point at the key itself."""
    if not isinstance(node, MappingNode):
        return None
    found = _lookup(node).get(key)
    return found[0] if found is not None else None


def path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = get(node, key)
        if node is None:
            return None
    return node


def items(node: Node | None) -> list[Node]:
    """Items of a sequence node; anything else gives an empty list."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def scalar(node: Node | None) -> str | None:
    """The text of a non-null scalar, else None."""
    if not isinstance(node, ScalarNode):
        return None
    if is_null(node):
        return None
    return str(node.value)


def string_map(node: Node | None) -> dict[str, str]:
    """A mapping of scalars to scalars (labels, selectors); other entries are dropped."""
    result: dict[str, str] = {}
    for k, v in pairs(node):
        if isinstance(v, ScalarNode):
            value = "" if is_null(v) else str(v.value)
            result[str(k.value)] = value
    return result


def integer(node: Node | None) -> int | None:
    text = scalar(node)
    if text is None:
        return None
    try:
        return int(text, 0) if text.lower().startswith(("0x", "0o")) else int(text)
    except ValueError:
        return None


def walk(root: Node | None, budget: int = 200_000) -> Iterator[Node]:
    """Every node under `root` once, depth-first, stopping after `budget` nodes.

    Aliases make the composed tree a graph (possibly cyclic): each node is
    visited once, so an alias bomb costs no more than its text.
    """
    if root is None:
        return
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack and budget > 0:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        budget -= 1
        yield node
        if isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack.append(v)
                stack.append(k)
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))


PathSegment = str | int


def parse_path(path: str) -> list[PathSegment]:
    """`spec.http[0].route[1].destination` → ["spec", "http", 0, "route", 1, "destination"]."""
    return list(_parsed_path(path))


@lru_cache(maxsize=1024)
def _parsed_path(path: str) -> tuple[PathSegment, ...]:
    """Checks ask for the same few paths (`spec.http`) again and again."""
    segments: list[PathSegment] = []
    for part in path.split("."):
        name, *indexes = part.split("[")
        if name:
            segments.append(name)
        segments.extend(int(i.rstrip("]")) for i in indexes)
    return tuple(segments)


def locate(root: Node | None, path: str | list[PathSegment]) -> tuple[ScalarNode | None, Node | None]:
    """(key node, value node) at a field path; the key is None for list items, both None when absent."""
    segments = _parsed_path(path) if isinstance(path, str) else path
    key: ScalarNode | None = None
    node = root
    for segment in segments:
        if isinstance(segment, int):
            children = items(node)
            if segment >= len(children):
                return None, None
            key, node = None, children[segment]
        else:
            found = _lookup(node).get(segment) if isinstance(node, MappingNode) else None
            if found is None:
                return None, None
            key, node = found
    return key, node
