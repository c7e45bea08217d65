"""What the EnvoyFilter checks share: what an operation does for each `applyTo`, which EnvoyFilters
are applied in an order left to their creation time, and the fix that sets a `priority`.

istiod applies the EnvoyFilters of a proxy sorted by `priority`; at equal priority those of the
root namespace come first, then the older before the newer (then by name). Patches of one
EnvoyFilter run in list order. So the order two EnvoyFilters run in is left to creation time only
when they are in the same namespace, have the same priority, and may apply to the same proxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from istio_lsp.checks.base import Fix, TextEdit
from istio_lsp.checks.together import same_object, together
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import EnvoyFilter, EnvoyPatch, Ref, Resource
from istio_lsp.syntax import Span

INSERTS = ("INSERT_BEFORE", "INSERT_AFTER")
# the applyTo values istiod applies REPLACE to (pilot/pkg/networking/core/envoyfilter)
REPLACEABLE = ("HTTP_FILTER", "NETWORK_FILTER", "LISTENER_FILTER", "VIRTUAL_HOST")
# istiod applies only MERGE to a route configuration; routes are patched one by one with HTTP_ROUTE
ROUTE_LEVEL = ("ROUTE_CONFIGURATION", "HTTP_ROUTE")


def operation(patch: EnvoyPatch) -> str | None:
    return patch.operation.value if patch.operation is not None else None


def is_envoy_filter(resource: Resource) -> TypeGuard[EnvoyFilter]:
    return isinstance(resource, EnvoyFilter)


def is_relative(patch: EnvoyPatch) -> bool:
    """The patch acts relative to an object already in the configuration (inserts next to it, replaces
    or removes it), so what it does depends on what the patches before it left. REPLACE and REMOVE
    where istiod ignores them are the other checks' findings, not relative patches."""
    op = operation(patch)
    if patch.apply_to is None or op is None:
        return False  # rejected by the API server
    if op in INSERTS:
        return True
    if op == "REPLACE":
        return patch.apply_to in REPLACEABLE
    return op == "REMOVE" and patch.apply_to not in ROUTE_LEVEL


def at(patch: EnvoyPatch) -> Span:
    """Where a finding about a patch starts: its `operation` value, else the patch item."""
    return patch.operation.span if patch.operation is not None else patch.span


def label(patch: EnvoyPatch) -> str:
    """`configPatches[1]` (INSERT_AFTER `envoy.filters.http.router`), for messages."""
    op = operation(patch) or "?"
    target = f" `{patch.anchor}`" if patch.anchor else ""
    return f"configPatches[{patch.index}] ({op}{target})"


def where(resource: Resource) -> str:
    return "its namespace" if resource.namespace == ANY_NAMESPACE else f"namespace `{resource.namespace}`"


@dataclass(frozen=True)
class Neighbour:
    other: EnvoyFilter
    how: str  # how the workspace shows the two are deployed together (see checks/together.py)


def neighbours(index: WorkspaceIndex, ef: EnvoyFilter) -> list[Neighbour]:
    """The other EnvoyFilters certainly in the namespace of `ef` and deployed with it."""
    found: list[Neighbour] = []
    for other in index.in_namespace(ef.namespace):  # exactly that namespace (ANY_NAMESPACE: unknown ones)
        if (
            is_envoy_filter(other)
            and not same_object(ef, other)
            and all(other is not n.other for n in found)
            and (how := together(index, ef, other)) is not None
        ):
            found.append(Neighbour(other, how))
    return found


def may_share_proxies(a: EnvoyFilter, b: EnvoyFilter) -> bool:
    """Whether two EnvoyFilters of one namespace may apply to the same proxy: not when their selectors
    want different values of one label. Without a selector an EnvoyFilter applies to the whole
    namespace; `targetRefs` (a Gateway, a waypoint) are not compared."""
    if a.targeted or b.targeted or not a.selector or not b.selector:
        return True
    theirs = b.selector
    return not any(
        key in theirs and theirs[key] != value and not is_placeholder(value) and not is_placeholder(theirs[key])
        for key, value in a.selector.items()
    )


def unordered_with(index: WorkspaceIndex, ef: EnvoyFilter) -> list[Neighbour]:
    """The EnvoyFilters istiod may apply before or after `ef` depending on creation time: deployed with
    it in its namespace, with the same priority, for some of the same proxies."""
    return [n for n in neighbours(index, ef) if n.other.priority == ef.priority and may_share_proxies(ef, n.other)]


@dataclass(frozen=True)
class Partner:
    """A patch restricted to some proxy versions, about the same object as a relative patch."""

    owner: EnvoyFilter
    patch: EnvoyPatch
    version: Ref  # its `match.proxy.proxyVersion`
    how: str | None  # None: in the same EnvoyFilter; else how the two EnvoyFilters are deployed together


def version_partners(index: WorkspaceIndex, ef: EnvoyFilter, patch: EnvoyPatch) -> list[Partner]:
    """The patches (of `ef`, or of an EnvoyFilter deployed with it in its namespace) that are about the
    same object as `patch` but apply only to proxies of versions `patch` does not restrict itself to."""
    if not patch.subject:
        return []
    mine = patch.proxy_version.value if patch.proxy_version is not None else None
    candidates: list[tuple[EnvoyFilter, EnvoyPatch, str | None]] = [(ef, p, None) for p in ef.patches]
    candidates += [(n.other, p, n.how) for n in neighbours(index, ef) for p in n.other.patches]
    return [
        Partner(owner, other, version, how)
        for owner, other, how in candidates
        if other is not patch
        and (version := other.proxy_version) is not None
        and version.value != mine
        and other.subject == patch.subject
    ]


def priority_fix(index: WorkspaceIndex, ef: EnvoyFilter) -> Fix | None:
    """Set `spec.priority` so that `ef` is applied after the EnvoyFilters of priority 0 of its namespace and
    still before those the workspace gives a positive priority (10, else a value below the lowest of them)."""
    known = [n.other.priority for n in neighbours(index, ef) if n.other.priority is not None]
    lowest = min((p for p in known if p > 0), default=None)
    if lowest is None or lowest > 10:
        value = 10
    elif lowest > 1:
        value = lowest // 2
    else:
        return None  # no integer between 0 and 1
    if ef.priority_span is not None:
        edit = TextEdit(ef.uri, ef.priority_span, str(value))
    elif ef.spec_first_key is not None:
        line, column = ef.spec_first_key
        edit = TextEdit(ef.uri, Span(line, column, line, column), f"priority: {value}\n{' ' * column}")
    else:
        return None
    title = f"Set `priority: {value}` (applied after the EnvoyFilters of priority 0)"
    return Fix(title, (edit,), preferred=True, safe=False)
