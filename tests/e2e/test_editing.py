"""Typing, files changing on disk, settings, position encodings and fixes, over real LSP."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import apply_edits, codes, fix_titles_and_edits, has_code, open_doc, replace_doc, wait_for

REVIEWS = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Service
    metadata:
      name: reviews
      namespace: shop
    spec:
      selector: {app: reviews}
      ports: [{name: http, port: 9080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: reviews-v1
      namespace: shop
    spec:
      template:
        metadata:
          labels: {app: reviews, version: v1}
    """
)
ROUTE = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: reviews
      namespace: shop
    spec:
      hosts: [reviews]
      http:
      - route:
        - destination:
            host: reviews
            subset: v1
    """
)
SUBSET_LINE = 11


@pytest.fixture
def shop(workspace: Path) -> Path:
    (workspace / "reviews.yaml").write_text(REVIEWS)
    (workspace / "route.yaml").write_text(ROUTE)
    return workspace


def _session(client_name: str, root: Path, options: object = None) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=client_capabilities(client_name),
        workspace_folders=[types.WorkspaceFolder(uri=uri_of(root), name="ws")],
        initialization_options=options,
    )


@contextlib.asynccontextmanager
async def own_session(
    client_name: str, root: Path, options: object = None, client: LanguageClient | None = None
) -> AsyncIterator[tuple[LanguageClient, types.InitializeResult]]:
    """A server of the test's own (for tests that need their own options, or several servers), initialized."""
    client = client or make_test_lsp_client()
    await client.start_io(*SERVER.server_command, env=SERVER.server_env)
    try:
        accept_registrations(client)
        yield client, await client.initialize_session(_session(client_name, root, options))
    finally:
        await client.shutdown_session()
        await client.stop()


@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"])
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, shop: Path):
    accept_registrations(lsp_client)
    lsp_client.client_name = request.param  # type: ignore[attr-defined]
    await lsp_client.initialize_session(_session(request.param, shop))
    yield
    await lsp_client.shutdown_session()


async def test_create_destinationrule_fix_removes_the_error(client: LanguageClient, shop: Path) -> None:
    uri = uri_of(shop / "route.yaml")
    open_doc(client, uri, ROUTE)
    await wait_for(has_code(client, uri, "subset-without-destinationrule"))
    (diag,) = client.diagnostics[uri]
    assert diag.range.start.line == SUBSET_LINE and diag.severity == types.DiagnosticSeverity.Error
    (action,) = await fix_titles_and_edits(client, uri, diag)
    assert action.edit is not None and action.edit.changes is not None
    fixed = apply_edits(ROUTE, list(action.edit.changes[uri]))
    assert "kind: DestinationRule" in fixed and "version: v1" in fixed  # labels taken from the Deployment
    replace_doc(client, uri, fixed, 2)
    await wait_for(lambda: len(client.diagnostics.get(uri, ())) == 0)


async def test_typing_character_by_character(client: LanguageClient, shop: Path) -> None:
    """Every intermediate text is analysed without the server failing; the last one wins."""
    uri = uri_of(shop / "route.yaml")
    base = ROUTE.replace("subset: v1", "subset: ")
    open_doc(client, uri, base)
    line = SUBSET_LINE
    column = len("        subset: ")
    version = 1
    for ch in "v2":
        version += 1
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(line, column), types.Position(line, column)), text=ch
                    )
                ],
            )
        )
        column += 1
    await wait_for(has_code(client, uri, "subset-without-destinationrule"))
    # break the YAML, then mend it: diagnostics follow
    version += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(6, 9), types.Position(6, 9)), text="["
                )
            ],
        )
    )
    await wait_for(has_code(client, uri, "yaml-syntax-error"))
    assert [c for c, _ in codes(client, uri)] == ["yaml-syntax-error"]


async def test_file_created_on_disk(client: LanguageClient, shop: Path) -> None:
    route = uri_of(shop / "route.yaml")
    await wait_for(has_code(client, route, "subset-without-destinationrule"))
    rule = shop / "rule.yaml"
    rule.write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews, namespace: shop}\n"
        "spec:\n  host: reviews\n  subsets:\n  - name: v1\n    labels: {version: v1}\n"
    )
    if client.client_name == "neovim":  # type: ignore[attr-defined]
        # Neovim does not watch files: opening and saving the file is how the server hears of it.
        open_doc(client, uri_of(rule), rule.read_text())
    else:
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=uri_of(rule), type=types.FileChangeType.Created)]
            )
        )
    await wait_for(lambda: len(client.diagnostics.get(route, ())) == 0)
    rule.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri_of(rule), type=types.FileChangeType.Deleted)]
        )
    )
    if client.client_name == "neovim":  # type: ignore[attr-defined]
        # the buffer still holds the rule: closing it makes the disk (where it is gone) the truth
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri_of(rule))))
    await wait_for(has_code(client, route, "subset-without-destinationrule"))


async def test_code_action_with_garbage_data_answers_empty(client: LanguageClient, shop: Path) -> None:
    uri = uri_of(shop / "route.yaml")
    bogus = types.Diagnostic(
        range=types.Range(types.Position(0, 0), types.Position(0, 1)),
        message="x",
        source="istio-lsp",
        data={"fixes": [{"title": "t", "edits": [{"uri": uri, "range": "nonsense"}]}]},
    )
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=bogus.range,
            context=types.CodeActionContext(diagnostics=[bogus]),
        )
    )
    assert not actions
    # and the server is still answering
    open_doc(client, uri, ROUTE)
    await wait_for(has_code(client, uri, "subset-without-destinationrule"))


NON_ASCII = ROUTE.replace("        subset: v1", '        subset: v1\n    - destination: {host: "ré😀", subset: v9}')


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_columns_follow_the_negotiated_encoding(client_name: str, shop: Path) -> None:
    """Neovim negotiates UTF-8 columns, VS Code UTF-16: the same finding lands on the same character."""
    async with own_session(client_name, shop) as (client, result):
        encoding = result.capabilities.position_encoding or "utf-16"
        uri = uri_of(shop / "route.yaml")
        open_doc(client, uri, NON_ASCII)
        await wait_for(lambda: any(d.range.start.line == 12 for d in client.diagnostics.get(uri, ())))
        diag = next(
            d for d in client.diagnostics[uri] if d.range.start.line == 12 and str(d.code).startswith("subset-")
        )
        line = NON_ASCII.split("\n")[12]
        prefix = line[: line.index("v9")]
        expected = {"utf-16": len(prefix.encode("utf-16-le")) // 2, "utf-8": len(prefix.encode("utf-8"))}[encoding]
        assert diag.range.start.character == expected
        assert (encoding == "utf-8") == (client_name == "neovim")


async def test_settings_from_initialization_options(shop: Path) -> None:
    (shop / "external.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ext, namespace: shop}\n"
        "spec:\n  hosts: [ext]\n  http:\n  - route:\n    - destination: {host: api.partner.example.com}\n"
    )
    uri = uri_of(shop / "external.yaml")
    for options, expected in ((None, 1), ({"istioLsp": {"externalHosts": ["*.partner.example.com"]}}, 0)):
        async with own_session("neovim", shop, options) as (client, _):
            await wait_for(lambda c=client: any(u.endswith("route.yaml") for u in c.diagnostics))  # type: ignore[misc]
            assert (
                len([d for d in client.diagnostics.get(uri, ()) if d.code == "destination-host-not-found"]) == expected
            )


async def test_a_bad_setting_is_shown_and_the_others_still_apply(shop: Path) -> None:
    (shop / "external.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ext, namespace: shop}\n"
        "spec:\n  hosts: [ext]\n  http:\n  - route:\n    - destination: {host: api.partner.example.com}\n"
    )
    uri = uri_of(shop / "external.yaml")
    options = {"istioLsp": {"externalHosts": ["*.partner.example.com"], "maxFileSize": "big"}}
    async with own_session("neovim", shop, options) as (client, _):
        await wait_for(lambda: any(u.endswith("route.yaml") for u in client.diagnostics))
        assert not [d for d in client.diagnostics.get(uri, ()) if d.code == "destination-host-not-found"]
        (shown,) = [m.message for m in client.messages if "maxFileSize" in m.message]
        assert shown == "istio-lsp: setting 'maxFileSize': expected a whole number ≥ 0, got 'big'"


async def test_status_notifications_follow_indexing_and_findings(shop: Path) -> None:
    """The VS Code status bar reads istioLsp/status: indexing progress, then counts that follow edits."""
    statuses: list[dict[str, object]] = []
    client = make_test_lsp_client()

    @client.feature("istioLsp/status")
    def _status(params: Any) -> None:
        statuses.append(params._asdict())  # pygls hands unknown notifications over as named tuples

    async with own_session("visual-studio-code", shop, {"statusNotifications": True}, client):
        await wait_for(lambda: any(s["state"] == "ready" for s in statuses))
        assert statuses[0]["state"] == "indexing"
        ready = next(s for s in statuses if s["state"] == "ready")
        assert ready["files"] == 2 and ready["total"] == 2
        assert (ready["errors"], ready["warnings"], ready["findings"]) == (1, 0, 1)  # the subset without a DR

        uri = uri_of(shop / "route.yaml")
        open_doc(client, uri, ROUTE)
        replace_doc(client, uri, ROUTE.replace("        subset: v1\n", ""), 2)
        await wait_for(lambda: statuses[-1]["findings"] == 0)
        assert statuses[-1]["state"] == "ready" and statuses[-1]["errors"] == 0


async def test_no_status_notifications_unless_asked(client: LanguageClient, shop: Path) -> None:
    seen: list[object] = []
    client.feature("istioLsp/status")(lambda params: seen.append(params))
    uri = uri_of(shop / "route.yaml")
    open_doc(client, uri, ROUTE)
    await wait_for(has_code(client, uri, "subset-without-destinationrule"))
    assert seen == []


async def test_edits_are_analysed_where_the_path_needs_percent_encoding(tmp_path: Path) -> None:
    """Spaces, parentheses (and VS Code's `c%3A` on Windows) are percent-encoded in uris; pygls files
    open documents under the decoded spelling, so the server must find the buffer by either."""
    root = tmp_path / "platform team (prod) repo"
    root.mkdir()
    (root / "reviews.yaml").write_text(REVIEWS)
    (root / "route.yaml").write_text(ROUTE)
    uri = uri_of(root / "route.yaml")
    assert "%20" in uri and "%28" in uri
    async with own_session("visual-studio-code", root) as (client, _):
        await wait_for(has_code(client, uri, "subset-without-destinationrule"))
        open_doc(client, uri, ROUTE)
        replace_doc(client, uri, ROUTE.replace("        subset: v1\n", ""), 2)
        await wait_for(lambda: not client.diagnostics.get(uri))
        replace_doc(client, uri, ROUTE.replace("subset: v1", "subset: v2"), 3)
        await wait_for(has_code(client, uri, "subset-without-destinationrule"))
        assert "`v2`" in client.diagnostics[uri][0].message
