"""Build a workspace index from YAML texts and trace requests through it."""

from __future__ import annotations

from collections.abc import Iterable

from istio_lsp.checks import analyze_text, check_file
from istio_lsp.findings import Finding
from istio_lsp.index import WorkspaceIndex
from istio_lsp.routing import Trace, parse_request, parse_source, trace
from istio_lsp.settings import Settings


def index_of(files: dict[str, str]) -> WorkspaceIndex:
    index = WorkspaceIndex()
    for name, text in files.items():
        index.update(analyze_text(f"file:///ws/{name}", text, Settings()))
    return index


def run(
    files: dict[str, str],
    method: str,
    url: str,
    *,
    via: str | None = None,
    source: str | None = None,
    headers: Iterable[str] = (),
) -> Trace:
    index = index_of(files)
    texts = {f"file:///ws/{name}": text for name, text in files.items()}
    origin = parse_source(via, "gateway") if via else parse_source(source or "default", "mesh")
    return trace(index, texts.get, parse_request(method, url, list(headers)), origin)


def findings(files: dict[str, str]) -> list[Finding]:
    index = index_of(files)
    return [f for name in files for f in check_file(index, f"file:///ws/{name}")]


def kinds(result: Trace) -> list[str]:
    return [s.kind for s in result.steps]


def text(result: Trace) -> str:
    return "\n".join(s.text for s in result.steps) + "\n" + result.summary
