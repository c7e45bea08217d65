"""Checks: one module per rule, each with its code, severity, docs and fixes; this module runs them."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from istio_lsp.checks import (
    destination_host_is_virtualservice,
    destination_host_not_found,
    file_skipped,
    gateway_not_found,
    routes,
    schema,
    subset_matches_no_workload,
    subset_not_found,
    subset_without_destinationrule,
    validation,
    yaml_syntax_error,
)
from istio_lsp.checks.base import SOURCE, Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.checks.local import DocumentContext
from istio_lsp.index import FileSummary, WorkspaceIndex, summarize
from istio_lsp.index.discovery import summarize_path
from istio_lsp.model.resources import Resource
from istio_lsp.settings import Settings
from istio_lsp.syntax import MappingNode, Span, YamlDocument

log = logging.getLogger(__name__)

_CORE_RULES: tuple[Rule, ...] = (
    yaml_syntax_error.RULE,
    file_skipped.RULE,
    destination_host_is_virtualservice.RULE,
    destination_host_not_found.RULE,
    subset_without_destinationrule.RULE,
    subset_not_found.RULE,
    subset_matches_no_workload.RULE,
    gateway_not_found.RULE,
)


def _collect(package: ModuleType) -> list[Rule]:
    """The rules of a checks subpackage: every module's `RULE` or `RULES`, in module-name order."""
    rules: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if isinstance(getattr(module, "RULE", None), Rule):
            rules.append(module.RULE)
        rules.extend(r for r in getattr(module, "RULES", ()) if isinstance(r, Rule))
    return rules


RULES: tuple[Rule, ...] = _CORE_RULES + tuple(
    rule for package in (schema, validation, routes) for rule in _collect(package)
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


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
        for code, check in _CHECKS_BY_KIND.get(resource.kind, _ANY_KIND):
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


def check_file(index: WorkspaceIndex, uri: str) -> list[Finding]:
    """Every finding for one file, with the user's severity settings applied. Never raises."""
    summary = index.files.get(uri)
    if summary is None:
        return []
    settings = index.settings
    ctx = Context(index)
    produced: list[Finding] = list(summary.local_findings)
    for rule in RULES:
        if rule.run is None:
            continue
        try:
            produced.extend(rule.run(ctx, summary))
        except Exception:  # a bug in one check must not hide the others' findings
            log.exception("check %s failed on %s", rule.code, uri)
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
