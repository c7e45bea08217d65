"""Summarising a whole workspace: cached summaries first, the rest on every core."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import os
import pickle
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from istio_lsp.index.cache import FileState, SummaryCache, encode_summary, entry_key, stat_of
from istio_lsp.index.config import ProjectConfigs
from istio_lsp.index.summary import DocumentAnalyzer, FileSummary, digest_of, skipped_summary, summarize, uri_path
from istio_lsp.settings import Settings
from istio_lsp.syntax import decode

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 64


def read_manifest(path: Path, settings: Settings) -> tuple[str, str] | FileSummary:
    """(uri, text) of a file, or the skipped summary of one that cannot or should not be parsed.

    Only regular files are read, and never more than `maxFileSize` bytes: a pipe would block, a
    device (a link to `/dev/zero`) would never end."""
    uri = file_uri(path)
    if path.is_symlink() and not path.exists():  # exists() follows the link: a loop, or a target that is gone
        return skipped_summary(uri, "unreadable", "File skipped: a symbolic link that leads nowhere (or to itself).")
    skip = not_applied_as_is(path)
    if skip is not None:
        return skipped_summary(uri, *skip)
    limit = settings.max_file_size
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            why = f"File skipped: {_special(st.st_mode)}, not a file: it is never read."
            return skipped_summary(uri, "not-a-file", why)
        if st.st_size > limit:
            return skipped_summary(uri, "too-large", _too_large(st.st_size, limit))
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:  # it grew since its size was read
            return skipped_summary(uri, "too-large", _too_large(len(data), limit))
    except OSError as exc:
        return skipped_summary(uri, "unreadable", f"File skipped: cannot read it ({exc.strerror or exc}).")
    text = decode(data)
    if text is None:
        return skipped_summary(uri, "binary", "File skipped: it is not UTF-8 text.")
    return uri, text


def file_uri(path: Path) -> str:
    """The URI a file is indexed under: its real path, or where it lies when that cannot be known (a link
    that leads back to itself)."""
    try:
        return path.resolve().as_uri()
    except (OSError, RuntimeError):
        return path.absolute().as_uri()


CONFIG_LIMIT = 1024 * 1024  # a project configuration is a few lines: more is not one


def read_regular_text(path: Path, limit: int = CONFIG_LIMIT) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes; OSError (a pipe, a device, too large,
    unreadable) or UnicodeDecodeError otherwise. For files read whole and outside the manifests' path
    (configuration files): never blocks on a pipe nor reads a device without end."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{_special(st.st_mode)}, not a file")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"larger than {limit // 1024} KB")
    return data.decode("utf-8")


def _special(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "a special file"


def _too_large(size: int, limit: int) -> str:
    return (
        f"File skipped: {size / 1_048_576:.1f} MB is above the {limit / 1_048_576:.1f} MB limit (setting maxFileSize)."
    )


def not_applied_as_is(path: Path) -> tuple[str, str] | None:
    """(reason, message) when a file is a template of a Helm chart: not YAML until it is rendered.
    (A file whose name says it is a template is skipped when it is summarised.)"""
    chart = helm_chart_of(path)
    if chart is not None:
        return "helm-chart", (
            f"File skipped: a template of the Helm chart `{chart.name}`, not YAML until it is rendered. "
            f"Render it (helm template) and check the output."
        )
    return None


def helm_chart_of(path: Path) -> Path | None:
    """The Helm chart folder a file is a template of (`<chart>/templates/…` beside `<chart>/Chart.yaml`)."""
    for parent in path.parents:
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return parent.parent
    return None


def read_text(path: Path, settings: Settings) -> str | None:
    """A file's text as the index would read it; None for a file it would skip."""
    read = read_manifest(path, settings)
    return None if isinstance(read, FileSummary) else read[1]


def summarize_paths(
    paths: list[Path],
    configs: ProjectConfigs | Settings,
    analyzer: DocumentAnalyzer | None,
    cache: SummaryCache | None = None,
    workers: int | None = None,
    states: dict[str, FileState] | None = None,
) -> Iterator[list[FileSummary]]:
    """Summaries of `paths`, in batches as they complete (for progress reports).

    Each file is summarised with its own settings (its folder's configuration files).
    `states`, when given, receives each file's stat (taken before reading it) and digest.
    """
    if isinstance(configs, Settings):  # the same settings for every file
        configs = ProjectConfigs(configs)
    with frozen_collector():
        yield from _summarize_paths(paths, configs, analyzer, cache, workers, states)


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


# A file to summarise: (uri, text, cache key, its settings)
_Todo = tuple[str, str, str, Settings]


def _summarize_paths(
    paths: list[Path],
    configs: ProjectConfigs,
    analyzer: DocumentAnalyzer | None,
    cache: SummaryCache | None,
    workers: int | None,
    states: dict[str, FileState] | None,
) -> Iterator[list[FileSummary]]:
    ready: list[FileSummary] = []
    todo: list[_Todo] = []
    keyed: list[_Todo] = []
    for path in paths:
        stat = stat_of(path) if states is not None else None
        settings = configs.settings_for(uri_path(file_uri(path)))
        read = read_manifest(path, settings)
        if isinstance(read, FileSummary):
            ready.append(read)
            digest = ""
        else:
            uri, text = read
            digest = digest_of(text)
            keyed.append((uri, text, entry_key(uri, digest, settings), settings))
        if states is not None and stat is not None:
            states[str(path)] = FileState(*stat, digest)
    hits = cache.get_many([key for _, _, key, _ in keyed]) if cache is not None else {}
    for item in keyed:
        if item[2] in hits:
            ready.append(hits[item[2]])
        else:
            todo.append(item)
    if ready:
        yield ready
    if not todo:
        return
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(todo) < PARALLEL_THRESHOLD:
        batch = [summarize(uri, text, settings, analyzer) for uri, text, _, settings in todo]
        yield batch
        if cache is not None:
            cache.put_many([(item[2], summary) for item, summary in zip(todo, batch, strict=True)])
        return
    encoded: list[tuple[str, bytes]] = []
    yield from _in_processes(todo, analyzer, workers, encoded.extend if cache is not None else None)
    if cache is not None:
        cache.put_encoded(encoded)


# The files a forked worker summarises: set just before the pool forks, so the workers
# inherit the texts instead of receiving them through a pipe.
_inherited: list[_Todo] = []


def _in_processes(
    todo: list[_Todo],
    analyzer: DocumentAnalyzer | None,
    workers: int,
    record: Callable[[list[tuple[str, bytes]]], None] | None,
) -> Iterator[list[FileSummary]]:
    """Summaries computed on `workers` processes. Each worker sends its summaries in the quick
    internal form the parent reads (`_Transfer`) and, for `record` (the cache), as the cache's plain
    data, so the main process, the bottleneck, neither encodes nor decodes a cache row."""
    # imported here: a warm start that parses nothing should not pay for loading them
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor, as_completed

    global _inherited
    # fork is cheapest, but unsafe in a process that runs other threads (the server)
    fork = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    slices = [range(i, len(todo), workers * 4) for i in range(min(workers * 4, len(todo)))]
    context = multiprocessing.get_context("fork" if fork else "spawn")
    _inherited = todo if fork else []
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures: dict[Future[list[tuple[bytes, bytes]]], range] = {}
        for part in slices:
            if fork:
                future = pool.submit(_summarize_inherited, part, analyzer, record is not None)
            else:
                files = [(todo[i][0], todo[i][1], todo[i][3]) for i in part]
                future = pool.submit(_summarize_chunk, files, analyzer, record is not None)
            futures[future] = part
        for future in as_completed(futures):
            sent = future.result()
            part = futures[future]
            if record is not None:
                record([(todo[i][2], row) for i, (_, row) in zip(part, sent, strict=True)])
            yield [pickle.loads(transfer) for transfer, _ in sent]
        pool.shutdown()
    except BaseException:  # Ctrl-C, a closed consumer: stop the workers now rather than wait for their queue
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        _inherited = []


def _summarize_inherited(part: range, analyzer: DocumentAnalyzer | None, for_cache: bool) -> list[tuple[bytes, bytes]]:
    files = [(_inherited[i][0], _inherited[i][1], _inherited[i][3]) for i in part]
    return _summarize_chunk(files, analyzer, for_cache)


def _summarize_chunk(
    files: list[tuple[str, str, Settings]], analyzer: DocumentAnalyzer | None, for_cache: bool
) -> list[tuple[bytes, bytes]]:
    """(the summary for the parent, its cache row or b"") of each file."""
    # A short-lived worker allocates many objects and frees them by reference counting:
    # the cycle collector would only walk them again and again.
    gc.disable()
    out: list[tuple[bytes, bytes]] = []
    for uri, text, settings in files:
        summary = summarize(uri, text, settings, analyzer)
        out.append((_transfer(summary), encode_summary(summary) if for_cache else b""))
    return out


# ---- from a worker to its parent -------------------------------------------------------------------
#
# Pickles, never stored: the parent reads what its own child wrote a moment ago. A summary holds
# thousands of slotted dataclasses, whose generated __setstate__ calls dataclasses.fields() for
# each object; `_rebuild` sets their fields directly instead, which halves the parent's share.

_DATACLASS_SETSTATE = getattr(dataclasses, "_dataclass_setstate", None)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _rebuild(cls: type, values: tuple[object, ...]) -> object:
    obj: Any = object.__new__(cls)
    for name, value in zip(_field_names(cls), values, strict=True):
        object.__setattr__(obj, name, value)
    return obj


class _Transfer(pickle.Pickler):
    def reducer_override(self, obj: object) -> Any:
        cls = type(obj)
        if _DATACLASS_SETSTATE is not None and getattr(cls, "__setstate__", None) is _DATACLASS_SETSTATE:
            return _rebuild, (cls, tuple(getattr(obj, name) for name in _field_names(cls)))
        return NotImplemented


def _transfer(summary: FileSummary) -> bytes:
    buffer = io.BytesIO()
    _Transfer(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(summary)
    return buffer.getvalue()
