"""Checks: one module per rule, each with its code, severity, docs and fixes; this module runs them."""

from __future__ import annotations

import logging

from istio_lsp.checks import (
    destination_host_is_virtualservice,
    destination_host_not_found,
    file_skipped,
    gateway_not_found,
    subset_matches_no_workload,
    subset_not_found,
    subset_without_destinationrule,
    yaml_syntax_error,
)
from istio_lsp.checks.base import SOURCE, Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.index import WorkspaceIndex
from istio_lsp.syntax import Span

log = logging.getLogger(__name__)

RULES: tuple[Rule, ...] = (
    yaml_syntax_error.RULE,
    file_skipped.RULE,
    destination_host_is_virtualservice.RULE,
    destination_host_not_found.RULE,
    subset_without_destinationrule.RULE,
    subset_not_found.RULE,
    subset_matches_no_workload.RULE,
    gateway_not_found.RULE,
)
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def check_file(index: WorkspaceIndex, uri: str) -> list[Finding]:
    """Every finding for one file, with the user's severity settings applied. Never raises."""
    summary = index.files.get(uri)
    if summary is None:
        return []
    settings = index.settings
    ctx = Context(index)
    findings: list[Finding] = []
    for rule in RULES:
        level = settings.severity.get(rule.code)
        if rule.code in settings.disabled_rules or level == "off":
            continue
        try:
            produced = list(rule.run(ctx, summary))
        except Exception:  # a bug in one check must not hide the others' findings
            log.exception("check %s failed on %s", rule.code, uri)
            continue
        if level is not None:
            for finding in produced:
                finding.severity = Severity.parse(level)
        findings.extend(produced)
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
    "check_file",
]
