"""The workspace index: file summaries plus lookup tables, replaced one file at a time."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from istio_lsp.index.summary import FileSummary
from istio_lsp.model.hosts import cluster_namespace, host_candidates, service_fqdn, wildcard_keys
from istio_lsp.model.resources import (
    DestinationRule,
    Gateway,
    Resource,
    Service,
    ServiceEntry,
    VirtualService,
    Workload,
)
from istio_lsp.settings import Settings

T = TypeVar("T")


class _Table(Generic[T]):
    """key → values, remembering which file added each value so a file's entries can be dropped."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[str, list[T]]] = defaultdict(dict)

    def add(self, key: str, uri: str, value: T) -> None:
        self._by_key[key].setdefault(uri, []).append(value)

    def drop(self, key: str, uri: str) -> None:
        bucket = self._by_key.get(key)
        if bucket is not None:
            bucket.pop(uri, None)
            if not bucket:
                del self._by_key[key]

    def get(self, key: str) -> list[T]:
        bucket = self._by_key.get(key)
        if not bucket:
            return []
        return [value for values in bucket.values() for value in values]

    def keys(self) -> Iterable[str]:
        return self._by_key.keys()


class WorkspaceIndex:
    """What the workspace declares, keyed for the lookups checks and features make."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.files: dict[str, FileSummary] = {}
        self.services = _Table[Service]()  # by FQDN
        self.service_entries = _Table[ServiceEntry]()  # by host candidate, wildcards as written
        self.vs_hosts = _Table[VirtualService]()  # by host candidate
        self.destination_rules = _Table[DestinationRule]()  # by host candidate
        self.gateways = _Table[Gateway]()  # by ns/name
        self.workloads = _Table[Workload]()  # by namespace
        self.by_namespace = _Table[Resource]()  # every resource, by namespace
        self._dependents: dict[str, set[str]] = defaultdict(set)  # requires-key → uris
        self._presence: Counter[str] = Counter()  # presence-only provides-key → how many files provide it
        self._entries: dict[str, list[tuple[_Table, str]]] = {}  # uri → where its values went
        self.workload_labels = _Table[Workload]()  # by "namespace/key=value" of each pod label
        # Results of lookups that read only the index (host resolutions, …), shared by all the
        # checks of one state of the index: several rules resolve the same destination.
        self.memo: dict[Hashable, Any] = {}

    # ---- maintenance -------------------------------------------------------

    def update(self, summary: FileSummary) -> set[str]:
        """Replace one file's summary. Returns the uris whose cross-file findings may change."""
        self.memo.clear()
        old = self.files.get(summary.uri)
        self._drop(summary.uri)
        self.files[summary.uri] = summary
        self._add(summary)
        before = old.provides if old is not None else {}
        after = summary.provides
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        # a presence-only key (namespace known, …) changes for its readers only when it appears or vanishes
        changed = {key for key in changed if not self._presence_unchanged(key, before, after)}
        return self._affected(summary.uri, changed)

    def remove(self, uri: str) -> set[str]:
        old = self.files.get(uri)
        if old is None:
            return set()
        self.memo.clear()
        self._drop(uri)
        del self.files[uri]
        gone = [key for key, digest in old.provides.items() if digest != "" or self._presence[key] == 0]
        affected = self._affected(uri, gone)
        affected.discard(uri)
        return affected

    def _presence_unchanged(self, key: str, before: dict[str, str], after: dict[str, str]) -> bool:
        """A presence-only key another file still (or already) provides: nothing changes for its readers."""
        if before.get(key, "") != "" or after.get(key, "") != "":
            return False
        if key in after:  # provided now, not before: changed only if this is the first provider
            return self._presence[key] > 1
        return self._presence[key] > 0  # provided before, not now: changed only if none is left

    def dependents(self, keys: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for key in keys:
            out |= self._dependents.get(key, set())
        return out

    def _affected(self, uri: str, changed: Iterable[str]) -> set[str]:
        affected = self.dependents(changed)
        affected.add(uri)
        return affected

    def _add(self, summary: FileSummary) -> None:
        uri = summary.uri
        entries: list[tuple[_Table, str]] = []
        domain = self.settings.cluster_domain

        def put(table: _Table, key: str, value: object) -> None:
            table.add(key, uri, value)
            entries.append((table, key))

        for r in summary.resources:
            put(self.by_namespace, r.namespace, r)
            if isinstance(r, Service):
                put(self.services, service_fqdn(r.name, r.namespace, domain), r)
            elif isinstance(r, Workload):
                put(self.workloads, r.namespace, r)
                for label in r.pod_labels.items():
                    put(self.workload_labels, _label_key(r.namespace, *label), r)
            elif isinstance(r, ServiceEntry):
                for ref in r.hosts:
                    for c in host_candidates(ref.value, r.namespace, domain):
                        put(self.service_entries, c, r)
            elif isinstance(r, VirtualService):
                for ref in r.hosts:
                    for c in host_candidates(ref.value, r.namespace, domain):
                        put(self.vs_hosts, c, r)
            elif isinstance(r, DestinationRule):
                if r.host is not None:
                    for c in host_candidates(r.host.value, r.namespace, domain):
                        put(self.destination_rules, c, r)
            elif isinstance(r, Gateway):
                put(self.gateways, f"{r.namespace}/{r.name}", r)
        for key in summary.requires:
            self._dependents[key].add(uri)
        for key, digest in summary.provides.items():
            if digest == "":
                self._presence[key] += 1
        self._entries[uri] = entries

    def _drop(self, uri: str) -> None:
        for table, key in self._entries.pop(uri, []):
            table.drop(key, uri)
        old = self.files.get(uri)
        if old is not None:
            for key, digest in old.provides.items():
                if digest == "":
                    self._presence[key] -= 1
            for key in old.requires:
                users = self._dependents.get(key)
                if users is not None:
                    users.discard(uri)
                    if not users:
                        del self._dependents[key]

    # ---- lookups -----------------------------------------------------------

    def resources(self) -> Iterator[Resource]:
        for summary in self.files.values():
            yield from summary.resources

    def services_for(self, candidates: Iterable[str]) -> list[Service]:
        return _unique(s for c in candidates for s in self.services.get(c))

    def service_entries_for(self, candidates: Iterable[str]) -> list[ServiceEntry]:
        """ServiceEntries whose hosts cover a host: exactly, or by one of their wildcards."""
        found: list[ServiceEntry] = []
        for c in candidates:
            found.extend(self.service_entries.get(c))
            if not c.startswith("*"):
                for pattern in wildcard_keys(c):
                    found.extend(self.service_entries.get(pattern))
        return _unique(found)

    def virtual_services_declaring(self, candidates: Iterable[str]) -> list[VirtualService]:
        return _unique(vs for c in candidates for vs in self.vs_hosts.get(c))

    def destination_rules_for(self, candidates: list[str]) -> list[DestinationRule]:
        """The DestinationRules Istio would pick for a host: exact host matches, else the most specific wildcard."""
        exact = _unique(dr for c in candidates for dr in self.destination_rules.get(c))
        if exact:
            return exact
        for c in candidates:
            for pattern in wildcard_keys(c):
                found = self.destination_rules.get(pattern)
                if found:
                    return _unique(found)
        return []

    def gateway(self, namespace: str, name: str) -> list[Gateway]:
        return self.gateways.get(f"{namespace}/{name}")

    def all_gateways(self) -> list[Gateway]:
        return [g for key in list(self.gateways.keys()) for g in self.gateways.get(key)]

    def workloads_in(self, namespace: str) -> list[Workload]:
        return self.workloads.get(namespace)

    def workloads_labelled(self, namespace: str, key: str, value: str) -> list[Workload]:
        """Workloads of a namespace whose pods carry the label `key: value`."""
        return self.workload_labels.get(_label_key(namespace, key, value))

    def in_namespace(self, namespace: str) -> list[Resource]:
        return self.by_namespace.get(namespace)

    def namespace_provides_services(self, namespace: str) -> bool:
        """Whether the workspace declares any Service or workload in a namespace (so it 'owns' it)."""
        return any(isinstance(r, (Service, Workload)) for r in self.by_namespace.get(namespace))

    def host_namespace(self, fqdn: str) -> str | None:
        return cluster_namespace(fqdn, self.settings.cluster_domain)


def _label_key(namespace: str, key: str, value: str) -> str:
    return f"{namespace}/{key}={value}"


def _unique(values: Iterable[T]) -> list[T]:
    seen: set[int] = set()
    out: list[T] = []
    for value in values:
        if id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    return out
