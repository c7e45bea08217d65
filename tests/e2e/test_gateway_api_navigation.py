"""The Gateway API kinds over real LSP, as VS Code and Neovim drive the server: definition from a parentRef
and a backendRef, references and rename of a Gateway and of a listener (never touching Istio's Gateway of
the same name), completion of parentRef and backendRef fields on half-typed text, hover on a listener and
on a parentRef."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.casekit import Expectation, case_names, load_case
from tests.e2e import test_rule_fixes
from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import apply_edits, open_doc, replace_doc
from tests.e2e.test_editing import own_session
from tests.features.gateway_api_fixtures import GATEWAY, ROUTES, files

FILES = files()
RESOURCES = 9  # in FILES: what workspace/symbol lists once indexing is done


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gateway-api") / "ws"
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"], scope="module")
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, root: Path):
    accept_registrations(lsp_client)
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(root), name="ws")],
        )
    )
    lsp_client.encoding = str(result.capabilities.position_encoding or "utf-16")  # type: ignore[attr-defined]
    found = 0
    for _ in range(200):
        found = len(await lsp_client.workspace_symbol_async(types.WorkspaceSymbolParams(query="")) or [])
        if found >= RESOURCES:
            break
        await asyncio.sleep(0.05)
    assert found >= RESOURCES, f"the workspace was not indexed: {found} symbols"
    yield
    await lsp_client.shutdown_session()


shared = pytest.mark.asyncio(loop_scope="module")


def position(text: str, target: str, occurrence: int = 1, offset: int = 1) -> types.Position:
    """Where `target` is (ASCII texts: the same column in UTF-8 and UTF-16)."""
    at = -1
    for _ in range(occurrence):
        at = text.index(target, at + 1)
    at += offset
    return types.Position(text.count("\n", 0, at), at - (text.rfind("\n", 0, at) + 1))


def doc(root: Path, name: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri_of(root / name))


def where(root: Path, locations: list[types.Location]) -> list[tuple[str, int, str]]:
    out = []
    for loc in locations:
        name = Path(loc.uri.removeprefix("file://")).relative_to(root.resolve()).as_posix()
        line = FILES[name].split("\n")[loc.range.start.line]
        out.append((name, loc.range.start.line, line[loc.range.start.character : loc.range.end.character]))
    return sorted(out)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    return position(text, needle, occurrence, 0).line


@shared
async def test_definition_from_section_name_and_backend_ref(client: LanguageClient, root: Path) -> None:
    section = await client.text_document_definition_async(
        types.DefinitionParams(doc(root, "shop/routes.yaml"), position(ROUTES, "sectionName: https", 1, 15))
    )
    assert isinstance(section, list)
    assert where(root, [x for x in section if isinstance(x, types.Location)]) == [
        ("infra/gateway.yaml", line_of(GATEWAY, "- name: https"), "https")
    ]
    backend = await client.text_document_definition_async(
        types.DefinitionParams(doc(root, "shop/routes.yaml"), position(ROUTES, "name: web", 1, 7))
    )
    assert isinstance(backend, list)
    assert where(root, [x for x in backend if isinstance(x, types.Location)]) == [("shop/services.yaml", 3, "web")]


@shared
async def test_references_of_a_gateway_api_gateway(client: LanguageClient, root: Path) -> None:
    found = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(root, "infra/gateway.yaml"),
            position=position(GATEWAY, "name: public", 1, 8),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert where(root, list(found or [])) == [
        ("infra/gateway.yaml", line_of(GATEWAY, "name: public", 2), "public"),  # the ListenerSet's parentRef
        ("shop/routes.yaml", line_of(ROUTES, "name: public"), "public"),
        ("shop/routes.yaml", line_of(ROUTES, "name: public", 2), "public"),
    ]  # never infra/istio.yaml: a VirtualService's `gateways` names Istio's Gateway


@shared
async def test_rename_a_listener_from_a_section_name(client: LanguageClient, root: Path) -> None:
    routes = doc(root, "shop/routes.yaml")
    at = position(ROUTES, "sectionName: https", 1, 15)
    prepared = await client.text_document_prepare_rename_async(types.PrepareRenameParams(routes, at))
    assert isinstance(prepared, types.PrepareRenamePlaceholder) and prepared.placeholder == "https"
    edit = await client.text_document_rename_async(types.RenameParams(routes, at, "secure"))
    assert edit is not None and edit.changes is not None
    out = {
        Path(uri.removeprefix("file://")).relative_to(root.resolve()).as_posix(): edits
        for uri, edits in edit.changes.items()
    }
    assert set(out) == {"infra/gateway.yaml", "shop/routes.yaml"}
    assert apply_edits(GATEWAY, list(out["infra/gateway.yaml"])) == GATEWAY.replace("- name: https", "- name: secure")
    assert apply_edits(ROUTES, list(out["shop/routes.yaml"])) == ROUTES.replace(
        "sectionName: https", "sectionName: secure"
    )


@shared
async def test_rename_a_gateway_api_gateway_leaves_istios_alone(client: LanguageClient, root: Path) -> None:
    edit = await client.text_document_rename_async(
        types.RenameParams(doc(root, "shop/routes.yaml"), position(ROUTES, "name: public", 1, 8), "edge")
    )
    assert edit is not None and edit.changes is not None
    touched = {Path(uri.removeprefix("file://")).relative_to(root.resolve()).as_posix() for uri in edit.changes}
    assert touched == {"infra/gateway.yaml", "shop/routes.yaml"}
    assert sum(len(edits) for edits in edit.changes.values()) == 4


async def hover_value(client: LanguageClient, root: Path, name: str, at: types.Position) -> str:
    found = await client.text_document_hover_async(types.HoverParams(doc(root, name), at))
    assert found is not None and isinstance(found.contents, types.MarkupContent)
    return found.contents.value


@shared
async def test_hover_on_a_listener_and_on_a_parent_ref(client: LanguageClient, root: Path) -> None:
    listener = await hover_value(client, root, "infra/gateway.yaml", position(GATEWAY, "- name: https", 1, 9))
    assert listener.startswith("**listener https** of Gateway infra/public")
    assert "**refused**: HTTPRoute shop/shop: listener `https` accepts routes of its own namespace `infra` only" in (
        listener
    )
    parent = await hover_value(client, root, "shop/routes.yaml", position(ROUTES, "name: public", 1, 8))
    assert "- listener `http` (HTTP 80 · *.example.com) accepts this route" in parent


NEW_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: new, namespace: shop}
spec:
  parentRefs:
  - name: public
    namespace: infra
    sectionName: """


async def labels(client: LanguageClient, uri: str, text: str, want: int) -> list[str]:
    """Completion labels at the end of a text, asked until `want` come (the workspace may still be indexing)."""
    lines = text.split("\n")
    at = types.Position(len(lines) - 1, len(lines[-1]))
    found: list[str] = []
    for _ in range(100):
        result = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(uri), at)
        )
        items = result.items if isinstance(result, types.CompletionList) else list(result or [])
        found = [i.label for i in items]
        if len(found) >= want:
            break
        await asyncio.sleep(0.05)
    return found


async def test_completion_on_a_half_typed_route(root: Path) -> None:
    """A route being typed (it does not parse yet): the named Gateway's listener names, then a backend's ports.
    Its own server: the open document must not change what the other tests see."""
    async with own_session("visual-studio-code", root) as (lsp, _):
        uri = uri_of(root / "shop/new.yaml")
        open_doc(lsp, uri, NEW_ROUTE)
        assert await labels(lsp, uri, NEW_ROUTE, 3) == ["http", "https", "tcp"]
        typed = NEW_ROUTE + "http\n  rules:\n  - backendRefs:\n    - name: web\n      port: "
        replace_doc(lsp, uri, typed, 2)
        assert await labels(lsp, uri, typed, 2) == ["8080", "9090"]


# ---- quick fixes ------------------------------------------------------------------------------
# test_rule_fixes.py applies the first fix each rule offers in the case table; the Gateway API rules offer
# several (set the port, did you mean the listener, create the ReferenceGrant): the others, here.

GATEWAY_API_FIXES = [
    (exp.code, name, exp, title)
    for name in case_names()
    if name.startswith("gateway-api")
    for exp in load_case(name).expectations
    for title in exp.fixes
    if (exp.code, name, exp, title) not in test_rule_fixes.RULE_FIXES
]


def test_every_gateway_api_fix_is_applied_over_lsp_somewhere() -> None:
    covered = {(code, title) for code, _, _, title in [*test_rule_fixes.RULE_FIXES, *GATEWAY_API_FIXES]}
    assert {
        ("route-listener-not-found", "Set the port to 443"),
        ("route-listener-not-found", "Did you mean"),
    } <= covered
    assert ("route-backend-not-permitted", "Create a ReferenceGrant") in covered


@pytest.mark.parametrize(
    ("code", "name", "exp", "title"), GATEWAY_API_FIXES, ids=[f"{c[0]}:{c[3]}" for c in GATEWAY_API_FIXES]
)
async def test_other_gateway_api_fix_over_lsp(
    code: str, name: str, exp: Expectation, title: str, workspace: Path
) -> None:
    # not imported by name: pytest would collect it here too
    await test_rule_fixes.test_fix_over_lsp(code, name, exp, title, workspace)
