"""Where kustomize deploys each file: the builds that include it, and what they do to it.

A *build* is a kustomization that no other kustomization includes: what `kubectl apply -k`
is pointed at (an overlay). Following kustomize, a build applies to every file it reaches
through `resources`, `bases` and `components`, however deep:

- the namespace of the outermost kustomization on the way that sets `namespace:` (it
  replaces whatever the files say);
- the name prefixes and suffixes of every kustomization on the way, outer ones outside;
- the `replacements` that overwrite fields of the resources they select.

Files a kustomization lists as patches or configuration are read by kustomize, never
deployed as they are. A file no kustomization reaches is applied as it is.

Paths here are the `/`-separated paths of file URIs; nothing is read from disk.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from istio_lsp.model.kustomization import Kustomization, ReplacementTarget

RESOURCE = "resource"
PATCH = "patch"
SUPPORT = "support"


@dataclass(frozen=True, slots=True)
class Placement:
    """How the builds that reach a file deploy it (one entry per distinct way)."""

    builds: tuple[str, ...]  # folders of the builds (overlays) deploying the file this way
    namespace: str | None = None  # the namespace they set; None: as the file says
    name_prefix: str = ""
    name_suffix: str = ""
    role: str = RESOURCE  # RESOURCE, PATCH or SUPPORT
    replacements: tuple[ReplacementTarget, ...] = ()
    generated: bool = False  # a build also holds what no file shows (remote bases, generators, Helm)

    @property
    def label(self) -> str:
        """How a finding names the build: its folder (the first, when several deploy alike)."""
        more = f" (and {len(self.builds) - 1} more)" if len(self.builds) > 1 else ""
        return f"{self.builds[0]}{more}" if self.builds else ""


@dataclass(frozen=True, slots=True)
class _Frame:
    build: str
    namespace: str | None
    prefix: str
    suffix: str
    replacements: tuple[ReplacementTarget, ...]
    generated: bool


def compute_layout(kustomizations: dict[str, Kustomization]) -> dict[str, tuple[Placement, ...]]:
    """path of a file → the ways builds deploy it, from the kustomizations (by file path)."""
    folders = {posixpath.dirname(path): k for path, k in kustomizations.items()}
    included: set[str] = set()
    for folder, k in folders.items():
        for entry in (*k.resources, *k.components):
            included.add(_join(folder, entry))
    reached: dict[str, dict[tuple, set[str]]] = {}  # path → placement without builds → builds

    def place(path: str, frame: _Frame, role: str) -> None:
        key = (frame.namespace, frame.prefix, frame.suffix, role, frame.replacements, frame.generated)
        reached.setdefault(path, {}).setdefault(key, set()).add(frame.build)

    def visit(folder: str, outer: _Frame, stack: tuple[str, ...]) -> None:
        k = folders[folder]
        frame = _Frame(
            outer.build,
            outer.namespace or k.namespace,  # the outermost `namespace:` wins
            outer.prefix + k.name_prefix,
            k.name_suffix + outer.suffix,
            tuple(dict.fromkeys((*outer.replacements, *k.replacements))),
            outer.generated or bool(k.generated),
        )
        for entry in (*k.resources, *k.components):
            target = _join(folder, entry)
            if target in folders:
                if target not in stack:  # kustomize refuses cycles; so do we, silently
                    visit(target, frame, (*stack, target))
            else:
                place(target, frame, RESOURCE)
        for entry in k.patches:
            place(_join(folder, entry), frame, PATCH)
        for entry in k.support:
            place(_join(folder, entry), frame, SUPPORT)

    for folder in sorted(folders):
        if folder not in included and not folders[folder].component:
            visit(folder, _Frame(folder, None, "", "", (), False), (folder,))
    layout: dict[str, tuple[Placement, ...]] = {}
    for path, ways in reached.items():
        placements = [
            Placement(tuple(sorted(builds)), ns, prefix, suffix, role, replacements, generated)
            for (ns, prefix, suffix, role, replacements, generated), builds in ways.items()
        ]
        layout[path] = tuple(sorted(placements, key=lambda p: (p.role != RESOURCE, p.builds)))
    return layout


def deployed(placements: Iterable[Placement]) -> list[Placement]:
    """The placements that deploy a file's resources (not as a patch or configuration)."""
    return [p for p in placements if p.role == RESOURCE]


def _join(folder: str, entry: str) -> str:
    return posixpath.normpath(posixpath.join(folder, entry.rstrip("/")))
