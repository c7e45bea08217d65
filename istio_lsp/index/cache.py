"""A persistent cache of file summaries, so a warm start re-parses nothing that did not change.

One SQLite database in the user's cache directory. An entry's key covers everything a
summary depends on: the file's URI and content digest, the settings, and a fingerprint
of the installed istio-lsp code (so a new version, or an edited checkout, never reads
summaries an older analysis wrote). SQLite's locking makes concurrent servers safe; a
corrupt or unreadable database is set aside and the cache carries on empty, or off.

Beside the summaries, one *snapshot* per set of workspace roots (and settings, and code):
every file's state (stat and content digest) and every finding of the last run. When no
file changed, a warm start answers from it alone: one read and a stat of each file,
nothing parsed, nothing checked. When some changed, the findings of the files no change
reached are taken from it (`istio_lsp.checks.reuse`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from istio_lsp.findings import Finding
from istio_lsp.index import codec
from istio_lsp.index.summary import FileSummary, digest_of
from istio_lsp.settings import Settings

log = logging.getLogger(__name__)

SCHEMA = 3  # 3: rows are plain data (codec), no longer pickles
# A file modified this close to the moment its state was recorded may change again within the
# same timestamp tick (2 s on FAT): its stat proves nothing, its content is hashed (as git does).
RACY_NS = 2_000_000_000
_PACKAGE = Path(__file__).resolve().parent.parent


def cache_dir() -> Path | None:
    """`$ISTIO_LSP_CACHE_DIR` (empty: no cache), else `$XDG_CACHE_HOME/istio-lsp`, else `~/.cache/istio-lsp`."""
    explicit = os.environ.get("ISTIO_LSP_CACHE_DIR")
    if explicit is not None:
        return Path(explicit) if explicit else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "istio-lsp"


@cache
def code_fingerprint() -> str:
    """Changes whenever any module of the package changes (size and modification time of each)."""
    digest = hashlib.blake2b(digest_size=12)
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in (".py", ".json") and path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(_PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def entry_key(uri: str, digest: str, settings: Settings) -> str:
    material = f"{SCHEMA}\n{code_fingerprint()}\n{settings!r}\n{uri}\n{digest}"
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def encode_summary(summary: FileSummary) -> bytes:
    """A summary as a cache row: plain data (`codec`), which reading can never turn into code."""
    return codec.dumps(summary)


def decode_summary(data: bytes) -> FileSummary:
    """The summary a row holds; CodecError when it holds anything else."""
    summary = codec.loads(data)
    if not isinstance(summary, FileSummary):
        raise codec.CodecError(f"a {type(summary).__name__}, not a summary")
    return summary


def snapshot_key(roots: Iterable[Path], settings: Settings, forced: dict[str, Any] | None = None) -> str:
    """The key of a run's snapshot: its roots, its settings and flags, and the code (project
    configuration files are files of the run: a change to one is a changed file)."""
    material = "\n".join(
        [f"snapshot {SCHEMA}", code_fingerprint(), repr(settings), repr(sorted((forced or {}).items()))]
        + [str(r) for r in roots]
    )
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


class FileState(NamedTuple):  # a tuple: thousands of them load on every warm start
    """What a file was when it was read: its stat (taken before the read) and its content digest."""

    mtime_ns: int
    size: int
    ino: int
    digest: str  # FileSummary.digest; "" for a file that was skipped (unreadable, binary, too large)


def stat_of(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


@dataclass
class Snapshot:
    """A whole run's result: the state of every file it read and the findings of every file."""

    started_ns: int  # wall-clock time before the first file was looked at
    files: dict[str, FileState]  # path as discovered → state
    findings: dict[str, list[Finding]]  # uri → findings, for files with any
    lines: dict[str, dict[int, str]] = field(default_factory=dict)  # uri → non-ASCII lines (UTF-16 conversion)

    def unchanged(self, paths: list[Path], read_text: Callable[[Path], str | None]) -> bool:
        """Whether `paths` are exactly the files recorded, each with the same content.

        A file whose stat differs, or was modified close to the recorded run (racy), is
        read and its digest compared: `touch` or a checkout that rewrites the same bytes
        still counts as unchanged, a same-size edit within the same second does not.
        """
        if len(paths) != len(self.files):
            return False
        racy_after = self.started_ns - RACY_NS
        for path in paths:
            state = self.files.get(str(path))
            if state is None:
                return False
            current = stat_of(path)
            if current is None:
                return False
            if current == (state.mtime_ns, state.size, state.ino) and state.mtime_ns < racy_after:
                continue
            if not state.digest:
                return False
            text = read_text(path)
            if text is None or digest_of(text) != state.digest:
                return False
        return True


class SummaryCache:
    def __init__(self, directory: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        if directory is None:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = self._open(directory / "summaries.sqlite3")
        except (OSError, sqlite3.Error) as exc:
            log.warning("summary cache disabled: %s", exc)
            self._db = None

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        for attempt in range(2):
            try:
                db = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS summaries (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
                db.execute("CREATE TABLE IF NOT EXISTS snapshots (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
                db.execute("SELECT count(*) FROM summaries LIMIT 1").fetchone()
                return db
            except sqlite3.DatabaseError:
                if attempt:
                    raise
                log.warning("summary cache %s is corrupt: starting a new one", path)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise AssertionError("unreachable")

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get_many(self, keys: list[str]) -> dict[str, FileSummary]:
        """The cached summaries among `keys`; a damaged entry is treated as missing."""
        if self._db is None or not keys:
            return {}
        found: dict[str, FileSummary] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, data FROM summaries WHERE key IN ({marks})", chunk)
                for key, data in rows:
                    try:
                        found[key] = decode_summary(data)
                    except codec.CodecError as exc:  # written by another version, damaged, or forged
                        log.debug("summary cache entry %s ignored: %s", key, exc)
        except sqlite3.Error as exc:
            log.warning("summary cache read failed: %s", exc)
        return found

    def put_many(self, entries: Iterable[tuple[str, FileSummary]]) -> None:
        if self._db is not None:
            self.put_encoded([(key, encode_summary(summary)) for key, summary in entries])

    def put_encoded(self, rows: list[tuple[str, bytes]]) -> None:
        """Store summaries already encoded with `encode_summary` (by the worker that made them)."""
        if self._db is None or not rows:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO summaries (key, data) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("summary cache write failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def get_snapshot(self, key: str) -> Snapshot | None:
        """The snapshot stored under `key`; a damaged or foreign one is treated as missing."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT data FROM snapshots WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            log.warning("summary cache read failed: %s", exc)
            return None
        if row is None:
            return None
        try:
            snapshot = codec.loads(row[0])
        except codec.CodecError as exc:
            log.debug("snapshot ignored: %s", exc)
            return None
        return snapshot if isinstance(snapshot, Snapshot) else None

    def put_snapshot(self, key: str, snapshot: Snapshot) -> None:
        if self._db is None:
            return
        try:
            data = codec.dumps(snapshot)
            self._db.execute("INSERT OR REPLACE INTO snapshots (key, data) VALUES (?, ?)", (key, data))
        except (sqlite3.Error, codec.CodecError) as exc:
            log.warning("summary cache write failed: %s", exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
