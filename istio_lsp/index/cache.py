"""A persistent cache of file summaries, so a warm start re-parses nothing that did not change.

One SQLite database in the user's cache directory. An entry's key covers everything a
summary depends on: the file's URI and content digest, the settings, and a fingerprint
of the installed istio-lsp code (so a new version, or an edited checkout, never reads
summaries an older analysis wrote). SQLite's locking makes concurrent servers safe; a
corrupt or unreadable database is set aside and the cache carries on empty, or off.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import sqlite3
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from istio_lsp.index.summary import FileSummary
from istio_lsp.settings import Settings

log = logging.getLogger(__name__)

SCHEMA = 1
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
                        summary = pickle.loads(data)
                    except Exception:
                        continue
                    if isinstance(summary, FileSummary):
                        found[key] = summary
        except sqlite3.Error as exc:
            log.warning("summary cache read failed: %s", exc)
        return found

    def put_many(self, entries: Iterable[tuple[str, FileSummary]]) -> None:
        if self._db is None:
            return
        rows = [(key, pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)) for key, summary in entries]
        if not rows:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO summaries (key, data) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("summary cache write failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
