"""Rename a DestinationRule subset or a Gateway, with every reference to it, in one edit.

- A subset (from its `name` in the DestinationRule, or from a route's `subset`):
  the subset's name in the DestinationRules that define it for the route, and every
  route and mirror destination that uses it.
- A Gateway (from its `metadata.name`, or from a VirtualService `gateways` entry):
  the Gateway's name and every `gateways` / `match[].gateways` entry bound to it.
  Only the name part of an entry changes, so `ns/name` keeps its `ns/` prefix and
  the old `name.ns.svc.cluster.local` form its suffix; quotes stay as written.
- A Gateway API Gateway or ListenerSet (from its `metadata.name`, or from a route's
  `parentRefs[].name`): its name and every parentRef naming it. Istio's `networking.istio.io`
  Gateway of the same name, and the VirtualService `gateways` entries naming it, are left alone.
- A Gateway API listener (from its `name`, or from a parentRef's `sectionName`): its name and
  every `sectionName` that selects it.

Anything else cannot be renamed: `prepare_rename` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from istio_lsp.checks.admission.common import dns1123_label_problem
from istio_lsp.features import gateway_api
from istio_lsp.features.locate import (
    DESTINATION_SUBSET,
    GATEWAY_REF,
    RESOURCE_NAME,
    SUBSET_NAME,
    Convert,
    Site,
    UriOf,
    locate,
    same_uri,
)
from istio_lsp.features.references import Subject, gateway_subject, subset_subject
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import route_rules
from istio_lsp.model.hosts import gateway_key
from istio_lsp.model.resources import DestinationRule, Gateway, GatewayListener, Resource, VirtualService
from istio_lsp.syntax import Span, utf16_len


class RenameError(ValueError):
    """A rename that cannot be done; the message says why, for the user."""


@dataclass
class RenameTarget:
    kind: str  # "subset", "gateway" (Istio's), "gateway-api" (a Gateway API Gateway or ListenerSet) or "listener"
    name: str  # the current name
    span: Span  # the name's text at the position
    rules: list[DestinationRule]  # subsets: the DestinationRules that define it
    namespace: str = ""  # gateways: the Gateway's namespace
    owner: gateway_api.Owner | None = None  # gateway-api and listener: the Gateway or ListenerSet
    listener: GatewayListener | None = None  # listener: the listener


def rename_target(index: WorkspaceIndex, uri: str, line: int, character: int) -> RenameTarget | None:
    """What a rename at a position would rename, or None when nothing there can be renamed."""
    located = locate(index, uri, line, character)
    if located is None:
        return None
    r = located.resource
    owner = gateway_api.owner_of(index, located)
    if owner is not None:
        return _gateway_api_target(located.span, located.ref.value if located.ref else r.name, *owner)
    if located.what == SUBSET_NAME and isinstance(r, DestinationRule) and located.ref is not None:
        return _subset_target(located.ref.value, located.span, [r])
    if located.what == DESTINATION_SUBSET and isinstance(r, VirtualService) and located.ref is not None:
        assert located.destination is not None
        name = located.ref.value
        rules = [
            rule
            for rule in route_rules(index, r, located.destination.host.value)
            if any(s.name.value == name for s in rule.subsets)
        ]
        return _subset_target(name, located.span, rules) if rules else None
    if located.what == RESOURCE_NAME and isinstance(r, Gateway) and r.name:
        span = _part(located.span, r.name, 0, len(r.name))
        return RenameTarget("gateway", r.name, span, [], r.namespace) if span else None
    if located.what == GATEWAY_REF and located.ref is not None and isinstance(r, VirtualService):
        namespace, name = gateway_key(located.ref.value, r.namespace)
        if located.ref.value.strip() == "mesh" or not index.gateway(namespace, name):
            return None
        span = _gateway_ref_part(located.ref.value, located.span, name)
        return RenameTarget("gateway", name, span, [], namespace) if span else None
    return None


def _gateway_api_target(
    span: Span, written: str, owner: gateway_api.Owner, listener: GatewayListener | None
) -> RenameTarget | None:
    name = owner.name if listener is None else listener.name
    if not name or written != name:
        return None
    part = _part(span, name, 0, len(name))
    if part is None:
        return None
    kind = "gateway-api" if listener is None else "listener"
    return RenameTarget(kind, name, part, [], owner.namespace, owner, listener)


def _subset_target(name: str, span: Span, rules: list[DestinationRule]) -> RenameTarget | None:
    part = _part(span, name, 0, len(name))
    return RenameTarget("subset", name, part, rules) if part else None


def prepare_rename(
    index: WorkspaceIndex, uri: str, line: int, character: int, convert: Convert
) -> types.PrepareRenamePlaceholder | None:
    target = rename_target(index, uri, line, character)
    if target is None:
        return None
    return types.PrepareRenamePlaceholder(range=convert(uri, target.span), placeholder=target.name)


def rename_edits(
    index: WorkspaceIndex, uri: str, line: int, character: int, new_name: str
) -> dict[str, list[tuple[Span, str]]] | None:
    """uri → (span, new text) edits; None when nothing at the position can be renamed.

    Raises RenameError when the new name is not valid or is taken.
    """
    target = rename_target(index, uri, line, character)
    if target is None:
        return None
    new_name = new_name.strip()
    if new_name == target.name:
        return {}
    if target.kind == "subset":
        _check_name(new_name, "subset name")
        taken = [rule.display for rule in target.rules if any(s.name.value == new_name for s in rule.subsets)]
        if taken:
            raise RenameError(f"{', '.join(taken)} already defines a subset `{new_name}`.")
        subject = subset_subject(index, target.rules, target.name)
    elif target.owner is not None:
        subject = _gateway_api_subject(index, target, new_name)
    else:
        _check_name(new_name, "Gateway name")
        if index.gateway(target.namespace, new_name):
            raise RenameError(f"A Gateway `{target.namespace}/{new_name}` already exists.")
        subject = gateway_subject(index, target.namespace, target.name)
    return _edits(subject, target, new_name)


def _gateway_api_subject(index: WorkspaceIndex, target: RenameTarget, new_name: str) -> Subject:
    owner = target.owner
    assert owner is not None
    if target.listener is None:
        _check_name(new_name, f"{owner.kind} name")
        if any(type(r) is type(owner) for r in _named_in(index, new_name, owner.namespace)):
            raise RenameError(f"A {owner.kind} `{owner.namespace}/{new_name}` already exists.")
    else:
        for label in new_name.split("."):
            _check_name(label, "Listener name")
        if any(listener.name == new_name for listener in owner.listeners):
            raise RenameError(f"{owner.display} already has a listener `{new_name}`.")
    found = gateway_api.uses(index, owner, target.listener)
    return Subject(found.declarations, found.references)


def _named_in(index: WorkspaceIndex, name: str, namespace: str) -> list[Resource]:
    return [r for r in index.named(name) if r.namespace == namespace]


def rename(
    index: WorkspaceIndex,
    uri: str,
    line: int,
    character: int,
    new_name: str,
    convert: Convert,
    uri_of: UriOf = same_uri,
) -> types.WorkspaceEdit | None:
    edits = rename_edits(index, uri, line, character, new_name)
    if edits is None:
        return None
    changes = {
        uri_of(file): [types.TextEdit(range=convert(file, span), new_text=text) for span, text in spans]
        for file, spans in edits.items()
    }
    return types.WorkspaceEdit(changes=changes)


def _check_name(name: str, what: str) -> None:
    problem = dns1123_label_problem(name, what)
    if problem is not None:
        raise RenameError(problem[0].upper() + problem[1:] + ".")


def _edits(subject: Subject, target: RenameTarget, new_name: str) -> dict[str, list[tuple[Span, str]]]:
    out: dict[str, list[tuple[Span, str]]] = {}
    seen: set[tuple[str, Span]] = set()
    for site in [*subject.declarations, *subject.references]:
        edit = _site_edit(site, target, new_name)
        if edit is None or (site.uri, edit[0]) in seen:
            continue
        seen.add((site.uri, edit[0]))
        out.setdefault(site.uri, []).append(edit)
    for edits in out.values():
        edits.sort()
    return out


def _site_edit(site: Site, target: RenameTarget, new_name: str) -> tuple[Span, str] | None:
    """The edit that renames the name at one site: only the name's characters when they can be found."""
    ref = site.ref
    if ref is None:  # a Gateway's metadata.name
        part = _part(site.span, target.name, 0, len(target.name))
        return (part, new_name) if part else (site.span, new_name)
    if target.kind == "gateway" and isinstance(site.resource, VirtualService):
        part = _gateway_ref_part(ref.value, site.span, target.name)
        if part is not None:
            return part, new_name
        namespace, _ = gateway_key(ref.value, site.resource.namespace)
        written = new_name if namespace == site.resource.namespace else f"{namespace}/{new_name}"
        return site.span, f"{ref.quote}{written}{ref.quote}"
    part = _part(site.span, ref.value, 0, len(ref.value))
    return (part, new_name) if part else (site.span, f"{ref.quote}{new_name}{ref.quote}")


def _gateway_ref_part(value: str, span: Span, name: str) -> Span | None:
    """Where the Gateway's name is inside a `gateways` entry: `name`, `ns/name` or `name.ns.svc…`."""
    stripped = value.strip()
    lead = len(value) - len(value.lstrip())
    start = lead + stripped.index("/") + 1 if "/" in stripped else lead
    if value[start : start + len(name)] != name:
        return None
    return _part(span, value, start, len(name))


def _part(span: Span, value: str, start: int, length: int) -> Span | None:
    """The span of `value[start:start+length]` inside a one-line scalar written plain or quoted."""
    if span.start_line != span.end_line:
        return None
    width = span.end_char - span.start_char
    total = utf16_len(value)
    if width == total:
        base = span.start_char
    elif width == total + 2:
        base = span.start_char + 1  # the opening quote
    else:
        return None  # escapes or folding: the characters cannot be mapped
    first = base + utf16_len(value[:start])
    return Span(span.start_line, first, span.end_line, first + utf16_len(value[start : start + length]))
