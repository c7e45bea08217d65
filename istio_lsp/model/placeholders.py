"""Values that are not what the file says: placeholders a tool fills in before the manifest is
applied. No finding may depend on them.

- tokens a tool substitutes: kustomize vars `$(NAME)`, envsubst `${NAME}`, template actions
  `{{ … }}` left in a quoted value;
- fields a kustomize `replacements` entry overwrites, whatever they hold (`HOST_PLACEHOLDER`):
  the index marks them in the resources it places (`mark_replaced`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator

from istio_lsp.model.kustomization import ReplacementTarget
from istio_lsp.model.resources import DestinationRule, Gateway, Ref, Resource, ServiceEntry, VirtualService
from istio_lsp.syntax import Span

_TOKEN = re.compile(r"\$\([^()\s]*\)|\$\{[^{}\s]*\}|\{\{.*?\}\}")
# what a replaced field reads as once placed: a token, so every check treats it as unknown
REPLACED_VALUE = "$(KUSTOMIZE_REPLACEMENT)"


def is_placeholder(value: str) -> bool:
    """Whether a value holds something a tool substitutes before the manifest is applied."""
    return ("$" in value or "{{" in value) and _TOKEN.search(value) is not None


def has_placeholder_text(text: str) -> bool:
    """A cheap test that a document may hold placeholders at all."""
    return ("$(" in text or "${" in text or "{{" in text) and _TOKEN.search(text) is not None


# ---- kustomize replacements --------------------------------------------------


def mark_replaced(resource: Resource, targets: Iterable[ReplacementTarget]) -> Resource:
    """A copy of `resource` whose fields the replacements overwrite read as REPLACED_VALUE
    (the resource itself when none of them selects it)."""
    patterns = [
        _segments(path)
        for target in targets
        if target.selects(resource.kind, resource.name, resource.api_version)
        for path in target.field_paths
    ]
    if not patterns:
        return resource
    hits = {id(ref) for path, ref in _ref_paths(resource) if any(_covers(p, path) for p in patterns)}
    if not hits:
        return resource
    return _with_refs_replaced(resource, hits)


def replaced_spans(resource: Resource) -> Iterator[Span]:
    """Where the fields marked by `mark_replaced` are written."""
    for _, ref in _ref_paths(resource):
        if ref.value == REPLACED_VALUE:
            yield ref.span


def _ref_paths(resource: Resource) -> Iterator[tuple[list[str], Ref]]:
    """The reference fields the checks read, with their field paths (`spec.hosts.0`)."""
    if isinstance(resource, VirtualService):
        for i, ref in enumerate(resource.hosts):
            yield ["spec", "hosts", str(i)], ref
        for dest in resource.destinations:
            base = _segments(dest.path)
            yield [*base, "host"], dest.host
            if dest.subset is not None:
                yield [*base, "subset"], dest.subset
    elif isinstance(resource, DestinationRule) and resource.host is not None:
        yield ["spec", "host"], resource.host
    elif isinstance(resource, ServiceEntry):
        for i, ref in enumerate(resource.hosts):
            yield ["spec", "hosts", str(i)], ref
    elif isinstance(resource, Gateway):
        for i, server in enumerate(resource.servers):
            for j, ref in enumerate(server.host_refs):
                yield ["spec", "servers", str(i), "hosts", str(j)], ref


def _with_refs_replaced(resource: Resource, hits: set[int]) -> Resource:
    def swap(ref: Ref) -> Ref:
        return Ref(REPLACED_VALUE, ref.span, ref.quote) if id(ref) in hits else ref

    if isinstance(resource, VirtualService):
        destinations = [
            dataclasses.replace(d, host=swap(d.host), subset=swap(d.subset) if d.subset is not None else None)
            for d in resource.destinations
        ]
        return dataclasses.replace(resource, hosts=[swap(r) for r in resource.hosts], destinations=destinations)
    if isinstance(resource, DestinationRule) and resource.host is not None:
        return dataclasses.replace(resource, host=swap(resource.host))
    if isinstance(resource, ServiceEntry):
        return dataclasses.replace(resource, hosts=[swap(r) for r in resource.hosts])
    if isinstance(resource, Gateway):
        servers = []
        for server in resource.servers:
            refs = [swap(r) for r in server.host_refs]
            servers.append(dataclasses.replace(server, host_refs=refs, hosts=[r.value for r in refs]))
        return dataclasses.replace(resource, servers=servers)
    return resource


def _segments(path: str) -> list[str]:
    """`spec.http[0].route.0.destination` → ["spec", "http", "0", "route", "0", "destination"];
    kustomize's list matchers (`[name=x]`) stay one segment."""
    segments: list[str] = []
    for part in re.findall(r"\[[^\]]*\]|[^.\[\]]+", path):
        if part.startswith("[") and part[1:-1].isdigit():
            part = part[1:-1]
        segments.append(part)
    return segments


def _covers(pattern: list[str], path: list[str]) -> bool:
    """Whether a replacement's field path reaches `path` (itself or a field inside what it replaces).
    `*` and list matchers (`[name=x]`) match any segment: replacing more than kustomize would
    only makes more values unknown, never a finding wrong."""
    if len(pattern) > len(path):
        return False
    return all(p == q or p == "*" or p.startswith("[") for p, q in zip(pattern, path, strict=False))
