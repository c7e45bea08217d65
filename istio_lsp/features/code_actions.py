"""Quick fixes: the fixes a diagnostic carries in its `data`, as LSP code actions, and for every
istio-lsp diagnostic the comments that suppress it."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from istio_lsp.checks import SOURCE


def quick_fixes(params: types.CodeActionParams, text: str | None = None) -> list[types.CodeAction]:
    """Code actions for the istio-lsp diagnostics the client sent with the request; with the
    document's `text`, also a comment that suppresses each (after its own fixes)."""
    only = params.context.only
    if only and not any(kind.startswith(types.CodeActionKind.QuickFix) for kind in only):
        return []
    actions: list[types.CodeAction] = []
    suppress: list[types.CodeAction] = []
    lines = text.split("\n") if text is not None else None
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE:
            continue
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        for fix in data.get("fixes", []):
            action = _action(fix, diagnostic)
            if action is not None:
                actions.append(action)
        if lines is not None and isinstance(diagnostic.code, str) and diagnostic.code not in _NEVER_SUPPRESSED:
            suppress.extend(_suppressions(params.text_document.uri, diagnostic, diagnostic.code, lines))
    return actions + suppress


# a suppression of these would hide the tool's own housekeeping, not a finding about the manifests
_NEVER_SUPPRESSED = frozenset({"unused-suppression", "invalid-config"})


def _suppressions(uri: str, diagnostic: types.Diagnostic, code: str, lines: list[str]) -> list[types.CodeAction]:
    """`# istio-lsp: disable-next-line CODE` above the diagnostic's line (indented like it), and
    `# istio-lsp: disable-file CODE` at the top of the file."""
    line = diagnostic.range.start.line
    if line >= len(lines):
        return []
    indent = lines[line][: len(lines[line]) - len(lines[line].lstrip(" \t"))]
    above = types.TextEdit(
        range=types.Range(types.Position(line, 0), types.Position(line, 0)),
        new_text=f"{indent}# istio-lsp: disable-next-line {code}\n",
    )
    top = types.TextEdit(
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        new_text=f"# istio-lsp: disable-file {code}\n",
    )
    return [
        types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            edit=types.WorkspaceEdit(changes={uri: [edit]}),
        )
        for title, edit in (
            (f"Suppress `{code}` on this line (comment above it)", above),
            (f"Suppress `{code}` in this file", top),
        )
    ]


def _action(fix: Any, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    if not isinstance(fix, dict) or not isinstance(fix.get("edits"), list):
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for edit in fix["edits"]:
        try:
            rng = edit["range"]
            text_edit = types.TextEdit(
                range=types.Range(
                    types.Position(int(rng["start"]["line"]), int(rng["start"]["character"])),
                    types.Position(int(rng["end"]["line"]), int(rng["end"]["character"])),
                ),
                new_text=str(edit["newText"]),
            )
        except (KeyError, TypeError, ValueError):
            return None  # data altered by the client: offer nothing rather than a wrong edit
        changes.setdefault(str(edit["uri"]), []).append(text_edit)
    return types.CodeAction(
        title=str(fix.get("title", "Fix")),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        is_preferred=bool(fix.get("preferred")),
        edit=types.WorkspaceEdit(changes=changes),
    )
