"""The Gateway API `Gateway` and Istio's `Gateway` side by side: hover and completion read the schema and
docs of each one's own API group (the same over LSP: tests/e2e/test_two_gateways.py)."""

from __future__ import annotations

from lsprotocol import types

from istio_lsp.checks import analyze_text
from istio_lsp.features.completion import complete
from istio_lsp.features.hover import hover
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span

URI = "file:///ws/gateways.yaml"
GWAPI = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: web}\nspec:\n  "
ISTIO = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: legacy}\nspec:\n  "


def _range(uri: str, span: Span) -> types.Range:
    return types.Range(types.Position(span.start_line, span.start_char), types.Position(span.end_line, span.end_char))


def _complete(head: str, line: str = "") -> set[str]:
    text = head + line
    index = WorkspaceIndex(Settings())
    index.update(analyze_text(URI, text, Settings()))
    lines = text.split("\n")
    return {i.label for i in complete(index, URI, text, len(lines) - 1, len(lines[-1]), _range)}


def _hover(head: str, line: str) -> str:
    text = head + line + "\n"
    index = WorkspaceIndex(Settings())
    index.update(analyze_text(URI, text, Settings()))
    found = hover(index, URI, text, 4, 4, _range)
    if found is None:
        return ""
    assert isinstance(found.contents, types.MarkupContent)
    return found.contents.value


def test_completion_of_spec_keys_by_group() -> None:
    gwapi, istio = _complete(GWAPI), _complete(ISTIO)
    assert {"gatewayClassName", "listeners", "addresses"} <= gwapi and not gwapi & {"servers", "selector"}
    assert {"servers", "selector"} <= istio and not istio & {"gatewayClassName", "listeners"}


def test_completion_of_enums_and_versions_by_group() -> None:
    assert {"Terminate", "Passthrough"} <= _complete(GWAPI, "listeners:\n  - tls:\n      mode: ")
    versions = _complete("apiVersion: \nkind: Gateway\n".replace("apiVersion: \n", ""), "")
    assert versions is not None  # the document head alone gives nothing to complete
    head = "kind: HTTPRoute\napiVersion: "
    assert "gateway.networking.k8s.io/v1" in _complete(head)
    assert "HTTPRoute" in _complete("apiVersion: gateway.networking.k8s.io/v1\nkind: ")


def test_hover_by_group() -> None:
    istio = _hover(ISTIO, "servers: []")
    assert "istio.io/latest/docs/reference/config/networking/gateway/" in istio
    gwapi = _hover(GWAPI, "listeners: []")
    assert "Kubernetes Gateway API" in gwapi and "istio.io" not in gwapi
    assert "istio.io" not in _hover(GWAPI, "servers: []")
    assert "experimental channel" in _hover(GWAPI, "defaultScope: All")
    assert "experimental channel" not in gwapi
