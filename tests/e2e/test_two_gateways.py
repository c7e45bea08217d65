"""The Gateway API `Gateway` and Istio's `Gateway` in one file, over real LSP: each is checked, hovered and
completed against its own API group's schema, never the other's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import open_doc, wait_for

BOTH = textwrap.dedent(
    """\
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: web, namespace: shop}
    spec:
      gatewayClassName: istio
      servers: []
      listeners:
      - name: http
        port: 80
        protocol: HTTP
      - name: http
        port: 8080
        protocol: HTTP
        tls:
          mode: Terminate
    ---
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata: {name: legacy, namespace: shop}
    spec:
      selector: {istio: ingressgateway}
      listeners: []
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["*"]
    """
)
LINES = BOTH.split("\n")
GWAPI_SERVERS = LINES.index("  servers: []")
ISTIO_LISTENERS = LINES.index("  listeners: []")
GWAPI_LISTENERS = LINES.index("  listeners:")
ISTIO_SERVERS = LINES.index("  servers:")
GWAPI_MODE = LINES.index("      mode: Terminate")


@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code"])
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, workspace: Path):
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(request.param),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(workspace), name="ws")],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def _hover(client: LanguageClient, uri: str, line: int, character: int) -> str:
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, character))
    )
    if hover is None:
        return ""
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def _labels(client: LanguageClient, uri: str, line: int, character: int) -> set[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, character)
        )
    )
    items = result.items if isinstance(result, types.CompletionList) else (result or [])
    return {item.label for item in items}


async def test_each_gateway_against_its_own_schema(client: LanguageClient, workspace: Path) -> None:
    uri = uri_of(workspace / "gateways.yaml")
    open_doc(client, uri, BOTH)
    await wait_for(lambda: bool(client.diagnostics.get(uri)))
    found = {(str(d.code), d.range.start.line): d for d in client.diagnostics[uri]}
    # `servers` is Istio's field, unknown to the Gateway API Gateway; `listeners` the other way round
    assert ("unknown-field", GWAPI_SERVERS) in found
    assert ("unknown-field", ISTIO_LISTENERS) in found
    assert ("unknown-field", GWAPI_LISTENERS) not in found and ("unknown-field", ISTIO_SERVERS) not in found
    # the CEL rules of the Gateway API CRD apply to the Gateway API Gateway only
    rule = found[("validation-rule-violated", GWAPI_LISTENERS)]
    assert rule.severity == types.DiagnosticSeverity.Error
    assert "Listener name must be unique within the Gateway" in rule.message
    assert not any(code == "validation-rule-violated" and line > GWAPI_MODE + 1 for code, line in found)

    # hover: Istio's docs on Istio's `servers`, the Gateway API schema on `listeners`
    istio = await _hover(client, uri, ISTIO_SERVERS, 4)
    assert "istio.io/latest/docs/reference/config/networking/gateway/" in istio
    gwapi = await _hover(client, uri, GWAPI_LISTENERS, 4)
    assert "Gateway API" in gwapi and "istio.io" not in gwapi
    assert "istio.io" not in await _hover(client, uri, GWAPI_SERVERS, 4)

    # completion of spec keys: each Gateway's own fields (those not written yet)
    gwapi_keys = await _labels(client, uri, GWAPI_SERVERS, 2)
    istio_keys = await _labels(client, uri, ISTIO_LISTENERS, 2)
    assert {"addresses", "infrastructure", "tls"} <= gwapi_keys
    assert not gwapi_keys & {"servers", "selector"}
    assert not istio_keys & {"addresses", "infrastructure", "gatewayClassName", "tls"}
    # and enum values of a Gateway API field
    assert {"Terminate", "Passthrough"} <= await _labels(client, uri, GWAPI_MODE, len("      mode: "))
