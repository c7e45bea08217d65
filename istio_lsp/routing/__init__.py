"""The routing engine: where a request goes, computed from the indexed workspace (no LSP).

A pure layer beside the checks: `trace(index, read, request, source)` returns a `Trace`, data with
source spans; the front ends (`istio-lsp trace`, later the editor) render it.
"""

from istio_lsp.routing.engine import trace
from istio_lsp.routing.outcome import FAILED, Step, Target, Trace
from istio_lsp.routing.request import Request, Source, parse_request, parse_source

__all__ = ["FAILED", "Request", "Source", "Step", "Target", "Trace", "parse_request", "parse_source", "trace"]
