"""Completion and hover over real LSP, on saved and on half-typed text."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import open_doc, wait_for

CART = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Service
    metadata: {name: cart, namespace: shop}
    spec:
      selector: {app: cart}
      ports: [{name: http, port: 8080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: cart-v1, namespace: shop}
    spec:
      template:
        metadata:
          labels: {app: cart, version: v1}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: cart-v2, namespace: shop}
    spec:
      template:
        metadata:
          labels: {app: cart, version: v2}
    ---
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: cart, namespace: shop}
    spec:
      host: cart.shop.svc.cluster.local
      subsets:
      - name: stable
        labels: {version: v1}
      - name: canary
        labels: {version: v2}
    """
)
# A VirtualService being typed: the last line is unfinished, so the document does not parse.
TYPING = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: cart
      namespace: shop
    spec:
      hosts: [cart]
      http:
      - route:
        - destination:
            host: cart
            subset: """
)
ROUTE = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: cart
      namespace: shop
    spec:
      hosts: [cart]
      http:
      - timeout: 5s
        route:
        - destination:
            host: cart
            subset: stable
    """
)


@pytest.fixture
def shop(workspace: Path) -> Path:
    (workspace / "cart.yaml").write_text(CART)
    return workspace


@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"])
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, shop: Path):
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(shop), name="ws")],
        )
    )
    # indexing has finished once the workspace's diagnostics were published (the DR file is clean: wait on
    # the server answering a hover on it instead)
    yield
    await lsp_client.shutdown_session()


async def _complete(client: LanguageClient, uri: str, line: int, character: int) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, character)
        )
    )
    if isinstance(result, types.CompletionList):
        return list(result.items)
    return list(result or [])


async def _ready(client: LanguageClient, uri: str) -> None:
    """Wait until the workspace is indexed: hovering the DestinationRule host names the Service."""

    async def indexed() -> bool:
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(27, 10))
        )
        return hover is not None and "Service `shop/cart`" in str(hover.contents)

    for _ in range(200):
        if await indexed():
            return
        await wait_for(lambda: True, 0.05)
    raise AssertionError("workspace was not indexed")


async def test_subsets_offered_while_the_document_does_not_parse(client: LanguageClient, shop: Path) -> None:
    cart = uri_of(shop / "cart.yaml")
    await _ready(client, cart)
    uri = uri_of(shop / "route.yaml")
    open_doc(client, uri, TYPING)
    lines = TYPING.split("\n")
    items = await _complete(client, uri, len(lines) - 1, len(lines[-1]))
    labels = {i.label for i in items}
    assert {"stable", "canary"} <= labels
    stable = next(i for i in items if i.label == "stable")
    assert stable.detail and "version: v1" in stable.detail


async def test_hosts_offered_after_host(client: LanguageClient, shop: Path) -> None:
    cart = uri_of(shop / "cart.yaml")
    await _ready(client, cart)
    uri = uri_of(shop / "route.yaml")
    text = TYPING.replace("        host: cart\n        subset: ", "        host: ")
    open_doc(client, uri, text)
    lines = text.split("\n")
    items = await _complete(client, uri, len(lines) - 1, len(lines[-1]))
    labels = {i.label for i in items}
    assert {"cart", "cart.shop.svc.cluster.local"} <= labels


async def test_hover_on_subset_shows_labels_and_workloads(client: LanguageClient, shop: Path) -> None:
    cart = uri_of(shop / "cart.yaml")
    await _ready(client, cart)
    uri = uri_of(shop / "route.yaml")
    open_doc(client, uri, ROUTE)
    line = ROUTE.split("\n").index("        subset: stable")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, 18))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "version: v1" in hover.contents.value and "cart-v1" in hover.contents.value
    assert "cart-v2" not in hover.contents.value
    assert hover.range is not None and hover.range.start == types.Position(line, 16)


async def test_hover_on_a_field_links_to_istio_docs(client: LanguageClient, shop: Path) -> None:
    uri = uri_of(shop / "route.yaml")
    open_doc(client, uri, ROUTE)
    line = ROUTE.split("\n").index("  - timeout: 5s")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, 6))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute-timeout" in hover.contents.value


async def test_nothing_on_a_comment(client: LanguageClient, shop: Path) -> None:
    uri = uri_of(shop / "route.yaml")
    text = "# host: cart\n" + ROUTE
    open_doc(client, uri, text)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 9))
    )
    assert hover is None
