"""What the route-semantics checks share: route lists, destinations and weights, and match coverage.

This module defines no rule. It reads a VirtualService the way Envoy receives it:
routes are tried in order and the first route with a matching `match` wins; weights
are relative shares; a match is *covered* by an earlier one when every request it
accepts is accepted by the earlier one first.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.fields import absent, present, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode
from istio_lsp.syntax.nodes import get, items, pairs, scalar

SECTIONS = ("http", "tcp", "tls")
SECTION_TITLES = {"http": "HTTP", "tcp": "TCP", "tls": "TLS"}

# ---- routes --------------------------------------------------------------------


@dataclass
class RouteRef:
    """One entry of `spec.http`, `spec.tcp` or `spec.tls`."""

    section: str
    index: int
    node: MappingNode

    @property
    def path(self) -> str:
        return f"spec.{self.section}[{self.index}]"

    @property
    def label(self) -> str:
        """`HTTP route "name"` or `TCP route #1`, as Istio names routes (0-based)."""
        name = scalar(get(self.node, "name")) if self.section == "http" else None
        title = SECTION_TITLES[self.section]
        return f'{title} route "{name}"' if name else f"{title} route #{self.index}"


def routes(ctx: DocumentContext, sections: tuple[str, ...] = SECTIONS, *, distinct: bool = True) -> Iterator[RouteRef]:
    """The mapping entries of the route lists; null or malformed entries are skipped, as Istio skips them.

    `distinct`: a route node repeated through YAML aliases is yielded once per list (its first
    place): the repeats have the same text, so a finding on them would only repeat itself.
    """
    for section in sections:
        seen: set[int] = set()
        for index, node in enumerate(ctx.list_at(f"spec.{section}")):
            if isinstance(node, MappingNode) and (not distinct or id(node) not in seen):
                seen.add(id(node))
                yield RouteRef(section, index, node)


# ---- destinations and weights --------------------------------------------------


@dataclass
class Destination:
    index: int
    node: MappingNode  # the route entry (`- destination: … weight: …`)
    host: str | None
    subset: str | None
    port: int | None
    weight_node: ScalarNode | None
    weight: int | None  # None when absent

    @property
    def label(self) -> str:
        text = f"`{self.host}`" if self.host else f"destination #{self.index}"
        if self.subset:
            text += f" subset `{self.subset}`"
        if self.port is not None:
            text += f" port {self.port}"
        return text


def destinations(route: Node) -> list[Destination] | None:
    """The route's destinations, or None when the list has a shape or weight the schema checks report
    (a non-mapping entry, a weight that is not a non-negative integer): the semantics are then unknown.

    Read once per route node (several rules ask; the tree never changes): do not change the list."""
    memo = route.__dict__
    if "_istio_lsp_destinations" not in memo:
        memo["_istio_lsp_destinations"] = _destinations(route)
    found: list[Destination] | None = memo["_istio_lsp_destinations"]
    return found


def _destinations(route: Node) -> list[Destination] | None:
    entries = items(get(route, "route"))
    out: list[Destination] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, MappingNode):
            return None
        destination = get(entry, "destination")
        weight_node = get(entry, "weight")
        weight: int | None = None
        if present(weight_node):
            if not isinstance(weight_node, ScalarNode):
                return None
            weight = as_int(scalar(weight_node))
            if weight is None or weight < 0:
                return None
        port_text = scalar(get(get(destination, "port"), "number"))
        out.append(
            Destination(
                index=index,
                node=entry,
                host=scalar(get(destination, "host")),
                subset=scalar(get(destination, "subset")),
                port=as_int(port_text) if port_text is not None else None,
                weight_node=weight_node if weight is not None and isinstance(weight_node, ScalarNode) else None,
                weight=weight,
            )
        )
    return out


def percent(share: Fraction) -> str:
    """A share as a percentage with one decimal: `88.9%`."""
    return f"{float(share * 100):.1f}%"


def normalised(weights: list[int]) -> list[int]:
    """Weights scaled to add up to exactly 100 with largest-remainder rounding (ties: the earlier entry)."""
    total = sum(weights)
    quotas = [Fraction(100 * w, total) for w in weights]
    floors = [int(q) for q in quotas]
    remaining = 100 - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in by_remainder[:remaining]:
        floors[i] += 1
    return floors


# ---- matches -------------------------------------------------------------------

# fields of an HTTP match that select nothing: they never make two matches differ in what they accept
_NAMES = frozenset({"name", "statPrefix"})
_STRING_FIELDS = ("uri", "scheme", "method", "authority")
_KNOWN = frozenset(
    {
        *_STRING_FIELDS,
        "headers",
        "queryParams",
        "withoutHeaders",
        "port",
        "sourceLabels",
        "gateways",
        "sourceNamespace",
        "ignoreUriCase",
    }
)
_MAX_CANON = 200  # longer canonical texts are replaced by a digest
_SHAPES: dict[str, type] = {
    "uri": MappingNode,
    "scheme": MappingNode,
    "method": MappingNode,
    "authority": MappingNode,
    "headers": MappingNode,
    "queryParams": MappingNode,
    "withoutHeaders": MappingNode,
    "sourceLabels": MappingNode,
    "gateways": SequenceNode,
    "port": ScalarNode,
    "sourceNamespace": ScalarNode,
    "ignoreUriCase": ScalarNode,
}


class Canon:
    """Canonical texts of nodes: equal for equal YAML values (key order, quoting and null fields
    ignored), like the JSON Istio compares. Memoised by node for one analysis.

    Shared (aliased) nodes are read once and long parts are replaced by their digest, so an
    alias bomb costs no more than its distinct nodes; a recursive alias reads as `<cycle>`.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[int, frozenset[str]], str] = {}

    def __call__(self, node: Node | None, skip: frozenset[str] = frozenset()) -> str:
        return self._text(node, skip, set())

    def _text(self, node: Node | None, skip: frozenset[str], active: set[int]) -> str:
        if absent(node):
            return "null"
        if not isinstance(node, (MappingNode, SequenceNode)):
            return repr(scalar(node))
        key = (id(node), skip)
        known = self._memo.get(key)
        if known is not None:
            return known
        if id(node) in active:
            return "<cycle>"
        active.add(id(node))
        if isinstance(node, MappingNode):
            parts = {}
            for k, value in pairs(node):
                name = str(k.value)
                if name not in skip and present(value):
                    parts[name] = self._text(value, frozenset(), active)
            text = "{" + ",".join(f"{k!r}:{v}" for k, v in sorted(parts.items())) + "}"
        else:
            text = "[" + ",".join(self._text(item, frozenset(), active) for item in node.value) + "]"
        active.discard(id(node))
        if len(text) > _MAX_CANON:
            text = "#" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        self._memo[key] = text
        return text


def canonical(node: Node | None, *, skip: frozenset[str] = frozenset()) -> str:
    return Canon()(node, skip)


@dataclass(frozen=True)
class StringCond:
    """A StringMatch: exact/prefix/regex; `present` for `{}` (the field exists); `other` for shapes we do not read."""

    kind: str
    value: str

    def describe(self) -> str:
        if self.kind in ("exact", "prefix", "regex"):
            return f"{self.kind} `{self.value}`"
        return "present" if self.kind == "present" else self.value


def string_cond(node: Node | None, canon: Canon | None = None) -> StringCond | None:
    if absent(node):
        return None
    if isinstance(node, MappingNode):
        entries = [(str(k.value), v) for k, v in pairs(node) if present(v)]
        if not entries:
            return StringCond("present", "")
        if len(entries) == 1:
            kind, value = entries[0]
            text = scalar(value)
            if kind in ("exact", "prefix", "regex") and isinstance(value, ScalarNode) and text is not None:
                return StringCond(kind, text)
    return StringCond("other", (canon or Canon())(node))


def string_covers(earlier: StringCond | None, later: StringCond | None, *, fold: bool = False) -> bool:
    """Whether every value `later` accepts is accepted by `earlier` (absent accepts everything)."""
    if earlier is None:
        return True
    if later is None:
        return False
    if earlier.kind == "other" or later.kind == "other":
        return earlier == later
    if earlier.kind == "present":
        return True
    if later.kind == "present":
        return False
    if earlier.kind == "regex" or later.kind == "regex":
        return earlier == later
    mine, theirs = (earlier.value.lower(), later.value.lower()) if fold else (earlier.value, later.value)
    if earlier.kind == "exact":
        return later.kind == "exact" and mine == theirs
    return theirs.startswith(mine)  # earlier prefix: covers exact and prefix values that start with it


def _cond_map(node: Node | None, canon: Canon, *, lower: bool) -> dict[str, StringCond]:
    out: dict[str, StringCond] = {}
    for key, value in pairs(node):
        name = str(key.value).lower() if lower else str(key.value)
        out[name] = string_cond(value, canon) or StringCond("other", "null")
    return out


@dataclass
class HttpMatch:
    """An HTTP match request, read for coverage."""

    strings: dict[str, StringCond | None]
    headers: dict[str, StringCond]
    query: dict[str, StringCond]
    without: dict[str, StringCond]
    port: str | None
    source_labels: dict[str, str]
    gateways: frozenset[str] | None
    source_namespace: str | None
    ignore_case: bool
    other: dict[str, str] = field(default_factory=dict)

    @property
    def universal(self) -> bool:
        """No condition at all: the match accepts every request."""
        return (
            all(v is None for v in self.strings.values())
            and not (self.headers or self.query or self.without or self.source_labels or self.other)
            and self.port is None
            and self.gateways is None
            and self.source_namespace is None
        )


def http_match(node: Node, canon: Canon | None = None) -> HttpMatch:
    canon = canon or Canon()
    other = {
        str(k.value): canon(v)
        for k, v in pairs(node)
        if str(k.value) not in _KNOWN and str(k.value) not in _NAMES and present(v)
    }
    if not isinstance(node, MappingNode):
        other["<shape>"] = canon(node)
    # a known field of the wrong shape (a schema error) is kept as an opaque condition: never
    # read as absent, which would make the match look broader than it is
    for name, shape in _SHAPES.items():
        value = get(node, name)
        if present(value) and not isinstance(value, shape):
            other[name] = canon(value)
    labels = {str(k.value): scalar(v) or "" for k, v in pairs(get(node, "sourceLabels"))}
    gateways_node = get(node, "gateways")
    gateways = None if absent(gateways_node) else frozenset(scalar(g) or "" for g in items(gateways_node))
    port = get(node, "port")
    return HttpMatch(
        strings={name: string_cond(get(node, name), canon) for name in _STRING_FIELDS},
        headers=_cond_map(get(node, "headers"), canon, lower=True),
        query=_cond_map(get(node, "queryParams"), canon, lower=False),
        without=_cond_map(get(node, "withoutHeaders"), canon, lower=True),
        port=None if absent(port) else canon(port),
        source_labels=labels,
        gateways=gateways,
        source_namespace=scalar(get(node, "sourceNamespace")),
        ignore_case=text_or_empty(node, "ignoreUriCase").lower() == "true",
        other=other,
    )


def http_covers(earlier: HttpMatch, later: HttpMatch) -> bool:
    """Whether every request `later` accepts is accepted by `earlier`.

    Conservative: a condition we cannot compare makes the answer False, so a match is
    only reported as covered when it certainly is.
    """
    if any(later.other.get(k) != v for k, v in earlier.other.items()):
        return False
    if earlier.port is not None and earlier.port != later.port:
        return False
    if earlier.source_namespace is not None and earlier.source_namespace != later.source_namespace:
        return False
    if any(later.source_labels.get(k) != v for k, v in earlier.source_labels.items()):
        return False
    if earlier.gateways is not None and (later.gateways is None or not later.gateways <= earlier.gateways):
        return False
    uri_e, uri_l = earlier.strings["uri"], later.strings["uri"]
    if later.ignore_case and not earlier.ignore_case and uri_l is not None and uri_l.kind in ("exact", "prefix"):
        return False  # the later match also accepts other spellings that the earlier one does not
    if not string_covers(uri_e, uri_l, fold=earlier.ignore_case):
        return False
    for name in ("scheme", "method", "authority"):
        if not string_covers(earlier.strings[name], later.strings[name]):
            return False
    for mine, theirs in ((earlier.headers, later.headers), (earlier.query, later.query)):
        for key, cond in mine.items():
            if key not in theirs or not string_covers(cond, theirs[key]):
                return False
    # withoutHeaders accept what their StringMatch rejects: the later one must reject at least as much
    for key, cond in earlier.without.items():
        if key not in later.without or not string_covers(later.without[key], cond):
            return False
    return True


@dataclass
class Unreachable:
    route: RouteRef
    reason: str


@dataclass
class Ineffective:
    route: RouteRef
    match_index: int
    node: Node
    message: str


@dataclass
class _Seen:
    route: RouteRef
    match_index: int
    node: Node
    match: HttpMatch | None
    order: int


def match_name(route: RouteRef, index: int, node: Node) -> str:
    """`match "name"` or `match #1`, as Istio names matches (0-based; only HTTP matches have names)."""
    name = scalar(get(node, "name")) if route.section == "http" else None
    return f'match "{name}"' if name else f"match #{index}"


def _where(seen: _Seen, here: RouteRef) -> str:
    owner = "the same route" if seen.route is here else seen.route.label
    return f"{match_name(seen.route, seen.match_index, seen.node)} of {owner}"


# comparisons of later matches against earlier ones, per route list: keeps a huge generated
# VirtualService from costing seconds on every keystroke (exact duplicates are still found)
COVERAGE_BUDGET = 20_000


class _UriIndex:
    """Earlier HTTP matches by the URI condition with which they could cover a later URI."""

    def __init__(self) -> None:
        self.unconditional: list[_Seen] = []  # no uri, `{}` or a shape we do not read
        self.exact: dict[str, list[_Seen]] = {}
        self.prefix: dict[str, list[_Seen]] = {}
        self.regex: dict[str, list[_Seen]] = {}

    def add(self, seen: _Seen) -> None:
        uri = seen.match.strings["uri"] if seen.match is not None else None
        if uri is None or uri.kind in ("present", "other"):
            self.unconditional.append(seen)
        elif uri.kind == "regex":
            self.regex.setdefault(uri.value, []).append(seen)
        else:
            bucket = self.exact if uri.kind == "exact" else self.prefix
            bucket.setdefault(uri.value.lower(), []).append(seen)

    def candidates(self, match: HttpMatch) -> Iterator[_Seen]:
        """Earlier matches that might cover `match`, earliest first (lazily: the caller stops early)."""
        uri = match.strings["uri"]
        buckets = [self.unconditional]
        if uri is not None and uri.kind == "regex":
            buckets.append(self.regex.get(uri.value, []))
        elif uri is not None and uri.kind in ("exact", "prefix"):
            value = uri.value.lower()
            if uri.kind == "exact":
                buckets.append(self.exact.get(value, []))
            buckets += [self.prefix[value[:end]] for end in range(len(value), 0, -1) if value[:end] in self.prefix]
        return heapq.merge(*(b for b in buckets if b), key=lambda s: s.order)


def _why(earlier: HttpMatch, later: HttpMatch) -> str:
    uri_e, uri_l = earlier.strings["uri"], later.strings["uri"]
    if uri_e is None:
        return "it has no uri condition, and every other condition it sets is met too"
    if uri_l is not None and uri_e != uri_l:
        return f"its uri {uri_e.describe()} also accepts uri {uri_l.describe()}, and its other conditions are met too"
    return "its conditions are the same or broader"


def analyze(ctx: DocumentContext) -> tuple[list[Unreachable], list[Ineffective]]:
    """Routes that never receive traffic and matches that never apply, per route list, in order.

    Identical matches are found for HTTP, TCP and TLS (as Istio does, HTTP match names
    ignored); HTTP matches are also checked for coverage by broader earlier matches. A node
    repeated through YAML aliases is reported once: the repeats share its text.
    Computed once per resource: two rules read it.
    """
    found: tuple[list[Unreachable], list[Ineffective]] | None = ctx.memo.get("route_analysis")
    if found is None:
        found = ctx.memo["route_analysis"] = _analyze(ctx)
    return found


def _analyze(ctx: DocumentContext) -> tuple[list[Unreachable], list[Ineffective]]:
    unreachable: list[Unreachable] = []
    ineffective: list[Ineffective] = []
    canon = Canon()
    for section in SECTIONS:
        analysis = _ListAnalysis(section, canon)
        for route in routes(ctx, (section,), distinct=False):
            analysis.route(route)
        unreachable += analysis.unreachable
        ineffective += analysis.ineffective
    return unreachable, ineffective


class _ListAnalysis:
    """One route list (`http`, `tcp` or `tls`), route after route."""

    def __init__(self, section: str, canon: Canon) -> None:
        self.section = section
        self.canon = canon
        self.skip = frozenset({"name"}) if section == "http" else frozenset()
        self.catch_all: str | None = None
        self.seen_keys: dict[str, _Seen] = {}
        self.index = _UriIndex()
        self.budget = COVERAGE_BUDGET
        self.order = 0
        self.routes_seen: dict[int, RouteRef] = {}
        self.reported_routes: set[int] = set()
        self.reported_matches: set[int] = set()
        self.unreachable: list[Unreachable] = []
        self.ineffective: list[Ineffective] = []

    def dead_route(self, route: RouteRef, reason: str) -> None:
        if id(route.node) not in self.reported_routes:
            self.reported_routes.add(id(route.node))
            self.unreachable.append(Unreachable(route, reason))

    def dead_match(self, route: RouteRef, match_index: int, node: Node, why: str) -> None:
        if id(node) not in self.reported_matches:
            self.reported_matches.add(id(node))
            name = match_name(route, match_index, node)
            own = f"{name[0].upper()}{name[1:]} of {route.label}"
            self.ineffective.append(Ineffective(route, match_index, node, f"{own} never applies: {why}"))

    def route(self, route: RouteRef) -> None:
        if self.catch_all is not None:
            self.dead_route(route, self.catch_all)
            return
        match_node = get(route.node, "match")
        if present(match_node) and not isinstance(match_node, SequenceNode):
            return  # a schema error; what the route matches is unknown
        first = self.routes_seen.setdefault(id(route.node), route)
        if first is not route:  # the same node again (a YAML alias): every match of it was seen
            self.dead_route(route, f"it repeats {first.label} (a YAML alias), which comes first")
            return
        matches = items(match_node)
        if not matches:
            self.catch_all = f"{route.label} before it has no `match`, so it takes every request first"
            return
        covered = sum(self.match(route, match_index, node) for match_index, node in enumerate(matches))
        if covered == len(matches):
            self.dead_route(route, "each of its matches is already taken by an earlier match")

    def match(self, route: RouteRef, match_index: int, node: Node) -> bool:
        """Whether an earlier match takes every request of this one (reported if so); else records it."""
        key = self.canon(node, self.skip)
        twin = self.seen_keys.get(key)
        if twin is not None:
            self.dead_match(
                route,
                match_index,
                node,
                f"it is the same as {_where(twin, route)}, which comes first and takes all of its requests.",
            )
            return True
        parsed = http_match(node, self.canon) if self.section == "http" else None
        if parsed is not None and self.budget > 0:
            for candidate in self.index.candidates(parsed):
                if self.budget <= 0:
                    break
                self.budget -= 1
                if candidate.match is not None and http_covers(candidate.match, parsed):
                    self.dead_match(
                        route,
                        match_index,
                        node,
                        f"{_where(candidate, route)} comes first and takes every request it would "
                        f"({_why(candidate.match, parsed)}). Put the more specific match first, or remove this one.",
                    )
                    return True
        entry = _Seen(route, match_index, node, parsed, self.order)
        self.order += 1
        self.seen_keys[key] = entry
        if parsed is not None:
            self.index.add(entry)
        empty = parsed.universal if parsed is not None else self.canon(node) == "{}"
        if empty:
            self.catch_all = (
                f"{match_name(route, match_index, node)} of {route.label} before it has no condition, "
                "so it takes every request first"
            )
        return False
