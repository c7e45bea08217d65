"""A kustomization file, read as kustomize reads it: which files it builds, which it only
patches with or reads as configuration, and what it does to namespaces, names and values.

Lenient like the rest of the model: an entry of the wrong shape is dropped, never raised.
Nothing here follows a path or touches the disk; `index.layout` puts the files together.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from istio_lsp.syntax import MappingNode, Node, ScalarNode
from istio_lsp.syntax.nodes import get, items, scalar, string_map

# kustomize accepts these names (and refuses a folder holding more than one)
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# Operand fields whose entries are files kustomize reads but never deploys as they are.
_SUPPORT_FIELDS = ("configurations", "crds", "generators", "transformers", "validators")
_PATCH_FIELDS = ("patchesStrategicMerge",)
_GENERATOR_FIELDS = ("configMapGenerator", "secretGenerator", "helmCharts", "helmChartInflationGenerator", "generators")


@dataclass(frozen=True, slots=True)
class ReplacementTarget:
    """Fields a `replacements` entry (or a var) overwrites in the resources it selects."""

    field_paths: tuple[str, ...]  # as written in kustomize: `spec.http.0.route.0.destination.host`
    kind: str | None = None
    name: str | None = None
    group: str | None = None
    namespace: str | None = None

    def selects(self, kind: str, name: str, api_version: str) -> bool:
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        return (
            (self.kind is None or self.kind == kind)
            and (self.name is None or self.name == name)
            and (self.group is None or self.group == group)
        )


@dataclass(frozen=True, slots=True)
class PatchTarget:
    """What one patch entry may change: the kind and name its `target` names (None: any), or,
    for a patch file without `target`, that file (`path`): the resources it holds are what it patches."""

    kind: str | None = None
    name: str | None = None
    path: str | None = None


@dataclass(slots=True)
class Kustomization:
    component: bool = False  # `kind: Component`: only ever included through `components`
    namespace: str | None = None  # `namespace:`: set on every namespaced resource it builds
    name_prefix: str = ""
    name_suffix: str = ""
    resources: list[str] = field(default_factory=list)  # local `resources` and `bases` entries: files or folders
    components: list[str] = field(default_factory=list)
    patches: list[str] = field(default_factory=list)  # files merged into resources, never deployed alone
    support: list[str] = field(default_factory=list)  # configuration files: transformers, crds, replacement files…
    replacements: list[ReplacementTarget] = field(default_factory=list)
    patch_targets: list[PatchTarget] = field(default_factory=list)  # every patch entry, inline ones included
    # what the build holds beyond the files it lists: remote bases, generators, Helm charts
    generated: list[str] = field(default_factory=list)
    # labels its label transformers (`commonLabels`, `labels`) add to pod templates, and to selectors
    template_labels: dict[str, str] = field(default_factory=dict)
    selector_labels: dict[str, str] = field(default_factory=dict)


def is_kustomization_path(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_FILES


def read_kustomization(root: Node | None) -> Kustomization | None:
    """The kustomization a document describes, or None when it is not a mapping."""
    if not isinstance(root, MappingNode):
        return None
    k = Kustomization()
    k.component = scalar(get(root, "kind")) == "Component"
    k.namespace = _text(get(root, "namespace"))
    k.name_prefix = _text(get(root, "namePrefix")) or ""
    k.name_suffix = _text(get(root, "nameSuffix")) or ""
    for key in ("resources", "bases"):
        for entry in _strings(get(root, key)):
            (k.generated if _is_remote(entry) else k.resources).append(entry)
    k.components = [c for c in _strings(get(root, "components")) if not _is_remote(c)]
    for key in _PATCH_FIELDS:
        # an entry that holds a newline is an inline patch, not a file
        k.patches.extend(e for e in _strings(get(root, key)) if "\n" not in e)
        k.patch_targets.extend(
            PatchTarget(path=e) if "\n" not in e else PatchTarget() for e in _strings(get(root, key))
        )
    for key in ("patches", "patchesJson6902"):
        for patch in items(get(root, key)):
            path = _text(get(patch, "path"))
            if path:
                k.patches.append(path)
            k.patch_targets.append(_patch_target(get(patch, "target"), path, _text(get(patch, "patch"))))
    for key in _SUPPORT_FIELDS:
        k.support.extend(e for e in _strings(get(root, key)) if "\n" not in e)
    openapi = _text(get(get(root, "openapi"), "path"))
    if openapi:
        k.support.append(openapi)
    for replacement in items(get(root, "replacements")):
        path = _text(get(replacement, "path"))
        if path:
            k.support.append(path)
        k.replacements.extend(_replacement_targets(replacement))
    k.generated.extend(key for key in _GENERATOR_FIELDS if get(root, key) is not None)
    _read_labels(k, root)
    return k


def _read_labels(k: Kustomization, root: MappingNode) -> None:
    """What `commonLabels` and `labels` add to pod templates and to selectors (plain `labels`
    entries touch `metadata.labels` alone)."""
    common = string_map(get(root, "commonLabels"))
    k.template_labels.update(common)
    k.selector_labels.update(common)
    for entry in items(get(root, "labels")):
        pairs = string_map(get(entry, "pairs"))
        selectors = _true(get(entry, "includeSelectors"))
        if selectors or _true(get(entry, "includeTemplates")):
            k.template_labels.update(pairs)
        if selectors:
            k.selector_labels.update(pairs)


def _patch_target(target: Node | None, path: str | None, inline: str | None) -> PatchTarget:
    if not isinstance(target, MappingNode):
        if inline is not None:  # an inline strategic-merge patch: its own `kind` says what it patches
            kind = re.search(r"^kind:\s*([\w.-]+)\s*$", inline, re.MULTILINE)
            return PatchTarget(kind=kind.group(1) if kind else None)
        return PatchTarget(path=path)  # a strategic-merge patch file names what it patches itself
    name = _text(get(target, "name"))
    if name is not None and not _plain_name(name):
        name = None  # kustomize reads a target name as a regular expression
    return PatchTarget(kind=_text(get(target, "kind")), name=name)


def _plain_name(name: str) -> bool:
    return all(c.isalnum() or c in "-." for c in name)


def _replacement_targets(entry: Node) -> list[ReplacementTarget]:
    found = []
    for target in items(get(entry, "targets")):
        select = get(target, "select")
        paths = tuple(_strings(get(target, "fieldPaths"))) or ("metadata.name",)
        found.append(
            ReplacementTarget(
                paths,
                kind=_text(get(select, "kind")),
                name=_text(get(select, "name")),
                group=_text(get(select, "group")),
                namespace=_text(get(select, "namespace")),
            )
        )
    return found


def _true(node: Node | None) -> bool:
    return (scalar(node) or "").strip().lower() == "true"


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("github.com/", "gitlab.com/", "bitbucket.org/", "git@"))


def _text(node: Node | None) -> str | None:
    value = scalar(node)
    return value.strip() if value is not None and value.strip() else None


def _strings(node: Node | None) -> list[str]:
    return [v.strip() for v in (scalar(i) for i in items(node) if isinstance(i, ScalarNode)) if v and v.strip()]
