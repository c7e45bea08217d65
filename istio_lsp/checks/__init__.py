"""Checks: one module per rule, each with its code, severity, docs and fixes; this module runs them.

Rules are grouped by what they are about, one package each:

- `files`: YAML that does not parse, files not analysed, project configuration, suppressions;
- `references`: hosts, subsets, Gateways and the workloads behind them, across files;
- `gateways`: what a Gateway serves to the VirtualServices bound to it;
- `gateway_api`: Gateway API routes, Gateways, ReferenceGrants and GatewayClasses across files, named after
  the status conditions Istio's controller sets;
- `ambient`: ambient-mode labels, waypoints, and the policies ztunnel and waypoints enforce;
- `ports`: the ports routes name against those Services expose, and how ports are named;
- `conflicts`: resources Istio cannot apply together (the same host, port, certificate, workload);
- `selectors`: Services and policies whose selectors pick no pod the workspace declares with them;
- `schema`: the CRDs' structure (unknown fields, types, enums, required fields, API versions);
- `admission`: what Istio's admission webhook rejects or warns about, resource by resource;
- `security`: TLS that leaves a server unverified, policies that cannot hold;
- `istio_annotations`: Istio annotations on any resource: unknown, misplaced, malformed, deprecated, alpha;
- `envoyfilters`: EnvoyFilter patches whose effect depends on order or that cannot apply as written;
- `providers`: telemetry and external-authorization providers against the mesh configuration;
- `routes`: what Envoy makes of a VirtualService's routes;
- `traffic_policies`: what Envoy makes of a DestinationRule's traffic policy for the pods behind it.

A module's `RULE` (or `RULES`) is registered by being in one of them.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import pkgutil
import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from istio_lsp.checks import (
    admission,
    ambient,
    conflicts,
    envoyfilters,
    files,
    gateway_api,
    gateways,
    istio_annotations,
    ports,
    providers,
    references,
    routes,
    schema,
    security,
    selectors,
    traffic_policies,
)
from istio_lsp.checks.base import SOURCE, Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.checks.files import routing_test_failed, suppressions
from istio_lsp.checks.local import DocumentContext
from istio_lsp.index import FileSummary, WorkspaceIndex, summarize
from istio_lsp.index.cancellation import checkpoint
from istio_lsp.index.discovery import summarize_path
from istio_lsp.index.layout import PATCH, RESOURCE, Placement
from istio_lsp.index.workspace import PlacedFile, Variant
from istio_lsp.model.resources import WORKLOAD_KINDS, Resource
from istio_lsp.settings import Settings
from istio_lsp.syntax import MappingNode, Span, YamlDocument

log = logging.getLogger(__name__)


def _collect(package: ModuleType) -> list[Rule]:
    """The rules of a checks subpackage: every module's `RULE` or `RULES`, in module-name order."""
    rules: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if isinstance(getattr(module, "RULE", None), Rule):
            rules.append(module.RULE)
        rules.extend(r for r in getattr(module, "RULES", ()) if isinstance(r, Rule))
    return rules


RULES: tuple[Rule, ...] = tuple(
    rule
    for package in (
        files,
        references,
        selectors,
        gateways,
        gateway_api,
        ambient,
        ports,
        conflicts,
        schema,
        admission,
        security,
        istio_annotations,
        envoyfilters,
        providers,
        routes,
        traffic_policies,
    )
    for rule in _collect(package)
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}
# a reference that holds in some builds of a file and not in others names what is meant to exist
_REFERENCE_CODES = frozenset(rule.code for rule in _collect(references))
# rules whose findings the core makes from what every other check found, not a check of their own
AFTER_CHECKS = frozenset({suppressions.RULE.code})
# rules whose findings the front ends make by running routing test files (`istio-lsp test`, the editor)
FROM_ROUTING_TESTS = frozenset({routing_test_failed.RULE.code})
# istioctl's codes → the rules that correspond to them (suppressions may name either)
ISTIO_ALIASES: dict[str, set[str]] = {}
for _rule in RULES:
    for _code in _rule.istio_codes:
        ISTIO_ALIASES.setdefault(_code, set()).add(_rule.code)


LOCAL_RULES = tuple(rule for rule in RULES if rule.local is not None)
_LocalCheck = tuple[str, Callable[[DocumentContext], Iterable[Finding]]]  # (code, check)


def _local_checks(kind: str | None) -> tuple[_LocalCheck, ...]:
    """The local checks that read resources of `kind` (None: of a kind no rule names), in rule order."""
    return tuple(
        (rule.code, rule.local)
        for rule in LOCAL_RULES
        if rule.local is not None and (not rule.kinds or kind in rule.kinds)
    )


# a resource is checked by its kind's checks alone, looked up once
_ANY_KIND = _local_checks(None)
_CHECKS_BY_KIND = {kind: _local_checks(kind) for rule in LOCAL_RULES for kind in rule.kinds}


def analyze_document(
    doc: YamlDocument, resources: list[tuple[Resource, MappingNode]], settings: Settings
) -> list[Finding]:
    """Run every local rule on the resources of one document. Never raises."""
    findings: list[Finding] = []
    for resource, node in resources:
        ctx = DocumentContext(doc, node, resource, settings)
        # an AuthorizationPolicy of Linkerd or a Gateway of the Gateway API is no Istio resource, and
        # rules for a kind read only Istio's resources of it and Kubernetes' own workloads
        istio = resource.api_version.partition("/")[0].endswith(".istio.io")
        workload = resource.api_version in WORKLOAD_KINDS.get(resource.kind, ())
        for code, check in _CHECKS_BY_KIND.get(resource.kind, _ANY_KIND) if istio or workload else _ANY_KIND:
            checkpoint()
            try:
                findings.extend(check(ctx))
            except Exception:  # a bug in one check must not hide the others' findings
                log.exception("check %s failed on %s", code, resource.uri)
    return findings


def analyze_text(uri: str, text: str, settings: Settings, previous: FileSummary | None = None) -> FileSummary:
    """A file's summary with its local findings: what the front ends index.

    `previous`, the file's summary before an edit, lets unchanged `---` documents be reused."""
    return summarize(uri, text, settings, analyze_document, previous)


def analyze_path(path: Path, settings: Settings) -> FileSummary:
    return summarize_path(path, settings, analyze_document)


# What a file that kustomize only reads (a patch, a transformer's configuration) can be judged on:
# its field names and value types, never on what a patch leaves to the resource it patches.
_PATCH_CODES = frozenset({"yaml-syntax-error", "file-skipped", "unknown-field", "invalid-type", "invalid-enum-value"})
_SUPPORT_CODES = frozenset({"yaml-syntax-error", "file-skipped"})


def check_file(index: WorkspaceIndex, uri: str) -> list[Finding]:
    """Every finding for one file, with the user's severity settings applied. Never raises.

    A file deployed in several ways (a base that overlays put in different namespaces) is
    checked in each; a finding only some of them have says which."""
    summary = index.files.get(uri)
    if summary is None:
        return []
    settings = index.settings_for(uri)
    placed = index.placed.get(uri)
    produced = _local_findings(summary, placed)
    variants = placed.variants if placed is not None and placed.variants else [Variant(None, [])]
    per_variant: list[tuple[Variant, list[Finding]]] = []
    for variant in variants:
        ctx = Context(index, settings, variant.placement)
        view = dataclasses.replace(summary, resources=variant.resources)
        found: list[Finding] = []
        for rule in RULES:
            if rule.run is None:
                continue
            try:
                found.extend(rule.run(ctx, view))
            except Exception:  # a bug in one check must not hide the others' findings
                log.exception("check %s failed on %s", rule.code, uri)
        per_variant.append((variant, found))
    produced.extend(_across_variants(per_variant, index.path_of(uri)))
    produced = suppressions.apply(produced, summary, ISTIO_ALIASES)
    findings: list[Finding] = []
    for finding in produced:
        level = settings.severity.get(finding.code)
        if finding.code in settings.disabled_rules or level == "off":
            continue
        if level is not None:
            finding = dataclasses.replace(finding, severity=Severity.parse(level))
        findings.append(finding)
    findings.sort(key=lambda f: (f.span, f.code))
    return _unique(findings)


def _local_findings(summary: FileSummary, placed: PlacedFile | None) -> list[Finding]:
    """The summary's per-document findings that hold where the file is deployed: a patch is judged
    on what a patch can be judged on, and a field a replacement overwrites on nothing."""
    findings = summary.local_findings
    if placed is None:
        return list(findings)
    if placed.role != RESOURCE:
        codes = _PATCH_CODES if placed.role == PATCH else _SUPPORT_CODES
        # `$patch`, `$setElementOrder/…` are strategic-merge directives, not unknown fields
        directive = "Unknown field `$"
        findings = [f for f in findings if f.code in codes and not f.message.startswith(directive)]
    if placed.replaced:
        findings = [f for f in findings if not any(f.span.inside(span) for span in placed.replaced)]
    return list(findings)


def _across_variants(per_variant: list[tuple[Variant, list[Finding]]], path: str) -> list[Finding]:
    """One list of findings from each way a file is deployed: a finding all of them have once, as
    it is; one only some have once, naming the builds (overlays) it comes from. For a broken
    reference the other builds are evidence (it holds there: what it names is meant to exist), so
    such a finding is at least a warning."""
    if len(per_variant) == 1:
        return per_variant[0][1]
    folder = posixpath.dirname(path)
    seen: dict[tuple[str, Span], tuple[Finding, list[Placement]]] = {}
    for variant, found in per_variant:
        for finding in found:
            key = (finding.code, finding.span)
            if key not in seen:
                seen[key] = (finding, [])
            if variant.placement is not None and variant.placement not in seen[key][1]:
                seen[key][1].append(variant.placement)
    out = []
    everywhere = sum(1 for variant, _ in per_variant if variant.placement is not None)
    for finding, placements in seen.values():
        if placements and len(placements) < everywhere:
            builds = ", ".join(f"`{posixpath.relpath(b, folder)}`" for p in placements for b in p.builds)
            if finding.code in _REFERENCE_CODES:
                finding = dataclasses.replace(
                    finding,
                    message=f"{finding.message} (as built by {builds}; the other builds resolve it)",
                    severity=min(finding.severity, Severity.WARNING),
                )
            else:
                finding = dataclasses.replace(finding, message=f"{finding.message} (as built by {builds})")
        out.append(finding)
    return out


def _unique(findings: list[Finding]) -> list[Finding]:
    """Drop repeats: a YAML alias (`route: *routes`) shares one node between several rules,
    and each use would otherwise report the same problem at the same text again."""
    seen: set[tuple[str, Span, str, str]] = set()
    out = []
    for finding in findings:
        key = (finding.uri, finding.span, finding.code, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


__all__ = [
    "AFTER_CHECKS",
    "FROM_ROUTING_TESTS",
    "RULES",
    "RULES_BY_CODE",
    "SOURCE",
    "Context",
    "Finding",
    "Fix",
    "Related",
    "Rule",
    "Severity",
    "TextEdit",
    "analyze_path",
    "analyze_text",
    "check_file",
]
