"""Warm starts answer from the snapshot of the last run, and always say what a cold run says.

Each test compares `istio-lsp check --format json` after some change against a run
without any cache (`--no-cache`) on the same files: the snapshot must never show stale
findings, whichever file changed and however.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import istio_lsp.checks
from benchmarks.generate import generate
from istio_lsp.checks import RULES, analyze_document
from istio_lsp.cli import main
from istio_lsp.findings import Finding
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.bulk import read_text, summarize_paths
from istio_lsp.index.cache import RACY_NS, SummaryCache, snapshot_key
from istio_lsp.index.discovery import discover
from istio_lsp.settings import Settings

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "broken"
HOUR_NS = 3600 * 1_000_000_000


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLES, root)
    # files written long ago: their stat is trusted (not racy)
    old = _now_ns() - HOUR_NS
    for path in root.rglob("*.yaml"):
        os.utime(path, ns=(old, old))
    monkeypatch.setenv("ISTIO_LSP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return root


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files cross-file checks ran on, in this process (empty when a run answered from the snapshot)."""
    calls: list[str] = []
    real = istio_lsp.checks.check_file

    def counting(index: Any, uri: str) -> Any:
        calls.append(uri)
        return real(index, uri)

    monkeypatch.setattr(istio_lsp.checks, "check_file", counting)
    return calls


def _now_ns() -> int:
    return time.time_ns()


def check(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    main(["check", "--format", "json", "--fail-on", "never", *args])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def assert_warm_equals_cold(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    warm = check(capsys, str(root), *args)
    cold = check(capsys, str(root), "--no-cache", *args)
    assert warm == cold
    return warm


def codes_in(result: dict[str, Any], name: str) -> list[str]:
    return [d["code"] for d in result["diagnostics"] if d["file"].endswith(name)]


def test_nothing_changed_checks_nothing(
    capsys: pytest.CaptureFixture[str], workspace: Path, checked: list[str]
) -> None:
    first = check(capsys, str(workspace))
    assert checked, "the first run checks every file"
    assert len(first["diagnostics"]) == 10
    checked.clear()
    assert check(capsys, str(workspace)) == first
    assert checked == [], "the warm run answers from the snapshot"


def test_an_edited_file_is_seen(capsys: pytest.CaptureFixture[str], workspace: Path, checked: list[str]) -> None:
    check(capsys, str(workspace))
    routes = workspace / "bookstore" / "gateway.yaml"
    routes.write_text(routes.read_text().replace("host: detials", "host: details"))
    checked.clear()
    result = assert_warm_equals_cold(capsys, workspace)
    assert checked, "a changed file means checking again"
    assert "destination-host-not-found" not in codes_in(result, "gateway.yaml")


def test_deleting_a_service_another_file_routes_to(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    before = check(capsys, str(workspace))
    assert "destination-host-not-found" not in [
        d["code"] for d in before["diagnostics"] if "productpage" in d["message"]
    ]
    (workspace / "bookstore" / "productpage.yaml").unlink()
    result = assert_warm_equals_cold(capsys, workspace)
    assert any(
        d["code"] == "destination-host-not-found" and "productpage" in d["message"] for d in result["diagnostics"]
    )


def test_adding_a_file_another_file_reads(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    check(capsys, str(workspace))
    (workspace / "bookstore" / "detials.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: detials\n  namespace: bookstore\n"
        "spec:\n  ports:\n  - name: http\n    port: 9080\n"
    )
    result = assert_warm_equals_cold(capsys, workspace)
    assert not any(
        "detials" in d["message"] and d["code"] == "destination-host-not-found" for d in result["diagnostics"]
    )


def test_changed_settings_use_their_own_snapshot(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    check(capsys, str(workspace))
    result = assert_warm_equals_cold(capsys, workspace, "--disable", "destination-host-not-found")
    assert "destination-host-not-found" not in [d["code"] for d in result["diagnostics"]]
    assert_warm_equals_cold(capsys, workspace, "--default-namespace", "bookstore")
    assert_warm_equals_cold(capsys, workspace)


def test_same_size_edit_right_after_a_run_is_seen(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    """An edit that keeps size, inode and mtime (racy): the file was written just before the run, so it is re-read."""
    target = workspace / "bookstore" / "gateway.yaml"
    now = _now_ns()
    os.utime(target, ns=(now, now))
    check(capsys, str(workspace))
    text = target.read_text()
    with target.open("r+") as handle:  # in place: same inode
        handle.write(text.replace("host: detials", "host: details"))
    os.utime(target, ns=(now, now))
    result = assert_warm_equals_cold(capsys, workspace)
    assert "destination-host-not-found" not in codes_in(result, "gateway.yaml")


def test_touch_without_change_still_reuses_the_snapshot(
    capsys: pytest.CaptureFixture[str], workspace: Path, checked: list[str]
) -> None:
    first = check(capsys, str(workspace))
    target = workspace / "shop" / "payments.yaml"
    old = _now_ns() - HOUR_NS // 2
    os.utime(target, ns=(old, old))  # another mtime, same bytes: re-hashed and found equal
    checked.clear()
    assert check(capsys, str(workspace)) == first
    assert checked == []


def test_a_corrupt_snapshot_is_ignored(capsys: pytest.CaptureFixture[str], workspace: Path, tmp_path: Path) -> None:
    first = check(capsys, str(workspace))
    database = tmp_path / "cache" / "summaries.sqlite3"
    with sqlite3.connect(database) as db:
        assert db.execute("UPDATE snapshots SET data = ?", (b"\x80\x05garbage",)).rowcount >= 1
    assert check(capsys, str(workspace)) == first
    with sqlite3.connect(database) as db:  # a pickle of something else entirely
        db.execute("UPDATE snapshots SET data = ?", (b"\x80\x04K\x01.",))
    assert check(capsys, str(workspace)) == first
    assert_warm_equals_cold(capsys, workspace)


def test_snapshot_unchanged_reads_only_what_it_must(workspace: Path, tmp_path: Path) -> None:
    settings = Settings()
    check_paths = sorted(workspace.rglob("*.yaml"))
    main(["check", "--fail-on", "never", "--format", "json", str(workspace)])
    cache = SummaryCache(tmp_path / "cache")
    snapshot = cache.get_snapshot(snapshot_key([workspace.resolve()], settings))
    assert snapshot is not None
    read: list[Path] = []

    def reader(path: Path) -> str | None:
        read.append(path)
        return read_text(path, settings)

    paths = [Path(p) for p in snapshot.files]
    assert snapshot.unchanged(paths, reader) and read == []
    assert not snapshot.unchanged(paths[1:], reader), "a file gone"
    assert not snapshot.unchanged([*paths[1:], workspace / "new.yaml"], reader), "a file swapped"
    assert sorted(paths) == check_paths
    # as if the files had been written a second before the run: their stat proves nothing
    snapshot.started_ns = max(state.mtime_ns for state in snapshot.files.values()) + RACY_NS // 2
    assert snapshot.unchanged(paths, reader) and sorted(read) == check_paths
    cache.close()


def _touch_all(root: Path) -> None:
    for path in root.rglob("*.y*ml"):
        path.touch()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_sequence_of_changes_checks_only_what_they_reach(
    capsys: pytest.CaptureFixture[str], workspace: Path, checked: list[str], tmp_path: Path
) -> None:
    """Each warm run reuses the findings of files no change reached, and still equals a cold run."""
    generate(workspace / "generated", 20)
    extra = workspace / "extra"
    extra.mkdir()
    (extra / "backend.yaml").write_text(service_yaml("backend"))
    (extra / "route.yaml").write_text(route_yaml("route", "backend"))
    (extra / "typo.yaml").write_text(route_yaml("typo", "bakend"))
    (extra / "typo2.yaml").write_text(route_yaml("typo2", "bakend.far.svc.cluster.local"))
    total = len(list(workspace.rglob("*.yaml")))
    check(capsys, str(workspace))
    book = workspace / "bookstore"
    service = next((workspace / "generated").rglob("svc-*.yaml"))
    steps: list[tuple[str, Callable[[], object]]] = [
        ("a Service that a clean route reads is deleted", lambda: (extra / "backend.yaml").unlink()),
        (
            "a Service close to a misspelled host appears",
            lambda: (extra / "b.yaml").write_text(service_yaml("bakendd")),
        ),
        # typo2 requires nothing of namespace `fat`: only its "did you mean" fix reads the new host
        ("a close Service in another namespace", lambda: (extra / "c.yaml").write_text(service_yaml("bakend", "fat"))),
        ("a comment in one file", lambda: _edit(service, "kind: Service\n", "kind: Service  # edited\n")),
        ("the Service a route names is deleted", lambda: (book / "productpage.yaml").unlink()),
        ("a Service with the misspelled name appears", lambda: (book / "detials.yaml").write_text(DETIALS)),
        ("a file is renamed", lambda: (book / "detials.yaml").rename(book / "details-typo.yml")),
        ("a subset's labels change", lambda: _edit(book / "reviews.yaml", "version: v1", "version: v9")),
        ("a file becomes binary", lambda: (book / "details-typo.yml").write_bytes(b"\xff\xfe\x00binary")),
        ("a namespace file is deleted", lambda: (workspace / "shop" / "namespace.yaml").unlink()),
        ("every file is touched, none changed", lambda: _touch_all(workspace)),
    ]
    for name, change in steps:
        change()
        checked.clear()
        warm = check(capsys, str(workspace))
        rechecked = len(checked)
        assert warm == check(capsys, str(workspace), "--no-cache"), name
        assert rechecked < total, f"{name}: every file was checked again"
        # the findings kept for the next run, fixes included ("did you mean" reads every host)
        assert stored_findings(workspace, tmp_path) == cold_findings(workspace), name

    # a comment reaches its own file, and the files with cross-file findings (always checked again:
    # their "did you mean" reads every host)
    cross_file = {rule.code for rule in RULES if rule.run is not None}
    with_cross = {
        uri for uri, found in stored_findings(workspace, tmp_path).items() if any(f.code in cross_file for f in found)
    }
    _edit(service, "kind: Service  # edited\n", "kind: Service\n")
    checked.clear()
    check(capsys, str(workspace))
    assert set(checked) <= {service.resolve().as_uri()} | with_cross, set(checked) - with_cross
    assert len(with_cross) < total / 2


DETIALS = (
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: detials\n  namespace: bookstore\n"
    "spec:\n  ports:\n  - name: http\n    port: 9080\n"
)


def service_yaml(name: str, namespace: str = "extra") -> str:
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"spec:\n  selector: {{app: {name}}}\n  ports:\n  - name: http\n    port: 80\n"
    )


def route_yaml(name: str, host: str) -> str:
    return (
        f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {name}\n"
        f"  namespace: extra\nspec:\n  hosts: [{name}]\n  http:\n  - route:\n    - destination:\n"
        f"        host: {host}\n"
    )


def cold_findings(root: Path) -> dict[str, list[Finding]]:
    settings = Settings()
    index = WorkspaceIndex(settings)
    for batch in summarize_paths(list(discover(root)), settings, analyze_document, None, workers=1):
        for summary in batch:
            index.update(summary)
    return {uri: found for uri in index.files if (found := istio_lsp.checks.check_file(index, uri))}


def stored_findings(root: Path, tmp_path: Path) -> dict[str, list[Finding]]:
    cache = SummaryCache(tmp_path / "cache")
    snapshot = cache.get_snapshot(snapshot_key([root.resolve()], Settings()))
    cache.close()
    assert snapshot is not None
    return snapshot.findings
