"""Whether a kustomize build may change a resource beyond what its file says.

The index keeps resources as their files write them (placed in namespaces, renamed); a patch
in a kustomization on the way from a build to the file, or a replacement of a field, may
change what a check reads. Such a field is not known, and no finding may rest on it.
"""

from __future__ import annotations

import posixpath

from istio_lsp.index.layout import Placement
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.kustomization import PatchTarget
from istio_lsp.model.resources import Resource


def may_be_patched(index: WorkspaceIndex, resource: Resource, field_word: str) -> bool:
    """Whether a build deploying the resource may change it beyond what its file says: a patch of
    that kind and name (or one whose target cannot be told) in a kustomization on the way from a
    build to the resource's file, or a replacement of a field whose path holds `field_word`.
    The index keeps resources as their files write them, so such a field is not known."""
    placement = _placement_of(index, resource)
    if placement is None:
        return False
    for target in placement.replacements:
        if target.selects(resource.kind, resource.name, resource.api_version) and any(
            field_word in path for path in target.field_paths
        ):
            return True
    key = ("may_be_patched", resource.uri, resource.kind, resource.name, placement.builds)
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = _patched(index, resource, placement.builds)
    return bool(found)


def _placement_of(index: WorkspaceIndex, resource: Resource) -> Placement | None:
    """How the build that deployed this very resource object places it (a file's variants, by object:
    looked up once per file, not scanned per question, for files of thousands of documents)."""
    key = ("placements", resource.uri)
    found: dict[int, Placement | None] | None = index.memo.get(key)
    if found is None:
        placed = index.placed.get(resource.uri)
        found = {} if placed is None else {id(r): v.placement for v in reversed(placed.variants) for r in v.resources}
        index.memo[key] = found
    return found.get(id(resource))


def _patched(index: WorkspaceIndex, resource: Resource, builds: tuple[str, ...]) -> bool:
    folders = {posixpath.dirname(path): k for path, k in index.kustomizations.items()}
    target_path = index.path_of(resource.uri)
    reaches: dict[str, bool] = {}

    def reach(folder: str, stack: tuple[str, ...]) -> bool:
        if folder in reaches:
            return reaches[folder]
        k = folders[folder]
        found = False
        for entry in (*k.resources, *k.components):
            path = posixpath.normpath(posixpath.join(folder, entry.rstrip("/")))
            if path == target_path or (path in folders and path not in stack and reach(path, (*stack, path))):
                found = True
        reaches[folder] = found
        return found

    for build in builds:
        if build in folders:
            reach(build, (build,))
    for folder, on_the_way in reaches.items():
        if on_the_way and any(_targets(index, folder, t, resource) for t in folders[folder].patch_targets):
            return True
    return False


def _targets(index: WorkspaceIndex, folder: str, target: PatchTarget, resource: Resource) -> bool:
    if target.path is not None:
        path = posixpath.normpath(posixpath.join(folder, target.path))
        uris = index.memo.get("uris_by_path")
        if uris is None:
            uris = index.memo["uris_by_path"] = {index.path_of(u): u for u in index.files}
        uri = uris.get(path)
        if uri is None:
            return True  # a patch file outside the workspace: it may patch anything
        return any(r.kind == resource.kind and _same_name(r.name, resource.name) for r in index.files[uri].resources)
    return (target.kind is None or target.kind == resource.kind) and (
        target.name is None or _same_name(target.name, resource.name)
    )


def _same_name(patched: str, placed: str) -> bool:
    """A patch names a resource as its own kustomization sees it: before an outer namePrefix/nameSuffix."""
    return patched == placed or patched in placed
