"""Which files' findings a warm start must compute again, and which it takes from the last run.

A file's findings depend on its own text and on the index entries its checks read (the
keys in its summary's `requires`). After some files changed, a file keeps the findings
the snapshot recorded for it unless it changed itself or requires a key that a changed
file provided before or provides now. Files that have cross-file findings are always
checked again: their "did you mean" suggestions read every host or Gateway, not only the
keys they require.
"""

from __future__ import annotations

from pathlib import Path

from istio_lsp.checks.base import Rule
from istio_lsp.findings import Finding
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.cache import FileState, Snapshot, SummaryCache, entry_key
from istio_lsp.index.config import is_config_path
from istio_lsp.model.kustomization import is_kustomization_path


def stale_files(
    index: WorkspaceIndex,
    states: dict[str, FileState],
    previous: Snapshot,
    cache: SummaryCache,
    rules: tuple[Rule, ...],
) -> set[str] | None:
    """The uris of `index` whose findings may differ from `previous`; None when that cannot be told."""
    changed = [
        path
        for path in states.keys() | previous.files.keys()
        if (now := states.get(path)) is None
        or (before := previous.files.get(path)) is None
        or not now.digest  # skipped files are always checked again (their message may change)
        or now.digest != before.digest
    ]
    if any(is_config_path(path) or is_kustomization_path(path) for path in changed):
        return None  # where files are deployed, or with which settings, may have changed for any of them
    keys: set[str] = set()
    stale: set[str] = set()
    provided: dict[str, dict[str, str]] = {}  # uri → what a changed file provides now
    wanted: dict[str, str] = {}  # cache key → uri, for the old summaries of changed files
    for path in changed:
        uri = Path(path).resolve().as_uri()
        stale.add(uri)
        placed = index.placed.get(uri)
        provided[uri] = placed.provides if placed is not None else {}
        before = previous.files.get(path)
        if before is not None and before.digest:
            wanted[entry_key(uri, before.digest, index.settings_for(uri))] = uri
        else:
            keys.update(provided[uri])  # a new file: everything it provides is new
    old = cache.get_many(list(wanted))
    if len(old) != len(wanted):
        return None  # what a changed file provided before is unknown
    for key, summary in old.items():
        then = index.place(summary).provides  # placed as now: no kustomization changed
        after = provided.get(wanted[key], {})
        # what a file provides the same as before (a comment, a weight) reaches no other file
        keys.update(k for k in then.keys() | after.keys() if then.get(k) != after.get(k))
    stale |= index.dependents(keys)
    cross_file = {rule.code for rule in rules if rule.run is not None}
    stale.update(uri for uri, findings in previous.findings.items() if _any_code(findings, cross_file))
    stale.update(uri for uri, summary in index.files.items() if summary.skipped is not None)
    return stale & index.files.keys()


def _any_code(findings: list[Finding], codes: set[str]) -> bool:
    return any(f.code in codes for f in findings)
