"""Definition, references, rename, outline, lenses and hints over real LSP, for VS Code and Neovim clients.

Neovim negotiates UTF-8 columns: the workspace holds non-ASCII text before some of
the names, so wrong column arithmetic shows up as wrong ranges.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import apply_edits, open_doc, replace_doc, wait_for
from tests.features.helpers import DESTINATION_RULE, GATEWAY, SERVICE, VIRTUAL_SERVICE

# the Gateway's name sits after non-ASCII text on its line
GATEWAY_TEXT = GATEWAY.replace(
    "metadata:\n  name: shop-gateway\n  namespace: shop\n",
    'metadata: {annotations: {owner: "Zoë 🚀"}, name: shop-gateway, namespace: shop}\n',
)
FRONTEND_TEXT = textwrap.dedent(
    """\
    # the storefront's routes
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: storefront
      namespace: frontend
    spec:
      hosts: [store.example.com]
      gateways: [shop/shop-gateway]
      http:
      - {name: "café ☕", route: [{destination: {host: cart.shop.svc.cluster.local, subset: canary}}]}
      - route:
        - destination:
            host: cart
    """
)
FILES = {
    "shop/service.yaml": SERVICE,
    "shop/destinationrule.yaml": DESTINATION_RULE,
    "shop/virtualservice.yaml": VIRTUAL_SERVICE,
    "shop/gateway.yaml": GATEWAY_TEXT,
    "frontend/vs.yaml": FRONTEND_TEXT,
}
RESOURCES = 7  # in FILES: what workspace/symbol lists once indexing is done


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("navigation") / "ws"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


async def start(lsp_client: LanguageClient, client_name: str, root: Path) -> None:
    accept_registrations(lsp_client)
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(client_name),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(root), name="ws")],
        )
    )
    lsp_client.init_result = result  # type: ignore[attr-defined]
    lsp_client.encoding = str(result.capabilities.position_encoding or "utf-16")  # type: ignore[attr-defined]
    await wait_indexed(lsp_client)


# Requests change nothing on the server: the tests that only ask share one server per client.
@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"], scope="module")
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, mesh: Path):
    await start(lsp_client, request.param, mesh)
    yield
    await lsp_client.shutdown_session()


# A fresh server for tests that open and edit documents.
@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"])
async def editor(request: pytest.FixtureRequest, lsp_client: LanguageClient, mesh: Path):
    await start(lsp_client, request.param, mesh)
    yield
    await lsp_client.shutdown_session()


shared = pytest.mark.asyncio(loop_scope="module")


async def wait_indexed(client: LanguageClient) -> None:
    found = 0
    for _ in range(200):
        result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=""))
        found = len(result or [])
        if found >= RESOURCES:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the workspace was not indexed: {found} symbols")


# ---- positions in the client's encoding ---------------------------------------------


def units(text: str, encoding: str) -> int:
    return len(text.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(text.encode("utf-8"))


def position(client: LanguageClient, text: str, target: str, occurrence: int = 1, offset: int = 0) -> types.Position:
    """Where `target` (its `occurrence`-th time, `offset` characters in) is, in the client's columns."""
    at = -1
    for _ in range(occurrence):
        at = text.index(target, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    line_start = text.rfind("\n", 0, at) + 1
    return types.Position(line, units(text[line_start:at], client.encoding))  # type: ignore[attr-defined]


def range_text(client: LanguageClient, text: str, rng: types.Range) -> str:
    """The text a one-line range covers, reading its columns in the client's encoding."""
    assert rng.start.line == rng.end.line
    line = text.split("\n")[rng.start.line]
    data = line.encode("utf-16-le" if client.encoding == "utf-16" else "utf-8")  # type: ignore[attr-defined]
    width = 2 if client.encoding == "utf-16" else 1  # type: ignore[attr-defined]
    codec = "utf-16-le" if width == 2 else "utf-8"
    return data[rng.start.character * width : rng.end.character * width].decode(codec)


def doc(mesh: Path, name: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri_of(mesh / name))


async def definition(client: LanguageClient, mesh: Path, name: str, pos: types.Position) -> list[types.Location]:
    result = await client.text_document_definition_async(types.DefinitionParams(doc(mesh, name), pos))
    if result is None:
        return []
    assert isinstance(result, list)
    return [loc for loc in result if isinstance(loc, types.Location)]


def where(client: LanguageClient, mesh: Path, locations: list[types.Location]) -> list[tuple[str, int, str]]:
    out = []
    for loc in locations:
        name = Path(loc.uri.removeprefix("file://")).relative_to(mesh.resolve()).as_posix()
        out.append((name, loc.range.start.line, range_text(client, FILES[name], loc.range)))
    return sorted(out)


# ---- tests -----------------------------------------------------------------------------


@shared
async def test_capabilities(client: LanguageClient) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    assert caps.definition_provider and caps.references_provider
    assert isinstance(caps.rename_provider, types.RenameOptions) and caps.rename_provider.prepare_provider
    assert caps.document_symbol_provider and caps.workspace_symbol_provider
    assert isinstance(caps.code_lens_provider, types.CodeLensOptions)
    assert caps.inlay_hint_provider


@shared
async def test_definition_of_subset_and_host(client: LanguageClient, mesh: Path) -> None:
    vs = "shop/virtualservice.yaml"
    canary = await definition(client, mesh, vs, position(client, VIRTUAL_SERVICE, "subset: canary", 1, 10))
    assert where(client, mesh, canary) == [("shop/destinationrule.yaml", 11, "canary")]
    assert DESTINATION_RULE.split("\n")[11].strip() == "- name: canary"
    host = await definition(client, mesh, vs, position(client, VIRTUAL_SERVICE, "host: cart", 1, 7))
    assert where(client, mesh, host) == [("shop/service.yaml", 3, "cart")]


@shared
async def test_references_of_a_subset(client: LanguageClient, mesh: Path) -> None:
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(mesh, "shop/destinationrule.yaml"),
            position=position(client, DESTINATION_RULE, "canary", 1, 2),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert where(client, mesh, list(result or [])) == [
        ("frontend/vs.yaml", 10, "canary"),  # after non-ASCII text: columns in the client's encoding
        ("shop/virtualservice.yaml", 19, "canary"),
        ("shop/virtualservice.yaml", 29, "canary"),
    ]


@shared
async def test_rename_subset_in_one_edit(client: LanguageClient, mesh: Path) -> None:
    dr = doc(mesh, "shop/destinationrule.yaml")
    at = position(client, DESTINATION_RULE, "canary", 1, 3)
    prepared = await client.text_document_prepare_rename_async(types.PrepareRenameParams(dr, at))
    assert isinstance(prepared, types.PrepareRenamePlaceholder) and prepared.placeholder == "canary"
    edit = await client.text_document_rename_async(types.RenameParams(dr, at, "preview"))
    assert edit is not None and edit.changes is not None
    changed = {
        Path(uri.removeprefix("file://")).relative_to(mesh.resolve()).as_posix(): e for uri, e in edit.changes.items()
    }
    assert set(changed) == {"shop/destinationrule.yaml", "shop/virtualservice.yaml", "frontend/vs.yaml"}
    if client.encoding == "utf-16":  # type: ignore[attr-defined]  # apply_edits counts UTF-16 columns
        out = {name: apply_edits(FILES[name], list(edits)) for name, edits in changed.items()}
        assert out["shop/destinationrule.yaml"] == DESTINATION_RULE.replace("canary", "preview")
        assert out["shop/virtualservice.yaml"] == VIRTUAL_SERVICE.replace("subset: canary", "subset: preview")
        assert out["frontend/vs.yaml"] == FRONTEND_TEXT.replace("subset: canary", "subset: preview")
    for name, edits in changed.items():
        assert all(range_text(client, FILES[name], e.range) == "canary" and e.new_text == "preview" for e in edits)


@shared
async def test_rename_gateway_keeps_prefixes(client: LanguageClient, mesh: Path) -> None:
    at = position(client, FRONTEND_TEXT, "shop/shop-gateway", 1, 7)
    edit = await client.text_document_rename_async(types.RenameParams(doc(mesh, "frontend/vs.yaml"), at, "front"))
    assert edit is not None and edit.changes is not None
    texts = {
        Path(uri.removeprefix("file://")).name: [range_text(client, FILES[n], e.range) for e in edits]
        for uri, edits in edit.changes.items()
        for n in [Path(uri.removeprefix("file://")).relative_to(mesh.resolve()).as_posix()]
    }
    assert texts == {
        "vs.yaml": ["shop-gateway"],
        "gateway.yaml": ["shop-gateway"],
        "virtualservice.yaml": ["shop-gateway"],
    }
    gw = next(e for uri, edits in edit.changes.items() if uri.endswith("gateway.yaml") for e in edits)
    assert gw.range.start == position(client, GATEWAY_TEXT, "shop-gateway")  # after "Zoë 🚀"
    fe = next(e for uri, edits in edit.changes.items() if uri.endswith("frontend/vs.yaml") for e in edits)
    assert fe.range.start == position(client, FRONTEND_TEXT, "shop/shop-gateway", 1, 5)  # `shop/` stays


@shared
async def test_cross_namespace_definition(client: LanguageClient, mesh: Path) -> None:
    fe = "frontend/vs.yaml"
    gateway = await definition(client, mesh, fe, position(client, FRONTEND_TEXT, "shop/shop-gateway", 1, 8))
    assert where(client, mesh, gateway) == [("shop/gateway.yaml", 2, "shop-gateway")]  # after "Zoë 🚀"
    subset = await definition(client, mesh, fe, position(client, FRONTEND_TEXT, "subset: canary", 1, 9))
    assert where(client, mesh, subset) == [("shop/destinationrule.yaml", 11, "canary")]
    # a short name means the VirtualService's own namespace: no `cart` in frontend
    assert await definition(client, mesh, fe, position(client, FRONTEND_TEXT, "host: cart\n", 1, 7)) == []


@shared
async def test_definition_from_a_selector_lands_on_the_workloads(client: LanguageClient, mesh: Path) -> None:
    at = position(client, SERVICE, "app: cart", 1, 6)
    found = await definition(client, mesh, "shop/service.yaml", at)
    assert where(client, mesh, found) == [("shop/service.yaml", 15, "cart-v1"), ("shop/service.yaml", 25, "cart-v2")]
    hover = await client.text_document_hover_async(types.HoverParams(doc(mesh, "shop/service.yaml"), at))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "Matches **2 workloads** in namespace `shop`" in hover.contents.value


@shared
async def test_references_from_a_workload_are_its_selectors(client: LanguageClient, mesh: Path) -> None:
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(mesh, "shop/service.yaml"),
            position=position(client, SERVICE, "cart-v2", 1, 3),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert where(client, mesh, list(result or [])) == [
        ("shop/destinationrule.yaml", 13, "version: v2"),  # the subset whose labels pick it
        ("shop/service.yaml", 7, "app: cart"),  # the Service's selector
    ]


async def test_definition_follows_unsaved_text(editor: LanguageClient, mesh: Path) -> None:
    client = editor
    dr_uri = uri_of(mesh / "shop/destinationrule.yaml")
    vs_uri = uri_of(mesh / "shop/virtualservice.yaml")
    open_doc(client, dr_uri, DESTINATION_RULE)
    open_doc(client, vs_uri, VIRTUAL_SERVICE)
    extra = "  - name: beta\n    labels:\n      version: v3\n"
    replace_doc(client, dr_uri, DESTINATION_RULE + extra, 2)
    edited = VIRTUAL_SERVICE.replace("subset: stable", "subset: beta")
    replace_doc(client, vs_uri, edited, 2)
    # asked at once, before the debounce: the server analyses the pending edits first
    found = await definition(client, mesh, "shop/virtualservice.yaml", position(client, edited, "subset: beta", 1, 9))
    assert [(loc.uri, loc.range.start.line) for loc in found] == [(dr_uri, 14)]
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(dr_uri)))
    titles = [(lens.range.start.line, lens.command.title) for lens in lenses or [] if lens.command]
    assert titles == [(8, "1 workload · 0 routes"), (11, "1 workload · 3 routes"), (14, "0 workloads · 1 route")]


@shared
async def test_nothing_happens_where_nothing_is(client: LanguageClient, mesh: Path) -> None:
    fe = doc(mesh, "frontend/vs.yaml")
    comment = position(client, FRONTEND_TEXT, "storefront's", 1, 2)
    kind = position(client, FRONTEND_TEXT, "kind: VirtualService", 1, 9)
    for at in (comment, kind):
        assert await client.text_document_definition_async(types.DefinitionParams(fe, at)) is None
        assert await client.text_document_prepare_rename_async(types.PrepareRenameParams(fe, at)) is None
        assert await client.text_document_rename_async(types.RenameParams(fe, at, "x")) is None
        refs = await client.text_document_references_async(
            types.ReferenceParams(
                text_document=fe, position=at, context=types.ReferenceContext(include_declaration=True)
            )
        )
        assert refs is None
    host = position(client, FRONTEND_TEXT, "host: cart.shop", 1, 8)  # found, but a host cannot be renamed
    assert await client.text_document_prepare_rename_async(types.PrepareRenameParams(fe, host)) is None


@shared
async def test_invalid_new_name_is_reported(client: LanguageClient, mesh: Path) -> None:
    at = position(client, DESTINATION_RULE, "canary", 1, 1)
    edit = await client.text_document_rename_async(
        types.RenameParams(doc(mesh, "shop/destinationrule.yaml"), at, "Not_Valid")
    )
    assert edit is None
    await wait_for(lambda: any("DNS-1123" in m.message for m in client.messages))


@shared
async def test_outline_and_workspace_symbols(client: LanguageClient, mesh: Path) -> None:
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(mesh, "shop/destinationrule.yaml"))
    )
    assert symbols and all(isinstance(s, types.DocumentSymbol) for s in symbols)
    (rule,) = symbols
    assert isinstance(rule, types.DocumentSymbol) and rule.name == "DestinationRule shop/cart"
    assert [c.name for c in rule.children or []] == ["stable", "canary"]
    (gateway,) = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(mesh, "shop/gateway.yaml"))
    ) or [None]
    assert isinstance(gateway, types.DocumentSymbol)
    assert range_text(client, GATEWAY_TEXT, gateway.selection_range) == "shop-gateway"
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="store"))
    assert [(s.name, s.container_name) for s in found or []] == [("storefront", "VirtualService frontend")]


@shared
async def test_code_lenses_and_inlay_hints(client: LanguageClient, mesh: Path) -> None:
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(doc(mesh, "shop/virtualservice.yaml")))
    assert [(lens.range.start.line, lens.command.title) for lens in lenses or [] if lens.command] == [
        (0, "Trace a request…"),
        (12, "x-canary: 1 · cart"),
        (20, "every request · cart"),
        (20, "stable 90% · canary 10%"),
    ]
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(doc(mesh, "shop/destinationrule.yaml")))
    assert [lens.command.title for lens in lenses or [] if lens.command] == [
        "1 workload · 1 route",
        "1 workload · 3 routes",
    ]
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(doc(mesh, "frontend/vs.yaml"), types.Range(types.Position(0, 0), types.Position(20, 0)))
    )
    assert [(h.position, h.label) for h in hints or []] == [
        (position(client, FRONTEND_TEXT, "host: cart\n", 1, 10), "→ cart.frontend.svc.cluster.local")
    ]
