"""Findings → LSP diagnostics, in the position encoding the client negotiated.

A diagnostic's `data` carries its fixes as ready-made edits, so answering
`textDocument/codeAction` needs no state kept between the two requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lsprotocol import types

from istio_lsp.checks import RULES_BY_CODE, SOURCE, Finding, Fix
from istio_lsp.syntax import Span, utf16_to_units

# (uri, line) → the line's text when it holds non-ASCII characters, else None (columns need no conversion)
LineLookup = Callable[[str, int], "str | None"]


def convert_span(span: Span, uri: str, lines: LineLookup, encoding: str) -> types.Range:
    """A UTF-16 span as an LSP range in `encoding`."""
    start_char, end_char = span.start_char, span.end_char
    if encoding != "utf-16":
        start_text = lines(uri, span.start_line)
        if start_text is not None:
            start_char = utf16_to_units(start_text, start_char, encoding)
        end_text = lines(uri, span.end_line)
        if end_text is not None:
            end_char = utf16_to_units(end_text, end_char, encoding)
    return types.Range(types.Position(span.start_line, start_char), types.Position(span.end_line, end_char))


def to_diagnostic(finding: Finding, lines: LineLookup, encoding: str) -> types.Diagnostic:
    rule = RULES_BY_CODE.get(finding.code)
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(r.uri, convert_span(r.span, r.uri, lines, encoding)), message=r.message
        )
        for r in finding.related
    ]
    data: dict[str, Any] | None = None
    if finding.fixes:
        data = {"fixes": [_fix_payload(fix, lines, encoding) for fix in finding.fixes]}
    return types.Diagnostic(
        range=convert_span(finding.span, finding.uri, lines, encoding),
        message=finding.message,
        severity=types.DiagnosticSeverity(int(finding.severity)),
        code=finding.code,
        code_description=types.CodeDescription(href=rule.doc_uri) if rule else None,
        source=SOURCE,
        related_information=related or None,
        data=data,
    )


def _fix_payload(fix: Fix, lines: LineLookup, encoding: str) -> dict[str, Any]:
    return {
        "title": fix.title,
        "preferred": fix.preferred,
        "edits": [
            {
                "uri": edit.uri,
                "range": _range_json(convert_span(edit.span, edit.uri, lines, encoding)),
                "newText": edit.new_text,
            }
            for edit in fix.edits
        ],
    }


def _range_json(r: types.Range) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }
