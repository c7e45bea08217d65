"""The language server: pygls wiring only. Analysis lives in the core; this module moves text in and findings out."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from istio_lsp import __version__
from istio_lsp.checks import RULES, analyze_document, analyze_path, analyze_text, check_file
from istio_lsp.checks.reuse import stale_files
from istio_lsp.features.code_actions import quick_fixes
from istio_lsp.features.code_lens import code_lenses
from istio_lsp.features.completion import complete
from istio_lsp.features.definition import definition
from istio_lsp.features.diagnostics import convert_span, to_diagnostic
from istio_lsp.features.hover import hover
from istio_lsp.features.inlay_hints import inlay_hints
from istio_lsp.features.references import references
from istio_lsp.features.rename import RenameError, prepare_rename, rename
from istio_lsp.features.routing import TRACE_COMMAND, routing_test_findings, run_trace, test_files
from istio_lsp.features.symbols import document_symbols, flatten, workspace_symbols
from istio_lsp.findings import Finding
from istio_lsp.index import FileSummary, WorkspaceIndex, skipped_summary
from istio_lsp.index.bulk import not_applied_as_is, read_text, summarize_paths
from istio_lsp.index.cache import FileState, Snapshot, SummaryCache, cache_dir, snapshot_key
from istio_lsp.index.cancellation import Cancelled, cancellable
from istio_lsp.index.config import ProjectConfigs, is_config_path, read_config
from istio_lsp.index.discovery import discover, exclusion, is_manifest_path
from istio_lsp.index.summary import uri_path
from istio_lsp.native import re2_unavailable_note
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span, units_to_utf16
from istio_lsp.transport import IstioProtocol, serve_stdio

log = logging.getLogger("istio_lsp.server")

CONFIG_SECTION = "istioLsp"

F = TypeVar("F", bound=Callable[..., Any])


class IstioLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "istio-lsp",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=IstioProtocol,
        )
        self.settings = Settings()
        self.index = WorkspaceIndex(self.settings)
        self.roots: list[Path] = []
        self.init_settings: Any = None
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.published_version: dict[str, int | None] = {}
        self.report_timing = False  # benchmarks ask for istioLsp/analysisTime notifications
        self.status_notifications = False  # the VS Code extension's status bar asks for istioLsp/status
        self.status_sent: dict[str, Any] | None = None
        self.dirty: set[str] = set()
        self.flush_timer: asyncio.TimerHandle | None = None
        # Edited documents are analysed by one run at a time, off the event loop, so requests are
        # answered meanwhile from the last results: the run, whether edits are due for it, and the
        # document it is summarising with the token that stops it when a newer text arrives.
        self.analysis: asyncio.Future[None] | None = None
        self.analysis_due = False
        self.analysing: tuple[str, threading.Event] | None = None
        self.indexed = asyncio.Event()
        self.client_uri: dict[str, str] = {}  # normalised uri → the spelling the client used
        self.cache = SummaryCache(None)
        self.events = 0  # edits and file changes seen, so indexing knows whether any came while it ran
        self.reindex: asyncio.Future[None] | None = None  # the latest re-index after the settings changed
        self.settings_problems: list[str] = []  # what was last shown of the editor's settings that cannot apply
        self.generation = 0  # of indexing runs: a run that a newer one started after gives way to it
        # files the watcher reported while an index was being built: applied to it once it is done
        self.changed_while_indexing: set[str] = set()
        # failing routing test cases (`kind: RoutingTest` files), by file: published with the file's findings;
        # the tests run again after each analysis round
        self.test_findings: dict[str, list[Finding]] = {}
        self.tests_run: asyncio.Future[None] | None = None
        self.tests_due = False

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, JsonRpcMethodNotFound):  # answered as such: the client asked for what we lack
            log.debug("%s", error)
            return
        # Log instead of popping up a message box for every internal error.
        log.error("internal error: %s", error, exc_info=error)


server = IstioLanguageServer()


class LspTextDocument(TextDocument):
    """A document whose lines end where LSP says (`\n`, `\r\n`, `\r`), not where `str.splitlines` does
    (U+2028, U+0085, a form feed…): pygls applies incremental edits line by line, so a position must
    name the same line for the editor and for us, or an edit lands in the wrong place."""

    _split: tuple[str, tuple[str, ...]] | None = None  # the text last split, and its lines

    @property
    def lines(self) -> Sequence[str]:
        # asked once per finding when diagnostics are converted to UTF-8 columns: split each text once
        source = self.source
        if self._split is None or self._split[0] is not source:
            self._split = (source, tuple(_LSP_LINES.findall(source)))
        return self._split[1]


_LSP_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _use_lsp_lines(ls: IstioLanguageServer) -> None:
    """Have the workspace make `LspTextDocument`s (pygls offers no setting for its document class), and
    ignore changes to documents that were never opened (pygls raises KeyError for them)."""

    def create(
        doc_uri: str, source: str | None = None, version: int | None = None, language_id: str | None = None
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=types.TextDocumentSyncKind.Incremental,
            position_codec=ls.workspace.position_codec,
        )

    ls.workspace._create_text_document = create  # type: ignore[method-assign]
    update = ls.workspace.update_text_document

    def update_if_open(
        text_doc: types.VersionedTextDocumentIdentifier, change: types.TextDocumentContentChangeEvent
    ) -> None:
        if _document(ls, text_doc.uri) is None:  # a change to a document never opened: nothing to apply it to
            log.warning("ignoring a change to %s, which is not open", text_doc.uri)
            return
        update(text_doc, change)

    ls.workspace.update_text_document = update_if_open  # type: ignore[method-assign]


def guarded(default: Callable[[], Any]) -> Callable[[F], F]:
    """Run a handler so that any failure is logged and answered with an empty result."""

    def decorate(handler: F) -> F:
        if asyncio.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def run_async(*args: Any) -> Any:
                try:
                    return await handler(*args)
                except Exception:
                    log.exception("%s failed", handler.__name__)
                    return default()

            return cast(F, run_async)

        @functools.wraps(handler)
        def run(*args: Any) -> Any:
            try:
                return handler(*args)
            except Exception:
                log.exception("%s failed", handler.__name__)
                return default()

        return cast(F, run)

    return decorate


def _document(ls: IstioLanguageServer, uri: str) -> TextDocument | None:
    """The open document behind a client's uri. pygls files documents under the percent-decoded
    uri (`file:///c:/…` for VS Code's `file:///c%3A/…`, spaces, parentheses), so look it up that way."""
    return ls.workspace.text_documents.get(unquote(uri))


def _open_documents(ls: IstioLanguageServer) -> list[TextDocument]:
    """The open documents; each `uri` is spelled as the client spelled it."""
    return list(ls.workspace.text_documents.values())


def normalize(uri: str) -> str:
    """One spelling per file, so `file:///a%40b` and `file:///a@b` share an index entry."""
    if not uri.startswith("file:"):
        return uri
    path = to_fs_path(uri)
    return Path(path).resolve().as_uri() if path else uri


# ---- lifecycle ---------------------------------------------------------------


@server.feature(types.INITIALIZE)
@guarded(lambda: None)
def on_initialize(ls: IstioLanguageServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get(CONFIG_SECTION), dict):
        options = options[CONFIG_SECTION]
    ls.init_settings = options
    _use_lsp_lines(ls)
    ls.cache = SummaryCache(cache_dir())
    raw = params.initialization_options
    ls.report_timing = isinstance(raw, dict) and raw.get("reportTiming") is True
    ls.status_notifications = isinstance(raw, dict) and raw.get("statusNotifications") is True
    _apply_settings(ls, options)
    folders = params.workspace_folders or []
    uris = [f.uri for f in folders] or [u for u in [params.root_uri] if u]
    if not uris and params.root_path:
        uris = [from_fs_path(params.root_path) or ""]
    ls.roots = [Path(p) for p in (to_fs_path(u) for u in uris if u) if p]


@server.feature(types.INITIALIZED)
@guarded(lambda: None)
async def on_initialized(ls: IstioLanguageServer, params: types.InitializedParams) -> None:
    if (note := re2_unavailable_note()) is not None:  # said once, in the log; the status bar repeats it
        ls.window_log_message(types.LogMessageParams(types.MessageType.Warning, f"istio-lsp: {note}"))
    await _pull_configuration(ls)
    await _watch_files(ls)
    await _index_workspace(ls)


def _apply_settings(ls: IstioLanguageServer, raw: Any) -> bool:
    """Take new settings; True when they differ from the current ones."""
    settings, problems = Settings.from_dict(raw)  # a bad value is left out; the others apply
    for problem in problems:
        ls.window_log_message(types.LogMessageParams(types.MessageType.Warning, f"istio-lsp: {problem}"))
    if problems and problems != ls.settings_problems:  # shown once, not again on each configuration pull
        shown = "; ".join(problems)
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"istio-lsp: {shown}"))
    ls.settings_problems = problems
    if settings == ls.settings:
        return False
    ls.settings = settings
    return True


async def _pull_configuration(ls: IstioLanguageServer) -> bool:
    workspace = ls.client_capabilities.workspace
    if not (workspace and workspace.configuration):
        return False
    try:
        (config,) = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
        )
    except Exception:
        log.warning("workspace/configuration failed; keeping initialization options", exc_info=True)
        return False
    if config is None:  # the client knows no such section: initialization options stand
        return False
    merged = {**(ls.init_settings if isinstance(ls.init_settings, dict) else {}), **config}
    return _apply_settings(ls, merged)


async def _watch_files(ls: IstioLanguageServer) -> None:
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if not (watched and watched.dynamic_registration):
        return  # such clients (Neovim) get rescans on save and on open instead
    await ls.client_register_capability_async(
        types.RegistrationParams(
            registrations=[
                types.Registration(
                    id="istio-lsp-watch-yaml",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[
                            types.FileSystemWatcher(glob_pattern="**/*.{yaml,yml}"),
                            types.FileSystemWatcher(glob_pattern="**/Kustomization"),
                        ]
                    ),
                )
            ]
        )
    )


async def _index_workspace(ls: IstioLanguageServer) -> None:
    """Index every manifest under the workspace roots, then publish diagnostics for all of them.

    When no file changed since the last run (its snapshot), the snapshot's findings are
    published at once and the index is rebuilt behind them. Either way, only files that a
    change since then can have reached are checked again; the others keep their findings.

    The new index is built aside: requests meanwhile read the previous one, whole. When a newer
    run starts (the settings changed again), this one gives way to it.
    """
    ls.indexed.clear()
    ls.changed_while_indexing.clear()
    ls.generation += 1
    generation = ls.generation
    settings = ls.settings
    events = ls.events
    started_ns = time.time_ns()
    token = await _begin_progress(ls, "Indexing Istio manifests")
    _report_status(ls, "indexing", 0, 0)
    open_configs = {normalize(d.uri): d.source for d in _open_documents(ls) if is_config_path(d.uri)}
    paths, configs = await asyncio.to_thread(_discover_all, ls.roots, settings, open_configs)
    index = WorkspaceIndex(configs=configs)
    _report_status(ls, "indexing", 0, len(paths))
    key = snapshot_key(sorted({root.resolve() for root in ls.roots}), settings)
    previous = await asyncio.to_thread(ls.cache.get_snapshot, key)
    if previous is not None and await asyncio.to_thread(_unchanged, previous, paths, settings):
        # the last run's findings at once; open documents wait for their own text to be checked
        open_docs = {normalize(doc.uri) for doc in _open_documents(ls)}
        _publish_recorded(ls, previous, [uri for uri in previous.findings if uri not in open_docs])
    loop = asyncio.get_running_loop()
    batches: asyncio.Queue[list[FileSummary] | None] = asyncio.Queue()
    states: dict[str, FileState] = {}

    def produce() -> None:  # parsing runs off the event loop (and on every core); the index stays on it
        try:
            for batch in summarize_paths(paths, configs, analyze_document, ls.cache, states=states):
                loop.call_soon_threadsafe(batches.put_nowait, batch)
        finally:
            loop.call_soon_threadsafe(batches.put_nowait, None)

    producer = loop.run_in_executor(None, produce)
    done = 0
    disk: dict[str, str] = {}  # uri → digest of the text on disk
    while (summaries := await batches.get()) is not None:
        for summary in summaries:
            # disk first, also for open files: their unsaved text replaces it below, and the
            # difference tells which other files it affects
            index.update(summary)
            disk[summary.uri] = summary.digest
        done += len(summaries)
        _report_status(ls, "indexing", done, len(paths))
        if token:
            ls.work_done_progress.report(
                token,
                types.WorkDoneProgressReport(message=f"{done}/{len(paths)} files", percentage=done * 100 // len(paths)),
            )
    await producer
    if generation != ls.generation:  # a newer run, with newer settings, publishes instead
        if token:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="restarted"))
        return
    ls.index = index
    # what changed on disk since the snapshot, measured before unsaved text joins the index
    reached = stale_files(ls.index, states, previous, ls.cache, RULES) if previous is not None else None
    # files created, changed or deleted while this index read the disk: it may hold what they were before
    affected = _apply_file_changes(ls, sorted(ls.changed_while_indexing))
    ls.changed_while_indexing.clear()
    as_on_disk = True  # every open document's text is the file's text on disk
    for doc in _open_documents(ls):
        if is_manifest_path(doc.uri):
            # off the loop: an open file of 20,000 routes must not keep requests waiting
            doc_key, doc_settings, doc_previous = _summary_inputs(ls, doc.uri)
            summary = await asyncio.to_thread(_summary_of, doc.uri, doc_key, doc.source, doc_settings, doc_previous)
            as_on_disk = as_on_disk and disk.get(summary.uri) == summary.digest
            affected |= ls.index.update(summary)
    quiet = ls.events == events  # no edit or file change arrived while indexing
    found: dict[str, list[Finding]] = {}
    if previous is not None and reached is not None and quiet:
        _publish(ls, reached | affected, found)
        kept = [uri for uri in ls.index.files if uri not in found]
        _publish_recorded(ls, previous, kept, found)  # no change reached them: the snapshot's findings stand
    else:
        _publish(ls, list(ls.index.files), found)
    snapshot = None
    if quiet and as_on_disk:  # the findings are those of the files on disk: worth keeping
        lines = {uri: s.nonascii_lines for uri, s in ls.index.files.items() if s.nonascii_lines}
        snapshot = Snapshot(started_ns, states, {uri: f for uri, f in found.items() if f}, lines)
    gc.freeze()  # the index lives as long as the server: keep it out of every later collection
    ls.indexed.set()
    _routing_tests_soon(ls)
    stale = set(ls.published) - set(ls.index.files)
    for uri in stale:  # files gone or excluded since the last index: clear what they showed
        _send(ls, uri, [])
    if snapshot is not None:  # after indexed is set: edits arriving meanwhile are published as usual
        await asyncio.to_thread(ls.cache.put_snapshot, key, snapshot)
    _report_status(ls, "ready", len(paths), len(paths))
    if token:
        count = sum(len(d) for d in ls.published.values())
        ls.work_done_progress.end(
            token, types.WorkDoneProgressEnd(message=f"{len(ls.index.files)} files, {count} findings")
        )


def _unchanged(snapshot: Snapshot, paths: list[Path], settings: Settings) -> bool:
    return snapshot.unchanged(paths, lambda path: read_text(path, settings))


def _publish_recorded(
    ls: IstioLanguageServer, snapshot: Snapshot, uris: list[str], found: dict[str, list[Finding]] | None = None
) -> None:
    """Publish the findings a snapshot recorded for `uris` (already sent ones are not sent again);
    `found` receives them."""
    encoding = _encoding(ls)
    lookup = _line_lookup(ls, snapshot.lines)  # before indexing ends, the snapshot knows the non-ASCII lines
    for uri in sorted(uris):
        findings = snapshot.findings.get(uri, [])
        if found is not None:
            found[uri] = findings
        _send(ls, uri, [to_diagnostic(f, lookup, encoding) for f in findings])


def _discover_all(
    roots: Iterable[Path], settings: Settings, open_configs: dict[str, str]
) -> tuple[list[Path], ProjectConfigs]:
    """The manifests under the roots, and the project configuration met on the way (an open
    configuration file as its editor shows it)."""
    configs = ProjectConfigs(settings, texts=open_configs)
    seen: set[Path] = set()
    out: list[Path] = []
    for root in roots:
        for path in discover(root, settings.exclude, configs):
            if path not in seen:
                seen.add(path)
                out.append(path)
    return out, configs


async def _begin_progress(ls: IstioLanguageServer, title: str) -> str | None:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return None
    token = str(uuid.uuid4())
    try:
        await ls.work_done_progress.create_async(token)
    except Exception:
        log.warning("client refused a progress token", exc_info=True)
        return None
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, percentage=0))
    return token


# ---- documents ---------------------------------------------------------------


def _summary_inputs(ls: IstioLanguageServer, uri: str) -> tuple[str, Settings, FileSummary | None]:
    """What an open document's analysis reads of the server: its key, settings and last summary."""
    key = normalize(uri)
    ls.client_uri[key] = uri
    return key, ls.index.settings_for(key), ls.index.files.get(key)


def _summary_of(uri: str, key: str, text: str, settings: Settings, previous: FileSummary | None) -> FileSummary:
    """An open document's summary: reads nothing of the server's state, so it can run off the loop."""
    path = to_fs_path(uri)
    skip = not_applied_as_is(Path(path)) if path else None
    if skip is not None:
        return skipped_summary(key, *skip)
    # unchanged `---` documents of the previous summary are reused
    return analyze_text(key, text, settings, previous)


async def _summarize_off_loop(ls: IstioLanguageServer, uri: str, text: str) -> FileSummary:
    """An open document's summary, made in a thread and stopped early (`Cancelled`) when the
    document changes again."""
    key, settings, previous = _summary_inputs(ls, uri)
    token = threading.Event()
    ls.analysing = (uri, token)

    def summarize() -> FileSummary:
        with cancellable(token):
            return _summary_of(uri, key, text, settings, previous)

    try:
        return await asyncio.to_thread(summarize)
    finally:
        ls.analysing = None


def _excluded(ls: IstioLanguageServer, uri: str) -> bool:
    path = to_fs_path(uri)
    if not path:
        return False
    resolved = Path(path).resolve()
    scopes = [(root.resolve(), ls.settings.exclude) for root in ls.roots if ls.settings.exclude]
    scopes += [(Path(folder), patterns) for folder, patterns in ls.index.configs.exclusions()]
    for folder, patterns in scopes:
        try:
            relative = resolved.relative_to(folder)
        except ValueError:
            continue
        if exclusion(patterns).match_file(relative.as_posix()):
            return True
    return False


def _tracked(ls: IstioLanguageServer, uri: str, language_id: str | None = None) -> bool:
    if language_id is not None and language_id not in ("yaml", "helm", "kubernetes"):
        return is_manifest_path(uri) and not _excluded(ls, uri)
    return (is_manifest_path(uri) or language_id == "yaml") and not _excluded(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@guarded(lambda: None)
def on_open(ls: IstioLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    if not _tracked(ls, doc.uri, doc.language_id):
        return
    _schedule(ls, doc.uri, immediate=True)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@guarded(lambda: None)
def on_change(ls: IstioLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    if _tracked(ls, params.text_document.uri):
        _schedule(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
@guarded(lambda: None)
def on_save(ls: IstioLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    # Clients without file watching (Neovim) tell us about disk changes only through saves.
    if _tracked(ls, params.text_document.uri):
        _schedule(ls, params.text_document.uri, immediate=True)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@guarded(lambda: None)
def on_close(ls: IstioLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    key = normalize(uri)
    if key not in ls.index.files:
        return
    ls.events += 1
    # Unsaved edits are gone with the buffer: the file on disk is the truth again.
    path = to_fs_path(uri)
    if is_config_path(key):
        _reindex_soon(ls)  # the file on disk is the configuration again
        return
    if path and Path(path).is_file():
        affected = ls.index.update(analyze_path(Path(path), ls.index.settings_for(key)))
    else:
        affected = ls.index.remove(key)
        _send(ls, key, [])
    _publish(ls, affected)
    _routing_tests_soon(ls)


def _schedule(ls: IstioLanguageServer, uri: str, immediate: bool = False) -> None:
    """Re-analyse soon: edits in quick succession are batched, so only the last text is analysed."""
    ls.events += 1
    ls.dirty.add(uri)
    if ls.analysing is not None and ls.analysing[0] == uri:
        ls.analysing[1].set()  # the text being analysed is already out of date: stop at the next checkpoint
    if ls.flush_timer is not None:
        ls.flush_timer.cancel()
    delay = 0 if immediate else ls.settings.debounce_ms / 1000
    loop = asyncio.get_running_loop()
    ls.flush_timer = loop.call_later(delay, _flush, ls)


def _flush(ls: IstioLanguageServer) -> asyncio.Future[None]:
    """The edits so far are due: analyse them, in the run under way when there is one."""
    ls.flush_timer = None
    ls.analysis_due = True
    if ls.analysis is None or ls.analysis.done():
        ls.analysis = asyncio.ensure_future(_analyse(ls))
    return ls.analysis


async def _analyse(ls: IstioLanguageServer) -> None:
    while ls.analysis_due:
        ls.analysis_due = False
        try:
            await _analyse_dirty(ls)
        except Exception:
            log.exception("analysing edits failed")


async def _analyse_dirty(ls: IstioLanguageServer) -> None:
    started = time.perf_counter()
    dirty, ls.dirty = ls.dirty, set()
    affected: set[str] = set()
    for uri in sorted(dirty):
        try:
            doc = _document(ls, uri)
            if doc is not None and is_config_path(uri) and _configuration_edited(ls, uri, doc.source):
                _reindex_soon(ls)  # new settings: every file may change
                return
            if doc is not None:
                summary = await _summarize_off_loop(ls, uri, doc.source)
                # edited meanwhile: the next round analyses the newer text; closed: the file on disk is the truth
                if uri not in ls.dirty and _document(ls, uri) is doc:
                    affected |= ls.index.update(summary)
        except Cancelled:
            pass  # edited meanwhile (it is dirty again)
        except Exception:
            log.exception("analysing %s failed", uri)
    # Until the workspace is indexed, cross-file findings would be guesses (every host "missing"):
    # indexing publishes all files, open ones included, when it ends.
    if ls.indexed.is_set():
        await _publish_in_turns(ls, affected)
        if affected - {normalize(u) for u in dirty}:
            _refresh_views(ls)  # lenses and hints of other files may read what changed
        if affected:
            _routing_tests_soon(ls)
        if ls.report_timing:
            versions = {u: d.version for u in dirty if (d := _document(ls, u)) is not None}
            elapsed = (time.perf_counter() - started) * 1000
            ls.protocol.notify("istioLsp/analysisTime", {"ms": elapsed, "versions": versions, "files": len(affected)})


def _reindex_soon(ls: IstioLanguageServer) -> None:
    """Index the workspace again (its settings changed); a run already under way gives way to it."""
    ls.reindex = asyncio.ensure_future(_index_workspace(ls))


def _configuration_edited(ls: IstioLanguageServer, uri: str, text: str) -> bool:
    """Take an open configuration file's text: True when its settings changed (the workspace must be
    indexed again); otherwise only its problems are updated."""
    key = normalize(uri)
    path = uri_path(key)
    top = any(Path(path).parent == root.resolve() for root in ls.roots)
    config = read_config(key, path, text, top=top)
    before = ls.index.configs.for_uri(key)
    if before is None or before.values != config.values:
        return True
    ls.index.configs.add(config)
    return False


# ---- routing tests -------------------------------------------------------------


def _routing_tests_soon(ls: IstioLanguageServer) -> None:
    """Run the workspace's routing tests again (after an analysis round), one run at a time."""
    ls.tests_due = True
    if ls.tests_run is None or ls.tests_run.done():
        ls.tests_run = asyncio.ensure_future(_run_routing_tests(ls))


async def _run_routing_tests(ls: IstioLanguageServer) -> None:
    """Every routing test file of the index, run against the index and the open documents' text; the
    files whose failing cases changed are published again.

    On the event loop, not in a thread: the checks' helpers the engine calls memoise into the index,
    and a thread reading it while an edit updates it could leave a stale entry behind. A run takes
    milliseconds (5-35 ms on the examples beside each corpus repository)."""
    while ls.tests_due:
        ls.tests_due = False
        started = time.perf_counter()
        try:
            found = routing_test_findings(ls.index, _reader(ls), test_files(ls.index))
        except Exception:
            log.exception("running the routing tests failed")
            continue
        log.debug("routing tests: %d file(s) in %.1f ms", len(found), (time.perf_counter() - started) * 1000)
        changed = {u for u in set(found) | set(ls.test_findings) if found.get(u, []) != ls.test_findings.get(u, [])}
        ls.test_findings = {u: f for u, f in found.items() if f}
        if changed:
            _publish(ls, [u for u in changed if u in ls.index.files])


def _reader(ls: IstioLanguageServer) -> Callable[[str], str | None]:
    """What the routing engine reads: an open document's text (unsaved edits included), else the file
    on disk when the workspace indexes it; nothing else."""
    texts = {normalize(d.uri): d.source for d in _open_documents(ls)}
    index = ls.index

    def read(uri: str) -> str | None:
        key = normalize(uri)
        if key in texts:
            return texts[key]
        path = to_fs_path(key)
        if not path or key not in index.files or not _in_roots(ls, Path(path)):
            return None
        try:
            return read_text(Path(path), index.settings_for(key))
        except (OSError, UnicodeDecodeError):
            return None

    return read


def _shown(ls: IstioLanguageServer) -> Callable[[str], str]:
    """A uri as a path relative to its workspace folder (the path itself outside them)."""
    roots = [root.resolve() for root in ls.roots]

    def shown(uri: str) -> str:
        path = Path(to_fs_path(uri) or uri)
        for root in roots:
            if path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return path.as_posix()

    return shown


def _refresh_views(ls: IstioLanguageServer) -> None:
    """Ask the client to re-request code lenses and inlay hints, where it supports that."""
    workspace = ls.client_capabilities.workspace
    if workspace is None:
        return
    if workspace.code_lens and workspace.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)
    if workspace.inlay_hint and workspace.inlay_hint.refresh_support:
        ls.workspace_inlay_hint_refresh(None)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@guarded(lambda: None)
def on_watched_files(ls: IstioLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.events += 1
    open_docs = {normalize(doc.uri) for doc in _open_documents(ls)}
    if any(is_config_path(c.uri) and normalize(c.uri) not in open_docs for c in params.changes):
        _reindex_soon(ls)  # settings of any file may change
        return
    if not ls.indexed.is_set():  # the index being built read the disk before these: apply them to it too
        ls.changed_while_indexing.update(normalize(c.uri) for c in params.changes)
    affected = _apply_file_changes(ls, [c.uri for c in params.changes])
    if ls.indexed.is_set():
        _publish(ls, affected)
        _routing_tests_soon(ls)


def _apply_file_changes(ls: IstioLanguageServer, uris: Iterable[str]) -> set[str]:
    """Bring the index up to the disk for files created, changed or deleted (not open ones: an open
    buffer wins over the disk until it is closed); the files whose findings may change."""
    open_docs = {normalize(doc.uri) for doc in _open_documents(ls)}
    affected: set[str] = set()
    for uri in uris:
        key = normalize(uri)
        if key in open_docs or not is_manifest_path(uri) or _excluded(ls, uri):
            continue
        path = to_fs_path(uri)
        if not path or not Path(path).is_file() or not _in_roots(ls, Path(path)):
            affected |= ls.index.remove(key)
            _send(ls, key, [])
        else:
            affected |= ls.index.update(analyze_path(Path(path), ls.index.settings_for(key)))
    return affected


def _in_roots(ls: IstioLanguageServer, path: Path) -> bool:
    """Whether a file lies in a workspace folder (every file does when the client named none)."""
    real = path.resolve()
    return not ls.roots or any(real.is_relative_to(root.resolve()) for root in ls.roots)


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
@guarded(lambda: None)
async def on_workspace_folders(ls: IstioLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    """Index added folders, forget removed ones (their diagnostics are cleared when indexing ends)."""
    removed = {Path(p).resolve() for p in (to_fs_path(f.uri) for f in params.event.removed) if p}
    added = [Path(p) for p in (to_fs_path(f.uri) for f in params.event.added) if p]
    roots = [root for root in ls.roots if root.resolve() not in removed]
    roots += [root for root in added if root.resolve() not in {r.resolve() for r in roots}]
    if roots != ls.roots:
        ls.roots = roots
        ls.events += 1
        await _index_workspace(ls)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@guarded(lambda: None)
async def on_configuration(ls: IstioLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    changed = False
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get(CONFIG_SECTION), dict):
        changed = _apply_settings(ls, settings[CONFIG_SECTION])
    else:
        changed = await _pull_configuration(ls)
    if changed:  # every summary depends on the settings (namespace, domain, limits): start over
        await _index_workspace(ls)


# ---- publishing --------------------------------------------------------------


def _line_lookup(
    ls: IstioLanguageServer, recorded: dict[str, dict[int, str]] | None = None
) -> Callable[[str, int], str | None]:
    def lookup(uri: str, line: int) -> str | None:
        doc = _document(ls, ls.client_uri.get(uri, uri))
        if doc is not None:
            lines = doc.lines
            return lines[line] if line < len(lines) else None
        summary = ls.index.files.get(uri)
        if summary is None and recorded is not None:
            return recorded.get(uri, {}).get(line)
        return summary.nonascii_lines.get(line) if summary else None

    return lookup


def _publish(ls: IstioLanguageServer, uris: Iterable[str], found: dict[str, list[Finding]] | None = None) -> None:
    """Check files and publish their diagnostics; `found` receives each file's findings."""
    encoding = _encoding(ls)
    lookup = _line_lookup(ls)
    for uri in sorted(set(uris)):
        _check_and_send(ls, uri, lookup, encoding, found)
    if ls.indexed.is_set():
        _report_status(ls, "ready", len(ls.index.files), len(ls.index.files))


async def _publish_in_turns(ls: IstioLanguageServer, uris: Iterable[str]) -> None:
    """`_publish`, letting waiting requests in every few tens of milliseconds: an edit that reaches
    thousands of files must not keep a hover waiting until all of them are checked."""
    encoding = _encoding(ls)
    lookup = _line_lookup(ls)
    turn_ends = time.perf_counter() + _TURN_SECONDS
    for uri in sorted(set(uris)):
        if time.perf_counter() > turn_ends:
            await asyncio.sleep(0)
            turn_ends = time.perf_counter() + _TURN_SECONDS
            encoding, lookup = _encoding(ls), _line_lookup(ls)  # documents may have changed meanwhile
        _check_and_send(ls, uri, lookup, encoding, None)
    if ls.indexed.is_set():
        _report_status(ls, "ready", len(ls.index.files), len(ls.index.files))


_TURN_SECONDS = 0.05


def _check_and_send(
    ls: IstioLanguageServer,
    uri: str,
    lookup: Callable[[str, int], str | None],
    encoding: str,
    found: dict[str, list[Finding]] | None,
) -> None:
    try:
        findings = check_file(ls.index, uri)
        if found is not None:
            found[uri] = findings  # without the routing tests' findings: they are not cached
        findings = findings + ls.test_findings.get(uri, [])
        diagnostics = [to_diagnostic(f, lookup, encoding) for f in findings]
    except Exception:
        log.exception("checking %s failed", uri)
        return
    _send(ls, uri, diagnostics)


def _report_status(ls: IstioLanguageServer, state: str, done: int, total: int) -> None:
    """Tell a client that asked (the VS Code status bar) how indexing goes and how many findings are shown."""
    if not ls.status_notifications:
        return
    counts = {severity: 0 for severity in types.DiagnosticSeverity}
    for diagnostics in ls.published.values():
        for diagnostic in diagnostics:
            counts[diagnostic.severity or types.DiagnosticSeverity.Error] += 1
    status = {
        "state": state,
        "done": done,
        "total": total,
        "files": len(ls.index.files),
        "errors": counts[types.DiagnosticSeverity.Error],
        "warnings": counts[types.DiagnosticSeverity.Warning],
        "findings": sum(counts.values()),
    }
    if (note := re2_unavailable_note()) is not None:
        status["notice"] = note
    if status != ls.status_sent:  # a keystroke that changes no count sends nothing
        ls.status_sent = status
        ls.protocol.notify("istioLsp/status", status)


def _send(ls: IstioLanguageServer, uri: str, diagnostics: list[types.Diagnostic]) -> None:
    client_uri = ls.client_uri.get(uri, uri)
    doc = _document(ls, client_uri)
    version = doc.version if doc is not None else None
    if doc is not None and client_uri in ls.dirty:
        return  # the text changed since this analysis: its result is stale, the next run publishes
    unchanged = ls.published.get(uri) == diagnostics if uri in ls.published else not diagnostics
    # An open document gets a publish for every new version, so the client knows its
    # diagnostics are current; other files only when what they show changes.
    if unchanged and (doc is None or ls.published_version.get(uri) == version):
        return
    if diagnostics:
        ls.published[uri] = diagnostics
    else:
        ls.published.pop(uri, None)
    ls.published_version[uri] = version
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=client_uri, diagnostics=diagnostics, version=version)
    )


# ---- requests ----------------------------------------------------------------
#
# Features work in UTF-16 columns on the index and the document's text; these adapt
# the client's positions and ranges to that and back.


def _encoding(ls: IstioLanguageServer) -> str:
    negotiated = ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
    return negotiated.value if isinstance(negotiated, types.PositionEncodingKind) else str(negotiated)


def request_position(ls: IstioLanguageServer, uri: str, position: types.Position) -> tuple[str, str, int, int]:
    """(normalised uri, document text, line, UTF-16 character) for a request's position."""
    doc = _document(ls, uri)
    if doc is None and normalize(uri) in ls.index.files:
        doc = ls.workspace.get_text_document(uri)  # a workspace file the client has not opened: its text on disk
    # anything else the client did not open and the workspace does not hold is not read
    text = doc.source if doc is not None else ""
    lines = doc.lines if doc is not None else []
    # a position past the end (an editor may send line 2³¹−1) means the end: features pad lines up to it
    if position.line > len(lines):
        position = types.Position(len(lines), 0)
    line_text = lines[position.line] if position.line < len(lines) else ""
    return normalize(uri), text, position.line, units_to_utf16(line_text, position.character, _encoding(ls))


def range_converter(ls: IstioLanguageServer) -> Callable[[str, Span], types.Range]:
    """Turns (uri, UTF-16 span) into a Range in the client's encoding."""
    encoding = _encoding(ls)
    lookup = _line_lookup(ls)

    def convert(uri: str, span: Span) -> types.Range:
        return convert_span(span, uri, lookup, encoding)

    return convert


def client_uri(ls: IstioLanguageServer, uri: str) -> str:
    return ls.client_uri.get(uri, uri)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
@guarded(list)
def on_code_action(ls: IstioLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = _document(ls, params.text_document.uri)
    return quick_fixes(params, doc.source if doc is not None else None)


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[":", " ", "/"]),
)
@guarded(list)
def on_completion(ls: IstioLanguageServer, params: types.CompletionParams) -> list[types.CompletionItem]:
    uri, text, line, character = request_position(ls, params.text_document.uri, params.position)
    item_caps = ls.client_capabilities.text_document
    completion_caps = item_caps.completion if item_caps else None
    snippets = bool(
        completion_caps and completion_caps.completion_item and completion_caps.completion_item.snippet_support
    )
    items = complete(ls.index, uri, text, line, character, range_converter(ls), snippets=snippets)
    context = params.context
    if context is not None and context.trigger_character == " ":
        # a space only asks for values (`host: `); keys would pop up on every indentation
        items = [i for i in items if i.kind != types.CompletionItemKind.Field]
    return items


@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded(lambda: None)
def on_hover(ls: IstioLanguageServer, params: types.HoverParams) -> types.Hover | None:
    uri, text, line, character = request_position(ls, params.text_document.uri, params.position)
    return hover(ls.index, uri, text, line, character, range_converter(ls))


# ---- navigation ----------------------------------------------------------------
#
# Definition, references, rename, outline, lenses and hints read the index: the open
# documents' unsaved text is in it once analysed, so pending edits are analysed first.


async def _analysed(ls: IstioLanguageServer) -> None:
    """Analyse edits still waiting for the debounce now, so a request reads the text the user sees.
    (Hover, completion and code actions do not wait: they answer from the last results.)"""
    if ls.dirty:
        if ls.flush_timer is not None:
            ls.flush_timer.cancel()
        _flush(ls)
    if ls.analysis is not None and not ls.analysis.done():
        await asyncio.shield(ls.analysis)  # a request given up on must not stop the analysis


def _client_uris(ls: IstioLanguageServer) -> Callable[[str], str]:
    return lambda uri: client_uri(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
@guarded(lambda: None)
async def on_definition(ls: IstioLanguageServer, params: types.DefinitionParams) -> list[types.Location] | None:
    await _analysed(ls)
    uri, _, line, character = request_position(ls, params.text_document.uri, params.position)
    return definition(ls.index, uri, line, character, range_converter(ls), _client_uris(ls)) or None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
@guarded(lambda: None)
async def on_references(ls: IstioLanguageServer, params: types.ReferenceParams) -> list[types.Location] | None:
    await _analysed(ls)
    uri, _, line, character = request_position(ls, params.text_document.uri, params.position)
    include = params.context.include_declaration
    return references(ls.index, uri, line, character, include, range_converter(ls), _client_uris(ls)) or None


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
@guarded(lambda: None)
async def on_prepare_rename(
    ls: IstioLanguageServer, params: types.PrepareRenameParams
) -> types.PrepareRenamePlaceholder | None:
    await _analysed(ls)
    uri, _, line, character = request_position(ls, params.text_document.uri, params.position)
    return prepare_rename(ls.index, uri, line, character, range_converter(ls))


@server.feature(types.TEXT_DOCUMENT_RENAME)
@guarded(lambda: None)
async def on_rename(ls: IstioLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    await _analysed(ls)
    uri, _, line, character = request_position(ls, params.text_document.uri, params.position)
    try:
        return rename(ls.index, uri, line, character, params.new_name, range_converter(ls), _client_uris(ls))
    except RenameError as error:
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"istio-lsp: {error}"))
        return None


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(list)
async def on_document_symbol(
    ls: IstioLanguageServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol] | list[types.SymbolInformation]:
    await _analysed(ls)
    symbols = document_symbols(ls.index, normalize(params.text_document.uri), range_converter(ls))
    text_caps = ls.client_capabilities.text_document
    symbol_caps = text_caps.document_symbol if text_caps else None
    if symbol_caps and symbol_caps.hierarchical_document_symbol_support:
        return symbols
    return flatten(symbols, params.text_document.uri)


@server.feature(types.WORKSPACE_SYMBOL)
@guarded(list)
async def on_workspace_symbol(
    ls: IstioLanguageServer, params: types.WorkspaceSymbolParams
) -> list[types.WorkspaceSymbol]:
    await _analysed(ls)
    return workspace_symbols(ls.index, params.query, range_converter(ls), _client_uris(ls))


@server.feature(types.TEXT_DOCUMENT_CODE_LENS)
@guarded(list)
async def on_code_lens(ls: IstioLanguageServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    await _analysed(ls)
    return code_lenses(ls.index, normalize(params.text_document.uri), range_converter(ls), _reader(ls))


@server.command(TRACE_COMMAND)
@guarded(lambda: None)
async def on_trace(ls: IstioLanguageServer, *arguments: Any) -> dict[str, Any]:
    """`istioLsp.trace {method, url, headers?, via? or from?}`: the trace of the request through the
    workspace as it is being edited, as Markdown (`markdown`), its `status`, and the trace's JSON."""
    await _analysed(ls)
    argument = arguments[0] if arguments else None
    # on the loop, as the routing tests run (the engine memoises into the index): milliseconds
    return run_trace(ls.index, _reader(ls), argument, _shown(ls))


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
@guarded(list)
async def on_inlay_hint(ls: IstioLanguageServer, params: types.InlayHintParams) -> list[types.InlayHint]:
    await _analysed(ls)
    client_doc = params.text_document.uri
    uri, _, start_line, start_char = request_position(ls, client_doc, params.range.start)
    _, _, end_line, end_char = request_position(ls, client_doc, params.range.end)
    return inlay_hints(ls.index, uri, Span(start_line, start_char, end_line, end_char), range_converter(ls))


def serve() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message at INFO
    serve_stdio(server)
