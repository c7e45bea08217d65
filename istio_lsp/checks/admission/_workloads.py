"""Helpers shared by the WorkloadEntry, WorkloadGroup, ProxyConfig and WasmPlugin admission rules.

This module defines no rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import ADMITTED, REJECTED
from istio_lsp.checks.admission._se_security import port_name_problem
from istio_lsp.checks.admission.common import label_key_problem, label_value_problem, port_problem, selector_problems
from istio_lsp.checks.fields import mapping_items, present
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import Node, ScalarNode
from istio_lsp.syntax.nodes import get, scalar


def is_group(ctx: DocumentContext, group: str) -> bool:
    """The resource's apiVersion is in `group` (not a namesake kind of another API)."""
    return ctx.resource.api_version.split("/")[0] == group


def whole_number(node: Node | None) -> int | None:
    """The integer a scalar holds, else None (other shapes are the schema checks')."""
    text = scalar(node) if isinstance(node, ScalarNode) else None
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else None


def port_map_findings(ctx: DocumentContext, code: str, ports: Node | None) -> Iterator[Finding]:
    """A workload's `ports` map (name → number): DNS-1123 label names, numbers 1..65535."""
    for name, key, value in mapping_items(ports):
        problem = port_name_problem(name)
        if problem is not None:
            lowered = name.lower()
            fixes = []
            if lowered != name and port_name_problem(lowered) is None:
                fixes.append(replace_scalar(ctx, key, lowered, f"Rename the port to `{lowered}`"))
            yield ctx.finding(
                code,
                Severity.ERROR,
                key,
                f"{problem[0].upper()}{problem[1:]}: a service port is mapped to this port by name; {REJECTED}.",
                fixes=fixes,
            )
        number = whole_number(value)
        if number is not None and port_problem(str(number)) is not None:
            yield ctx.finding(code, Severity.ERROR, value, f"Port `{name}`: {port_problem(str(number))}; {REJECTED}.")


def label_map_findings(ctx: DocumentContext, code: str, labels: Node | None) -> Iterator[Finding]:
    """A label map checked like Kubernetes labels (Istio's `labels.Instance.Validate`)."""
    for key, key_node, value in mapping_items(labels):
        key_problem = label_key_problem(key)
        if key_problem:
            yield ctx.finding(code, Severity.ERROR, key_node, f"Labels: {key_problem}; {REJECTED}.")
            continue
        if not isinstance(value, ScalarNode):
            continue  # a list or map as a label value: a type error, reported by the schema checks
        value_problem = label_value_problem(scalar(value) or "")
        if value_problem:
            yield ctx.finding(code, Severity.ERROR, value, f"Labels: {value_problem}; {REJECTED}.")


def selector_findings(ctx: DocumentContext, code: str, what: str) -> Iterator[Finding]:
    """`spec.selector` (Istio's `validateWorkloadSelector`): no empty key, no `*`; no labels is a warning."""
    selector = get(ctx.spec, "selector")
    if not present(selector):
        return
    labels = get(selector, "matchLabels")
    entries = list(mapping_items(labels))
    for key, key_node, value in entries:
        for problem in selector_problems({key: scalar(value) or ""}):
            where = key_node if (not key or "*" in key) else value
            yield ctx.finding(code, Severity.ERROR, where, f"{problem[0].upper()}{problem[1:]}; {REJECTED}.")
    if not entries:
        yield ctx.finding(
            code,
            Severity.WARNING,
            ["spec", "selector"],
            f"`selector` has no `matchLabels`, so the {what} applies to every workload of the namespace, as if "
            f"the selector were left out; {ADMITTED}.",
            key=True,
        )
