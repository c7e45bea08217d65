"""Helpers for driving the real server like an editor does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from lsprotocol import types
from pytest_lsp import LanguageClient


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll the client's captured state (a notification may already have arrived before we wait)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.02)


def codes(client: LanguageClient, uri: str) -> list[tuple[str, int]]:
    return sorted((str(d.code), d.range.start.line) for d in client.diagnostics.get(uri, ()))


def has_code(client: LanguageClient, uri: str, code: str) -> Callable[[], bool]:
    return lambda: any(str(d.code) == code for d in client.diagnostics.get(uri, ()))


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="yaml", version=version, text=text))
    )


def replace_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 columns) to a text, last first so earlier ranges stay valid."""

    def offset(pos: types.Position) -> int:
        lines = text.split("\n")
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        units = 0
        col = 0
        for ch in line:
            if units >= pos.character:
                break
            units += 2 if ord(ch) > 0xFFFF else 1
            col += 1
        return sum(len(x) + 1 for x in lines[: pos.line]) + col

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


async def fix_titles_and_edits(
    client: LanguageClient, uri: str, diagnostic: types.Diagnostic
) -> list[types.CodeAction]:
    """The diagnostic's own fixes (without the suppression comments every diagnostic offers)."""
    return [a for a in await code_actions(client, uri, diagnostic) if not a.title.startswith("Suppress `")]


async def code_actions(client: LanguageClient, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    return [a for a in actions or [] if isinstance(a, types.CodeAction)]
