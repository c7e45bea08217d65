"""A file's summary: the unit of incremental work.

A summary is derived from one file's text alone. It holds the file's resources
(with spans), its syntax problems, and two sets of dependency keys: what the file
provides to others (hosts, DestinationRules, Gateways, workloads) and what its
cross-file checks read. When a file changes, only files whose `requires` meet the
changed file's `provides` need re-checking.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from istio_lsp.findings import Finding
from istio_lsp.model.extract import resource_nodes
from istio_lsp.model.hosts import cluster_namespace, gateway_key, host_candidates, service_fqdn, wildcard_keys
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
from istio_lsp.syntax import MappingNode, SkippedFile, Span, SyntaxProblem, YamlDocument, parse_file, utf16_len

# Checks that read one document alone (schema, admission rules, route semantics) run once
# per change of the file, and their findings are kept in its summary.
DocumentAnalyzer = Callable[[YamlDocument, list[tuple[Resource, MappingNode]], Settings], list[Finding]]


@dataclass(slots=True)
class FileSummary:
    uri: str
    digest: str
    resources: list[Resource] = field(default_factory=list)
    syntax_errors: list[SyntaxProblem] = field(default_factory=list)
    skipped: SkippedFile | None = None
    nonascii_lines: dict[int, str] = field(default_factory=dict)
    provides: dict[str, str] = field(default_factory=dict)  # key → digest of what stands behind it
    requires: frozenset[str] = frozenset()
    document_count: int = 0
    end: tuple[int, int] = (0, 0)  # position just after the last character of the file
    local_findings: list[Finding] = field(default_factory=list)  # from the DocumentAnalyzer


def digest_of(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def summarize(uri: str, text: str, settings: Settings, analyzer: DocumentAnalyzer | None = None) -> FileSummary:
    """Parse a file and keep what the checks need. Never raises on any input text."""
    summary = FileSummary(uri, digest_of(text))
    parsed = parse_file(text, max_bytes=settings.max_file_size)
    summary.skipped = parsed.skipped
    last_newline = text.rfind("\n")
    summary.end = (text.count("\n"), utf16_len(text[last_newline + 1 :]))
    summary.document_count = len(parsed.documents)
    for doc in parsed.documents:
        if doc.error is not None:
            summary.syntax_errors.append(doc.error)
            continue
        pairs = resource_nodes(doc, uri, settings.default_namespace)
        summary.resources.extend(resource for resource, _ in pairs)
        if analyzer is not None and pairs:
            summary.local_findings.extend(analyzer(doc, pairs, settings))
    if not text.isascii():
        summary.nonascii_lines = {n: line for n, line in enumerate(text.split("\n")) if not line.isascii()}
    summary.provides, summary.requires = dependency_keys(summary.resources, settings)
    return summary


def skipped_summary(uri: str, reason: str, message: str) -> FileSummary:
    """A summary for a file that could not be read as text at all (binary, unreadable)."""
    return FileSummary(uri, "", skipped=SkippedFile(reason, message, Span(0, 0, 0, 0)))


def dependency_keys(resources: list[Resource], settings: Settings) -> tuple[dict[str, str], frozenset[str]]:
    """What a file provides (key → digest of the declarations behind it) and what its checks read.

    The digest lets an edit that leaves a declaration as it was (a weight, a comment)
    re-check no other file; presence-only keys (`ns:`, `svcns:`) never change digest.
    """
    domain = settings.cluster_domain
    contributions: dict[str, list[str]] = {}
    requires: set[str] = set()

    def provide(key: str, resource: Resource | None = None) -> None:
        contributions.setdefault(key, []).append("" if resource is None else repr(resource))

    for r in resources:
        ns = r.namespace
        provide(f"ns:{ns}")
        if isinstance(r, Service):
            provide(f"host:{service_fqdn(r.name, ns, domain)}", r)
            provide(f"svcns:{ns}")
        elif isinstance(r, Workload):
            provide(f"svcns:{ns}")
            provide(f"wl:{ns}", r)
        elif isinstance(r, ServiceEntry):
            for ref in r.hosts:
                for c in host_candidates(ref.value, ns, domain):
                    provide(f"host:{c}", r)
        elif isinstance(r, Gateway):
            provide(f"gw:{ns}/{r.name}", r)
        elif isinstance(r, DestinationRule):
            if r.host is not None:
                for c in host_candidates(r.host.value, ns, domain):
                    provide(f"dr:{c}", r)
                    requires.add(f"host:{c}")
                    host_ns = cluster_namespace(c, domain)
                    if host_ns:
                        requires.add(f"wl:{host_ns}")
        elif isinstance(r, VirtualService):
            for ref in r.hosts:
                for c in host_candidates(ref.value, ns, domain):
                    provide(f"host:{c}", r)
            for dest in r.destinations:
                for c in host_candidates(dest.host.value, ns, domain):
                    requires.add(f"host:{c}")
                    requires.update(f"host:{w}" for w in wildcard_keys(c))
                    host_ns = cluster_namespace(c, domain)
                    if host_ns:
                        requires.update((f"svcns:{host_ns}", f"ns:{host_ns}", f"wl:{host_ns}"))
                    if dest.subset is not None:
                        requires.add(f"dr:{c}")
                        requires.update(f"dr:{w}" for w in wildcard_keys(c))
            for ref in r.gateways:
                gw_ns, gw_name = gateway_key(ref.value, ns)
                requires.update((f"gw:{gw_ns}/{gw_name}", f"ns:{gw_ns}"))
    provides = {key: _digest(parts) for key, parts in contributions.items()}
    return provides, frozenset(requires)


def _digest(parts: list[str]) -> str:
    if not any(parts):
        return ""
    return hashlib.blake2b("\x00".join(sorted(parts)).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
