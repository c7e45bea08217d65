"""A workspace with hostile entries beside a known-bad file (issue 16): the CLI reports the known-bad
file's findings with no traceback, and the server publishes them and answers requests; nothing outside
the workspace is read.

The entries: a symbolic link loop, a FIFO, a link to `/dev/zero`, a link to a file outside the
workspace, a folder named like a manifest. Each used to hang, crash, exhaust memory or leak."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import has_code, open_doc, replace_doc, wait_for

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symbolic links (POSIX)")

BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v9}
"""
SECRET = """\
apiVersion: v1
kind: Service
metadata: {name: secret-service, namespace: shop}
spec:
  selector: {app: secret}
  ports: [{name: http, port: 80}]
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "bad.yaml").write_text(BAD, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(SECRET, encoding="utf-8")
    (root / "secret.yaml").symlink_to(outside / "secret.yaml")
    (root / "loop.yaml").symlink_to(root / "loop.yaml")
    (root / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.yaml")
    (root / "folder.yaml").mkdir()
    # YAML that once lost a document or the whole run: a 400-digit duration, 600 brackets in a
    # comment, a NUL far into a file, a document of 300,000 values
    (root / "duration.yaml").write_text(BAD.replace("  http:\n", "  http:\n  - timeout: " + "9" * 400 + "s\n"))
    (root / "brackets.yaml").write_text("# " + "[" * 600 + "\n" + BAD.replace("reviews", "ratings"))
    (root / "nul.yaml").write_text("x: 1\n" * 3000 + "---\n" + "a: b\x00\n")
    (root / "values.yaml").write_text("kind: ConfigMap\ndata: {v: [" + ", ".join("1" * 300_000) + "]}\n")
    return root


def _check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": ""}
    command = [sys.executable, "-m", "istio_lsp", "check", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_cli_reports_the_known_bad_file_and_skips_the_rest(hostile: Path) -> None:
    result = _check(hostile.parent, "ws")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("ws/bad.yaml:8:") and "[subset-without-destinationrule]" in line for line in lines)
    assert any(line.startswith("ws/loop.yaml:1:1: information [file-skipped]") for line in lines), lines
    assert any(line.startswith("ws/pipe.yaml:1:1: information [file-skipped]") and "a pipe" in line for line in lines)
    assert any(line.startswith("ws/duration.yaml:") and "[invalid-duration]" in line for line in lines), lines
    assert any(line.startswith("ws/brackets.yaml:9:") and "[subset-without-destinationrule]" in line for line in lines)
    assert any(line.startswith("ws/nul.yaml:3002:") and "U+0000" in line for line in lines), lines
    assert any(line.startswith("ws/values.yaml:1:1: information [file-skipped] Document skipped") for line in lines)
    # nothing outside the folder is read or reported: the linked Service and the device
    assert "secret" not in result.stdout and "zero.yaml" not in result.stdout


def test_special_files_named_on_the_command_line_are_skipped_not_read(hostile: Path) -> None:
    result = _check(hostile, "zero.yaml", "pipe.yaml")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0
    assert "dev/zero:1:1: information [file-skipped] File skipped: a device, not a file" in result.stdout
    assert "pipe.yaml:1:1: information [file-skipped] File skipped: a pipe, not a file" in result.stdout


def test_an_invalid_exclude_pattern_is_a_clear_error(hostile: Path) -> None:
    for pattern in ("!", "[z-a]"):
        result = _check(hostile, "--exclude", pattern, ".")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "not a gitignore-style pattern" in result.stderr


def test_an_invalid_exclude_in_a_project_file_is_reported(hostile: Path) -> None:
    (hostile / ".istio-lsp.yaml").write_text("exclude: ['!', 'vendor/']\n", encoding="utf-8")
    result = _check(hostile, ".")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'!' is not a gitignore-style pattern" in result.stdout + result.stderr


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads every folder")
def test_an_unreadable_folder_is_named_not_skipped_silently(hostile: Path) -> None:
    locked = hostile / "locked"
    locked.mkdir()
    (locked / "app.yaml").write_text(BAD, encoding="utf-8")
    locked.chmod(0)
    try:
        result = _check(hostile.parent, "ws")
        assert "Traceback" not in result.stderr
        assert "cannot read ws/locked" in result.stderr
        inside = _check(hostile.parent, "ws/locked/app.yaml")
        assert inside.returncode == 2 and "Traceback" not in inside.stderr
    finally:
        locked.chmod(0o755)


# ---- the server ---------------------------------------------------------------------------------


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, hostile: Path):
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(hostile), name="ws")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_the_server_publishes_despite_hostile_entries(client: LanguageClient, hostile: Path) -> None:
    uri = uri_of(hostile / "bad.yaml")
    await wait_for(has_code(client, uri, "subset-without-destinationrule"), timeout=30)
    await wait_for(has_code(client, uri_of(hostile / "duration.yaml"), "invalid-duration"))
    await wait_for(has_code(client, uri_of(hostile / "brackets.yaml"), "subset-without-destinationrule"))
    await wait_for(has_code(client, uri_of(hostile / "values.yaml"), "file-skipped"))
    assert not any("secret" in published for published in client.diagnostics)
    # a request still gets its answer
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(7, 24))
    )
    assert hover is not None


async def test_a_file_outside_the_workspace_is_never_read(client: LanguageClient, hostile: Path) -> None:
    await wait_for(has_code(client, uri_of(hostile / "bad.yaml"), "subset-without-destinationrule"), timeout=30)
    outside = (hostile.parent / "outside" / "secret.yaml").resolve().as_uri()
    for line, character in ((2, 20), (4, 15)):  # the Service's name, its selector
        hover = await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(outside), types.Position(line, character))
        )
        assert hover is None
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(outside))
    )
    assert not symbols


# ---- a pathological file: analysed off the event loop, stale work dropped -------------------------


def _many_routes(count: int, prefix: str = "p") -> str:
    """A VirtualService with `count` routes: seconds of analysis, the kind of file that used to
    keep every request waiting (20,000 routes blocked a hover on another file for 133 s)."""
    head = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big, namespace: shop}\n"
    routes = "".join(
        f"  - match: [{{uri: {{prefix: /{prefix}{i}}}}}]\n    route: [{{destination: {{host: reviews}}}}]\n"
        for i in range(count)
    )
    return f"{head}spec:\n  hosts: [reviews]\n  http:\n{routes}"


async def test_hover_answers_while_a_pathological_file_is_analysed(client: LanguageClient, hostile: Path) -> None:
    bad = uri_of(hostile / "bad.yaml")
    await wait_for(has_code(client, bad, "subset-without-destinationrule"), timeout=30)
    big = uri_of(hostile / "big.yaml")  # an unsaved buffer: indexing never saw it
    loop = asyncio.get_running_loop()
    open_doc(client, big, _many_routes(10_000))
    await asyncio.sleep(0.2)  # the analysis is under way
    asked = loop.time()
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(bad), types.Position(7, 24))
    )
    answered = loop.time() - asked
    assert hover is not None
    assert big not in client.diagnostics, "the big file was analysed before the hover was answered"
    assert answered < 1.0, f"hover took {answered:.2f} s while another file was being analysed"
    await wait_for(lambda: big in client.diagnostics, timeout=180)
    assert any(d.range.start.line > 1_000 for d in client.diagnostics[big])  # what the next test relies on


async def test_a_newer_text_replaces_the_analysis_of_an_older_one(client: LanguageClient, hostile: Path) -> None:
    await wait_for(has_code(client, uri_of(hostile / "bad.yaml"), "subset-without-destinationrule"), timeout=30)
    big = uri_of(hostile / "big.yaml")
    published = _Recording(client.diagnostics)
    client.diagnostics = published
    open_doc(client, big, _many_routes(10_000), version=1)
    await asyncio.sleep(0.3)  # version 1 is being analysed
    replace_doc(client, big, _many_routes(10, prefix="q"), version=2)
    await wait_for(lambda: big in published, timeout=180)
    await asyncio.sleep(1.0)
    lists = [diagnostics for uri, diagnostics in published.history if uri == big]
    # version 2 has 26 lines; version 1's findings reach line 30,000
    assert all(d.range.start.line < 30 for found in lists for d in found), "version 1's findings were published"


class _Recording(dict[str, Any]):
    """The client's diagnostics, keeping every list the server published, in order."""

    def __init__(self, initial: dict[str, Any]) -> None:
        super().__init__(initial)
        self.history: list[tuple[str, Any]] = []

    def __setitem__(self, uri: str, diagnostics: Any) -> None:
        self.history.append((uri, diagnostics))
        super().__setitem__(uri, diagnostics)


async def test_closing_a_document_during_its_analysis_leaves_the_file_on_disk(
    client: LanguageClient, hostile: Path
) -> None:
    await wait_for(has_code(client, uri_of(hostile / "bad.yaml"), "subset-without-destinationrule"), timeout=30)
    path = hostile / "edited.yaml"
    path.write_text(BAD.replace("reviews", "details"), encoding="utf-8")
    uri = uri_of(path)
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(uri, types.FileChangeType.Created)])
    )
    await wait_for(has_code(client, uri, "subset-without-destinationrule"), timeout=30)  # the file, indexed
    open_doc(client, uri, _many_routes(10_000))  # unsaved text: seconds of analysis
    await asyncio.sleep(0.3)
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))
    await asyncio.sleep(1.0)
    # wait until the analysis of the closed buffer has had time to end, then ask for something that waits for it
    await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="big"))
    await asyncio.sleep(0.5)
    lines = [d.range.start.line for d in client.diagnostics.get(uri, [])]
    assert lines and max(lines) < 30, "the closed buffer's analysis replaced the file on disk"
