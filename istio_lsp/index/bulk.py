"""Summarising a whole workspace: cached summaries first, the rest on every core."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from istio_lsp.index.cache import FileState, SummaryCache, entry_key, stat_of
from istio_lsp.index.summary import DocumentAnalyzer, FileSummary, digest_of, skipped_summary, summarize
from istio_lsp.settings import Settings
from istio_lsp.syntax import decode

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 64


def read_manifest(path: Path, settings: Settings) -> tuple[str, str] | FileSummary:
    """(uri, text) of a file, or the skipped summary of one that cannot or should not be parsed."""
    uri = path.resolve().as_uri()
    try:
        size = path.stat().st_size
        if size > settings.max_file_size:
            return skipped_summary(
                uri,
                "too-large",
                f"File skipped: {size / 1_048_576:.1f} MB is above the "
                f"{settings.max_file_size / 1_048_576:.1f} MB limit (setting maxFileSize).",
            )
        data = path.read_bytes()
    except OSError as exc:
        return skipped_summary(uri, "unreadable", f"File skipped: cannot read it ({exc.strerror or exc}).")
    text = decode(data)
    if text is None:
        return skipped_summary(uri, "binary", "File skipped: it is not UTF-8 text.")
    return uri, text


def read_text(path: Path, settings: Settings) -> str | None:
    """A file's text as the index would read it; None for a file it would skip."""
    read = read_manifest(path, settings)
    return None if isinstance(read, FileSummary) else read[1]


def summarize_paths(
    paths: list[Path],
    settings: Settings,
    analyzer: DocumentAnalyzer | None,
    cache: SummaryCache | None = None,
    workers: int | None = None,
    states: dict[str, FileState] | None = None,
) -> Iterator[list[FileSummary]]:
    """Summaries of `paths`, in batches as they complete (for progress reports).

    `states`, when given, receives each file's stat (taken before reading it) and digest.
    """
    with frozen_collector():
        yield from _summarize_paths(paths, settings, analyzer, cache, workers, states)


@contextlib.contextmanager
def frozen_collector() -> Iterator[None]:
    """Pause the cycle collector while a workspace's summaries pile up, then freeze them.

    The summaries live as long as the index and hold no cycles; without this, each full
    collection walks all of them again (seconds on a large workspace) and every later
    pause of the editor grows with the workspace.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _summarize_paths(
    paths: list[Path],
    settings: Settings,
    analyzer: DocumentAnalyzer | None,
    cache: SummaryCache | None,
    workers: int | None,
    states: dict[str, FileState] | None,
) -> Iterator[list[FileSummary]]:
    ready: list[FileSummary] = []
    todo: list[tuple[str, str, str]] = []  # (uri, text, cache key)
    keyed: list[tuple[str, str, str]] = []
    for path in paths:
        stat = stat_of(path) if states is not None else None
        read = read_manifest(path, settings)
        if isinstance(read, FileSummary):
            ready.append(read)
            digest = ""
        else:
            uri, text = read
            digest = digest_of(text)
            keyed.append((uri, text, entry_key(uri, digest, settings)))
        if states is not None and stat is not None:
            states[str(path)] = FileState(*stat, digest)
    hits = cache.get_many([key for _, _, key in keyed]) if cache is not None else {}
    for uri, text, key in keyed:
        if key in hits:
            ready.append(hits[key])
        else:
            todo.append((uri, text, key))
    if ready:
        yield ready
    if not todo:
        return
    workers = workers if workers is not None else (os.cpu_count() or 1)
    computed: list[tuple[str, FileSummary]] = []
    if workers <= 1 or len(todo) < PARALLEL_THRESHOLD:
        batch = [summarize(uri, text, settings, analyzer) for uri, text, _ in todo]
        computed = [(key, summary) for (_, _, key), summary in zip(todo, batch, strict=True)]
        yield batch
    else:
        yield from _in_processes(todo, settings, analyzer, workers, computed.extend)
    if cache is not None:
        cache.put_many(computed)


def _in_processes(
    todo: list[tuple[str, str, str]],
    settings: Settings,
    analyzer: DocumentAnalyzer | None,
    workers: int,
    record: Callable[[list[tuple[str, FileSummary]]], None],
) -> Iterator[list[FileSummary]]:
    # imported here: a warm start that parses nothing should not pay for loading them
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork is cheapest, but unsafe in a process that runs other threads (the server)
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    chunks = [chunk for i in range(workers * 4) if (chunk := todo[i :: workers * 4])]
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = {
            pool.submit(_summarize_chunk, [(uri, text) for uri, text, _ in chunk], settings, analyzer): chunk
            for chunk in chunks
        }
        for future in as_completed(futures):
            summaries = future.result()
            record([(key, summary) for (_, _, key), summary in zip(futures[future], summaries, strict=True)])
            yield summaries


def _summarize_chunk(
    files: list[tuple[str, str]], settings: Settings, analyzer: DocumentAnalyzer | None
) -> list[FileSummary]:
    # A short-lived worker allocates many objects and frees them by reference counting:
    # the cycle collector would only walk them again and again.
    gc.disable()
    return [summarize(uri, text, settings, analyzer) for uri, text in files]
