"""The server as an editor drives it: diagnostics on open, across files, while typing, and quick fixes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import codes, has_code, wait_for

GATEWAY_AND_VS = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata:
      name: hello-gateway
      namespace: hello-world-app
    spec:
      selector: {istio: ingressgateway}
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["hello.example.com"]
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: hello-world-vs
      namespace: hello-world-app
    spec:
      hosts: ["hello.example.com"]
      gateways: [hello-gateway]
      http:
      - match:
        - uri: {prefix: /direct}
        route:
        - destination:
            host: deployment-1.hello-world-app.svc.cluster.local
            port: {number: 80}
    """
)
DOWNSTREAM = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: deployment-1-vs
      namespace: hello-world-app
    spec:
      hosts: [deployment-1.hello-world-app.svc.cluster.local]
      http:
      - route:
        - destination:
            host: deployment-1-svc
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: deployment-1-svc
      namespace: hello-world-app
    spec:
      selector: {app: deployment-1}
      ports:
      - {name: http, port: 80}
    """
)
HOST_LINE = 24  # 0-based line of `host: deployment-1...` in GATEWAY_AND_VS


@pytest.fixture
def seeded(workspace: Path) -> Path:
    (workspace / "routing.yaml").write_text(GATEWAY_AND_VS)
    (workspace / "deployment-1.yaml").write_text(DOWNSTREAM)
    return workspace


@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"])
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, seeded: Path):
    accept_registrations(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(seeded), name="ws")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_capabilities(client: LanguageClient) -> None:
    result: types.InitializeResult = client.init_result  # type: ignore[attr-defined]
    caps = result.capabilities
    assert result.server_info is not None and result.server_info.name == "istio-lsp"
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert list(caps.code_action_provider.code_action_kinds or []) == [types.CodeActionKind.QuickFix]
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions) and sync.change == types.TextDocumentSyncKind.Incremental


async def test_workspace_diagnostics_without_opening(client: LanguageClient, seeded: Path) -> None:
    uri = uri_of(seeded / "routing.yaml")
    await wait_for(has_code(client, uri, "destination-host-is-virtualservice"))
    assert codes(client, uri) == [("destination-host-is-virtualservice", HOST_LINE)]
    (diag,) = client.diagnostics[uri]
    assert diag.source == "istio-lsp"
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.code_description is not None and diag.code_description.href.endswith(
        "destination-host-is-virtualservice.md"
    )
    assert diag.related_information and "deployment-1-vs" in diag.message
    window = client.capabilities.window if client.capabilities else None
    if window and window.work_done_progress:  # indexing reported its progress, begin to end
        await wait_for(
            lambda: any(isinstance(r[-1], types.WorkDoneProgressEnd) for r in client.progress_reports.values())
        )
        (reports,) = client.progress_reports.values()
        assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].title == "Indexing Istio manifests"
        assert isinstance(reports[-1], types.WorkDoneProgressEnd) and "2 files" in (reports[-1].message or "")


async def test_quick_fix_routes_to_backing_service(client: LanguageClient, seeded: Path) -> None:
    uri = uri_of(seeded / "routing.yaml")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=GATEWAY_AND_VS)
        )
    )
    await wait_for(has_code(client, uri, "destination-host-is-virtualservice"))
    (diag,) = client.diagnostics[uri]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    assert actions
    fix = next(a for a in actions if isinstance(a, types.CodeAction) and "deployment-1-svc" in a.title)
    assert fix.kind == types.CodeActionKind.QuickFix and fix.edit and fix.edit.changes
    (edit,) = fix.edit.changes[uri]
    assert edit.new_text.startswith("deployment-1-svc")
    lines = GATEWAY_AND_VS.split("\n")
    line = lines[edit.range.start.line]
    lines[edit.range.start.line] = line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character :]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [types.TextDocumentContentChangeWholeDocument("\n".join(lines))],
        )
    )
    await wait_for(lambda: len(client.diagnostics.get(uri, ())) == 0)


async def test_edit_in_one_file_updates_another(client: LanguageClient, seeded: Path) -> None:
    routing = uri_of(seeded / "routing.yaml")
    downstream = uri_of(seeded / "deployment-1.yaml")
    await wait_for(has_code(client, routing, "destination-host-is-virtualservice"))
    # Declare a real Service for the host in the other file, unsaved: the error in routing.yaml goes.
    text = DOWNSTREAM + textwrap.dedent(
        """\
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: deployment-1
          namespace: hello-world-app
        spec:
          ports: [{name: http, port: 80}]
        """
    )
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=downstream, language_id="yaml", version=1, text=DOWNSTREAM)
        )
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=downstream, version=2),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )
    await wait_for(lambda: len(client.diagnostics.get(routing, ())) == 0)


async def test_broken_document_keeps_the_others(client: LanguageClient, seeded: Path) -> None:
    uri = uri_of(seeded / "routing.yaml")
    broken = GATEWAY_AND_VS.replace("selector: {istio: ingressgateway}", "selector: {istio: ingressgateway")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=GATEWAY_AND_VS)
        )
    )
    await wait_for(has_code(client, uri, "destination-host-is-virtualservice"))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [types.TextDocumentContentChangeWholeDocument(broken)],
        )
    )
    # The Gateway document no longer parses; the VirtualService's finding stays, plus gateway-not-found.
    await wait_for(lambda: any(str(d.code) == "yaml-syntax-error" for d in client.diagnostics.get(uri, ())))
    found = codes(client, uri)
    assert ("destination-host-is-virtualservice", HOST_LINE) in found
    assert [c for c, _ in found].count("yaml-syntax-error") == 1
