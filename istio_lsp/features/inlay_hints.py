"""Inlay hints: after a short host name, the FQDN Istio reads it as in the resource's namespace."""

from __future__ import annotations

from collections.abc import Iterator

from lsprotocol import types

from istio_lsp.features.locate import Convert
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import host_candidates, is_ip
from istio_lsp.model.resources import DestinationRule, Ref, Resource, VirtualService
from istio_lsp.syntax import Span


def inlay_hints(index: WorkspaceIndex, uri: str, within: Span, convert: Convert) -> list[types.InlayHint]:
    """Hints for the short hosts of a file whose end lies within a range (lines of `within`)."""
    summary = index.files.get(uri)
    if summary is None:
        return []
    domain = index.settings.cluster_domain
    hints: dict[tuple[int, int], types.InlayHint] = {}  # by position: an alias repeats a host's node
    for resource in index.resources_in(uri):
        if resource.span.end_line < within.start_line or resource.span.start_line > within.end_line:
            continue
        for ref in _host_refs(resource):
            end = (ref.span.end_line, ref.span.end_char)
            if not (within.start_line, within.start_char) <= end <= (within.end_line, within.end_char):
                continue
            if not is_short_host(ref.value):
                continue
            fqdn = host_candidates(ref.value, resource.namespace, domain)[0]
            position = convert(uri, Span(*end, *end)).start
            hints[end] = types.InlayHint(
                position=position,
                label=f"→ {fqdn}",
                padding_left=True,
                tooltip=f"Istio reads the short name `{ref.value.strip()}` in namespace "
                f"`{resource.namespace}` as `{fqdn}`.",
            )
    return [hints[key] for key in sorted(hints)]


def is_short_host(value: str) -> bool:
    """A dot-less service name, which Istio expands with the namespace of the resource that writes it."""
    host = value.strip()
    return bool(host) and "." not in host and "*" not in host and not is_ip(host) and ":" not in host


def _host_refs(resource: Resource) -> Iterator[Ref]:
    if isinstance(resource, VirtualService):
        yield from resource.hosts
        for dest in resource.destinations:
            yield dest.host
    elif isinstance(resource, DestinationRule) and resource.host is not None:
        yield resource.host
