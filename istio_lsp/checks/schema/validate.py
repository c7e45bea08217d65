"""One walk of a resource against its CRD schema, shared by the schema rules.

The API server validates an Istio resource against the OpenAPI v3 schema of its
CRD before Istio's webhook sees it. This module repeats that on the composed YAML:
field names (`unknown-field`), value types (`invalid-type`), enums
(`invalid-enum-value`), required fields and `oneOf`/`anyOf` field groups
(`missing-required-field`, `invalid-type`). The walk runs once per resource and
its result is kept for the other schema rules of the same resource (a weak cache
keyed by the resource's node, so it goes with the parse tree).

Values are typed as Kubernetes reads YAML (sigs.k8s.io/yaml, which uses go-yaml v2
and then JSON): quoted and block scalars are strings; plain scalars follow YAML 1.1
(`yes`, `on`, `y` are booleans, `0x1F` and `017` integers, `1.5` a number,
`~` and `null` null). A number without a fractional part (`80.0`) reaches the API
server as an integer, as JSON carries it.

Null values are skipped: the API server drops a null field whose schema is not
`nullable` before validating (so a required field set to null is reported as
missing), and null items in lists of objects are left to the semantic checks of
each kind. `status` is skipped (the status subresource makes the API server
ignore it on apply). Unknown top-level keys are `invalid-metadata`'s.
The walk visits each (node, schema) pair once, so YAML aliases cost nothing
extra, and stops after `MAX_NODES` nodes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from istio_lsp.checks.base import Fix, Rule, TextEdit, close_matches
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import store
from istio_lsp.findings import Finding
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode, Span, YamlDocument
from istio_lsp.syntax.nodes import PathSegment, entries, is_plain, pairs

MAX_NODES = 200_000
MAX_ENUM_FIXES = 12
MAX_LISTED_FIELDS = 12
_MAX_COMBINATOR_DEPTH = 16
_OBJECT_RULES = ("required", "oneOf", "anyOf", "allOf", "not")

UNKNOWN_FIELD = "unknown-field"
INVALID_TYPE = "invalid-type"
INVALID_ENUM_VALUE = "invalid-enum-value"
MISSING_REQUIRED_FIELD = "missing-required-field"

REJECTED = "the API server rejects the resource"


@dataclass(frozen=True, slots=True)
class Edit:
    title: str
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    span: Span
    message: str
    edits: tuple[Edit, ...] = ()
    preferred: bool = True  # the first edit is the fix to apply
    field: str = ""  # a missing required field's path, list items as `[]` (`spec.servers[].port.name`)


_CACHE: WeakKeyDictionary[Node, list[Violation]] = WeakKeyDictionary()


def violations(ctx: DocumentContext) -> list[Violation]:
    """Every schema violation of the context's resource; computed once per resource node."""
    cached = _CACHE.get(ctx.node)
    if cached is not None:
        return cached
    schema = store.schema_for(ctx.resource.api_version, ctx.resource.kind)
    found = [] if schema is None else check_node(ctx.doc, ctx.node, schema)
    _CACHE[ctx.node] = found
    return found


def check_node(doc: YamlDocument, node: MappingNode, schema: store.Schema) -> list[Violation]:
    """The violations of a resource node against a schema (uncached; `violations` is what the rules use)."""
    return _Walker(doc, node).run(schema)


def findings(ctx: DocumentContext, rule: Rule, skip: Callable[[Violation], bool] | None = None) -> Iterator[Finding]:
    """The violations of one rule's code as findings, with their fixes; `skip` leaves some out."""
    for violation in violations(ctx):
        if violation.code != rule.code or (skip is not None and skip(violation)):
            continue
        fixes = [
            Fix(edit.title, (TextEdit(ctx.uri, edit.span, edit.new_text),), preferred=violation.preferred and i == 0)
            for i, edit in enumerate(violation.edits)
        ]
        yield ctx.finding(rule.code, rule.severity, violation.span, violation.message, fixes=fixes)


# --- YAML scalar types, as go-yaml v2 resolves them -------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = frozenset(
    {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
    | {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
)
_SPECIAL_FLOATS = frozenset(
    {".nan", ".NaN", ".NAN"} | {f"{sign}.{inf}" for sign in ("", "+", "-") for inf in ("inf", "Inf", "INF")}
)
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INT_BASES = {"0x": 16, "0o": 8, "0b": 2}
_INT64 = 2**63

# JSON type of a resolved scalar; "float" is a number with a fraction (or out of int64 range)
_JSON_TYPE = {"null": "null", "boolean": "boolean", "integer": "integer", "float": "number", "string": "string"}
_ARTICLE = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "an integer",
    "float": "a number",
    "number": "a number",
    "string": "a string",
    "object": "an object (a mapping)",
    "array": "a list",
}


def go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: an optional sign, Go's base prefixes (0x, 0o, 0b),
    a leading 0 for octal."""
    body = text
    signed = body[:1] in ("+", "-")
    negative = body[:1] == "-"
    if signed:
        body = body[1:]
    base = 10
    prefix = body[:2].lower()
    if prefix in _INT_BASES:
        base, body = _INT_BASES[prefix], body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or not body.isascii() or not body.isalnum():
        return None
    try:
        value = int(body, base)
    except ValueError:
        return None
    value = -value if negative else value
    if -_INT64 <= value < _INT64 or (not signed and value < 2 * _INT64):
        return value
    return None


def plain_type(text: str) -> str:
    """The type go-yaml v2 gives a plain (unquoted) scalar: null, boolean, integer, float or string.

    Integral floats (`80.0`, `1e3`) are "integer": JSON carries them as integers.
    """
    return _short_plain_type(text) if len(text) <= 64 else _plain_type(text)


@lru_cache(maxsize=4096)
def _short_plain_type(text: str) -> str:
    return _plain_type(text)


def _plain_type(text: str) -> str:
    if text in _NULLS:
        return "null"
    if text in _BOOLS:
        return "boolean"
    if text in _SPECIAL_FLOATS:
        return "float"
    first = text[0]
    if first == ".":
        try:
            return _number(float(text))
        except ValueError:
            return "string"
    if first.isdigit() or first in "+-":
        plain = text.replace("_", "")
        value = go_int(plain)
        if value is not None:
            return "integer" if -_INT64 <= value < _INT64 else "float"
        if _FLOAT.fullmatch(plain):
            try:
                return _number(float(plain))
            except ValueError:  # pragma: no cover - the pattern only admits valid floats
                return "string"
    return "string"


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < _INT64:
        return "integer"
    if math.isinf(value):
        return "string"  # Go's ParseFloat fails on overflow: go-yaml keeps the text
    return "float"


def scalar_type(doc: YamlDocument, node: ScalarNode) -> str:
    """The type of a scalar node: quoted and block scalars are strings, plain ones resolved as go-yaml does,
    explicit tags (`!!int 5`, `!!str 5`) respected."""
    tag = node.tag
    if tag != _STR_TAG:
        if tag in (_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"):
            return plain_type(str(node.value))
        return "string"  # !!binary, !!timestamp, custom tags: text
    if not is_plain(node):
        return "string"
    kind = plain_type(str(node.value))
    if kind != "string" and _explicit_tag(doc, node):
        return "string"  # `!!str 5` composes like a plain 5
    return kind


def _explicit_tag(doc: YamlDocument, node: Node) -> bool:
    """Whether a node's text starts with a tag (after an anchor): `!!str 5`, `&a !!str 5`."""
    text = doc.text[node.start_mark.index : node.end_mark.index]
    if text.startswith("&"):
        _, _, text = text.partition(" ")
        text = text.lstrip()
    return text.startswith("!")


def node_type(doc: YamlDocument, node: Node) -> str:
    if isinstance(node, MappingNode):
        return "object"
    if isinstance(node, SequenceNode):
        return "array"
    if isinstance(node, ScalarNode):
        return scalar_type(doc, node)
    return "string"  # pragma: no cover - composed nodes are one of the three


def _type_ok(kind: str, allowed: frozenset[str]) -> bool:
    json_type = _JSON_TYPE.get(kind, kind)
    return json_type in allowed or (json_type == "integer" and "number" in allowed)


def _describe_types(allowed: frozenset[str]) -> str:
    order = ["string", "integer", "number", "boolean", "object", "array", "null"]
    names = [_ARTICLE[t] for t in order if t in allowed] + [t for t in sorted(allowed) if t not in order]
    return " or ".join(names)


# --- the walk ----------------------------------------------------------------------------------

# a field path as a linked list: (parent, segment); None is the resource itself
_Loc = tuple[Any, PathSegment] | None
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_$-]+")


def path_text(loc: _Loc) -> str:
    segments: list[PathSegment] = []
    while loc is not None:
        loc, segment = loc
        segments.append(segment)
    text = ""
    for segment in reversed(segments):
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif not _PLAIN_NAME.fullmatch(segment):
            text += f"[{json.dumps(segment, ensure_ascii=False)}]"  # annotations["sidecar.istio.io/inject"]
        else:
            text += f".{segment}" if text else segment
    return text or "the resource"


def field_path(loc: _Loc, name: str) -> str:
    """The path of field `name` of the object at `loc`, any list item as `[]`: `spec.servers[].port.name`."""
    segments: list[PathSegment] = [name]
    while loc is not None:
        loc, segment = loc
        segments.append(segment)
    return "".join("[]" if isinstance(s, int) else f".{s}" for s in reversed(segments)).lstrip(".")


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the walk reads of a (sub)schema at every node it checks against it, read once per schema."""

    schema: store.Schema  # kept alive: shapes are found by the schema's id
    allowed: frozenset[str] | None
    accepts: frozenset[str]  # the node types (`node_type`) that `allowed` admits
    props: dict[str, Any]
    extra: Any  # additionalProperties
    open_ended: bool  # any field is allowed
    object_rules: bool  # required fields or combinators to check


_SHAPES: dict[int, _Shape] = {}
_NODE_TYPES = ("object", "array", *_JSON_TYPE)  # every type `node_type` gives


def _shape(schema: store.Schema) -> _Shape:
    shape = _SHAPES.get(id(schema))
    if shape is None or shape.schema is not schema:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        extra = schema.get("additionalProperties")
        open_ended = (
            schema.get("x-kubernetes-preserve-unknown-fields") is True
            or extra is True
            or (not props and extra is None and "type" not in schema)
        )
        object_rules = any(word in schema for word in _OBJECT_RULES)
        allowed = store.allowed_types(schema)
        accepts = frozenset(k for k in _NODE_TYPES if allowed is None or _type_ok(k, allowed))
        shape = _Shape(schema, allowed, accepts, props, extra, open_ended, object_rules)
        _SHAPES[id(schema)] = shape
    return shape


class _Walker:
    def __init__(self, doc: YamlDocument, root: MappingNode) -> None:
        self.doc = doc
        self.root = root
        self.out: list[Violation] = []

    def run(self, schema: store.Schema) -> list[Violation]:
        stack: list[tuple[Node, store.Schema, ScalarNode | None, _Loc]] = [(self.root, schema, None, None)]
        budget = MAX_NODES
        if "*" not in self.doc.text:  # no alias, so a tree: every node is reached once
            while stack and budget > 0:
                budget -= 1
                self._visit(*stack.pop(), stack)
            return self.out
        seen: set[tuple[int, int]] = set()
        while stack and budget > 0:
            node, sub, key, loc = stack.pop()
            marker = (id(node), id(sub))
            if marker in seen:
                continue
            seen.add(marker)
            budget -= 1
            self._visit(node, sub, key, loc, stack)
        return self.out

    # spans

    def span(self, node: Node) -> Span:
        return self.doc.span_of(node)

    def anchor(self, node: Node, key: ScalarNode | None) -> Span:
        """Where to report a problem of a whole mapping: its key, else (a list item, the resource) its first line."""
        if key is not None:
            return self.span(key)
        if node is self.root:
            for k, _ in pairs(node):
                if k.value == "kind":
                    return self.span(k)
        first = next(iter(pairs(node)), None)
        start = self.span(node)
        if first is None:
            return start
        end = self.span(first[0])
        return Span(start.start_line, start.start_char, end.end_line, end.end_char)

    def report(
        self,
        code: str,
        span: Span,
        message: str,
        edits: tuple[Edit, ...] = (),
        preferred: bool = True,
        field: str = "",
    ) -> None:
        self.out.append(Violation(code, span, message, edits, preferred, field))

    # visiting

    def _visit(
        self,
        node: Node,
        schema: store.Schema,
        key: ScalarNode | None,
        loc: _Loc,
        stack: list[tuple[Node, store.Schema, ScalarNode | None, _Loc]],
    ) -> None:
        kind = node_type(self.doc, node)
        if kind == "null":
            if loc is not None and isinstance(loc[1], int) and not schema.get("nullable"):
                self._null_item(node, schema, loc)
            return
        shape = _shape(schema)
        if shape.allowed is not None and kind not in shape.accepts and not _type_ok(kind, shape.allowed):
            self._type_error(node, kind, shape.allowed, key, loc)
            return
        if isinstance(node, ScalarNode):
            enum = schema.get("enum")
            if isinstance(enum, list) and enum:
                self._check_enum(node, kind, enum, loc)
        elif isinstance(node, MappingNode):
            self._visit_mapping(node, schema, key, loc, stack)
        elif isinstance(node, SequenceNode):
            items = schema.get("items")
            if isinstance(items, dict):
                for index in range(len(node.value) - 1, -1, -1):
                    stack.append((node.value[index], items, None, (loc, index)))

    def _null_item(self, node: Node, schema: store.Schema, loc: _Loc) -> None:
        allowed = store.allowed_types(schema)
        if allowed is None or "object" in allowed or "null" in allowed:
            return  # null route entries, subsets…: the semantic checks of each kind say more
        self.report(
            INVALID_TYPE,
            self.span(node),
            f"`{path_text(loc)}` is an empty (null) list item where {_describe_types(allowed)} is expected: "
            f'{REJECTED} ("must be of type …: null").',
        )

    def _visit_mapping(
        self,
        node: MappingNode,
        schema: store.Schema,
        key: ScalarNode | None,
        loc: _Loc,
        stack: list[tuple[Node, store.Schema, ScalarNode | None, _Loc]],
    ) -> None:
        fields = entries(node)  # the last one wins, as in Kubernetes
        shape = _shape(schema)
        props, extra, open_ended = shape.props, shape.extra, shape.open_ended
        pending = []
        for name, (k, v) in fields.items():
            sub = props.get(name)
            if not isinstance(sub, dict):
                sub = extra if isinstance(extra, dict) else None
            if sub is None:
                if not open_ended and loc is not None:  # unknown top-level keys are invalid-metadata's
                    self._unknown_field(k, name, props, loc)
                continue
            if loc is None and name == "status":
                continue
            pending.append((v, sub, k, (loc, name)))
        stack.extend(reversed(pending))
        if not shape.object_rules:
            return
        present = {
            name
            for name, (_, v) in fields.items()
            if not _is_null(self.doc, v) or (isinstance(props.get(name), dict) and props[name].get("nullable"))
        }
        self._check_required(node, schema.get("required"), fields, present, key, loc)
        self._check_combinators(node, schema, fields, present, key, loc, 0)

    def _unknown_field(self, key: ScalarNode, name: str, props: Mapping[str, Any], loc: _Loc) -> None:
        where = path_text(loc)
        suggestions = close_matches(name, props)
        quote = key.style if key.style in ("'", '"') else ""
        edits = tuple(Edit(f"Did you mean `{s}`?", self.span(key), f"{quote}{s}{quote}") for s in suggestions)
        if suggestions:
            hint = f" (did you mean `{suggestions[0]}`?)"
        elif not props:
            hint = " (it takes no fields)"
        elif len(props) <= MAX_LISTED_FIELDS:
            hint = " (fields: " + ", ".join(f"`{p}`" for p in sorted(props)) + ")"
        else:
            hint = ""
        self.report(
            UNKNOWN_FIELD,
            self.span(key),
            f"Unknown field `{name}` in `{where}`{hint}: `kubectl apply` rejects it (strict field validation); "
            f"clients that do not ask for strict validation have it silently dropped by the API server.",
            edits,
        )

    def _check_required(
        self,
        node: MappingNode,
        required: Any,
        entries: Mapping[str, tuple[ScalarNode, Node]],
        present: set[str],
        key: ScalarNode | None,
        loc: _Loc,
    ) -> None:
        if not isinstance(required, list):
            return
        for name in required:
            if name in present:
                continue
            where = path_text(loc)
            if name in entries:
                self.report(
                    MISSING_REQUIRED_FIELD,
                    self.span(entries[name][0]),
                    f"Required field `{name}` of `{where}` is empty (null): the API server drops null fields, "
                    f'then rejects the resource ("Required value").',
                    field=field_path(loc, name),
                )
            else:
                self.report(
                    MISSING_REQUIRED_FIELD,
                    self.anchor(node, key),
                    f'`{where}` is missing the required field `{name}`: {REJECTED} ("Required value").',
                    field=field_path(loc, name),
                )

    def _check_combinators(
        self,
        node: MappingNode,
        schema: store.Schema,
        entries: Mapping[str, tuple[ScalarNode, Node]],
        present: set[str],
        key: ScalarNode | None,
        loc: _Loc,
        depth: int,
    ) -> None:
        if depth > _MAX_COMBINATOR_DEPTH:
            return
        for branch in schema.get("allOf") or ():
            if isinstance(branch, dict):
                self._check_required(node, branch.get("required"), entries, present, key, loc)
                self._check_combinators(node, branch, entries, present, key, loc, depth + 1)
        if not _presence_only(schema, 0):
            return  # branches that constrain values (the Gateway API's addresses): not judged by presence
        one_of = [b for b in schema.get("oneOf") or () if isinstance(b, dict)]
        if one_of:
            matched = sum(1 for b in one_of if _satisfies(present, b, 0))
            if matched != 1:
                self._one_of_error(node, one_of, matched, entries, present, key, loc)
        any_of = [b for b in schema.get("anyOf") or () if isinstance(b, dict)]
        if any_of and not store.is_int_or_string(schema) and not any(_satisfies(present, b, 0) for b in any_of):
            names = _single_required(any_of)
            if len(names) == len(any_of):
                listing = ", ".join(f"`{n}`" for n in names)
                self.report(
                    MISSING_REQUIRED_FIELD,
                    self.anchor(node, key),
                    f'`{path_text(loc)}` needs at least one of {listing}: {REJECTED} ("Required value").',
                )
            else:
                self.report(
                    INVALID_TYPE,
                    self.anchor(node, key),
                    f"`{path_text(loc)}` matches none of the {len(any_of)} shapes its schema allows (anyOf): "
                    f"{REJECTED}.",
                )
        negated = schema.get("not")
        if isinstance(negated, dict) and _satisfies(present, negated, 0):
            self.report(
                INVALID_TYPE,
                self.anchor(node, key),
                f"`{path_text(loc)}` has a combination of fields its schema forbids (not): {REJECTED}.",
            )

    def _one_of_error(
        self,
        node: MappingNode,
        one_of: list[store.Schema],
        matched: int,
        entries: Mapping[str, tuple[ScalarNode, Node]],
        present: set[str],
        key: ScalarNode | None,
        loc: _Loc,
    ) -> None:
        where = path_text(loc)
        names = _single_required(one_of)
        listing = ", ".join(f"`{n}`" for n in names)
        given = sorted((n for n in names if n in present), key=lambda n: entries[n][0].start_mark.index)
        if matched > 1 and len(given) > 1:
            found = " and ".join(f"`{n}`" for n in given)
            self.report(
                INVALID_TYPE,
                self.span(entries[given[1]][0]),
                f"Only one of {listing} may be set in `{where}`, but {found} are: "
                f'{REJECTED} ("must validate one and only one schema (oneOf)").',
            )
        elif matched == 0 and names and len(names) == len(one_of):
            self.report(
                MISSING_REQUIRED_FIELD,
                self.anchor(node, key),
                f'`{where}` needs exactly one of {listing}: {REJECTED} ("Required value").',
            )
        else:
            self.report(
                INVALID_TYPE,
                self.anchor(node, key),
                f"`{where}` matches {matched} of the {len(one_of)} shapes its schema allows, where exactly one "
                f"must match (oneOf): {REJECTED}.",
            )

    def _type_error(self, node: Node, kind: str, allowed: frozenset[str], key: ScalarNode | None, loc: _Loc) -> None:
        expected = _describe_types(allowed)
        edits: list[Edit] = []
        if isinstance(node, ScalarNode):
            span = self.span(node)
            text = str(node.value)
            if is_plain(node) and kind != "string":
                got = f"the unquoted value `{text}` is read as {_ARTICLE[kind]}"
                if kind == "boolean" and text.lower() not in ("true", "false"):
                    got += " (YAML 1.1)"
                if "string" in allowed:
                    edits.append(Edit(f"Quote `{text}`", span, json.dumps(text, ensure_ascii=False)))
            else:
                got = "it is a string" + (" (quoted)" if node.style in ("'", '"') else "")
                unquoted = plain_type(text) if text and text == text.strip() else "string"
                if node.style in ("'", '"') and unquoted != "string" and _type_ok(unquoted, allowed):
                    edits.append(Edit("Remove the quotes", span, text))
            if allowed == {"array"} and node.start_mark.line == node.end_mark.line:
                edits.append(Edit("Make it a one-item list", span, f"[{self.doc.source_of(node)}]"))
        else:
            span = self.span(key) if key is not None else self.anchor(node, None)
            got = f"it is {_ARTICLE[kind]}"
        json_type = "/".join(sorted(allowed))
        self.report(
            INVALID_TYPE,
            span,
            f'`{path_text(loc)}` must be {expected}, but {got}: {REJECTED} ("must be of type {json_type}").',
            tuple(edits),
        )

    def _check_enum(self, node: ScalarNode, kind: str, enum: list[Any], loc: _Loc) -> None:
        if kind != "string" or not all(isinstance(e, str) for e in enum):
            return  # Istio's enums are all strings
        value = str(node.value)
        if value in enum:
            return
        close = close_matches(value, enum, limit=len(enum))
        ordered = close + [e for e in enum if e not in close]
        quote = node.style if node.style in ("'", '"') else ""
        span = self.span(node)
        edits = tuple(
            Edit(
                f"Change to `{e}`", span, f"{quote}{e}{quote}" if quote or plain_type(e) == "string" else json.dumps(e)
            )
            for e in ordered[:MAX_ENUM_FIXES]
        )
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        allowed = ", ".join(f"`{e}`" for e in enum)
        self.report(
            INVALID_ENUM_VALUE,
            span,
            f"`{value}` is not an allowed value of `{path_text(loc)}`{hint}; allowed: {allowed}. "
            f'The API server rejects the resource ("Unsupported value").',
            edits,
            preferred=bool(close),
        )


def _is_null(doc: YamlDocument, node: Node) -> bool:
    return isinstance(node, ScalarNode) and scalar_type(doc, node) == "null"


def _single_required(branches: list[store.Schema]) -> list[str]:
    """The field names of branches that only require one field (Istio's "one of these fields" pattern)."""
    names = []
    for branch in branches:
        required = branch.get("required")
        if set(branch) == {"required"} and isinstance(required, list) and len(required) == 1:
            names.append(str(required[0]))
    return names


_PRESENCE_KEYWORDS = frozenset({"required", "not", "anyOf", "allOf", "oneOf"})


def _presence_only(schema: store.Schema, depth: int) -> bool:
    """Whether the oneOf/anyOf/not branches of a schema only say which fields are set (Istio's pattern),
    so that `_satisfies` can judge them; branches with `properties` (the Gateway API's `type: IPAddress`
    → `value` is an IP) constrain values and are left alone."""
    if depth > _MAX_COMBINATOR_DEPTH:
        return False
    for keyword in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(keyword) or ():
            if not isinstance(branch, dict):
                continue
            if not set(branch) <= _PRESENCE_KEYWORDS or not _presence_only(branch, depth + 1):
                return False
    negated = schema.get("not")
    return not isinstance(negated, dict) or (set(negated) <= _PRESENCE_KEYWORDS and _presence_only(negated, depth + 1))


def _satisfies(present: set[str], schema: store.Schema, depth: int) -> bool:
    """Whether an object with the fields `present` set satisfies a oneOf/anyOf branch. Istio's branches
    only say which fields are set (required, not, anyOf, allOf, oneOf); other keywords are ignored."""
    if depth > _MAX_COMBINATOR_DEPTH:
        return True
    required = schema.get("required")
    if isinstance(required, list) and any(name not in present for name in required):
        return False
    negated = schema.get("not")
    if isinstance(negated, dict) and _satisfies(present, negated, depth + 1):
        return False
    branches = [b for b in schema.get("allOf") or () if isinstance(b, dict)]
    if not all(_satisfies(present, b, depth + 1) for b in branches):
        return False
    branches = [b for b in schema.get("anyOf") or () if isinstance(b, dict)]
    if branches and not any(_satisfies(present, b, depth + 1) for b in branches):
        return False
    branches = [b for b in schema.get("oneOf") or () if isinstance(b, dict)]
    return not branches or sum(1 for b in branches if _satisfies(present, b, depth + 1)) == 1
