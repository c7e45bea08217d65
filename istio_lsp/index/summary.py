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
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urlparse

from istio_lsp.findings import Finding
from istio_lsp.index.cancellation import checkpoint
from istio_lsp.index.config import is_config_path
from istio_lsp.model.extract import resource_nodes
from istio_lsp.model.hosts import (
    ANY_NAMESPACE,
    cluster_namespace,
    gateway_key,
    host_candidates,
    in_namespace,
    service_fqdn,
    wildcard_keys,
)
from istio_lsp.model.kustomization import Kustomization, is_kustomization_path, read_kustomization
from istio_lsp.model.placeholders import has_placeholder_text, is_placeholder
from istio_lsp.model.resources import (
    DestinationRule,
    EnvoyFilter,
    Gateway,
    KubernetesGateway,
    KubernetesRoute,
    ListenerSet,
    MeshConfigSource,
    ReferenceGrant,
    Resource,
    Scaler,
    SelectorPolicy,
    Service,
    ServiceEntry,
    VirtualService,
    Workload,
    WorkloadGroup,
)
from istio_lsp.settings import Settings
from istio_lsp.syntax import (
    MappingNode,
    ScalarNode,
    SkippedFile,
    Span,
    SyntaxProblem,
    YamlDocument,
    parse_document,
    placeholder_problem,
    skip_reason,
    split_documents,
    template_problem,
    utf16_len,
)
from istio_lsp.syntax.comments import Suppression, suppressions
from istio_lsp.syntax.nodes import walk

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
    skipped: int = 0  # entries of `skipped_documents` (0 or 1)


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
    # a kustomization file: what it builds (it holds no resources of its own)
    kustomization: Kustomization | None = None
    skipped_documents: list[SkippedFile] = field(default_factory=list)  # documents that are templates
    suppressions: list[Suppression] = field(default_factory=list)  # `# istio-lsp: disable…` comments


def digest_of(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(text: str) -> str:
    """The text with each lone surrogate (an editor may send one; no file on disk decodes to one) as
    U+FFFD: the YAML parser cannot read them, and one UTF-16 unit for another keeps every position."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


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
    text = _without_lone_surrogates(text)
    # template actions are judged per document (below): one Helm-style document does not hide the others
    summary.skipped = skip_reason(text, max_bytes=settings.max_file_size, templates=False)
    last_newline = text.rfind("\n")
    summary.end = (text.count("\n"), utf16_len(text[last_newline + 1 :]))
    path = uri_path(uri)
    if summary.skipped is None:
        summary.skipped = _named_as_template(path)
    if summary.skipped is None and is_kustomization_path(path):
        _read_kustomization(summary, text)
    # a project configuration is read by the index, its problems reported by their own rule
    elif summary.skipped is None and not is_config_path(path):
        reusable = _reusable(previous, summary)
        pieces = split_documents(text)
        summary.document_count = len(pieces)
        for index, (line, piece) in enumerate(pieces):
            checkpoint()
            part_digest = digest_of(piece)
            earlier = reusable.get(part_digest)
            if earlier:
                _reuse(summary, earlier.pop(0), index, line, settings)
            elif (template := template_problem(piece)) is not None:
                _skip_document(summary, part_digest, line, template, _TEMPLATE)
            elif (values := _value_count(piece)) > MAX_DOCUMENT_VALUES:
                _skip_document(summary, part_digest, line, (0, 0), _too_many_values(values), kind="too-large")
            else:
                doc = parse_document(piece, index, line)
                if doc.error is not None and (placeholder := placeholder_problem(piece)) is not None:
                    _skip_document(summary, part_digest, line, placeholder, _PLACEHOLDER)
                else:
                    _derive(summary, doc, part_digest, analyzer, settings)
    if not text.isascii():
        summary.nonascii_lines = {n: line for n, line in enumerate(text.split("\n")) if not line.isascii()}
    summary.suppressions = suppressions(text)
    summary.provides, summary.requires = _combine(summary.parts)
    return summary


# `gateway-template.yaml`, `vs.tmpl.yaml`, `app.tpl.yml`: names that say a tool fills the file in
_TEMPLATE_NAME = re.compile(r"[._-](template|tmpl|tpl)[._-]", re.IGNORECASE)


def uri_path(uri: str) -> str:
    """The `/`-separated path of a URI (`file:///a/b%20c.yaml` → `/a/b c.yaml`)."""
    return unquote(urlparse(uri).path)


def _named_as_template(path: str) -> SkippedFile | None:
    name = posixpath.basename(path)
    if _TEMPLATE_NAME.search(name) is None:
        return None
    return SkippedFile(
        "template",
        f"File skipped: its name marks it as a template (`{name}`), which a tool fills in before it is "
        f"applied. Check what the tool writes out instead.",
        Span(0, 0, 0, 0),
    )


def _read_kustomization(summary: FileSummary, text: str) -> None:
    """A kustomization file: its syntax problems and what it builds; it holds no resources."""
    pieces = split_documents(text)
    summary.document_count = len(pieces)
    for index, (line, piece) in enumerate(pieces):
        doc = parse_document(piece, index, line)
        if doc.error is not None:
            summary.syntax_errors.append(doc.error)
        elif summary.kustomization is None:
            summary.kustomization = read_kustomization(doc.root)


_TEMPLATE = (
    "Document skipped: a Go/Helm template action ({{ … }}) stands here for YAML keys, values or "
    "structure, so the document is not YAML until it is rendered. Render it (helm template) to check "
    "the output; the file's other documents are checked."
)
_PLACEHOLDER = (
    "Document skipped: this `{…}` is a placeholder to fill in before applying (as written, the document "
    "is not YAML); the file's other documents are checked."
)


# Far above any real manifest (a 20,000-route VirtualService holds about 120,000), below what takes
# gigabytes: a 5 MB flow sequence of 420,000 hosts took 1.1 GB and 16 s before this limit.
MAX_DOCUMENT_VALUES = 250_000


def _value_count(piece: str) -> int:
    """An upper bound on a document's YAML values, read without parsing: each is on a line of its
    own or follows a comma."""
    return piece.count("\n") + piece.count(",")


def _too_many_values(count: int) -> str:
    return (
        f"Document skipped: it holds up to {count:,} YAML values, above the {MAX_DOCUMENT_VALUES:,} analysed in one "
        "document (memory and time grow with each). A manifest this large is generated: check what generates "
        "it; the file's other documents are checked."
    )


def _skip_document(
    summary: FileSummary, part_digest: str, line: int, at: tuple[int, int], message: str, kind: str = "template"
) -> None:
    """A document that is not analysed: not YAML until a tool fills it in (a template, a sample with
    placeholders), or too large. Says so where the first template action or placeholder is."""
    row, column = at
    where = Span(line + row, column, line + row, column + (2 if message is _TEMPLATE else 1))
    summary.skipped_documents.append(SkippedFile(kind, message, where))
    summary.parts.append(DocumentPart(part_digest, line, 0, 0, 0, skipped=1))


# A document's results in an earlier summary: its part, resources, findings, syntax errors and skips.
_Earlier = tuple[DocumentPart, list[Resource], list[Finding], list[SyntaxProblem], list[SkippedFile]]


def _analysis_key(settings: Settings, analyzer: DocumentAnalyzer | None) -> str:
    name = "" if analyzer is None else f"{analyzer.__module__}.{analyzer.__qualname__}"
    return digest_of(f"{name}|{settings!r}")


def _reusable(previous: FileSummary | None, summary: FileSummary) -> dict[str, list[_Earlier]]:
    """The documents of `previous` by digest, when it was derived the way `summary` is."""
    if previous is None or previous.uri != summary.uri or previous.analysis != summary.analysis:
        return {}
    found: dict[str, list[_Earlier]] = {}
    resources = findings = errors = skipped = 0
    for part in previous.parts:
        found.setdefault(part.digest, []).append(
            (
                part,
                previous.resources[resources : resources + part.resources],
                previous.local_findings[findings : findings + part.findings],
                previous.syntax_errors[errors : errors + part.errors],
                previous.skipped_documents[skipped : skipped + part.skipped],
            )
        )
        resources += part.resources
        findings += part.findings
        errors += part.errors
        skipped += part.skipped
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
        pairs = resource_nodes(doc, summary.uri)
        resources = [resource for resource, _ in pairs]
        if analyzer is not None and pairs:
            findings = _known_values_only(doc, analyzer(doc, pairs, settings))
    summary.resources.extend(resources)
    summary.local_findings.extend(findings)
    errors = 0 if doc.error is None else 1
    provides, requires = _contributions(resources, settings)
    summary.parts.append(
        DocumentPart(part_digest, doc.start_line, len(resources), len(findings), errors, provides, requires)
    )


def _known_values_only(doc: YamlDocument, findings: list[Finding]) -> list[Finding]:
    """The findings that do not rest on a placeholder (`$(VAR)`, `{{ … }}` in a quoted value): a tool
    replaces those values before the manifest is applied."""
    if not findings or not has_placeholder_text(doc.text):
        return findings
    unknown = [
        doc.span_of(node) for node in walk(doc.root) if isinstance(node, ScalarNode) and is_placeholder(node.value)
    ]
    return [f for f in findings if not any(f.span.inside(span) for span in unknown)]


def _reuse(summary: FileSummary, earlier: _Earlier, index: int, line: int, settings: Settings) -> None:
    part, resources, findings, errors, skips = earlier
    lines = line - part.start_line
    if lines or any(r.doc_index != index for r in resources):
        resources = [_moved(r, lines, index) for r in resources]
        findings = [_moved(f, lines, index) for f in findings]
        errors = [_moved(e, lines, index) for e in errors]
        skips = [_moved(s, lines, index) for s in skips]
        provides, requires = _contributions(resources, settings)  # a declaration's digest covers its spans
        part = dataclasses.replace(part, start_line=line, provides=provides, requires=requires)
    summary.resources.extend(resources)
    summary.local_findings.extend(findings)
    summary.syntax_errors.extend(errors)
    summary.skipped_documents.extend(skips)
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
    """(key, digest of the resource behind it, or "" for presence) of what resources provide, and what they require.

    A key that names a namespace comes in more forms, so that a resource whose namespace is not
    known (ANY_NAMESPACE) meets those of every namespace and no more: a provider in `ns` also
    provides the `*` form (read by requirers of unknown namespace); a provider of unknown
    namespace provides the `*` and `~` forms; a requirer in `ns` also requires the `~` form.
    """
    domain = settings.cluster_domain
    contributions: list[tuple[str, str]] = []
    requires: set[str] = set()
    digests: dict[int, str] = {}  # a resource that provides several keys is written out once

    def provide(key: str, resource: Resource | None = None, part: object = None, digest: str | None = None) -> None:
        """`part`: what of the resource the key's readers read, when not all of it (`digest`: its digest,
        when the caller provides many keys with one part)."""
        declaration = ""
        if digest is not None:
            declaration = digest
        elif part is not None:
            declaration = _declaration(part)
        elif resource is not None:
            declaration = digests.get(id(resource)) or digests.setdefault(id(resource), _declaration(resource))
        for form in _key_forms(key, domain, providing=True):
            contributions.append((form, declaration))

    def require(key: str) -> None:
        requires.update(_key_forms(key, domain, providing=False))

    for r in resources:
        ns = r.namespace
        provide(f"ns:{ns}")
        # which namespaces the files know, read by the checks that judge a namespace named in a field
        provide(NAMESPACE_NAMES, part=r.name if r.kind == "Namespace" else ns)
        if isinstance(r, (VirtualService, DestinationRule, ServiceEntry, Service)) and any(
            e.strip() not in ("", ".", "*", "~") for e in r.export_to
        ):
            require(NAMESPACE_NAMES)  # an exportTo entry naming a namespace: one the files know?
        _ambient_contributions(r, settings, provide, require)
        if r.kind == "Namespace":  # its labels: ambient mode, sidecar injection (read by the Sidecars in it)
            provide(f"nsobj:{r.name}", r, r.labels)
        if r.kind == "ServiceAccount":
            provide(f"sa:{ns}", part=r.name)  # the identities of a namespace, read by AuthorizationPolicy principals
        if isinstance(r, Service):
            provide(f"host:{service_fqdn(r.name, ns, domain)}", r)
            provide(f"svcns:{ns}")
            provide("svcnamespaces:", r)  # which namespaces have Services: namespace suggestions read it
            # the port rules compare a namespace's Services, the selector rules a Service with its pods
            provide(f"svcport:{ns}", r)
            require(f"svcport:{ns}")
            require(f"wl:{ns}")
        elif isinstance(r, Workload):
            provide(f"svcns:{ns}")
            provide(f"wl:{ns}", r)
            if r.kind == "Deployment" and r.labels.get("app") == "istiod":
                require(f"ra:{ANY_NAMESPACE}")  # the RequestAuthentications whose keys istiod fetches
        elif isinstance(r, Scaler):
            provide(f"wl:{ns}", r)  # the replicas of the workload it scales
        elif r.kind in ("WorkloadEntry", "WorkloadGroup"):
            provide(f"we:{ns}", r)  # the endpoints a ServiceEntry's workloadSelector picks, read by subsets
            if isinstance(r, WorkloadGroup):
                require(f"we:{ns}")  # the namespace's other WorkloadGroups (the same labels for their entries)
                if r.service_account is not None:  # the identities of its namespace
                    require(f"sa:{ns}")
                    require(f"wl:{ns}")
        elif isinstance(r, ServiceEntry):
            for ref in r.hosts:
                for c in host_candidates(ref.value, ns, domain):
                    provide(f"host:{c}", r)
                    require(f"host:{c}")  # the other entries of its hosts (conflicting protocols)
                    for w in wildcard_keys(c)[:-1]:
                        provide(f"under:{w}")  # read by DestinationRules for a wildcard host that covers it
        elif isinstance(r, Gateway):
            provide(f"gw:{ns}/{r.name}", r)
            require(f"wl:{ANY_NAMESPACE}")  # its selector picks pods of every namespace
            for port in {s.port for s in r.servers if s.port is not None}:
                provide(f"gwport:{port}", r)  # the Gateways of a port meet there (conflicts, shared certificates)
                require(f"gwport:{port}")
        elif isinstance(r, KubernetesGateway):
            provide(f"gw:{ns}/{r.name}", r)  # its listeners' hostnames, read by the VirtualServices bound to it
            _gateway_api_contributions(r, domain, provide, require)
        elif isinstance(r, (KubernetesRoute, ReferenceGrant, ListenerSet)):
            _gateway_api_contributions(r, domain, provide, require)
        elif isinstance(r, MeshConfigSource):
            provide(MESH_CONFIG, r)
        elif isinstance(r, SelectorPolicy):
            if r.providers:  # the extension providers of the mesh configuration
                require(MESH_CONFIG)
            if r.kind == "RequestAuthentication":
                provide(f"ra:{ns}", r)  # which pods validate tokens, read by routes on JWT claims
            if r.kind == "PeerAuthentication":
                provide(f"pa:{ns}", r)  # what a namespace's pods accept, read by the DestinationRules sending there
                # the mTLS the DestinationRules originate towards its namespace, towards every one (the
                # namespace's other PeerAuthentications decide with it)
                for key in (f"pa:{ns}", f"mtlsdr:{ns}", f"mtlsdr:{settings.root_namespace}"):
                    require(key)
                if ns == settings.root_namespace:
                    require(MUTUAL_ANYWHERE)
            if r.kind == "AuthorizationPolicy" and r.rule_values:
                _rule_value_contributions(r, domain, require)
            if r.kind == "AuthorizationPolicy" and r.peer_identity:
                # whether its pods receive mTLS: their PeerAuthentications, the DestinationRules towards them
                # (and the Services whose DestinationRules those are)
                for n in (ns, settings.root_namespace):
                    require(f"pa:{n}")
                    require(f"mtlsdr:{n}")
                require(f"svcport:{ns}")
            selected_gateway = (r.selector or {}).get("gateway.networking.k8s.io/gateway-name")
            if selected_gateway and not r.targeted:  # the Gateway API Gateway it selects (a waypoint?)
                require(f"gw:{ANY_NAMESPACE if ns == settings.root_namespace else ns}/{selected_gateway}")
            if r.kind == "Sidecar":
                provide(f"sidecar:{ns}", r)  # the Sidecars of a namespace must not apply to the same proxies
                require(f"sidecar:{ns}")
                require(f"nsobj:{ns}")  # whether its namespace is in ambient mode
                for ref in r.egress_hosts:  # the services its egress imports, and where
                    imported, _, host = ref.value.partition("/")
                    for c in host_candidates(host, ns if imported in (".", "") else imported, domain):
                        require(f"host:{c}")
                    require(f"host:{host.lower()}")
                    require("svcnamespaces:")
            # the pods its selector picks: of its namespace, of every one from the root namespace
            require(f"wl:{ANY_NAMESPACE if ns == settings.root_namespace else ns}")
        elif isinstance(r, EnvoyFilter):
            provide(f"ef:{ns}", r)  # the EnvoyFilters of a namespace are applied one after the other
            require(f"ef:{ns}")
        elif isinstance(r, DestinationRule):
            if r.host is not None:
                for c in host_candidates(r.host.value, ns, domain):
                    provide(f"dr:{c}", r)
                    require(f"dr:{c}")  # the rules Istio merges with it
                    require(f"host:{c}")
                    if r.subsets:  # the routes that use its subsets
                        require(f"{VS_DESTINATION}{c}")
                        require(UNKNOWN_DESTINATION)
                        # the endpoints of a ServiceEntry's workloadSelector, in the entry's namespace
                        require(f"we:{ANY_NAMESPACE}")
                        if cluster_namespace(c, domain) is None:
                            require(f"wl:{ANY_NAMESPACE}")
                    host_ns = cluster_namespace(c, domain)
                    if host_ns:
                        require(f"wl:{host_ns}")
                        require(f"pa:{host_ns}")
                    if c.startswith("*"):  # what it covers: the namespace's Services, entries under it
                        require(f"under:{c}")
                        for w in wildcard_keys(c):
                            require(f"host:{w}")
                        if host_ns:  # and, for "did you mean", the namespaces that have Services
                            require(f"svcns:{host_ns}")
                            require("svcnamespaces:")
            if r.tls_modes:
                require(f"pa:{settings.root_namespace}")  # the mesh-wide mTLS mode
            _mtls_contributions(r, settings, provide, require)
        elif isinstance(r, VirtualService):
            for ref in r.hosts:
                for c in host_candidates(ref.value, ns, domain):
                    provide(f"host:{c}", r)
                    require(f"host:{c}")  # the Service behind its own host (ports, the mesh listener)
            # what the DestinationRules of its destination hosts read: which subsets the routes use
            used = (r.uri, r.name, r.namespace, r.name_span, [(d.host.value, d.subset, d.role) for d in r.destinations])
            used_digest = _declaration(used)  # once: a VirtualService of thousands of routes provides as many keys
            for dest in r.destinations:
                if dest.subset is not None and is_placeholder(dest.host.value):
                    provide(UNKNOWN_DESTINATION, r, digest=used_digest)
                for c in host_candidates(dest.host.value, ns, domain):
                    provide(f"{VS_DESTINATION}{c}", r, digest=used_digest)
                    require(f"host:{c}")
                    for w in wildcard_keys(c):
                        require(f"host:{w}")
                    host_ns = cluster_namespace(c, domain)
                    if host_ns:
                        for key in (f"svcns:{host_ns}", f"ns:{host_ns}", f"wl:{host_ns}"):
                            require(key)
                    if dest.subset is not None:
                        require(f"dr:{c}")
                        for w in wildcard_keys(c):
                            require(f"dr:{w}")
            if r.claim_matches:  # the RequestAuthentications of the gateway pods, wherever they run
                require(f"ra:{ANY_NAMESPACE}")
                require(f"wl:{ANY_NAMESPACE}")
            for ref in r.gateways:
                gw_ns, gw_name = gateway_key(ref.value, ns)
                require(f"gw:{gw_ns}/{gw_name}")
                require(f"ns:{gw_ns}")
    return tuple(contributions), frozenset(requires)


MESH_CONFIG = "meshcfg:"  # the mesh configurations the workspace holds (their extension providers)
NAMESPACE_NAMES = "nsnames:"  # every file's namespaces: read by the checks that judge a namespace named in a field
MUTUAL_ANYWHERE = "mutual:mesh"  # the DestinationRules that set ISTIO_MUTUAL, whatever their host
VS_DESTINATION = "vsdest:"  # + host: the VirtualServices that route or mirror to the host
UNKNOWN_DESTINATION = "vsdest:?"  # the VirtualServices with a subset of a host that is a placeholder


def _rule_value_contributions(policy: SelectorPolicy, domain: str, require: Callable[[str], None]) -> None:
    """What the checks of an AuthorizationPolicy's `namespaces`, `principals` and `hosts` read: the namespaces the
    files know, the workloads and ServiceAccounts of a principal's namespace, the providers of a short host."""
    for item in policy.rule_values:
        value = item.value.value
        if item.key in ("namespaces", "notNamespaces"):
            require(NAMESPACE_NAMES)
        elif item.key in ("principals", "notPrincipals", "serviceAccounts", "notServiceAccounts"):
            if item.key.endswith("rincipals"):
                namespaces = _PRINCIPAL_NAMESPACE.findall(value)
            else:  # `ns/name`, or `name` in the policy's namespace
                namespaces = [value.rpartition("/")[0] or policy.namespace]
            for namespace in namespaces:
                require(f"wl:{namespace}")
                require(f"sa:{namespace}")
        elif "*" not in value and value.count(".") <= 1:  # a host that may name a service of the cluster
            host = value.rpartition(":")[0] if value.rpartition(":")[2].isdigit() else value
            require(NAMESPACE_NAMES)
            for c in host_candidates(host, policy.namespace, domain):
                require(f"host:{c}")
            require(f"svcns:{host.partition('.')[2].lower() or policy.namespace}")
            require("svcnamespaces:")  # the Services of the namespace, for "did you mean"


def _gateway_api_contributions(
    r: Resource, domain: str, provide: Callable[..., None], require: Callable[[str], None]
) -> None:
    """What the Gateway API checks read of other files: a route, the Gateways (or ListenerSets) it names with
    its namespace's labels (allowedRoutes selectors), the Services and hosts of its backends and mesh parents,
    the ReferenceGrants of the namespaces it refers to; a Gateway, the grants of its certificates' namespaces."""
    ns = r.namespace
    if isinstance(r, ReferenceGrant):
        provide(f"refgrant:{ns}", r)
        if r.from_refs:
            require(NAMESPACE_NAMES)  # does each `from` namespace exist?
        return
    if isinstance(r, KubernetesGateway):
        if r.class_ref is not None:
            require("gwclass:")  # the class it names, or one a typo away
        if r.addresses or any(listener.hostname is not None for listener in r.listeners):
            require(f"kgw:{ANY_NAMESPACE}")  # other Gateways asking for its addresses or serving its hostnames
    if isinstance(r, ListenerSet):
        provide(f"gw:{ns}/{r.name}", r)  # read by the routes attached to it
        if r.parent is not None and r.parent.name is not None:  # its listeners meet its Gateway's
            parent_ns = r.parent.namespace.value if r.parent.namespace is not None else ns
            require(f"gw:{parent_ns}/{r.parent.name.value}")
            require(f"nsobj:{ns}")  # the labels an allowedListeners selector reads
    if isinstance(r, (KubernetesGateway, ListenerSet)):
        for listener in r.listeners:
            for ref in listener.certificate_refs:
                if ref.namespace is not None:
                    require(f"refgrant:{ref.namespace.value}")
                    require(f"ns:{ref.namespace.value}")
        return
    if not isinstance(r, KubernetesRoute):
        return
    for parent in r.parents:
        if parent.name is None:
            continue
        parent_ns = parent.namespace.value if parent.namespace is not None else ns
        if parent.kind == "Service":
            require(f"host:{service_fqdn(parent.name.value, parent_ns, domain)}")
            require(f"svcns:{parent_ns}")
            require("svcnamespaces:")
        else:
            require(f"gw:{parent_ns}/{parent.name.value}")
            require(f"gw:{ANY_NAMESPACE}/{parent.name.value}")  # namesakes in other namespaces
            require(f"ns:{parent_ns}")
            require(f"nsobj:{ns}")  # the labels an allowedRoutes selector reads
    for rule in r.rules:
        for ref in rule.backends:
            if ref.name is None:
                continue
            target = ref.namespace.value if ref.namespace is not None else ns
            for c in host_candidates(ref.name.value, target, domain):
                require(f"host:{c}")
            require(f"host:{service_fqdn(ref.name.value, target, domain)}")
            require(f"svcns:{target}")
            require("svcnamespaces:")
            if target != ns:
                require(f"refgrant:{target}")
                require(f"ns:{target}")


def _ambient_contributions(
    r: Resource, settings: Settings, provide: Callable[..., None], require: Callable[[str], None]
) -> None:
    """What the ambient checks read of other files: the Gateway API Gateways (waypoints) and GatewayClasses
    an `istio.io/use-waypoint` label or a policy's `targetRefs` may name, with their `istio.io/waypoint-for`;
    the Services and ServiceEntries a `targetRef` names; the Namespace that puts a policy's pods in ambient."""
    ns = r.namespace
    if isinstance(r, KubernetesGateway):
        provide(f"kgw:{ns}", r)
    elif r.kind == "GatewayClass":
        provide("gwclass:", r)
    elif isinstance(r, ServiceEntry):
        provide(f"sename:{ns}", part=r.name)
    if any(lv.key == "istio.io/use-waypoint" for lv in r.ambient_labels):
        require(f"kgw:{ANY_NAMESPACE}")  # the waypoint, its namesakes, the names close to it
        require("gwclass:")  # the `istio.io/waypoint-for` of its class
    if isinstance(r, SelectorPolicy) and r.kind == "AuthorizationPolicy" and r.l7_attributes and not r.targeted:
        require(f"nsobj:{ns}")  # whether its pods are in ambient mode
    targets = r.target_refs if isinstance(r, (SelectorPolicy, EnvoyFilter)) else []
    for ref in targets:
        if ref.kind == "Gateway":
            require(f"kgw:{ANY_NAMESPACE}")
        elif ref.kind == "GatewayClass":
            require("gwclass:")
        elif ref.kind == "Service":
            require("svcnamespaces:")  # every Service: the one named, its namesakes, close names
        elif ref.kind == "ServiceEntry":
            require(f"sename:{ANY_NAMESPACE}")


_PRINCIPAL_NAMESPACE = re.compile(r"/ns/([^/*]+)/")  # the namespace a principal `<td>/ns/<ns>/sa/<sa>` names


def _mtls_contributions(
    dr: DestinationRule, settings: Settings, provide: Callable[..., None], require: Callable[[str], None]
) -> None:
    """What a DestinationRule gives and reads for the mTLS checks (`mtlsdr:<ns>`): a rule for every host
    of a namespace or of the mesh (the root namespace's key), or one that sets `tls`, is read by the
    PeerAuthentications and AuthorizationPolicies of that namespace; a rule for one host without `tls`
    reads the wildcard rules it overrides. The digest covers what those checks read, not the subsets."""
    if dr.host is None:
        return
    domain, root = settings.cluster_domain, settings.root_namespace
    host = dr.host.value.lower()
    wildcard = host.startswith("*")
    namespace = cluster_namespace(host_candidates(host, dr.namespace, domain)[0], domain)
    if namespace is None and not wildcard:
        return  # not a service of the cluster
    part = (dr.uri, dr.name, dr.namespace, dr.name_span, dr.host, dr.export_to, dr.workload_selector, dr.tls_modes)
    if wildcard or dr.tls_modes:
        provide(f"mtlsdr:{namespace or root}", dr, part)
    if any(t.mode.upper() == "ISTIO_MUTUAL" for t in dr.tls_modes):
        provide(MUTUAL_ANYWHERE, dr, part)
    if not wildcard and not dr.tls_modes and namespace is not None:
        for key in (f"mtlsdr:{namespace}", f"mtlsdr:{root}", f"pa:{root}"):
            require(key)


def all_key_forms(key: str, domain: str) -> set[str]:
    """A key in every form a requirer of any namespace may use."""
    return {*_key_forms(key, domain, providing=True), *_key_forms(key, domain, providing=False)}


def _key_forms(key: str, domain: str, *, providing: bool) -> tuple[str, ...]:
    """A dependency key and its forms for resources of unknown namespace (see `_contributions`)."""
    kind, _, rest = key.partition(":")
    if kind in ("host", "dr", "vsdest"):
        ns = cluster_namespace(rest, domain)
        if ns is None:
            return (key,)

        def form(n: str) -> str:
            return f"{kind}:{in_namespace(rest, n, domain)}"

    elif kind in ("gwport", "under", "svcnamespaces"):
        return (key,)  # a port number, a wildcard, every namespace: no namespace forms
    elif kind == "gw":
        ns, _, name = rest.partition("/")

        def form(n: str) -> str:
            return f"gw:{n}/{name}"

    else:  # ns:, svcns:, wl:
        ns = rest

        def form(n: str) -> str:
            return f"{kind}:{n}"

    if ns == ANY_NAMESPACE:
        return (key, form("~")) if providing else (key,)
    return (key, form(ANY_NAMESPACE)) if providing else (key, form("~"))


def _declaration(resource: object) -> str:
    """A digest of everything a resource (or a part of it) declares, spans included."""
    return hashlib.blake2b(repr(resource).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _digest(parts: list[str]) -> str:
    if not any(parts):
        return ""
    return hashlib.blake2b("\x00".join(sorted(parts)).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
