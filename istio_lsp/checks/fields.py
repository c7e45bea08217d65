"""Reading a resource's fields the way Istio decodes them.

Istio decodes a resource into protobuf messages before it validates it, so a rule asks
what the decoded message holds, not what the YAML spells:

- *present* (`present`, `value_at`): the field decodes to non-nil. Missing and a YAML
  null (`~`, `null`, an empty value) are both nil; an empty list or `""` is present.
- *set* (`is_set`, `is_set_at`, `set_keys`, `set_text`, `has_text`): Istio sees the field
  as set. A message given as `{}` is set; an empty list, `""` or null is not.
- text (`text`, `set_text`, `text_or_empty`): a scalar's text, where `text` keeps `""`,
  `set_text` reads `""` as unset (None), and `text_or_empty` gives `""` for a missing or
  null string (protobuf's default).

All of them read leniently: a wrong shape (a string where a mapping belongs) reads as
absent, and is left to the schema checks. A YAML alias can repeat one node many times in
a list: `distinct`, `distinct_items` and `unseen` read each node once, so nested lists of
aliases cost their text, not the product of their repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode
from istio_lsp.syntax.nodes import get, is_null, items, pairs, scalar

# YAML 1.1 booleans, as kubectl's YAML decoder reads them
_YAML_TRUE = frozenset({"true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"})

# ---- presence ------------------------------------------------------------------


def present(node: Node | None) -> bool:
    """The field decodes to non-nil: there, and not a YAML null (`""`, `[]` and `{}` are present)."""
    return node is not None and not (isinstance(node, ScalarNode) and is_null(node))


def absent(node: Node | None) -> bool:
    """The field decodes to nil: missing, or a YAML null (`~`, `null`, an empty value). `not present(node)`."""
    return node is None or (isinstance(node, ScalarNode) and is_null(node))


def is_set(node: Node | None) -> bool:
    """Istio sees the field as set: a non-null, non-empty scalar, a non-empty list, any mapping (even `{}`)."""
    if node is None:
        return False
    if isinstance(node, ScalarNode):
        return not is_null(node) and node.value != ""
    if isinstance(node, SequenceNode):
        return bool(node.value)
    return True  # a mapping, even `{}`, is a message that is present


def is_set_at(parent: Node | None, key: str) -> bool:
    """`is_set` of the value at `key`."""
    return is_set(get(parent, key))


def set_keys(parent: Node | None, *keys: str) -> list[str]:
    """The keys among `keys` that are set (`is_set_at`) in `parent`, in the given order."""
    return [k for k in keys if is_set_at(parent, k)]


def value_at(parent: Node | None, key: str) -> Node | None:
    """The value at `key` when it is present, else None (missing or null)."""
    found = get(parent, key)
    return found if present(found) else None


# ---- shapes --------------------------------------------------------------------


def as_mapping(node: Node | None) -> MappingNode | None:
    """The node if it is a mapping, else None."""
    return node if isinstance(node, MappingNode) else None


def mapping_at(parent: Node | None, key: str) -> MappingNode | None:
    """The mapping at `key` (a message that is set), else None."""
    return as_mapping(get(parent, key))


def items_at(parent: Node | None, key: str) -> list[Node]:
    """The items of the list at `key`; anything else gives an empty list."""
    return items(get(parent, key))


def count(node: Node | None) -> int:
    """Entries of a list or map field (0 when absent, null or another shape): protobuf's `len()`."""
    if isinstance(node, (SequenceNode, MappingNode)):
        return len(node.value)
    return 0


def is_empty_list(node: Node | None) -> bool:
    """Written as a list with no items (`from: []`)."""
    return isinstance(node, SequenceNode) and not node.value


def mapping_items(node: Node | None) -> Iterator[tuple[str, Node, Node]]:
    """(key, key node, value node) of a mapping."""
    for key, value in pairs(node):
        yield str(key.value), key, value


# ---- text ----------------------------------------------------------------------


def text(parent: Node | None, key: str) -> str | None:
    """The scalar text at `key`, None when absent, null or not a scalar (`""` stays `""`)."""
    return scalar(get(parent, key))


def set_text(parent: Node | None, key: str) -> str | None:
    """The scalar text at `key`, None when absent, null, not a scalar or `""` (a string Istio sees unset)."""
    value = scalar(get(parent, key))
    return value if value else None


def text_or_empty(parent: Node | None, key: str) -> str:
    """The scalar text at `key`, `""` when absent, null or not a scalar (protobuf's default string)."""
    return scalar(get(parent, key)) or ""


def has_text(parent: Node | None, key: str) -> bool:
    """A string field Istio sees as set: a scalar at `key`, not null and not `""`."""
    return bool(text(parent, key))


def scalar_items(node: Node | None) -> Iterator[tuple[int, ScalarNode, str]]:
    """(index, node, text) of the non-null scalar items of a list; null items are skipped."""
    for index, item in enumerate(items(node)):
        value = scalar(item)
        if isinstance(item, ScalarNode) and value is not None:
            yield index, item, value


def scalar_items_or_empty(node: Node | None) -> list[tuple[int, Node, str]]:
    """(index, node, text) of the scalar items of a list; a null item reads as `""` (protobuf has no null string)."""
    if not isinstance(node, SequenceNode):
        return []
    out: list[tuple[int, Node, str]] = []
    for i, item in enumerate(node.value):
        if isinstance(item, ScalarNode):
            out.append((i, item, scalar(item) or ""))
    return out


# ---- booleans ------------------------------------------------------------------


def is_yaml_true(node: Node | None) -> bool:
    """A YAML 1.1 true (`true`, `yes`, `on`, `y`, in their usual capitalisations), as kubectl decodes a bool."""
    return scalar(node) in _YAML_TRUE


def is_true_text(value: str | None) -> bool:
    """The text is `true` in any letter case, spaces around ignored (`yes` and `on` are not)."""
    return (value or "").strip().lower() == "true"


# ---- lists repeated through YAML aliases ---------------------------------------


def unseen(nodes: Iterable[Node], seen: set[int]) -> Iterator[tuple[int, Node]]:
    """(index, node) of the nodes not met before (by identity), recording them in `seen`.

    Aliases let one node appear under many parents (`http: [*r, *r, …]`, each with
    `match: [*m, *m, …]`): nested loops over them multiply, so each level visits a shared
    node once (one `seen` shared by the loops of a level). Its findings would be the same
    each time anyway.
    """
    for index, node in enumerate(nodes):
        if id(node) not in seen:
            seen.add(id(node))
            yield index, node


def distinct(nodes: list[Node]) -> list[Node]:
    """The nodes without repeats of one node: a YAML alias (`[*m, *m, …]`) lists one node many times,
    and checking it again only repeats the same findings (which are dropped as duplicates anyway)."""
    return [node for _, node in unseen(nodes, set())]


def distinct_items(node: Node | None) -> list[tuple[int, Node]]:
    """(index, item) of a list, each distinct node once (at its first place); not a list gives none."""
    return list(unseen(items(node), set()))
