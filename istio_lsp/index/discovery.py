"""Which files of a workspace are manifests to index."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from istio_lsp.index.bulk import read_manifest
from istio_lsp.index.summary import DocumentAnalyzer, FileSummary, summarize
from istio_lsp.settings import Settings

YAML_SUFFIXES = (".yaml", ".yml")
# never manifests, often huge
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"})

if TYPE_CHECKING:
    import pathspec


def exclusion(patterns: Iterable[str]) -> pathspec.PathSpec:
    import pathspec  # here: a warm `check` without patterns should not pay for loading it

    return pathspec.GitIgnoreSpec.from_lines(list(patterns))


def discover(root: Path, patterns: Iterable[str] = ()) -> Iterator[Path]:
    """YAML files under `root`, skipping VCS and dependency folders and gitignore-style `patterns`."""
    patterns = list(patterns)
    spec = exclusion(patterns) if patterns else None
    if root.is_file():
        yield root
        return
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        kept = []
        for d in sorted(dirs):
            rel = d if rel_folder == "." else f"{rel_folder}/{d}"
            if d not in SKIPPED_DIRS and not (spec and spec.match_file(rel + "/")):
                kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            if not name.endswith(YAML_SUFFIXES):
                continue
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            if not (spec and spec.match_file(rel)):
                yield Path(folder) / name


def is_manifest_path(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES)


def summarize_path(path: Path, settings: Settings, analyzer: DocumentAnalyzer | None = None) -> FileSummary:
    """Read and summarise one file from disk; unreadable, binary and oversized files become skipped summaries."""
    read = read_manifest(path, settings)
    if isinstance(read, FileSummary):
        return read
    uri, text = read
    return summarize(uri, text, settings, analyzer)
