"""Code lenses: what a subset matches and who uses it; how a weighted route splits traffic."""

from __future__ import annotations

from lsprotocol import types

from istio_lsp.features.locate import Convert
from istio_lsp.features.references import subset_usages
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import services_for_rule, subset_workloads
from istio_lsp.model.resources import Destination, DestinationRule, RouteRule, Subset, VirtualService
from istio_lsp.syntax import Span


def code_lenses(index: WorkspaceIndex, uri: str, convert: Convert) -> list[types.CodeLens]:
    summary = index.files.get(uri)
    if summary is None:
        return []
    lenses: list[types.CodeLens] = []
    for r in index.resources_in(uri):
        if isinstance(r, DestinationRule):
            for subset in r.subsets:
                lenses.append(_lens(convert(uri, _first_line(subset.span)), subset_summary(index, r, subset)))
        elif isinstance(r, VirtualService):
            for rule in r.route_rules:
                text = split_text(route_destinations(r, rule))
                if text and rule.route_span is not None:
                    lenses.append(_lens(convert(uri, _first_line(rule.route_span)), text))
    return lenses


def _lens(rng: types.Range, title: str) -> types.CodeLens:
    # an empty command id: the lens is a label, clicking it does nothing
    return types.CodeLens(range=rng, command=types.Command(title=title, command=""))


def _first_line(span: Span) -> Span:
    return Span(span.start_line, span.start_char, span.start_line, span.start_char)


def subset_summary(index: WorkspaceIndex, rule: DestinationRule, subset: Subset) -> str:
    """`2 workloads · 3 routes`: the workloads the subset selects behind the rule's Services, and its users."""
    if services_for_rule(index, rule):
        count = len(subset_workloads(index, rule, subset.labels))
        workloads = _plural(count, "workload")
    else:
        workloads = "no Service in the workspace"
    routes = _plural(len(subset_usages(index, [rule], subset.name.value)), "route")
    return f"{workloads} · {routes}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def route_destinations(vs: VirtualService, rule: RouteRule) -> list[Destination]:
    return [
        d for d in vs.destinations if d.role == "route" and d.protocol == rule.protocol and d.rule_index == rule.index
    ]


def traffic_split(destinations: list[Destination]) -> list[tuple[Destination, float]]:
    """Each destination's share of the traffic in percent, as Istio reads weights (relative, since 1.13).

    One destination gets everything whatever its weight. With several, a destination
    without a weight gets none; when no destination has weight, nothing is split (the
    webhook rejects it) and every share is 0.
    """
    if len(destinations) == 1:
        return [(destinations[0], 100.0)]
    weights = [max(d.weight or 0, 0) for d in destinations]
    total = sum(weights)
    return [(d, (w * 100 / total) if total else 0.0) for d, w in zip(destinations, weights, strict=True)]


def split_text(destinations: list[Destination]) -> str | None:
    """`v1 90% · v2 10%` for a route with several destinations (or one with a weight that is not 100)."""
    if not destinations:
        return None
    if len(destinations) == 1 and destinations[0].weight in (None, 100):
        return None
    one_host = len({d.host.value for d in destinations}) == 1
    parts = []
    for dest, share in traffic_split(destinations):
        if one_host and dest.subset is not None:
            label = dest.subset.value
        else:
            label = dest.host.value + (f" {dest.subset.value}" if dest.subset is not None else "")
        parts.append(f"{label} {percent(share)}")
    text = " · ".join(parts)
    if len(destinations) > 1 and not any(d.weight for d in destinations):
        text += " (total weight 0)"
    return text


def percent(share: float) -> str:
    text = f"{share:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"
