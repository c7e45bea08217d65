"""A file's summary: the unit of incremental work.

A summary is derived from one file's text alone. It holds the file's resources
(with spans), its syntax problems, and two sets of dependency keys: what the file
provides to others (hosts, DestinationRules, Gateways, workloads) and what its
cross-file checks read. When a file changes, only files whose `requires` meet the
changed file's `provides` need re-checking.

Within a file, each `---` document's share of the summary is recorded (`DocumentPart`):
re-summarizing an edited file re-parses only the documents whose text changed, and takes
the others' resources and findings from the previous summary, moved to their new lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

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
from istio_lsp.syntax import (
    MappingNode,
    SkippedFile,
    Span,
    SyntaxProblem,
    YamlDocument,
    parse_document,
    skip_reason,
    split_documents,
    utf16_len,
)

# Checks that read one document alone (schema, admission rules, route semantics) run once
# per change of the file, and their findings are kept in its summary.
DocumentAnalyzer = Callable[[YamlDocument, list[tuple[Resource, MappingNode]], Settings], list[Finding]]


@dataclass(frozen=True, slots=True)
class DocumentPart:
    """What one `---` document added to its file's summary, so that an edit elsewhere in the
    file can reuse it: the same text gives the same results, moved by as many lines as it moved."""

    digest: str  # of the document's text
    start_line: int
    resources: int  # how many entries of `resources`, `local_findings` and `syntax_errors` are its own
    findings: int
    errors: int
    # its resources' share of the file's dependency keys: (key, digest of a declaration) and requires
    provides: tuple[tuple[str, str], ...] = ()
    requires: frozenset[str] = frozenset()


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
    parts: list[DocumentPart] = field(default_factory=list)  # one per document, in order
    analysis: str = ""  # the settings and analyzer the parts were derived with


def digest_of(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def summarize(
    uri: str,
    text: str,
    settings: Settings,
    analyzer: DocumentAnalyzer | None = None,
    previous: FileSummary | None = None,
) -> FileSummary:
    """Parse a file and keep what the checks need. Never raises on any input text.

    With `previous` (an earlier summary of the same file), documents whose text is unchanged
    are not parsed again: their resources and findings are taken from it, moved to their new
    lines. Only the edited `---` document of a large file is composed on a keystroke.
    """
    summary = FileSummary(uri, digest_of(text), analysis=_analysis_key(settings, analyzer))
    summary.skipped = skip_reason(text, max_bytes=settings.max_file_size)
    last_newline = text.rfind("\n")
    summary.end = (text.count("\n"), utf16_len(text[last_newline + 1 :]))
    if summary.skipped is None:
        reusable = _reusable(previous, summary)
        pieces = split_documents(text)
        summary.document_count = len(pieces)
        for index, (line, piece) in enumerate(pieces):
            part_digest = digest_of(piece)
            earlier = reusable.get(part_digest)
            if earlier:
                _reuse(summary, earlier.pop(0), index, line, settings)
            else:
                _derive(summary, parse_document(piece, index, line), part_digest, analyzer, settings)
    if not text.isascii():
        summary.nonascii_lines = {n: line for n, line in enumerate(text.split("\n")) if not line.isascii()}
    summary.provides, summary.requires = _combine(summary.parts)
    return summary


# A document's results in an earlier summary: its part, resources, findings and syntax errors.
_Earlier = tuple[DocumentPart, list[Resource], list[Finding], list[SyntaxProblem]]


def _analysis_key(settings: Settings, analyzer: DocumentAnalyzer | None) -> str:
    name = "" if analyzer is None else f"{analyzer.__module__}.{analyzer.__qualname__}"
    return digest_of(f"{name}|{settings!r}")


def _reusable(previous: FileSummary | None, summary: FileSummary) -> dict[str, list[_Earlier]]:
    """The documents of `previous` by digest, when it was derived the way `summary` is."""
    if previous is None or previous.uri != summary.uri or previous.analysis != summary.analysis:
        return {}
    found: dict[str, list[_Earlier]] = {}
    resources = findings = errors = 0
    for part in previous.parts:
        found.setdefault(part.digest, []).append(
            (
                part,
                previous.resources[resources : resources + part.resources],
                previous.local_findings[findings : findings + part.findings],
                previous.syntax_errors[errors : errors + part.errors],
            )
        )
        resources += part.resources
        findings += part.findings
        errors += part.errors
    return found


def _derive(
    summary: FileSummary,
    doc: YamlDocument,
    part_digest: str,
    analyzer: DocumentAnalyzer | None,
    settings: Settings,
) -> None:
    resources: list[Resource] = []
    findings: list[Finding] = []
    if doc.error is not None:
        summary.syntax_errors.append(doc.error)
    else:
        pairs = resource_nodes(doc, summary.uri, settings.default_namespace)
        resources = [resource for resource, _ in pairs]
        if analyzer is not None and pairs:
            findings = analyzer(doc, pairs, settings)
    summary.resources.extend(resources)
    summary.local_findings.extend(findings)
    errors = 0 if doc.error is None else 1
    provides, requires = _contributions(resources, settings)
    summary.parts.append(
        DocumentPart(part_digest, doc.start_line, len(resources), len(findings), errors, provides, requires)
    )


def _reuse(summary: FileSummary, earlier: _Earlier, index: int, line: int, settings: Settings) -> None:
    part, resources, findings, errors = earlier
    lines = line - part.start_line
    if lines or any(r.doc_index != index for r in resources):
        resources = [_moved(r, lines, index) for r in resources]
        findings = [_moved(f, lines, index) for f in findings]
        errors = [_moved(e, lines, index) for e in errors]
        provides, requires = _contributions(resources, settings)  # a declaration's digest covers its spans
        part = dataclasses.replace(part, start_line=line, provides=provides, requires=requires)
    summary.resources.extend(resources)
    summary.local_findings.extend(findings)
    summary.syntax_errors.extend(errors)
    summary.parts.append(part)


_ATOMS = (str, int, float, type(None))  # values without positions (bool and enums are ints)


def _moved(value: Any, lines: int, index: int) -> Any:
    """A copy of a document's result as it would be derived `lines` further down, as document `index`.

    Every position is a `Span`, or a field marked with its kind of position (see `model.resources`).
    """
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, Span):
        if not lines:
            return value
        return Span(value.start_line + lines, value.start_char, value.end_line + lines, value.end_char)
    if isinstance(value, list):
        return [_moved(item, lines, index) for item in value]
    if isinstance(value, tuple):
        return tuple(_moved(item, lines, index) for item in value)
    if isinstance(value, dict):
        return {key: _moved(item, lines, index) for key, item in value.items()}
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes: dict[str, Any] = {}
    for name, position in _fields(type(value)):
        current = getattr(value, name)
        if current is None or (position is None and isinstance(current, _ATOMS)):
            continue
        if position == "doc_index":
            changes[name] = index
        elif position == "line":
            changes[name] = current + lines
        elif position == "line_char":
            changes[name] = (current[0] + lines, current[1])
        else:
            changes[name] = _moved(current, lines, index)
    return dataclasses.replace(value, **changes)


@cache
def _fields(cls: type) -> tuple[tuple[str, str | None], ...]:
    """(name, kind of position or None) of a dataclass's fields."""
    return tuple((f.name, f.metadata.get("position")) for f in dataclasses.fields(cls))


def skipped_summary(uri: str, reason: str, message: str) -> FileSummary:
    """A summary for a file that could not be read as text at all (binary, unreadable)."""
    return FileSummary(uri, "", skipped=SkippedFile(reason, message, Span(0, 0, 0, 0)))


def dependency_keys(resources: list[Resource], settings: Settings) -> tuple[dict[str, str], frozenset[str]]:
    """What a file provides (key → digest of the declarations behind it) and what its checks read.

    The digest lets an edit that leaves a declaration as it was (a weight, a comment)
    re-check no other file; presence-only keys (`ns:`, `svcns:`) never change digest.
    """
    provides, requires = _contributions(resources, settings)
    return _combine([DocumentPart("", 0, 0, 0, 0, provides, requires)])


def _combine(parts: list[DocumentPart]) -> tuple[dict[str, str], frozenset[str]]:
    contributions: dict[str, list[str]] = {}
    requires: set[str] = set()
    for part in parts:
        for key, declaration in part.provides:
            contributions.setdefault(key, []).append(declaration)
        requires.update(part.requires)
    provides = {key: _digest(declarations) for key, declarations in contributions.items()}
    return provides, frozenset(requires)


def _contributions(resources: list[Resource], settings: Settings) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    """(key, digest of the resource behind it, or "" for presence) of what resources provide, and what they require."""
    domain = settings.cluster_domain
    contributions: list[tuple[str, str]] = []
    requires: set[str] = set()
    digests: dict[int, str] = {}  # a resource that provides several keys is written out once

    def provide(key: str, resource: Resource | None = None) -> None:
        declaration = ""
        if resource is not None:
            declaration = digests.get(id(resource)) or digests.setdefault(id(resource), _declaration(resource))
        contributions.append((key, declaration))

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
    return tuple(contributions), frozenset(requires)


def _declaration(resource: Resource) -> str:
    """A digest of everything a resource declares, spans included."""
    return hashlib.blake2b(repr(resource).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _digest(parts: list[str]) -> str:
    if not any(parts):
        return ""
    return hashlib.blake2b("\x00".join(sorted(parts)).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
