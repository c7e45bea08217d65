"""Hover on what links resources through labels and modes, read from the index.

- a selector (Service, Gateway, policy, Sidecar, workloadSelector) → how many workloads
  it picks, and which; when none is in the workspace, that they may be deployed elsewhere;
- a workload's name → what governs its pods: the Services selecting them, the mTLS mode in
  force and where it comes from, AuthorizationPolicies, RequestAuthentications, the Sidecar,
  Telemetries, the Gateways they serve; its pod labels → what selects them;
- a Gateway server's `hosts` entry → the VirtualServices bound to the Gateway it serves;
- a DestinationRule's `tls.mode` → what the pods it sends to accept, and what happens;
- a PeerAuthentication's `mtls.mode` → which pods it decides for, whether it is in force,
  and the DestinationRules that send to them.

The positions come from the file's summary, so these hovers answer only while the index
holds the text being hovered (the document is analysed on each change).
"""

from __future__ import annotations

from collections.abc import Iterable

from istio_lsp.checks.pods import built_labels, default_install_selector, format_labels
from istio_lsp.features.locate import (
    GATEWAY_HOST,
    MTLS_MODE,
    RESOURCE_NAME,
    SELECTOR,
    TLS_MODE,
    WORKLOAD_LABELS,
    Located,
    locate,
)
from istio_lsp.features.mtls import client_mode, decides, governed, senders, server_side, verdict
from istio_lsp.features.references import served_hosts
from istio_lsp.features.selection import (
    EMPTY,
    PLACEHOLDER,
    RUNTIME_LABEL,
    Selection,
    governance,
    picked_by,
    picking_subsets,
    selection,
    selector_of,
)
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.resolve import MtlsDecision, effective_mtls
from istio_lsp.index.summary import digest_of
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import (
    DestinationRule,
    Gateway,
    Resource,
    SelectorPolicy,
    Service,
    Workload,
)

MAX_LISTED = 10


def link_markdown(index: WorkspaceIndex, uri: str, text: str, line: int, character: int) -> str | None:
    """The hover text for a label or mode link at a position, when the index holds this text."""
    summary = index.files.get(uri)
    if summary is None or summary.digest != digest_of(text):
        return None  # the index has not analysed this text yet: its positions would be stale
    located = locate(index, uri, line, character)
    if located is None:
        return None
    r = located.resource
    if located.what == SELECTOR:
        picked = selection(index, r)
        return selection_markdown(index, picked) if picked is not None else None
    if located.what == WORKLOAD_LABELS and isinstance(r, Workload):
        return selected_by_markdown(index, r)
    if located.what == RESOURCE_NAME and isinstance(r, Workload):
        return governance_markdown(index, r)
    if located.what == GATEWAY_HOST and isinstance(r, Gateway) and located.ref is not None:
        return gateway_host_markdown(index, r, located)
    if located.what == TLS_MODE and isinstance(r, DestinationRule):
        return tls_markdown(index, r, located)
    if located.what == MTLS_MODE and isinstance(r, SelectorPolicy):
        return mtls_markdown(index, r)
    return None


# ---- selectors -----------------------------------------------------------------------------


def _name(r: Resource) -> str:
    """`Kind ns/name` with the name in code (`Kind name` when the namespace is not known)."""
    if r.namespace in ("", ANY_NAMESPACE):
        return f"{r.kind} `{r.name}`"
    return f"{r.kind} `{r.namespace}/{r.name}`"


def _id(r: Resource) -> str:
    """`ns/name` in code (the name alone when the namespace is not known)."""
    return f"`{r.name}`" if r.namespace in ("", ANY_NAMESPACE) else f"`{r.namespace}/{r.name}`"


def _listed(items: Iterable[str]) -> list[str]:
    values = list(items)
    lines = [f"- {v}" for v in values[:MAX_LISTED]]
    if len(values) > MAX_LISTED:
        lines.append(f"- … and {len(values) - MAX_LISTED} more")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _where(index: WorkspaceIndex, picked: Selection) -> str:
    holder = picked.holder
    if picked.scope != ANY_NAMESPACE:
        return f"in namespace `{picked.scope}`"
    if isinstance(holder, Gateway):
        return "in every namespace (a Gateway picks gateway pods wherever they run)"
    if holder.namespace == index.settings.root_namespace:
        return f"in every namespace (it is in the root namespace `{holder.namespace}`)"
    return "in any namespace (its own namespace is not known)"


def selection_markdown(index: WorkspaceIndex, picked: Selection) -> str:
    holder = picked.holder
    head = f"**{_name(holder)}** · selector `{format_labels(picked.selector)}`"
    if picked.unknown == PLACEHOLDER:
        return f"{head}\n\nThe selector holds a placeholder: what it picks is known once a tool fills it in."
    if picked.unknown == RUNTIME_LABEL:
        return f"{head}\n\nThe selector uses a label set when pods run: the files cannot tell which pods it picks."
    if picked.unknown == EMPTY:
        if isinstance(holder, Service):
            return f"**{_name(holder)}** · empty selector: the Service selects no pods (endpoints are managed apart)."
        return f"**{_name(holder)}** · empty selector: it applies to every workload {_where(index, picked)}."
    where = _where(index, picked)
    if not picked.workloads:
        lines = [head, "", f"**No workload in the workspace** matches it {where}."]
        if isinstance(holder, Gateway) and default_install_selector(picked.selector):
            lines.append("These labels are those of a gateway Istio's installation deploys.")
        else:
            lines.append("Its pods may be deployed from elsewhere (a chart, an operator, another repository).")
        return "\n".join(lines)
    count = _plural(len(picked.workloads), "workload")
    lines = [head, "", f"Matches **{count}** {where}:", ""]
    lines += _listed(_name(w) for w in picked.workloads)
    return "\n".join(lines)


# ---- workloads -------------------------------------------------------------------------------


def _holder_line(holder: Resource) -> str:
    found = picked_selector(holder)
    labels = f" (`{format_labels(found)}`)" if found else ""
    return f"{_name(holder)}{labels}"


def picked_selector(holder: Resource) -> dict[str, str]:
    found = selector_of(holder)
    return found[0] if found else {}


def selected_by_markdown(index: WorkspaceIndex, workload: Workload) -> str:
    holders = picked_by(index, workload)
    head = f"**{_name(workload)}** · pod labels `{format_labels(workload.pod_labels)}`"
    if not holders:
        return f"{head}\n\nNo Service, Gateway or policy in the workspace selects these pods."
    lines = [head, "", f"Selected by **{_plural(len(holders), 'resource')}**:", ""]
    lines += _listed(_holder_line(h) for h in holders)
    services = [h for h in holders if isinstance(h, Service)]
    subsets = picking_subsets(index, workload, services)
    if subsets:
        lines += ["", "Subsets:", ""]
        lines += _listed(f"{_name(rule)} subset `{subset.name.value}`" for rule, subset in subsets)
    return "\n".join(lines)


_LEVELS = {
    "workload": "selects these pods",
    "namespace": "namespace-wide",
    "mesh": "mesh-wide, in the root namespace",
}
_HOW = {"selector": "selects these pods", "namespace": "namespace-wide", "mesh": "mesh-wide"}


def mtls_text(decision: MtlsDecision | None) -> str:
    if decision is None:
        return "the namespace is not known: cannot tell"
    if not decision.mode:
        names = ", ".join(_name(p) for p in decision.rivals)
        return f"the {_LEVELS[decision.level]} PeerAuthentications disagree ({names}): Istio uses the oldest"
    if decision.policy is None:
        return f"**{decision.mode}** (no PeerAuthentication in the workspace applies: Istio's default)"
    return f"**{decision.mode}**, from {_name(decision.policy)} ({_LEVELS[decision.level]})"


def governance_markdown(index: WorkspaceIndex, workload: Workload) -> str:
    found = governance(index, workload)
    lines = [f"**{_name(workload)}** · pod labels `{format_labels(found.labels)}`", ""]
    services = ", ".join(_id(s) for s in found.services[:MAX_LISTED]) or "none in the workspace"
    lines.append(f"- Services: {services}")
    lines.append(f"- mTLS: {mtls_text(found.mtls)}")
    for kind in ("AuthorizationPolicy", "RequestAuthentication", "Sidecar", "Telemetry"):
        policies = found.policies.get(kind, [])
        if kind == "Sidecar":
            policies = _sidecar_in_force(policies)
        text = ", ".join(f"{_id(p)} ({_HOW[how]})" for p, how in policies[:MAX_LISTED]) or "none in the workspace"
        if kind == "Sidecar" and len(policies) > 1:
            text += ": several apply, Istio uses the oldest"
        lines.append(f"- {kind}: {text}")
    if found.gateways:
        lines.append(f"- Gateways it serves: {', '.join(_id(g) for g in found.gateways[:MAX_LISTED])}")
    for other in found.others:
        lines.append(f"- {_name(other)} selects these pods (`workloadSelector`)")
    return "\n".join(lines)


def _sidecar_in_force(policies: list[tuple[SelectorPolicy, str]]) -> list[tuple[SelectorPolicy, str]]:
    """The Sidecars that configure the pods' proxy: one selecting them, else the namespace's, else the root's."""
    for how in ("selector", "namespace", "mesh"):
        found = [(p, h) for p, h in policies if h == how]
        if found:
            return found
    return []


# ---- Gateway hosts ---------------------------------------------------------------------------


def gateway_host_markdown(index: WorkspaceIndex, gateway: Gateway, located: Located) -> str:
    assert located.ref is not None
    port = f" port {located.server.port}" if located.server is not None and located.server.port else ""
    head = f"**`{located.ref.value}`** ·{port} of {_name(gateway)}"
    sites = served_hosts(index, gateway, located.ref.value)
    if not sites:
        return (
            f"{head}\n\nNo VirtualService in the workspace bound to this Gateway has a host this entry admits: "
            "requests for it find no route (404) unless one is deployed from elsewhere."
        )
    lines = [head, "", "Served by:", ""]
    lines += _listed(f"{_name(s.resource)}: `{s.ref.value if s.ref else ''}`" for s in sites)
    return "\n".join(lines)


# ---- TLS modes -------------------------------------------------------------------------------


def tls_markdown(index: WorkspaceIndex, rule: DestinationRule, located: Located) -> str | None:
    tls = located.tls
    if tls is None or rule.host is None:
        return None
    mode = client_mode(tls)
    towards = f"`{rule.host.value}`" + (f" subset `{tls.subset}`" if tls.subset else "")
    towards += f" port {tls.port}" if tls.port is not None else ""
    written = f"`tls.mode: {mode}`" if tls.mode else f"`tls` without a mode ({mode})"
    head = f"**{written}** towards {towards}"
    side = server_side(index, rule, tls)
    if side is None:
        return (
            f"{head}\n\nThe host is not a service of a known cluster namespace: "
            "no PeerAuthentication of the workspace applies to what receives it."
        )
    lines = [head, "", "What the receiving sidecars accept:", ""]
    if side.mesh:
        decision = side.namespace_level
        lines.append(f"- every namespace without a PeerAuthentication of its own: {mtls_text(decision)}")
        lines[-1] += f" → {verdict(mode, decision.mode if decision else '')}"
    groups: dict[tuple[str, str, int], tuple[list[Workload], MtlsDecision]] = {}
    for w, decision in side.workloads:  # workloads under one decision share a line
        key = (decision.mode, decision.level, id(decision.policy))
        groups.setdefault(key, ([], decision))[0].append(w)
    for workloads, decision in groups.values():
        names = ", ".join(_name(w) for w in workloads[:MAX_LISTED])
        more = f" and {len(workloads) - MAX_LISTED} more" if len(workloads) > MAX_LISTED else ""
        lines.append(f"- {names}{more}: {mtls_text(decision)} → {verdict(mode, decision.mode)}")
    if not side.mesh and side.namespace_level is not None:
        decision = side.namespace_level
        lines.append(
            f"- namespace `{side.namespace}` (no workload behind the host in the workspace): "
            f"{mtls_text(decision)} → {verdict(mode, decision.mode)}"
        )
    return "\n".join(lines)


def mtls_markdown(index: WorkspaceIndex, policy: SelectorPolicy) -> str:
    mode = (policy.mtls_mode or "UNSET").upper()
    found = governed(index, policy)
    head = f"**`mtls.mode: {mode}`** · {_name(policy)}"
    if found.level == "ignored":
        return (
            f"{head}\n\nIstio ignores a PeerAuthentication with a selector in the root namespace "
            f"`{found.namespace}`: it applies to no pod. Move it to the namespace of the pods."
        )
    lines = [head, ""]
    if found.level == "workload":
        lines.append(f"Applies to the pods it selects: {_plural(len(found.workloads), 'workload')} in the workspace.")
        for w in found.workloads[:MAX_LISTED]:
            decision = effective_mtls(index, w.namespace, built_labels(index, w))
            in_force = decision is None or decides(decision, policy)
            lines.append(f"- {_name(w)}" + ("" if in_force else f": overridden, {mtls_text(decision)}"))
    else:
        if found.level == "mesh":
            scope = "every namespace without a namespace-wide PeerAuthentication of its own"
        elif found.namespace == ANY_NAMESPACE:
            scope = "the pods of the namespace it is deployed to (not known here)"
        else:
            scope = f"the pods of `{found.namespace}` without a workload-level PeerAuthentication"
        lines.append(f"Applies to {scope}.")
        if found.in_force is not None and not decides(found.in_force, policy):
            lines.append(f"Not in force: {mtls_text(found.in_force)}.")
        elif found.in_force is not None and not found.in_force.mode:
            lines.append(f"In doubt: {mtls_text(found.in_force)}.")
    if mode == "UNSET":
        lines.append("UNSET inherits the mode of the level above.")
    sending = senders(index, policy)
    lines += ["", "DestinationRules sending to these pods:" if sending else _no_senders(mode)]
    if sending:
        lines.append("")
        lines += _listed(
            f"{_name(rule)} `tls.mode: {client_mode(tls)}`"
            + (f" (subset `{tls.subset}`)" if tls.subset else "")
            + f" → {verdict(client_mode(tls), mode if mode != 'UNSET' else '')}"
            for rule, tls, _ in sending
        )
    return "\n".join(lines)


def _no_senders(mode: str) -> str:
    text = "No DestinationRule in the workspace sets `tls` towards these pods: client sidecars pick Istio mTLS."
    if mode == "STRICT":
        text += " Callers without a sidecar (plain text) are refused."
    return text
