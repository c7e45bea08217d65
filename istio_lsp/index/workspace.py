"""The workspace index: file summaries, where each file is deployed, and lookup tables.

A summary says what a file's text holds. Where its resources end up is an input of its
own: the kustomizations of the workspace (`layout`) and the project configuration
(`configs`, for `defaultNamespace`). The index *places* each file's resources accordingly:
a file built by two overlays into two namespaces is placed twice (two variants), and the
tables hold both. A resource that says no namespace and that nothing places is in
ANY_NAMESPACE: the lookups below let it meet every namespace.

Files are replaced one at a time (or a batch at a time); an edit re-places only the edited
file, unless it is a kustomization, which re-places the files whose placement it changes.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from istio_lsp.index.config import ProjectConfigs
from istio_lsp.index.layout import RESOURCE, Placement, compute_layout
from istio_lsp.index.summary import FileSummary, all_key_forms, dependency_keys, uri_path
from istio_lsp.model.hosts import (
    ANY_NAMESPACE,
    cluster_namespace,
    host_candidates,
    in_namespace,
    service_fqdn,
    wildcard_keys,
)
from istio_lsp.model.kustomization import Kustomization
from istio_lsp.model.placeholders import is_placeholder, mark_replaced, replaced_spans
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
from istio_lsp.syntax import Span

T = TypeVar("T")

# kustomize's namePrefix and nameSuffix leave these kinds' names alone
_NEVER_RENAMED = ("Namespace", "CustomResourceDefinition", "APIService")


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
        """The values of a key, in the order of their files' uris: the same whatever order the files
        were indexed in (parallel workers finish in any order), so messages that list them are too."""
        bucket = self._by_key.get(key)
        if not bucket:
            return []
        if len(bucket) == 1:
            return list(next(iter(bucket.values())))
        return [value for uri in sorted(bucket) for value in bucket[uri]]

    def keys(self) -> Iterable[str]:
        return self._by_key.keys()


class _Namespaced(_Table[T]):
    """A table whose keys name a namespace (`reviews.shop.svc.cluster.local`, `shop/gw`, `shop`).

    Values are kept under their key (one of a resource of unknown namespace under its
    ANY_NAMESPACE key), and once more, in `any`, under their key with ANY_NAMESPACE: `lookup`
    of a key in a namespace finds those of that namespace and those of unknown namespace; of a
    key in ANY_NAMESPACE, those of every namespace."""

    def __init__(self, namespace_of: Callable[[str], str | None], with_namespace: Callable[[str, str], str]) -> None:
        super().__init__()
        self.any = _Table[T]()
        self._namespace_of = namespace_of  # None: the key names no namespace (an external host)
        self._with_namespace = with_namespace

    def places(self, key: str) -> list[tuple[_Table[T], str]]:
        """Where a value of `key` goes."""
        if self._namespace_of(key) is None:
            return [(self, key)]
        return [(self, key), (self.any, self._with_namespace(key, ANY_NAMESPACE))]

    def lookup(self, key: str) -> list[T]:
        namespace = self._namespace_of(key)
        if namespace is None:
            return self.get(key)
        if namespace == ANY_NAMESPACE:
            return self.any.get(key)
        return [*self.get(key), *self.get(self._with_namespace(key, ANY_NAMESPACE))]


@dataclass(slots=True)
class Variant:
    """A file's resources as one way of deploying it places them."""

    placement: Placement | None  # None: applied as the file says (no kustomization builds it)
    resources: list[Resource]


@dataclass(slots=True)
class PlacedFile:
    role: str  # RESOURCE; PATCH or SUPPORT for files kustomize only reads
    variants: list[Variant]
    provides: dict[str, str]
    requires: frozenset[str]
    # spans a replacement (or var) overwrites in every variant: nothing is judged on their text
    replaced: frozenset[Span] = frozenset()


class WorkspaceIndex:
    """What the workspace declares, keyed for the lookups checks and features make."""

    def __init__(self, settings: Settings | None = None, configs: ProjectConfigs | None = None) -> None:
        self.configs = configs or ProjectConfigs(settings or Settings())
        self.files: dict[str, FileSummary] = {}
        self.placed: dict[str, PlacedFile] = {}
        self.kustomizations: dict[str, Kustomization] = {}  # path → kustomization
        self.layout: dict[str, tuple[Placement, ...]] = {}  # path → how builds deploy the file
        self._paths: dict[str, str] = {}  # uri → path
        self._folders: dict[str, str] = {}  # uri → folder of its path
        domain = self.settings.cluster_domain

        def host_namespace(host: str) -> str | None:
            return cluster_namespace(host, domain)

        def host_in(host: str, namespace: str) -> str:
            return in_namespace(host, namespace, domain)

        self.services = _Namespaced[Service](host_namespace, host_in)  # by FQDN
        # by host candidate, wildcards as written
        self.service_entries = _Namespaced[ServiceEntry](host_namespace, host_in)
        self.vs_hosts = _Namespaced[VirtualService](host_namespace, host_in)  # by host candidate
        # by the host candidates of their route and mirror destinations; "?" for a placeholder host
        self.vs_destinations = _Namespaced[VirtualService](host_namespace, host_in)
        self.destination_rules = _Namespaced[DestinationRule](host_namespace, host_in)  # by host candidate
        self.gateways = _Namespaced[Gateway](_leading, _lead_in)  # by ns/name
        self.workloads = _Namespaced[Workload](_leading, _lead_in)  # by namespace
        self.workload_labels = _Namespaced[Workload](_leading, _lead_in)  # by "namespace/key=value" of each pod label
        # by "namespace/key" of each label key of their pods or of their own metadata
        self.workload_label_keys = _Namespaced[Workload](_leading, _lead_in)
        self.by_kind = _Namespaced[Resource](_leading, _lead_in)  # by "namespace/Kind"
        # by "namespace/key=value" of the first label of their selector: a pod must carry that one to be selected
        self.service_selectors = _Namespaced[Service](_leading, _lead_in)
        self.by_namespace = _Table[Resource]()  # every resource, by namespace
        self.by_name = _Table[Resource]()  # every resource, by name
        self._dependents: dict[str, set[str]] = defaultdict(set)  # requires-key → uris
        self._presence: Counter[str] = Counter()  # presence-only provides-key → how many files provide it
        self._entries: dict[str, list[tuple[_Table, str]]] = {}  # uri → where its values went
        # Results of lookups that read only the index (host resolutions, …), shared by all the
        # checks of one state of the index: several rules resolve the same destination.
        self.memo: dict[Hashable, Any] = {}

    # ---- inputs ------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The workspace's settings (a file's own, with its folder's configuration: `settings_for`)."""
        return self.configs.base

    def settings_for(self, uri: str) -> Settings:
        """The settings of one file: the workspace's, with its folder's configuration files."""
        return self.configs.settings_for(self.path_of(uri))

    def path_of(self, uri: str) -> str:
        path = self._paths.get(uri)
        if path is None:
            path = self._paths[uri] = uri_path(uri)
        return path

    # ---- maintenance -------------------------------------------------------

    def update(self, summary: FileSummary) -> set[str]:
        """Replace one file's summary. Returns the uris whose cross-file findings may change."""
        return self.update_many([summary])

    def update_many(self, summaries: Iterable[FileSummary]) -> set[str]:
        """Replace several files' summaries (a batch places its files once, after every
        kustomization of the batch is known). Returns the uris whose findings may change."""
        self.memo.clear()
        todo: list[str] = []
        relayout = False
        for summary in summaries:
            old = self.files.get(summary.uri)
            if summary.kustomization != (old.kustomization if old is not None else None):
                relayout = True
            self.files[summary.uri] = summary
            todo.append(summary.uri)
        if relayout:
            todo.extend(self._relayout())
        affected: set[str] = set()
        for uri in dict.fromkeys(todo):
            affected |= self._place(uri)
        return affected

    def remove(self, uri: str) -> set[str]:
        old = self.files.get(uri)
        if old is None:
            return set()
        self.memo.clear()
        placed = self.placed.get(uri)
        self._drop(uri)
        del self.files[uri]
        self.placed.pop(uri, None)
        affected: set[str] = set()
        if placed is not None:
            gone = [key for key, digest in placed.provides.items() if digest != "" or self._presence[key] == 0]
            affected = self._affected(uri, gone)
        if old.kustomization is not None:
            for other in self._relayout():
                affected |= self._place(other)
        affected.discard(uri)
        return affected

    def _relayout(self) -> list[str]:
        """Recompute where kustomize deploys each file; the uris whose placement changed."""
        self.kustomizations = {
            self.path_of(uri): s.kustomization for uri, s in self.files.items() if s.kustomization is not None
        }
        before, self.layout = self.layout, compute_layout(self.kustomizations)
        changed = {path for path in before.keys() | self.layout.keys() if before.get(path) != self.layout.get(path)}
        return [uri for uri in self.files if self.path_of(uri) in changed]

    def _place(self, uri: str) -> set[str]:
        summary = self.files[uri]
        placed = self.place(summary)
        old = self.placed.get(uri)
        before = old.provides if old is not None else {}
        self._drop(uri)
        self.placed[uri] = placed
        self._add(uri, placed)
        after = placed.provides
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        # a presence-only key (namespace known, …) changes for its readers only when it appears or vanishes
        changed = {key for key in changed if not self._presence_unchanged(key, before, after)}
        return self._affected(uri, changed)

    def place(self, summary: FileSummary) -> PlacedFile:
        """Where a file's resources are deployed, by the current layout and settings (no change to the index)."""
        path = self.path_of(summary.uri)
        placements = self.layout.get(path, ())
        deploying = [p for p in placements if p.role == RESOURCE]
        if placements and not deploying:
            # a patch changes what the files of its builds deploy: their checks read it
            read_by = {f"build:{b}": summary.digest for p in placements for b in p.builds}
            return PlacedFile(placements[0].role, [], read_by, frozenset())
        default_namespace = self.configs.settings_for(path).default_namespace
        variants = []
        identity = True
        ways: list[Placement | None] = [*deploying] or [None]
        for placement in ways:
            resources = [_placed(r, placement, default_namespace) for r in summary.resources]
            identity = identity and all(a is b for a, b in zip(resources, summary.resources, strict=True))
            variants.append(Variant(placement, resources))
        built = frozenset(f"build:{b}" for p in deploying for b in p.builds)  # the patches its builds apply to it
        if identity and len(variants) == 1:
            return PlacedFile(RESOURCE, variants, summary.provides, summary.requires | built)
        provides, requires = dependency_keys([r for v in variants for r in v.resources], self.settings)
        requires |= built
        replaced = [frozenset(span for r in v.resources for span in replaced_spans(r)) for v in variants]
        return PlacedFile(RESOURCE, variants, provides, requires, frozenset.intersection(*replaced))

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

    def readers(self, keys: Iterable[str]) -> set[str]:
        """The files whose checks read a key, in any of its namespace forms (for navigation: the
        files that may name a host, a Gateway…, whatever their namespace)."""
        domain = self.settings.cluster_domain
        return self.dependents(form for key in keys for form in all_key_forms(key, domain))

    def _affected(self, uri: str, changed: Iterable[str]) -> set[str]:
        affected = self.dependents(changed)
        affected.add(uri)
        return affected

    def _add(self, uri: str, placed: PlacedFile) -> None:
        entries: list[tuple[_Table, str]] = []
        domain = self.settings.cluster_domain

        def put(table: _Table, key: str, value: object) -> None:
            for place, place_key in table.places(key) if isinstance(table, _Namespaced) else [(table, key)]:
                place.add(place_key, uri, value)
                entries.append((place, place_key))

        for variant in placed.variants:
            for r in variant.resources:
                ns = r.namespace
                put(self.by_namespace, ns, r)
                put(self.by_name, r.name, r)
                put(self.by_kind, f"{ns}/{r.kind}", r)
                if isinstance(r, Service):
                    put(self.services, service_fqdn(r.name, ns, domain), r)
                    if r.selector:
                        put(self.service_selectors, _label_key(ns, *next(iter(r.selector.items()))), r)
                elif isinstance(r, Workload):
                    put(self.workloads, ns, r)
                    for label in r.pod_labels.items():
                        put(self.workload_labels, _label_key(ns, *label), r)
                    for key in r.pod_labels.keys() | r.labels.keys():
                        put(self.workload_label_keys, f"{ns}/{key}", r)
                elif isinstance(r, ServiceEntry):
                    for ref in r.hosts:
                        for c in host_candidates(ref.value, ns, domain):
                            put(self.service_entries, c, r)
                elif isinstance(r, VirtualService):
                    for ref in r.hosts:
                        for c in host_candidates(ref.value, ns, domain):
                            put(self.vs_hosts, c, r)
                    for dest in r.destinations:
                        for c in (
                            ["?"] if is_placeholder(dest.host.value) else host_candidates(dest.host.value, ns, domain)
                        ):
                            put(self.vs_destinations, c, r)
                elif isinstance(r, DestinationRule):
                    if r.host is not None:
                        for c in host_candidates(r.host.value, ns, domain):
                            put(self.destination_rules, c, r)
                elif isinstance(r, Gateway):
                    put(self.gateways, f"{ns}/{r.name}", r)
        for key in placed.requires:
            self._dependents[key].add(uri)
        for key, digest in placed.provides.items():
            if digest == "":
                self._presence[key] += 1
        self._entries[uri] = entries

    def _drop(self, uri: str) -> None:
        for table, key in self._entries.pop(uri, []):
            table.drop(key, uri)
        old = self.placed.get(uri)
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

    # ---- placed views ------------------------------------------------------

    def variants(self, uri: str) -> list[Variant]:
        placed = self.placed.get(uri)
        return placed.variants if placed is not None else []

    def resources_in(self, uri: str) -> list[Resource]:
        """A file's resources as deployed (the first way, when several builds deploy it)."""
        variants = self.variants(uri)
        return variants[0].resources if variants else []

    def namespace_at(self, uri: str, line: int, written: str | None = None) -> str:
        """The namespace of the resource at a line of a file as deployed; for a document not indexed
        (it does not parse right now), the namespace written in it, else the one its file would get."""
        for resource in self.resources_in(uri):
            if resource.span.start_line <= line <= resource.span.end_line:
                return resource.namespace
        if written:
            return written
        for placement in self.layout.get(self.path_of(uri), ()):
            if placement.role == RESOURCE and placement.namespace:
                return placement.namespace
        return self.settings_for(uri).default_namespace or ANY_NAMESPACE

    def folder_of(self, uri: str) -> str:
        folder = self._folders.get(uri)
        if folder is None:
            folder = self._folders[uri] = posixpath.dirname(self.path_of(uri))
        return folder

    def builds_of(self, uri: str) -> frozenset[str]:
        """The kustomizations that build a file, in any of the ways it is deployed."""
        placed = self.placed.get(uri)
        if placed is None:
            return frozenset()
        return frozenset(build for v in placed.variants if v.placement is not None for build in v.placement.builds)

    def deployed_together(self, a: str, b: str) -> bool:
        """Whether two files are deployed as one: in the same folder, or built by the same kustomization."""
        return self.folder_of(a) == self.folder_of(b) or not self.builds_of(a).isdisjoint(self.builds_of(b))

    def deployed_with(self, uri: str) -> Callable[[str], bool]:
        """`deployed_together(uri, other)` for many others: what depends on `uri` is read once."""
        folder, builds = self.folder_of(uri), self.builds_of(uri)
        if not builds:
            return lambda other: self.folder_of(other) == folder
        return lambda other: self.folder_of(other) == folder or not builds.isdisjoint(self.builds_of(other))

    def role(self, uri: str) -> str:
        placed = self.placed.get(uri)
        return placed.role if placed is not None else RESOURCE

    # ---- lookups -----------------------------------------------------------

    def resources(self) -> Iterator[Resource]:
        """Every resource of the workspace as deployed (each file's first way)."""
        for uri in self.files:
            yield from self.resources_in(uri)

    def services_for(self, candidates: Iterable[str]) -> list[Service]:
        return _unique(s for c in candidates for s in self.services.lookup(c))

    def service_entries_for(self, candidates: Iterable[str]) -> list[ServiceEntry]:
        """ServiceEntries whose hosts cover a host: exactly, or by one of their wildcards."""
        found: list[ServiceEntry] = []
        for c in candidates:
            found.extend(self.service_entries_exactly(c))
            if not c.startswith("*"):
                for pattern in wildcard_keys(c):
                    found.extend(self.service_entries.lookup(pattern))
        return _unique(found)

    def service_entries_exactly(self, candidate: str) -> list[ServiceEntry]:
        return self.service_entries.lookup(candidate)

    def virtual_services_declaring(self, candidates: Iterable[str]) -> list[VirtualService]:
        return _unique(vs for c in candidates for vs in self.vs_hosts.lookup(c))

    def virtual_services_routing_to(self, candidates: Iterable[str]) -> list[VirtualService]:
        """The VirtualServices with a route or mirror destination that may be one of the candidates
        (those of unknown namespace included); "?": those with a destination host that is a placeholder."""
        return _unique(vs for c in candidates for vs in self.vs_destinations.lookup(c))

    def destination_rules_for(self, candidates: list[str]) -> list[DestinationRule]:
        """The DestinationRules Istio would pick for a host: exact host matches, else the most specific
        wildcard. For a host of unknown namespace, every DestinationRule some namespace would pick."""
        exact = _unique(dr for c in candidates for dr in self.destination_rules.lookup(c))
        if exact:
            return exact
        for c in candidates:
            for pattern in wildcard_keys(c):
                found = self.destination_rules.lookup(pattern)
                if found:
                    return _unique(found)
        return []

    def gateway(self, namespace: str, name: str) -> list[Gateway]:
        return _unique(self.gateways.lookup(f"{namespace}/{name}"))

    def all_gateways(self) -> list[Gateway]:
        return [g for key in list(self.gateways.keys()) for g in self.gateways.get(key)]

    def workloads_in(self, namespace: str) -> list[Workload]:
        """Workloads that may run in a namespace (those of unknown namespace too). Do not change the list."""
        key = ("workloads_in", namespace)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = _unique(self.workloads.lookup(namespace))
        return found

    def workloads_labelled(self, namespace: str, key: str, value: str) -> list[Workload]:
        """Workloads that may run in a namespace whose pods carry the label `key: value`."""
        return _unique(self.workload_labels.lookup(_label_key(namespace, key, value)))

    def workloads_with_label_key(self, namespace: str, key: str) -> list[Workload]:
        """Workloads that may run in a namespace carrying the label `key` (any value) on their pods or their
        own metadata."""
        return _unique(self.workload_label_keys.lookup(f"{namespace}/{key}"))

    def of_kind(self, namespace: str, kind: str) -> list[Resource]:
        """The resources of a kind placed in a namespace (ANY_NAMESPACE: in every namespace)."""
        return self.by_kind.lookup(f"{namespace}/{kind}")

    def services_labelled(self, namespace: str, key: str, value: str) -> list[Service]:
        """Services that may run in a namespace whose selector's first label is `key: value`."""
        return _unique(self.service_selectors.lookup(_label_key(namespace, key, value)))

    def in_namespace(self, namespace: str) -> list[Resource]:
        """The resources placed in a namespace (not those of unknown namespace)."""
        return self.by_namespace.get(namespace)

    def named(self, name: str) -> list[Resource]:
        """The resources of a name, in every namespace."""
        return self.by_name.get(name)

    def namespace_provides_services(self, namespace: str) -> bool:
        """Whether the workspace places any Service or workload in a namespace (asked once per finding:
        remembered until the index changes)."""
        key = ("namespace_provides_services", namespace)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = any(isinstance(r, (Service, Workload)) for r in self.by_namespace.get(namespace))
        return bool(found)

    def host_namespace(self, fqdn: str) -> str | None:
        return cluster_namespace(fqdn, self.settings.cluster_domain)


def _placed(resource: Resource, placement: Placement | None, default_namespace: str) -> Resource:
    """A resource as one way of deploying it has it: namespace and name set by the build (or the
    default namespace), fields a replacement overwrites marked unknown. The resource itself when
    nothing changes."""
    namespace = resource.namespace
    name = resource.name
    if namespace != "":  # namespaced
        if placement is not None and placement.namespace:
            namespace = placement.namespace
        elif namespace == ANY_NAMESPACE and default_namespace:
            namespace = default_namespace
    if placement is not None and resource.kind not in _NEVER_RENAMED:
        name = f"{placement.name_prefix}{name}{placement.name_suffix}"
    marked = mark_replaced(resource, placement.replacements) if placement is not None else resource
    if namespace == resource.namespace and name == resource.name:
        return marked
    return dataclasses.replace(marked, namespace=namespace, name=name)


def _leading(key: str) -> str:
    """The namespace of a `ns/…` or `ns` key."""
    return key.partition("/")[0]


def _lead_in(key: str, namespace: str) -> str:
    _, slash, rest = key.partition("/")
    return f"{namespace}{slash}{rest}"


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
