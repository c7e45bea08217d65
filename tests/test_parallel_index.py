"""Indexing on several processes gives exactly what one process gives, and caches the same entries.

The parallel path forks when the process runs no other thread (`istio-lsp check`) and spawns
otherwise (the server, whose event loop and reader run on threads); both are exercised here.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import generate
from istio_lsp.checks import analyze_document
from istio_lsp.index.bulk import PARALLEL_THRESHOLD, summarize_paths
from istio_lsp.index.cache import SummaryCache, entry_key
from istio_lsp.index.summary import FileSummary, digest_of
from istio_lsp.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("parallel") / "ws"
    generate(root, 140)
    (root / "broken.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: [\n")
    (root / "bad-timeout.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: team-00}\n"
        "spec:\n  hosts: [svc-00000]\n  http:\n  - timeout: 5x\n    route:\n    - destination: {host: svc-00000}\n"
    )
    (root / "binary.yaml").write_bytes(b"\x00\xff\xfe binary")
    files = sorted(root.rglob("*.yaml"))
    assert len(files) > PARALLEL_THRESHOLD, "enough files to take the parallel path"
    return files


@contextmanager
def another_thread() -> Iterator[None]:
    """Keep a second thread alive, as in the server: the pool must spawn rather than fork."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _plain(value: Any) -> Any:
    """A value as comparable plain data: resources compare by identity, and the order of a
    frozenset differs between processes (string hashes are seeded per process)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(_plain(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    if isinstance(value, dict):
        return sorted((repr(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _summaries(files: list[Path], workers: int, cache: SummaryCache | None = None) -> dict[str, FileSummary]:
    batches = list(summarize_paths(files, Settings(), analyze_document, cache, workers=workers))
    found = {summary.uri: summary for batch in batches for summary in batch}
    assert len(found) == len(files), "every file summarised exactly once"
    return found


def check_parallel_equals_sequential(files: list[Path], cache_dir: Path) -> None:
    """Summarise `files` on one process and on two, and compare; also what the cache holds."""
    sequential = _summaries(files, workers=1)
    cache = SummaryCache(cache_dir)
    parallel = _summaries(files, workers=2, cache=cache)
    assert _plain(parallel) == _plain(sequential)
    assert any(s.local_findings for s in parallel.values()), "the analyzer ran in the workers"
    assert any(s.syntax_errors for s in parallel.values()) and any(s.skipped for s in parallel.values())

    # the cache holds what the workers pickled, and it reads back as the same summaries
    settings = Settings()
    keys = {
        entry_key(path.resolve().as_uri(), digest_of(path.read_text()), settings): path.resolve().as_uri()
        for path in files
        if path.name != "binary.yaml"
    }
    cached = cache.get_many(list(keys))
    assert len(cached) == len(keys)
    assert all(_plain(summary) == _plain(sequential[keys[key]]) for key, summary in cached.items())


def test_forked_workers_equal_one_process(workspace: list[Path], tmp_path: Path) -> None:
    # in a fresh interpreter: threads left by earlier tests would make the pool spawn instead
    script = (
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from tests.test_parallel_index import check_parallel_equals_sequential\n"
        "assert threading.active_count() == 1, 'no other thread, so the pool forks'\n"
        "check_parallel_equals_sequential([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]))\n"
        "print('compared')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache"), *map(str, workspace)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and run.stdout.strip() == "compared", run.stderr


def test_spawned_workers_equal_one_process(workspace: list[Path], tmp_path: Path) -> None:
    with another_thread():
        check_parallel_equals_sequential(workspace, tmp_path / "cache")
