"""The persistent summary cache: a warm start parses nothing unchanged, and a bad cache never breaks a run."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.generate import generate
from istio_lsp.checks import analyze_document
from istio_lsp.index import codec
from istio_lsp.index.bulk import summarize_paths
from istio_lsp.index.cache import SummaryCache, entry_key
from istio_lsp.index.summary import digest_of
from istio_lsp.settings import Settings

calls: list[str] = []


def counting_analyzer(doc, resources, settings):  # type: ignore[no-untyped-def]
    calls.append(resources[0][0].uri)
    return analyze_document(doc, resources, settings)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    generate(tmp_path / "ws", 12)
    return sorted((tmp_path / "ws").rglob("*.yaml"))


def _run(files: list[Path], cache: SummaryCache, settings: Settings | None = None) -> list:
    return [
        s
        for batch in summarize_paths(files, settings or Settings(), counting_analyzer, cache, workers=1)
        for s in batch
    ]


def test_second_run_reads_everything_from_the_cache(tmp_path: Path, files: list[Path]) -> None:
    cache = SummaryCache(tmp_path / "cache")
    calls.clear()
    first = _run(files, cache)
    assert calls, "the first run parses"
    calls.clear()
    second = _run(files, cache)
    assert calls == [], "the second run parses nothing"
    assert sorted(s.uri for s in first) == sorted(s.uri for s in second)
    assert {s.uri: s.provides for s in first} == {s.uri: s.provides for s in second}


def test_a_changed_file_or_setting_misses(tmp_path: Path, files: list[Path]) -> None:
    cache = SummaryCache(tmp_path / "cache")
    _run(files, cache)
    files[0].write_text(files[0].read_text() + "# edited\n")
    calls.clear()
    _run(files, cache)
    assert set(calls) == {files[0].resolve().as_uri()}
    calls.clear()
    _run(files, cache, Settings(default_namespace="other"))
    assert len(set(calls)) == len(files)
    assert entry_key("u", "d", Settings()) != entry_key("u", "d", Settings(cluster_domain="corp.local"))


def test_a_corrupt_cache_is_replaced(tmp_path: Path, files: list[Path]) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    (directory / "summaries.sqlite3").write_bytes(b"this is not a database" * 100)
    cache = SummaryCache(directory)
    assert cache.enabled
    assert len(_run(files, cache)) == len(files)


def test_an_unwritable_cache_is_turned_off(tmp_path: Path, files: list[Path]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = SummaryCache(blocker / "cache")  # cannot make a directory inside a file
    assert not cache.enabled
    assert len(_run(files, cache)) == len(files)


def test_two_processes_share_a_cache(tmp_path: Path, files: list[Path]) -> None:
    """Two checks at once on one cache both succeed (SQLite serialises the writers)."""
    env_cache = str(tmp_path / "shared")
    command = [
        sys.executable,
        "-c",
        "from istio_lsp.cli import main; raise SystemExit(main())",
        "check",
        "--fail-on",
        "never",
    ]
    procs = [
        subprocess.Popen([*command, str(files[0].parent.parent)], env={"ISTIO_LSP_CACHE_DIR": env_cache, "PATH": ""})
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]


def test_cached_summaries_equal_fresh_ones(tmp_path: Path, files: list[Path]) -> None:
    """The cache's plain-data rows rebuild every field (spans, references, resources, findings)."""
    broken = sorted((Path(__file__).resolve().parent.parent / "examples" / "broken").rglob("*.yaml"))
    cache = SummaryCache(tmp_path / "cache")
    fresh = {s.uri: s for s in _run(files + broken, cache)}
    cached = {s.uri: s for s in _run(files + broken, SummaryCache(tmp_path / "cache"))}
    # resources compare by identity: compare every field, nested ones included
    assert {uri: structure(s) for uri, s in cached.items()} == {uri: structure(s) for uri, s in fresh.items()}
    assert sum(len(s.resources) for s in cached.values()) > 50


def structure(value: object) -> object:
    """A value as plain nested tuples, comparable whatever its classes' equality."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(structure(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, (list, tuple)):
        return [structure(v) for v in value]
    if isinstance(value, dict):
        return sorted((repr(k), structure(v)) for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(repr(structure(v)) for v in value)
    return value


# ---- rows are untrusted input -------------------------------------------------------------------


class _Planted:
    """What a shared cache could hold if rows were pickles: loading it would create `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def _plant(cache_dir: Path, path: Path, data: bytes) -> None:
    import sqlite3

    key = entry_key(path.resolve().as_uri(), digest_of(path.read_text(encoding="utf-8")), Settings())
    with sqlite3.connect(cache_dir / "summaries.sqlite3") as db:
        db.execute("INSERT OR REPLACE INTO summaries (key, data) VALUES (?, ?)", (key, data))


def test_a_planted_row_runs_no_code(tmp_path: Path, files: list[Path]) -> None:
    import pickle

    marker = tmp_path / "planted-code-ran"
    SummaryCache(tmp_path / "cache").close()  # create the tables
    _plant(tmp_path / "cache", files[0], pickle.dumps(_Planted(marker)))
    calls.clear()
    summaries = _run(files, SummaryCache(tmp_path / "cache"))
    assert not marker.exists()
    assert files[0].resolve().as_uri() in calls, "the planted row is ignored and the file parsed"
    assert len(summaries) == len(files)


@pytest.mark.parametrize(
    "row",
    [
        b'[1, ["os.system", "touch x"]]',  # a class the registry does not hold
        b'[1, ["FileSummary", "u"]]',  # too few fields
        b"[1, [0, 1, 2]]",  # a list, not a summary
        b'[1, {"__class__": "FileSummary"}]',  # an object
        b"[99, null]",  # another format
        b"not json at all",
        b"[1, " + b"[0, " * 100_000 + b"]" * 100_001,  # nested past the recursion limit
    ],
)
def test_a_forged_row_is_a_miss(tmp_path: Path, files: list[Path], row: bytes) -> None:
    SummaryCache(tmp_path / "cache").close()
    _plant(tmp_path / "cache", files[0], row)
    calls.clear()
    assert len(_run(files, SummaryCache(tmp_path / "cache"))) == len(files)
    assert files[0].resolve().as_uri() in calls


def test_a_row_with_a_field_of_the_wrong_type_is_a_miss(tmp_path: Path, files: list[Path]) -> None:
    cache = SummaryCache(tmp_path / "cache")
    [summary] = [s for s in _run(files, cache) if s.uri == files[0].resolve().as_uri()]
    encoded = codec._encode(summary)
    encoded[2] = 42  # `digest`, a string
    with pytest.raises(codec.CodecError, match=r"FileSummary\.digest"):
        codec.loads(codec.json.dumps([codec.FORMAT, encoded]))
    resource = next(r for r in codec._encode(summary)[3][1:])
    resource[1] = [0, "not", "a", "kind"]  # `kind`, a string
    with pytest.raises(codec.CodecError, match="kind"):
        codec.loads(codec.json.dumps([codec.FORMAT, resource]))


def test_every_case_survives_the_codec() -> None:
    """Every summary the check cases produce encodes and decodes to the same structure."""
    from tests.casekit import CASES_DIR, summarize_text

    count = 0
    for path in sorted(CASES_DIR.rglob("*.yaml")):
        summary = summarize_text(path.as_uri(), path.read_text(encoding="utf-8"), Settings())
        assert structure(codec.loads(codec.dumps(summary))) == structure(summary), path
        count += 1
    assert count > 100
