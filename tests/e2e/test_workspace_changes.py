"""The workspace changing under the server (issue 16, items 12 and 13): folders added and removed, and
files deleted while the first index is being built."""

from __future__ import annotations

from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import has_code, wait_for

BROKEN_ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: shop}}
spec:
  hosts: [{name}]
  http:
  - route:
    - destination: {{host: {name}, subset: v9}}
"""


def _write(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(BROKEN_ROUTE.format(name=name), encoding="utf-8")
    return path


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    accept_registrations(lsp_client)
    first = tmp_path / "first"
    _write(first, "alpha")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(first), name="first")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_added_folders_are_indexed_and_removed_ones_forgotten(client: LanguageClient, tmp_path: Path) -> None:
    alpha = uri_of(tmp_path / "first" / "alpha.yaml")
    await wait_for(has_code(client, alpha, "subset-without-destinationrule"), timeout=30)
    beta = uri_of(_write(tmp_path / "second", "beta"))
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=uri_of(tmp_path / "second"), name="second")], removed=[]
            )
        )
    )
    await wait_for(has_code(client, beta, "subset-without-destinationrule"), timeout=30)
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            types.WorkspaceFoldersChangeEvent(
                added=[], removed=[types.WorkspaceFolder(uri=uri_of(tmp_path / "first"), name="first")]
            )
        )
    )
    await wait_for(lambda: not client.diagnostics.get(alpha), timeout=30)
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="alpha"))
    assert not [s for s in symbols or [] if s.name == "alpha"]
    assert client.diagnostics.get(beta), "the remaining folder keeps its findings"


@pytest_lsp.fixture(config=SERVER)
async def busy(lsp_client: LanguageClient, tmp_path: Path):
    accept_registrations(lsp_client)
    for i in range(2500):
        _write(tmp_path / "many" / f"part-{i % 20}", f"route-{i:04d}")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(tmp_path / "many"), name="many")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_files_deleted_while_indexing_do_not_come_back(busy: LanguageClient, tmp_path: Path) -> None:
    paths = sorted((tmp_path / "many").rglob("*.yaml"))
    # once the server has read some of them (its progress says so), and before it is done
    await wait_for(lambda: any(_reading(reports) for reports in busy.progress_reports.values()), timeout=30)
    for path in paths:
        path.unlink()
    busy.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(uri=uri_of(path), type=types.FileChangeType.Deleted) for path in paths]
        )
    )
    created = _write(tmp_path / "many", "created-meanwhile")
    busy.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(uri=uri_of(created), type=types.FileChangeType.Created)])
    )
    await wait_for(has_code(busy, uri_of(created), "subset-without-destinationrule"), timeout=60)
    symbols = await busy.workspace_symbol_async(types.WorkspaceSymbolParams(query="route-"))
    assert not symbols, "deleted files are not in the index"
    showing = [uri for uri, diagnostics in busy.diagnostics.items() if diagnostics and "route-" in uri]
    assert showing == []


def _reading(reports: list[object]) -> bool:
    return any(isinstance(r, types.WorkDoneProgressReport) for r in reports) and not any(
        isinstance(r, types.WorkDoneProgressEnd) for r in reports
    )


@pytest_lsp.fixture(config=SERVER)
async def folderless(lsp_client: LanguageClient):
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(types.InitializeParams(capabilities=client_capabilities("neovim")))
    yield
    await lsp_client.shutdown_session()


async def test_without_workspace_folders_a_created_file_is_indexed(folderless: LanguageClient, tmp_path: Path) -> None:
    created = _write(tmp_path / "loose", "created")
    folderless.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(uri=uri_of(created), type=types.FileChangeType.Created)])
    )
    symbols = []
    for _ in range(50):
        symbols = await folderless.workspace_symbol_async(types.WorkspaceSymbolParams(query="created")) or []
        if symbols:
            break
    assert [s.name for s in symbols] == ["created"]
