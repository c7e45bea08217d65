"""A trace as text: one line per step, each with the file and line it comes from, the outcome last."""

from __future__ import annotations

from collections.abc import Callable

from istio_lsp.routing.outcome import Step, Trace

_MARKS = {"503": "✗", "500": "✗", "403": "✗", "unknown": "?", "warning": "!", "skip": "·"}


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


_OUTCOME_MARKS = {"routed": "✓", "redirect": "↪", "direct-response": "↩", "fault": "⚡", "passthrough": "→"}


def as_markdown(result: Trace, shown: Callable[[str], str]) -> str:
    """The trace for an editor: a heading with the outcome, then one list item per step, each linking
    to the file and line it comes from (`file:///…#L12`, which clients open at that line); `shown`
    turns a uri into the path to print."""
    req = result.request
    code = f" {result.code}" if result.code is not None and str(result.code) != result.status else ""
    mark = "✗" if result.failed else _OUTCOME_MARKS.get(result.status, "?")
    lines = [
        f"### {mark} {_md(req.method)} {_md(req.url)} → {result.status.upper()}{code}",
        "",
        f"**From** {_md(result.source.label)}" + (f" · {_md(_headers(result).strip())}" if req.headers else ""),
        "",
    ]
    for step in result.steps:
        indent = "  " * step.depth
        kind = f"{_MARKS[step.kind]} {step.kind}" if step.kind in _MARKS else step.kind
        cite = ""
        if step.uri and step.span is not None:
            line = step.span.start_line + 1
            cite = f" · [{_md(shown(step.uri))}:{line}]({step.uri}#L{line})"
        lines.append(f"{indent}- **{kind}** {_md_text(step.text)}{cite}")
    for note in result.notes:
        lines += ["", f"> note: {_md_text(note)}"]
    lines += ["", f"**{result.status.upper()}{code}**: {_md_text(result.summary)}"]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Plain text shown as such in Markdown (no emphasis, links or tags from its characters)."""
    return "".join(f"\\{c}" if c in "\\`*_[]<>" else c for c in text)


def _md_text(text: str) -> str:
    """A step's text, which quotes names in backticks (kept as code spans); the rest escaped."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an odd backtick: nothing is code
        return _md(text)
    return "".join(f"`{p}`" if i % 2 else _md(p) for i, p in enumerate(parts))


def path_summary(steps: list[Step]) -> str | None:
    """`DestinationRule x subset y (labels) → pods: Deployment a (2 replicas)`: a destination's steps
    (`follow_destination`) in one line for a hover, with the 503 or what the files cannot tell."""
    parts: list[str] = []
    pods: list[str] = []
    for step in steps:
        if step.kind == "rule":
            parts.append(step.text)
        elif step.kind == "pods":
            pods.append(step.text)
        elif step.kind in ("503", "500", "unknown"):
            parts.append((f"**{step.kind}**: " if step.kind != "unknown" else "") + step.text)
    if pods:
        parts.append("pods: " + ", ".join(pods))
    return " → ".join(parts) if parts else None
