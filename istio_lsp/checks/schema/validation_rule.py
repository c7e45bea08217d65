"""validation-rule-violated: a resource breaks a CEL validation rule of its CRD (Gateway API; Istio's where no
admission rule covers it)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.schema import cel, store
from istio_lsp.checks.schema.validate import go_int, scalar_type
from istio_lsp.findings import Finding
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode
from istio_lsp.syntax.nodes import PathSegment, entries, locate, pairs, parse_path

DOC = """\
A Gateway API resource (Gateway, HTTPRoute, GRPCRoute, TLSRoute, ListenerSet,
BackendTLSPolicy, …) breaks one of the validation rules its CustomResourceDefinition
carries: the CEL expressions under `x-kubernetes-validations` of the Gateway API CRDs
(release v1.6.1, experimental channel, which includes every rule of the standard
channel). Examples: two listeners with the same name, a listener with `protocol: TLS`
and no `tls.mode`, an `HTTPRoute` rule with both a `RequestRedirect` filter and
`backendRefs`, a `filters[].type` whose matching field is missing, a path match that is
not absolute, two parentRefs to the same Gateway without `sectionName` or `port`.

The message is the rule's own message, the text `kubectl apply` shows. The finding
points at the field the rule names (its `fieldPath`), else at the field the rule is
written on. Fields the API server fills in with defaults (`kind: Service`, the default
path match `/`) are filled in first, as the API server does before it evaluates the
rules. A rule whose outcome depends on a placeholder (`$(VAR)`, `${VAR}`, `{{ … }}`)
reports nothing, and so does a rule that cannot be evaluated (a value of the wrong type
is `invalid-type`'s). Rules that compare with the previous version of the object
(`oldSelf`) do not apply to a manifest.

Istio's own CRDs carry validation rules too. The hand-written admission rules of
istio-lsp cover most of them, with Istio's wording and quick fixes, and this rule leaves
those alone (no duplicate findings). It evaluates the Istio rules no admission rule
covers: every rule of `TrafficExtension`, a Telemetry's `selector` with `targetRef(s)`
and its `tagOverrides` (`UPSERT` needs a value, `REMOVE` takes none), and an
EnvoyFilter's `workloadSelector` with `targetRefs` or a `waypoint` match outside the
`WAYPOINT` context.

## Why it matters

The API server evaluates these rules on every create and update and rejects the
resource when one fails (`The HTTPRoute "shop" is invalid: spec.rules[0]: Invalid
value: "object": RequestRedirect filter must not be used together with backendRefs`).
Nothing is applied; GitOps tools report a failed sync.

## Wrong

```yaml
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: web
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
  - name: http
    port: 8080
    protocol: HTTP
```

## Right

```yaml
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: web
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
  - name: http-alt
    port: 8080
    protocol: HTTP
```

## Fixes

None: what to change depends on what was meant; the message says what the rule wants.

No `istioctl analyze` or Kiali code: the Kubernetes API server enforces these rules.
"""

GATEWAY_API = "gateway-api"
# Istio's CRD rules that no hand-written admission rule covers, by kind (None: every rule of the kind);
# the other Istio rules are the admission rules' (evaluating them here too would report twice)
ISTIO_RULES: dict[str, frozenset[str] | None] = {
    "TrafficExtension": None,
    "Telemetry": frozenset(
        {
            "only one of targetRefs or selector can be set",
            "value must be set when operation is UPSERT",
            "value must not be set when operation is REMOVE",
        }
    ),
    "EnvoyFilter": frozenset(
        {"only one of targetRefs or workloadSelector can be set", "only support waypointMatch when context is WAYPOINT"}
    ),
}
# a list longer than this is not evaluated: its schema's maxItems (at most 64 in these CRDs) rejects it
# first, and the pairwise rules (`all(exists_one(…))`) would cost its square
_MAX_ITEMS = 256
_RULES = "x-kubernetes-validations"


@dataclass(frozen=True)
class _Rule:
    program: cel.Program
    message: str
    field_path: str
    raw_message: str  # as the CRD writes it


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, finding in broken(ctx):
        yield finding


def broken(ctx: DocumentContext) -> Iterator[tuple[str, Finding]]:
    """(the rule's CEL text, its finding) of every rule the resource breaks."""
    group, _ = store.split_api_version(ctx.resource.api_version)
    info = store.kind_info(ctx.resource.kind, group)
    if info is None or (info.source != GATEWAY_API and info.kind not in ISTIO_RULES):
        return
    schema = store.schema_for(ctx.resource.api_version, ctx.resource.kind)
    if schema is None:
        return
    walker = _Walker(ctx, None if info.source == GATEWAY_API else ISTIO_RULES[info.kind])
    yield from walker.walk(ctx.node, schema, walker.value(ctx.node, schema), None, ())


class _Walker:
    def __init__(self, ctx: DocumentContext, only: frozenset[str] | None) -> None:
        self.ctx = ctx
        self.only = only  # the messages of the rules to evaluate (None: all)
        self.doc = ctx.doc
        self.values: dict[int, Any] = {}  # id(node) → its value (with defaults), for the rules on it

    # -- the value the API server evaluates: YAML typed as Kubernetes reads it, defaults filled in --

    def value(self, node: Node, schema: store.Schema | None) -> Any:
        result = self._value(node, schema)
        self.values[id(node)] = result
        return result

    def _value(self, node: Node, schema: store.Schema | None) -> Any:
        if isinstance(node, MappingNode):
            props = (schema or {}).get("properties") or {}
            extra = (schema or {}).get("additionalProperties")
            preserve = schema is None or bool(schema.get("x-kubernetes-preserve-unknown-fields"))
            out: dict[Any, Any] = {}
            for name, (_, child) in entries(node).items():
                sub = props.get(name) if isinstance(props.get(name), dict) else None
                if sub is None and isinstance(extra, dict):
                    sub = extra
                if sub is None and not preserve and extra is not True:
                    continue  # pruned by the API server (or rejected: unknown-field's)
                if _is_null(self.doc, child) and not (sub or {}).get("nullable"):
                    continue  # the API server drops null fields
                out[name] = self.value(child, sub)
            for name, sub in props.items():
                if name not in out and isinstance(sub, dict) and "default" in sub:
                    out[name] = _defaulted(copy.deepcopy(sub["default"]), sub)
            return out
        if isinstance(node, SequenceNode):
            items = (schema or {}).get("items")
            sub = items if isinstance(items, dict) else None
            return [self.value(child, sub) for child in node.value]
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        return cel.UNKNOWN  # pragma: no cover - composed nodes are one of the three

    def _scalar(self, node: ScalarNode) -> Any:
        text = str(node.value)
        kind = scalar_type(self.doc, node)
        if kind == "string":
            return cel.UNKNOWN if is_placeholder(text) else text
        if kind == "null":
            return None
        if kind == "boolean":
            return text.lower() in ("y", "yes", "true", "on")
        if kind == "integer":
            number = go_int(text.replace("_", ""))
            if number is not None:
                return number
            try:
                return int(float(text.replace("_", "")))
            except ValueError:
                return cel.UNKNOWN
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return cel.UNKNOWN

    # -- the rules, on every node that has some --

    def walk(
        self, node: Node, schema: store.Schema, value: Any, key: ScalarNode | None, path: tuple[PathSegment, ...]
    ) -> Iterator[tuple[str, Finding]]:
        for rule in _rules(schema):
            if self.only is not None and rule.raw_message not in self.only:
                continue
            if isinstance(value, list) and len(value) > min(_MAX_ITEMS, schema.get("maxItems", _MAX_ITEMS)):
                continue
            if rule.program.evaluate(value) is False:
                yield rule.program.rule, self._finding(rule, node, key, path)
        if not _has_rules_below(schema):
            return
        if isinstance(node, MappingNode):
            props = schema.get("properties") or {}
            extra = schema.get("additionalProperties")
            for k, child in pairs(node):
                name = str(k.value)
                if not path and name == "status":
                    continue  # the status subresource: ignored on apply
                sub = props.get(name) if isinstance(props.get(name), dict) else None
                if sub is None and isinstance(extra, dict):
                    sub = extra
                if sub is not None and id(child) in self.values:
                    yield from self.walk(child, sub, self.values[id(child)], k, (*path, name))
        elif isinstance(node, SequenceNode) and isinstance(schema.get("items"), dict):
            if len(node.value) > _MAX_ITEMS:
                return
            for i, child in enumerate(node.value):
                if id(child) in self.values:
                    yield from self.walk(child, schema["items"], self.values[id(child)], None, (*path, i))

    def _finding(self, rule: _Rule, node: Node, key: ScalarNode | None, path: tuple[PathSegment, ...]) -> Finding:
        target: Node = key if key is not None else node
        where = list(path)
        if rule.field_path:
            try:
                relative = parse_path(rule.field_path.lstrip("."))
            except ValueError:
                relative = []
            found_key, found = locate(node, relative) if relative else (None, None)
            if found is not None:
                target = found_key if found_key is not None and not isinstance(found, ScalarNode) else found
                where += relative
        if target is node and isinstance(node, MappingNode):
            target = next((k for k, _ in pairs(node)), node)  # a list item: its first line
        text = _path_text(where)
        message = (
            f"`{text}`: {rule.message}. The API server rejects the {self.ctx.resource.kind} "
            "(a validation rule of its CRD)."
        )
        return self.ctx.finding(RULE.code, RULE.severity, target, message)


def _path_text(path: list[PathSegment]) -> str:
    out = ""
    for segment in path:
        out += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if out else str(segment))
    return out or "(resource)"


def _is_null(doc: Any, node: Node) -> bool:
    return isinstance(node, ScalarNode) and scalar_type(doc, node) == "null"


def _defaulted(value: Any, schema: store.Schema) -> Any:
    """A default value with the defaults of its own fields filled in, as the API server does."""
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict):
                if name in value:
                    value[name] = _defaulted(value[name], sub)
                elif "default" in sub:
                    value[name] = _defaulted(copy.deepcopy(sub["default"]), sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_defaulted(item, schema["items"]) for item in value]
    return value


_RULE_CACHE: dict[int, tuple[store.Schema, tuple[_Rule, ...]]] = {}
_BELOW_CACHE: dict[int, tuple[store.Schema, bool]] = {}


def _rules(schema: store.Schema) -> tuple[_Rule, ...]:
    cached = _RULE_CACHE.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    found = []
    for entry in schema.get(_RULES) or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            continue
        program = cel.compile_rule(entry["rule"])
        if program is None:
            continue  # a transition rule (oldSelf)
        message = str(entry.get("message") or f"failed rule: {entry['rule']}").rstrip(".")
        found.append(_Rule(program, message, str(entry.get("fieldPath") or ""), str(entry.get("message") or "")))
    rules = tuple(found)
    _RULE_CACHE[id(schema)] = (schema, rules)  # the schemas are loaded once and kept
    return rules


def _has_rules_below(schema: store.Schema) -> bool:
    cached = _BELOW_CACHE.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    children: list[Any] = list((schema.get("properties") or {}).values())
    children += [schema.get("items"), schema.get("additionalProperties")]
    result = any(isinstance(c, dict) and (bool(c.get(_RULES)) or _has_rules_below(c)) for c in children)
    _BELOW_CACHE[id(schema)] = (schema, result)
    return result


RULE = Rule(
    code="validation-rule-violated",
    severity=Severity.ERROR,
    summary="A resource breaks a CEL validation rule of its CRD (Gateway API, and Istio's no admission rule covers): "
    "the API server rejects it.",
    doc=DOC,
    local=check,
    kinds=(),  # looked up by (group, kind): the Gateway API groups' resources, and ISTIO_RULES
)
