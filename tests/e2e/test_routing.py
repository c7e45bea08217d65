"""The routing engine in the editor, over real LSP: the `istioLsp.trace` command, the route and
"Trace a request…" lenses, failing routing test cases as diagnostics that follow edits, and hover on
a route's destination showing the path to the pods. The workspace is the bundled `examples/broken`
with `examples/routing-tests.yaml`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import open_doc, replace_doc, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRACE = "istioLsp.trace"
ROUTES = "hello-world/routes.yaml"
TESTS = "routing-tests.yaml"
EXPECTED = Path(__file__).parent / "expected"  # the command's Markdown, `{root}` for the workspace's uri


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLES / "broken", root)
    shutil.copy(EXAMPLES / TESTS, root / TESTS)
    return root


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, broken: Path):
    accept_registrations(lsp_client)
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(broken), name="ws")],
        )
    )
    lsp_client.init_result = result  # type: ignore[attr-defined]
    # indexed, and the routing tests have run
    await wait_for(lambda: len(failing(lsp_client, broken)) == 6, timeout=30)
    yield
    await lsp_client.shutdown_session()


def failing(client: LanguageClient, root: Path) -> list[int]:
    """The lines of the routing test cases shown as failing."""
    found = client.diagnostics.get(uri_of(root / TESTS), ())
    return sorted(d.range.start.line for d in found if d.code == "routing-test-failed")


async def trace(client: LanguageClient, argument: dict) -> dict:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=TRACE, arguments=[argument])
    )
    assert isinstance(result, dict), result
    return result


DIRECT = {"method": "GET", "url": "http://hello.example.com/direct", "via": "hello-world-app/hello-gateway"}


EXPECTED_503 = (EXPECTED / "trace-direct-503.md").read_text(encoding="utf-8")

EXPECTED_ROUTED = (EXPECTED / "trace-direct-routed.md").read_text(encoding="utf-8")


@pytest.mark.asyncio
async def test_the_trace_command_reads_unsaved_text(client: LanguageClient, broken: Path) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    assert caps.execute_command_provider is not None and TRACE in caps.execute_command_provider.commands
    root = uri_of(broken)

    result = await trace(client, DIRECT)
    assert result["status"] == "503"
    assert result["markdown"] == EXPECTED_503.replace("{root}", root)
    assert result["outcome"]["destinations"][0]["rule"] == "destination-host-is-virtualservice"
    assert result["steps"][0]["uri"] == f"{root}/hello-world/gateway.yaml" and result["steps"][0]["line"] == 12

    # the fix, typed and not saved: the trace reads the editor's text
    open_doc(client, uri_of(broken / ROUTES), (broken / ROUTES).read_text(), 1)
    replace_doc(client, uri_of(broken / ROUTES), (EXAMPLES / "fixed" / ROUTES).read_text(), 2)
    result = await trace(client, DIRECT)
    assert result["status"] == "routed"
    assert result["markdown"] == EXPECTED_ROUTED.replace("{root}", root)

    bad = await trace(client, {"url": "http://hello.example.com/"})
    assert bad["status"] == "error" and "via" in bad["markdown"]


@pytest.mark.asyncio
async def test_lenses_summarise_routes_and_offer_a_trace(client: LanguageClient, broken: Path) -> None:
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri_of(broken / ROUTES)))
    )
    found = [(x.range.start.line, x.command.title, x.command.command) for x in lenses or [] if x.command]
    assert found == [
        (6, "Trace a request…", TRACE),
        (17, "/direct* · hello.example.com", ""),
        (25, "every request · hello.example.com", ""),
        (32, "Trace a request…", TRACE),
        (41, "every request · deployment-1.hello-world-app.svc.cluster.local", ""),
    ]
    first = next(x for x in lenses or [] if x.command and x.command.command == TRACE)
    assert first.command is not None
    (argument,) = first.command.arguments or []
    assert argument == {
        "method": "GET",
        "url": "http://hello.example.com/",
        "headers": {},
        "via": "hello-world-app/hello-gateway",
    }
    result = await trace(client, argument)  # a client that cannot prompt runs it as it is
    assert result["status"] == "routed" and "hello-world-svc" in result["markdown"]


@pytest.mark.asyncio
async def test_failing_cases_follow_edits_of_manifests_and_tests(client: LanguageClient, broken: Path) -> None:
    tests_uri = uri_of(broken / TESTS)
    diagnostics = client.diagnostics[tests_uri]
    first = min(diagnostics, key=lambda d: d.range.start.line)
    assert first.range.start.line == 10 and first.severity == types.DiagnosticSeverity.Error
    assert first.message.startswith('routing test "/direct reaches deployment-1\'s Service" fails for GET')
    assert first.code_description is not None and first.code_description.href.endswith("/routing-test-failed.md")
    assert failing(client, broken) == [10, 17, 22, 28, 34, 42]

    # fix the manifest (unsaved): the case passes, its diagnostic goes away
    routes = uri_of(broken / ROUTES)
    open_doc(client, routes, (broken / ROUTES).read_text(), 1)
    replace_doc(client, routes, (EXAMPLES / "fixed" / ROUTES).read_text(), 2)
    await wait_for(lambda: failing(client, broken) == [17, 22, 28, 34, 42])

    # break it again in the test file: the last case now expects what does not happen
    text = (broken / TESTS).read_text()
    open_doc(client, tests_uri, text, 1)
    replace_doc(client, tests_uri, text.replace("expect: {status: 404}", "expect: {status: 503}"), 2)
    await wait_for(lambda: failing(client, broken) == [17, 22, 28, 34, 42, 46])


@pytest.mark.asyncio
async def test_hover_on_a_destination_shows_the_path_to_the_pods(client: LanguageClient, broken: Path) -> None:
    async def hover_on(name: str, needle: str, below: str = "") -> str:
        lines = [*(broken / name).read_text().split("\n"), ""]
        line = next(i for i, text in enumerate(lines[:-1]) if needle in text and below in lines[i + 1])
        character = lines[line].index(needle) + len("host: ") + 1
        result = await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(uri_of(broken / name)), types.Position(line, character))
        )
        assert result is not None and isinstance(result.contents, types.MarkupContent)
        return result.contents.value

    shown = await hover_on(ROUTES, "host: hello-world-svc")
    assert shown.endswith("**Path** → pods: Deployment hello-world-app/hello-world (2 replicas)")
    shown = await hover_on("bookstore/reviews.yaml", "host: reviews", below="subset: v1")
    path = "**Path** → DestinationRule bookstore/reviews subset v1 (version: v1) → **503**: subset `v1` selects"
    assert path in shown


STOREFRONT = "storefront/gateway.yaml"


@pytest.mark.asyncio
async def test_http_routes_have_lenses_a_trace_and_a_path_on_hover(client: LanguageClient, broken: Path) -> None:
    uri = uri_of(broken / STOREFRONT)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    found = [(x.range.start.line, x.command.title, x.command.command) for x in lenses or [] if x.command]
    assert found == [
        (15, "Trace a request…", TRACE),
        (26, "/api/… · store.example.com", ""),
        (47, "every request · store.example.com", ""),
        (39, "catalog 90% · catalog-canary 10%", ""),
    ]
    (argument,) = next(x for x in lenses or [] if x.command and x.command.command == TRACE).command.arguments or []
    assert argument == {
        "method": "GET",
        "url": "http://store.example.com/",
        "headers": {},
        "via": "storefront/storefront-gateway",
    }
    assert (await trace(client, argument))["status"] == "routed"  # `/` goes to the web Service

    api = await trace(client, {**argument, "url": "http://store.example.com/api/items"})
    assert api["status"] == "500" and api["route"]["httpRoute"] == "storefront/storefront"
    assert [d["rule"] for d in api["outcome"]["destinations"]] == ["route-backend-not-permitted"] * 2

    # the ReferenceGrant, typed into the file and not saved: the trace and the routing test follow
    text = (broken / STOREFRONT).read_text()
    grant = (EXAMPLES / "fixed" / STOREFRONT).read_text()
    open_doc(client, uri, text, 1)
    replace_doc(client, uri, grant, 2)
    api = await trace(client, {**argument, "url": "http://store.example.com/api/items"})
    assert api["status"] == "routed" and api["route"]["rewrite"] == {"uri": "/items"}
    await wait_for(lambda: 42 not in failing(client, broken))

    lines = grant.split("\n")
    line = next(i for i, t in enumerate(lines) if t.strip() == "- name: catalog-canary")
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, lines[line].index("catalog")))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith(
        "**backend** `catalog-canary.catalog.svc.cluster.local:8080`\n\n"
        "**Path** → pods: Deployment catalog/catalog-canary (1 replica)"
    )
