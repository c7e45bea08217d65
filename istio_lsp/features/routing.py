"""The routing engine in the editor: the `istioLsp.trace` command, and routing test files' failing cases.

Pure functions over the index and a `read` callback (the server gives the open documents' unsaved
text, else the file on disk within the workspace); the server only wires them to LSP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from istio_lsp.features.code_lens import TRACE_COMMAND
from istio_lsp.findings import Finding
from istio_lsp.index import WorkspaceIndex
from istio_lsp.routing.engine import Reader, trace
from istio_lsp.routing.render import as_markdown
from istio_lsp.routing.request import Request, Source, parse_request, parse_source
from istio_lsp.routing.testfile import is_test_text, read_tests, run_case, test_files

__all__ = ["TRACE_COMMAND", "routing_test_findings", "run_trace", "test_files", "trace_request"]


def trace_request(argument: Any) -> tuple[Request, Source]:
    """The command's argument `{method, url, headers?: {name: value}, via?: "ns/gateway",
    from?: "ns/workload"}` as a request and its source. Raises ValueError on what cannot be read."""
    if not isinstance(argument, Mapping):
        raise ValueError("the argument is an object {method, url, headers?, via? or from?}")
    url = argument.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError("`url` is required: the request's URL, e.g. http://shop.example.com/api")
    method = argument.get("method") or "GET"
    if not isinstance(method, str):
        raise ValueError("`method` is a string such as GET")
    headers = argument.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ValueError("`headers` is an object {name: value}")
    request = parse_request(method, url.strip(), [f"{k}: {v}" for k, v in headers.items()])
    via, origin = argument.get("via"), argument.get("from")
    if via and origin:
        raise ValueError("give `via` (a Gateway) or `from` (a workload), not both")
    if isinstance(via, str) and via:
        return request, parse_source(via, "gateway")
    if isinstance(origin, str) and origin:
        return request, parse_source(origin, "mesh")
    raise ValueError('where does the request start? Give `via: "ns/gateway"` or `from: "ns/workload"`')


def run_trace(index: WorkspaceIndex, read: Reader, argument: Any, shown: Callable[[str], str]) -> dict[str, Any]:
    """The command's answer: `markdown` (the trace for people, steps linked to `file:///…#L12`),
    `status`, and the trace as `istio-lsp trace --format json` gives it (steps with `uri`). A bad
    argument gives `status: "error"` and the reason as `markdown`."""
    try:
        request, source = trace_request(argument)
    except ValueError as error:
        return {"status": "error", "error": str(error), "markdown": f"**Cannot trace**: {error}"}
    result = trace(index, read, request, source)
    return {"markdown": as_markdown(result, shown), "status": result.status} | result.to_json()


def routing_test_findings(index: WorkspaceIndex, read: Reader, uris: Iterable[str]) -> dict[str, list[Finding]]:
    """The failing cases of the routing test files `uris` (`test_files(index)`: those the index holds),
    each file's findings as `istio-lsp test` gives them; a malformed test file gives none here (its
    schema tells the user)."""
    out: dict[str, list[Finding]] = {}
    for uri in uris:
        text = read(uri)
        if text is None or not is_test_text(text):
            continue
        cases, _ = read_tests(uri, text)
        out[uri] = [f for case in cases if (f := run_case(index, read, case)) is not None]
    return out
