"""Quick fixes: the fixes a diagnostic carries in its `data`, as LSP code actions."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from istio_lsp.checks import SOURCE


def quick_fixes(params: types.CodeActionParams) -> list[types.CodeAction]:
    """Code actions for the istio-lsp diagnostics the client sent with the request."""
    only = params.context.only
    if only and not any(kind.startswith(types.CodeActionKind.QuickFix) for kind in only):
        return []
    actions: list[types.CodeAction] = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE or not isinstance(diagnostic.data, dict):
            continue
        for fix in diagnostic.data.get("fixes", []):
            action = _action(fix, diagnostic)
            if action is not None:
                actions.append(action)
    return actions


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
