"""What the workspace says about the pods a label selector picks, shared by the checks and features that
follow selectors (the selector, port, gateway and security checks; hover and navigation).

A selector that matches none of the workspace's workloads proves little: pods come from charts,
operators and other repositories too. These helpers answer the questions that make it evidence:

- which labels a workload's pods may carry once kustomize has built it (`commonLabels` and
  `labels` add some; a patch or a replacement may change any: then nothing is known);
- whether any workload the selector may apply to could carry its labels (then it is fine);
- which workloads declared beside the selector look meant by it: *near misses*, each with the
  reason it is believed meant and, where one exists, the selector that would pick it.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from istio_lsp.checks.base import Fix, TextEdit, likely_typo
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.kustomization import Kustomization
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Gateway, Resource, SelectorPolicy, Service, Workload
from istio_lsp.syntax import Span

# Labels controllers put on pods when they create them: no manifest shows them.
RUNTIME_KEYS = (
    "pod-template-hash",
    "controller-revision-hash",
    "rollouts-pod-template-hash",
    "statefulset.kubernetes.io/",
    "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/",
    "job-name",
    "controller-uid",
)
# Labels that tell versions of one application apart: a Service or policy may name a version not deployed yet.
VARIANT_KEYS = frozenset({"version", "app.kubernetes.io/version", "track", "stage", "canary", "variant"})
# Labels that name the application: the same value under one of them and another key is a renamed key.
IDENTITY_KEYS = frozenset({"app", "app.kubernetes.io/name", "name", "k8s-app", "istio"})

# What Istio's install labels its default gateways with: their pods come from the install, not the workspace.
INSTALL_GATEWAY_LABELS = frozenset(
    {
        ("istio", "ingressgateway"),
        ("istio", "egressgateway"),
        ("istio", "eastwestgateway"),
        ("app", "istio-ingressgateway"),
        ("app", "istio-egressgateway"),
        ("app", "istio-eastwestgateway"),
    }
)
# Keys of pods that Istio or a Gateway API controller creates (gateways, waypoints): never in the files.
_GENERATED_GATEWAY_KEYS = ("gateway.networking.k8s.io/", "istio.io/gateway-name", "gateway.istio.io/")


def format_labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in labels.items()) or "no labels"


def judgeable(selector: dict[str, str]) -> bool:
    """Whether files can tell what a selector picks: no placeholder, no label a controller sets at run time."""
    return bool(selector) and not any(
        is_placeholder(k) or is_placeholder(v) or k.startswith(RUNTIME_KEYS) for k, v in selector.items()
    )


def install_gateway_selector(selector: dict[str, str]) -> bool:
    """Whether a selector picks gateway pods Istio's install or a controller makes (`istio: …`, `app:
    istio-ingressgateway`, Gateway API gateways): the workspace rarely holds them."""
    return any(
        (k, v) in INSTALL_GATEWAY_LABELS or k == "istio" or k.startswith(_GENERATED_GATEWAY_KEYS)
        for k, v in selector.items()
    )


def default_install_selector(selector: dict[str, str]) -> bool:
    """Whether a selector names one of the gateways Istio's default install deploys."""
    return any(item in INSTALL_GATEWAY_LABELS for item in selector.items()) or any(
        k.startswith(_GENERATED_GATEWAY_KEYS) for k in selector
    )


def gateway_workload(w: Workload) -> bool:
    """Whether a workload is an Istio gateway (its pods carry the `istio` label)."""
    return "istio" in w.pod_labels


# ---- what kustomize does to labels ------------------------------------------------------


_Builder = tuple[str, Kustomization]  # a kustomization and its folder


def _reach(index: WorkspaceIndex) -> dict[str, list[_Builder]]:
    """file path → the kustomizations that build it, directly or through the ones they include."""
    key = ("selectors.reach",)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = _compute_reach(index)
    return found


def _compute_reach(index: WorkspaceIndex) -> dict[str, list[_Builder]]:
    folders = {posixpath.dirname(path): k for path, k in index.kustomizations.items()}
    files_of: dict[str, set[str]] = {}

    def files(folder: str, stack: tuple[str, ...]) -> set[str]:
        if folder in files_of:
            return files_of[folder]
        out: set[str] = set()
        k = folders[folder]
        for entry in (*k.resources, *k.components):
            target = posixpath.normpath(posixpath.join(folder, entry.rstrip("/")))
            if target in folders:
                if target not in stack:  # kustomize refuses cycles
                    out |= files(target, (*stack, target))
            else:
                out.add(target)
        files_of[folder] = out
        return out

    reach: dict[str, list[_Builder]] = defaultdict(list)
    for folder, k in sorted(folders.items()):
        for path in files(folder, (folder,)):
            reach[path].append((folder, k))
    return dict(reach)


def _uri_of_path(index: WorkspaceIndex) -> dict[str, str]:
    key = ("selectors.uri_of_path",)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = {index.path_of(uri): uri for uri in index.files}
    return found


def _builders(index: WorkspaceIndex, resource: Resource) -> list[_Builder]:
    return _reach(index).get(index.path_of(resource.uri), [])


def _rewrites(index: WorkspaceIndex, resource: Resource, builders: list[_Builder]) -> list[dict[str, str]] | None:
    """The labels the patches of the kustomizations building a resource write into its pod labels
    (a workload) or its selector (anything else), merged over what it says; None when a patch or a
    replacement may change them in a way not read here (a JSON patch, a patch naming no file)."""
    name = resource.name
    written: list[dict[str, str]] = []
    for folder, k in builders:
        for target in k.patch_targets:
            if target.path is not None:  # a strategic-merge patch file names what it patches itself
                patch = posixpath.normpath(posixpath.join(folder, target.path))
                summary = index.files.get(_uri_of_path(index).get(patch, ""))
                if summary is None:
                    return None
                for r in summary.resources:
                    if r.kind == resource.kind and r.name and r.name in name:
                        labels = _patched_labels(r)
                        if labels is None:
                            return None
                        if labels:
                            written.append(labels)
            elif (target.kind is None or target.kind == resource.kind) and (target.name is None or target.name in name):
                return None
        for replacement in k.replacements:
            if replacement.selects(resource.kind, name, resource.api_version) and any(
                "label" in p or "selector" in p for p in replacement.field_paths
            ):
                return None
    return written


def _patched_labels(patch: Resource) -> dict[str, str] | None:
    """What a strategic-merge patch writes into pod labels or a selector: nothing for one that only
    scales a Deployment or sets its resources; None when it writes something not read here."""
    if isinstance(patch, Workload):
        return patch.pod_labels if patch.pod_labels_span is not None else {}
    if isinstance(patch, (Service, Gateway)):
        return patch.selector if patch.selector_span is not None else {}
    if isinstance(patch, SelectorPolicy):
        return patch.selector or {} if patch.selector_span is not None else {}
    return None


def _variants(written: dict[str, str], additions: list[dict[str, str]]) -> list[dict[str, str]]:
    """A label map as written, with each addition merged over it, and with all of them."""
    if not additions:
        return [written]
    combined: dict[str, str] = {}
    for labels in additions:
        combined.update(labels)
    return [written, *({**written, **labels} for labels in additions), {**written, **combined}]


def label_sets(index: WorkspaceIndex, w: Workload) -> list[dict[str, str]] | None:
    """The pod labels a workload may have once built: as written, and with what each kustomization
    building it adds or patches in (and all of them together). None when that cannot be told."""
    builders = _builders(index, w)
    if not builders:
        return [w.pod_labels]
    patched = _rewrites(index, w, builders)
    if patched is None:
        return None
    return _variants(w.pod_labels, [k.template_labels for _, k in builders if k.template_labels] + patched)


def selector_sets(index: WorkspaceIndex, referrer: Resource, selector: dict[str, str]) -> list[dict[str, str]] | None:
    """The selectors a resource may have once built. None when that cannot be told: a patch not read
    here, or labels kustomize may add to an Istio selector as its configuration decides."""
    builders = _builders(index, referrer)
    if not builders:
        return [selector]
    patched = _rewrites(index, referrer, builders)
    if patched is None:
        return None
    added = [k.selector_labels for _, k in builders if k.selector_labels]
    if added and not isinstance(referrer, Service):
        # kustomize adds commonLabels to Istio selectors only when `configurations` say so
        if any(k.support for _, k in builders if k.selector_labels):
            return None
        added = []
    return _variants(selector, added + patched)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def any_could_match(index: WorkspaceIndex, selectors: list[dict[str, str]], namespace: str) -> bool:
    """Whether some workload that may run in `namespace` could carry the labels of one of the
    selectors once built (a workload whose labels kustomize may rewrite could carry any)."""
    for selector in selectors:
        if not selector:
            return bool(index.workloads_in(namespace))
        # as written, a matching workload carries the selector's first label: look those up
        first = next(iter(selector.items()))
        if any(selects(selector, w.pod_labels) for w in index.workloads_labelled(namespace, *first)):
            return True
    for w in _built_workloads(index, namespace):
        sets = label_sets(index, w)
        if sets is None or any(selects(s, labels) for s in selectors for labels in sets):
            return True
    return False


def workloads_selected(index: WorkspaceIndex, selector: dict[str, str], namespace: str) -> list[Workload] | None:
    """The workloads that may run in `namespace` whose pods the (non-empty) selector picks once built;
    None when kustomize may relabel a workload in ways the files do not show."""
    first = next(iter(selector.items()))
    found = [w for w in index.workloads_labelled(namespace, *first) if selects(selector, w.pod_labels)]
    for w in _built_workloads(index, namespace):
        sets = label_sets(index, w)
        if sets is None:
            return None
        if any(selects(selector, labels) for labels in sets) and all(w is not f for f in found):
            found.append(w)
    return found


def _built_workloads(index: WorkspaceIndex, namespace: str) -> list[Workload]:
    """The workloads that may run in a namespace that a kustomization builds (and may relabel)."""
    reach = _reach(index)
    if not reach:
        return []
    key = ("selectors.built", namespace)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [w for w in index.workloads_in(namespace) if index.path_of(w.uri) in reach]
    return found


def built_labels(index: WorkspaceIndex, w: Workload) -> dict[str, str]:
    """A workload's pod labels with everything kustomize adds to them (for messages and comparisons)."""
    sets = label_sets(index, w)
    return sets[-1] if sets else w.pod_labels


# ---- near misses -----------------------------------------------------------------------


@dataclass
class NearMiss:
    """A workload declared beside a selector that looks meant by it."""

    workload: Workload
    labels: dict[str, str]  # its pod labels, as built
    why: str  # why it is believed meant, for the message
    fixed: dict[str, str] | None  # the selector changed only where it misses the workload; None: no plain fix


def _similar(wanted: str, carried: str, owner: str) -> bool:
    """Whether a carried label value is a typo of the wanted one, or the wanted one with a name prefix
    or suffix added that the owner's name has too (kustomize's namePrefix renames resources and the
    labels it was told about, not the selectors naming them). A prefix alone proves nothing: `webhook`
    and `net-istio-webhook` are two applications."""
    if carried.startswith(f"{wanted}-") or carried.endswith(f"-{wanted}"):
        return carried in owner
    if min(len(wanted), len(carried)) < 4 or re.sub(r"\d", "", wanted) == re.sub(r"\d", "", carried):
        return False  # `v1`/`v2`, `web-1`/`web-2` are different things, not typos
    return likely_typo(wanted, carried)


def near_miss(selector: dict[str, str], owner: str, w: Workload, labels: dict[str, str]) -> NearMiss | None:
    """Whether a workload whose pods the selector misses looks meant by it, and why.

    Every label the workload misses must be explained: carried with another value, carried
    under another key (one of them naming the application), or set on the workload's own
    `metadata.labels` instead of its pod template. A label it does not carry at all may be
    added when the pods run: no evidence. Then the workload is meant when it is named like
    `owner` (the Service or policy), or when every miss is a typo, a renamed key or a
    misplaced label, not merely another value."""
    missed = [k for k, v in selector.items() if labels.get(k) != v]
    if not missed:
        return None
    fixed: dict[str, str] | None = {}
    strong: list[str] = []
    weak: list[str] = []
    for key, value in selector.items():
        if key not in missed:
            if fixed is not None:
                fixed[key] = value
            continue
        if w.labels.get(key) == value and key not in labels:
            strong.append(f"carries {key}: {yaml_scalar(value)} on its own metadata.labels, not on its pods")
            fixed = None  # the label belongs on the pod template: no selector to offer
        elif key in labels:
            if key in VARIANT_KEYS:
                return None  # another version of it may be deployed later
            (strong if _similar(value, labels[key], owner) else weak).append(f"has {key}: {yaml_scalar(labels[key])}")
            if fixed is not None:
                fixed[key] = labels[key]
        else:
            renamed = [other for other, v in labels.items() if v == value and IDENTITY_KEYS & {key, other}]
            if not renamed:
                return None  # may be set when the pods run
            strong.append(f"has {renamed[0]}: {yaml_scalar(value)}")
            if fixed is not None:
                fixed[renamed[0]] = value
    named = bool(owner) and owner in (w.name, labels.get("app"), labels.get("app.kubernetes.io/name"))
    if not named and weak:
        return None
    details = ", ".join([*strong, *weak])
    if not named:
        why = f"{w.display} {details}"
    elif w.name == owner:
        why = f"{w.display}, named like it, {details}"
    else:
        why = f"{w.display}, labelled with its name, {details}"
    if fixed is not None and not (fixed and selects(fixed, labels)):
        fixed = None
    return NearMiss(w, labels, why, fixed)


def could_be_meant(index: WorkspaceIndex, selector: dict[str, str], namespace: str) -> list[Workload]:
    """The workloads that may run in `namespace` that `near_miss` may find meant by a selector, looked up
    by label rather than by walking every workload: those carrying one of its keys (on their pods or
    their own metadata), those carrying one of its values under a key naming the application, and those
    a kustomize build may relabel."""
    found = [w for key in selector for w in index.workloads_with_label_key(namespace, key)]
    found += [w for v in selector.values() for k in IDENTITY_KEYS for w in index.workloads_labelled(namespace, k, v)]
    found += _built_workloads(index, namespace)
    return list({id(w): w for w in found}.values())


def near_misses(
    index: WorkspaceIndex, selector: dict[str, str], owner: str, candidates: Iterable[Workload]
) -> list[NearMiss]:
    found = []
    for w in candidates:
        labels = built_labels(index, w)
        miss = near_miss(selector, owner, w, labels)
        if miss is not None:
            found.append(miss)
    return found


def together(index: WorkspaceIndex, referrer: Resource, workloads: Iterable[Workload]) -> list[Workload]:
    """The workloads deployed with a resource: in its folder, or built by a kustomization that builds it."""
    with_referrer = index.deployed_with(referrer.uri)
    return [w for w in workloads if with_referrer(w.uri)]


def elsewhere(index: WorkspaceIndex, referrer: Resource, selector: dict[str, str], namespace: str) -> list[Workload]:
    """Workloads deployed with the resource whose pods carry the selector's labels in another known
    namespace than `namespace` (the resource's): it was written for them, in the wrong namespace.
    Not when that namespace has a namesake of the resource (a copy per namespace, on purpose)."""
    if namespace in (ANY_NAMESPACE, ""):
        return []
    copies = {r.namespace for r in index.named(referrer.name) if r.kind == referrer.kind}
    found = []
    for w in together(index, referrer, index.workloads_in(ANY_NAMESPACE)):
        if w.namespace in (namespace, ANY_NAMESPACE, "") or w.namespace in copies:
            continue
        sets = label_sets(index, w)
        if sets is not None and any(selects(selector, labels) for labels in sets):
            found.append(w)
    return found


# ---- fixes -------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null"})


def yaml_scalar(value: str) -> str:
    """A label value as YAML reads it back as that string (`"1.0"`, `"true"` stay strings)."""
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value)


def replace_selector(uri: str, span: Span, flow: bool, labels: dict[str, str], title: str) -> Fix:
    pairs = [f"{yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in labels.items()]
    text = "{" + ", ".join(pairs) + "}" if flow else f"\n{' ' * span.start_char}".join(pairs)
    return Fix(title, (TextEdit(uri, span, text),), safe=False)


def service_accounts(index: WorkspaceIndex, namespace: str) -> set[str] | None:
    """The service accounts the workspace shows in a namespace: its ServiceAccount manifests, those its
    workloads run as, and `default`, which every namespace has (None: one is a placeholder, any may be)."""
    accounts = {"default"}
    accounts.update(r.name for r in index.of_kind(namespace, "ServiceAccount"))
    accounts.update(w.service_account.value for w in index.workloads_in(namespace) if w.service_account is not None)
    return None if any(is_placeholder(a) for a in accounts) else accounts
