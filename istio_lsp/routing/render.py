"""A trace as text: one line per step, each with the file and line it comes from, the outcome last."""

from __future__ import annotations

from collections.abc import Callable

from istio_lsp.routing.engine import Trace

_MARKS = {"503": "✗", "unknown": "?", "warning": "!", "skip": "·"}


def as_text(result: Trace, shown: Callable[[str], str]) -> str:
    """The trace for people; `shown` turns a uri into the path to print."""
    lines = [f"{'request':<14} {result.request.method} {result.request.url}" + _headers(result)]
    for step in result.steps:
        indent = "  " * step.depth
        cite = f"  [{shown(step.uri)}:{step.span.start_line + 1}]" if step.uri and step.span is not None else ""
        mark = _MARKS.get(step.kind, "")
        kind = f"{mark} {step.kind}" if mark else step.kind
        lines.append(f"{indent}{kind:<14} {step.text}{cite}")
    for note in result.notes:
        lines.append(f"note           {note}")
    status = result.status.upper()
    code = f" {result.code}" if result.code is not None and str(result.code) != result.status else ""
    lines.append(f"=> {status}{code}: {result.summary}")
    return "\n".join(lines) + "\n"


def _headers(result: Trace) -> str:
    headers = result.request.headers
    return ("  " + ", ".join(f"{k}: {v}" for k, v in headers.items())) if headers else ""
