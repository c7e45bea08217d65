"""Which files of a workspace are manifests to index, and the project configuration found on the way."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from istio_lsp.index.bulk import read_manifest, read_regular_text
from istio_lsp.index.config import CONFIG_FILES, ConfigProblem, ProjectConfig, ProjectConfigs, read_config
from istio_lsp.index.summary import DocumentAnalyzer, FileSummary, summarize, uri_path
from istio_lsp.model.kustomization import KUSTOMIZATION_FILES
from istio_lsp.settings import Settings, pattern_problem
from istio_lsp.syntax import Span

YAML_SUFFIXES = (".yaml", ".yml")
# never manifests, often huge
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"})

if TYPE_CHECKING:
    import pathspec


def exclusion(patterns: Iterable[str]) -> pathspec.PathSpec:
    """The patterns as one matcher; a pattern that is not gitignore-style is left out (the settings
    report it where it is written)."""
    return _exclusion(tuple(patterns))


@lru_cache(maxsize=64)
def _exclusion(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    # built once per set of patterns: the server asks for every document it is sent
    import pathspec  # here: a warm `check` without patterns should not pay for loading it

    return pathspec.GitIgnoreSpec.from_lines([p for p in patterns if pattern_problem(p) is None])


def discover(
    root: Path,
    patterns: Iterable[str] = (),
    configs: ProjectConfigs | None = None,
    on_error: Callable[[OSError], None] | None = None,
) -> Iterator[Path]:
    """YAML and kustomization files under `root`, skipping VCS and dependency folders and gitignore-style
    `patterns` (relative to `root`). With `configs`, the project configuration files met on the way
    are read into it, and the `exclude` patterns of each apply below its folder.

    Only what lies in `root` is yielded: a symbolic link that leads out of it is not followed (a
    link inside a repository must not make the tool read, and report, files elsewhere on the
    machine). A folder that cannot be read is passed to `on_error`."""
    patterns = list(patterns)
    spec = exclusion(patterns) if patterns else None
    if not root.is_dir():  # a file named on the command line (reading it says what it is)
        if configs is not None and root.name in CONFIG_FILES and root.is_file():
            load_config(configs, root, top=True)
        yield root
        return
    real_root = root.resolve()
    scoped: list[tuple[str, pathspec.PathSpec]] = []  # (folder, spec) of configurations that exclude

    def excluded(path: str, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        if spec is not None and spec.match_file(os.path.relpath(path, root).replace(os.sep, "/") + suffix):
            return True
        for folder, own in scoped:
            if path.startswith(folder + os.sep) and own.match_file(
                os.path.relpath(path, folder).replace(os.sep, "/") + suffix
            ):
                return True
        return False

    for folder, dirs, files in os.walk(root, onerror=on_error):
        if configs is not None:
            for name in CONFIG_FILES:
                if name in files:
                    config = load_config(configs, Path(folder) / name, top=Path(folder) == root)
                    if config.values.get("exclude"):
                        scoped.append((folder, exclusion(config.values["exclude"])))
        dirs[:] = [d for d in sorted(dirs) if d not in SKIPPED_DIRS and not excluded(os.path.join(folder, d), True)]
        for name in sorted(files):
            if is_manifest_path(name) and not excluded(os.path.join(folder, name), False):
                path = Path(folder) / name
                if not path.is_symlink() or _inside(path, real_root):
                    yield path


def _inside(link: Path, root: Path) -> bool:
    """Whether a symbolic link leads into `root` (a loop counts as inside: reading it reports the loop)."""
    try:
        return link.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return True


def load_config(configs: ProjectConfigs, path: Path, *, top: bool) -> ProjectConfig:
    """Read one configuration file from disk into `configs`."""
    uri = path.resolve().as_uri()
    problem: str | None = None
    try:
        text = configs.texts.get(uri) or read_regular_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        text = ""
        problem = f"cannot read the configuration: {exc}"
    config = read_config(uri, uri_path(uri), text, top=top)
    if problem is not None:
        config.problems.append(ConfigProblem(problem, Span(0, 0, 0, 0)))
    configs.add(config)
    return config


def is_manifest_path(path: str) -> bool:
    return path.endswith(YAML_SUFFIXES) or path.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES


def summarize_path(path: Path, settings: Settings, analyzer: DocumentAnalyzer | None = None) -> FileSummary:
    """Read and summarise one file from disk; unreadable, binary and oversized files become skipped summaries."""
    read = read_manifest(path, settings)
    if isinstance(read, FileSummary):
        return read
    uri, text = read
    return summarize(uri, text, settings, analyzer)
