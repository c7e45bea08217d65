"""What the ServiceEntry port rules share: the other ServiceEntries that define a host of an entry with
the same port number, and whether the proxies of some namespace see both.

Istio keeps one definition of a host's port for the proxies of a namespace, so two entries
defining it meet there: with different protocols (`serviceentry-protocol-conflict`) or with the
same one (`serviceentry-host-conflict`). Both rules read `same_port` and keep the pairs they are
about.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, host_candidates, namespaces_match
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import ServiceEntry, ServiceEntryPort


@dataclass
class SamePort:
    """Another entry that defines `host` with the same port number, seen by a namespace that sees both."""

    other: ServiceEntry
    port: ServiceEntryPort  # the other entry's port item
    host: str  # as this entry writes it
    certain: bool  # deployed together (False: their written namespaces meet, nothing says they are applied together)


def protocol(port: ServiceEntryPort) -> str | None:
    """The port's protocol, upper-case as Istio's analyzer compares it; None when not written or a placeholder."""
    text = (port.protocol or "").strip()
    return None if not text or is_placeholder(text) else text.upper()


def same_port(
    index: WorkspaceIndex, entry: ServiceEntry, domain: str
) -> Iterator[tuple[ServiceEntryPort, list[SamePort]]]:
    """For each port of `entry` with a number and a protocol, the other entries that define one of its
    hosts with that port number (any protocol) and that a common namespace sees."""
    hosts = [h.value.strip() for h in entry.hosts if h.value.strip() and not is_placeholder(h.value)]
    if not hosts:
        return
    for port in entry.port_items:
        if port.number is None or protocol(port) is None:
            continue
        found: list[SamePort] = []
        for host in hosts:
            key = host_candidates(host, entry.namespace, domain)[0]
            for other in index.service_entries_exactly(key):
                if other is entry or (other.uri == entry.uri and other.doc_index == entry.doc_index):
                    continue
                if other.name == entry.name and namespaces_match(other.namespace, entry.namespace):
                    continue  # one object written twice (alternatives): applying one replaces the other
                if key not in {host_candidates(h.value, other.namespace, domain)[0] for h in other.hosts}:
                    continue
                certain = meet(index, entry, other)
                if certain is None:
                    continue
                found.extend(
                    SamePort(other, theirs, host, certain)
                    for theirs in other.port_items
                    if theirs.number == port.number and protocol(theirs) is not None
                )
        if found:
            yield port, found


def scopes(entry: ServiceEntry) -> set[str]:
    """The namespaces whose proxies see the entry, as Istio's analyzer keys them: `*` for all."""
    written = [e.strip() for e in entry.export_to if e.strip()]
    if not written or "*" in written:
        return {"*"}
    return {entry.namespace if e == "." else e for e in written if e != "~"}


def meet(index: WorkspaceIndex, entry: ServiceEntry, other: ServiceEntry) -> bool | None:
    """True when the two entries are deployed together and seen by a common namespace; False when a
    common namespace sees them by their written namespaces but they are not deployed together; None
    when nothing says they meet."""
    together = index.deployed_together(entry.uri, other.uri)
    mine, theirs = scopes(entry), scopes(other)
    if "*" in mine or "*" in theirs:
        shared = bool(mine and theirs)
        known = ANY_NAMESPACE not in (entry.namespace, other.namespace)
    else:
        # a namespace not known (`.` of an entry whose namespace is not written) is the same one
        # only for entries applied together
        shared = bool(mine & theirs)
        known = ANY_NAMESPACE not in mine | theirs
    if not shared:
        return None
    if together:
        return True
    return False if known else None
