"""The server's text of a document is the editor's, after any incremental edit (issue 16, item 9).

LSP breaks lines only at `\\n`, `\\r\\n` and `\\r`; `str.splitlines` also breaks at U+2028, U+0085, a
form feed and more, so a document model built on it applies an edit to the wrong line. Two tests:
hypothesis drives random edits through the server's document model against a reference that edits
the string by offset; and hypothesis drives random edits through the real server process, which
must then publish the diagnostics a fresh analysis of the same text gives.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_lsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from istio_lsp.checks import analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.server import LspTextDocument
from istio_lsp.settings import Settings
from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import wait_for

T = TypeVar("T")

# characters that break lines for `str.splitlines` but not for LSP, line breaks, and wide characters
TRICKY = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1e", "\r\n", "\r", "\n", "😀", "é", "\t", " "]
BASE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews # a comment\u2028with a line separator
  namespace: shop
spec:
  hosts: [reviews]\x85
  http:
  - route:
    - destination: {host: reviews, subset: v1} # ☃\x0c
    timeout: 5s
"""


def _lsp_lines(text: str) -> list[str]:
    lines, start = [], 0
    i = 0
    while i < len(text):
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            lines.append(text[start : i + 2])
            i += 2
            start = i
            continue
        if text[i] in "\r\n":
            lines.append(text[start : i + 1])
            start = i + 1
        i += 1
    if start < len(text):
        lines.append(text[start:])
    return lines


def _offset(text: str, line: int, character: int) -> int:
    """The string offset of an LSP position (UTF-16 character) in `text`."""
    lines = _lsp_lines(text)
    if line >= len(lines):
        return len(text)
    start = sum(len(line_text) for line_text in lines[:line])
    content = lines[line].rstrip("\r\n")
    units = 0
    for i, char in enumerate(content):
        if units >= character:
            return start + i
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(content)


def _position(text: str, offset: int) -> types.Position:
    before = text[:offset]
    lines = _lsp_lines(before)
    if not lines or before.endswith(("\n", "\r")):
        line, content = len(lines), ""
    else:
        line, content = len(lines) - 1, lines[-1]
    return types.Position(line, sum(2 if ord(c) > 0xFFFF else 1 for c in content))


def _random_edit(rng: random.Random, text: str) -> tuple[types.Range, str, str]:
    """A random edit of `text` on character boundaries: (range, new text, the text after it)."""
    a = rng.randrange(len(text) + 1)
    b = min(len(text), a + rng.choice([0, 0, 1, 2, 5]))
    if text[a - 1 : a + 1] == "\r\n":  # never split a CRLF: an editor cannot place a cursor inside one
        a -= 1
    if text[b - 1 : b + 1] == "\r\n":
        b += 1
    b = max(a, b)
    insert = "".join(rng.choice([*TRICKY, "x", "#", ":"]) for _ in range(rng.choice([0, 1, 2, 3])))
    edit_range = types.Range(_position(text, a), _position(text, b))
    return edit_range, insert, text[:a] + insert + text[b:]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 12))
def test_the_document_model_applies_edits_where_the_editor_does(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    text = BASE
    document = LspTextDocument("file:///t.yaml", source=text, version=0, position_codec=PositionCodec())
    for version in range(1, steps + 1):
        edit_range, insert, text = _random_edit(rng, text)
        document.apply_change(types.TextDocumentContentChangePartial(range=edit_range, text=insert))
        document.version = version
        assert document.source == text


def test_the_offsets_of_the_reference_hold() -> None:
    text = "a\u2028b\r\nc\rd😀e\n"
    for offset in range(len(text) + 1):
        if text[offset - 1 : offset + 1] == "\r\n":
            continue
        position = _position(text, offset)
        assert _offset(text, position.line, position.character) == offset, offset


# ---- through the real server --------------------------------------------------------------------


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, workspace: Path):
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=uri_of(workspace), name="ws")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def _fresh(uri: str, text: str) -> list[tuple[str, int, int, int, int]]:
    settings_ = Settings()
    index = WorkspaceIndex(settings_)
    index.update(analyze_text(uri, text, settings_))
    return sorted(
        (f.code, f.span.start_line, f.span.start_char, f.span.end_line, f.span.end_char) for f in check_file(index, uri)
    )


def _published(client: LanguageClient, uri: str) -> list[tuple[str, int, int, int, int]]:
    return sorted(
        (str(d.code), d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
        for d in client.diagnostics.get(uri, [])
    )


class ServerThread:
    """The real server, driven from synchronous code (hypothesis cannot run coroutines): its client
    lives on an event loop in a thread of its own, one process for every example."""

    def __init__(self, root: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = make_test_lsp_client()
        accept_registrations(self.client)
        self.run(self._start(root))

    async def _start(self, root: Path) -> None:
        await self.client.start_io(*SERVER.server_command, env=SERVER.server_env)
        await self.client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[types.WorkspaceFolder(uri=uri_of(root), name="ws")],
            )
        )

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.run(self.client.shutdown_session())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path_factory.mktemp("ws"))
    yield server
    server.stop()


# an edit: where (an offset, wrapped to the text's length), how much it replaces, what it inserts
# (line breaks LSP knows and those it does not, CRLF, emoji, lone surrogates, YAML punctuation)
EDITS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.sampled_from([0, 0, 1, 2, 5, 12]),
        st.lists(st.sampled_from([*TRICKY, "\ud800", "\udfff", "x", "#", ":", "- "]), max_size=3).map("".join),
    ),
    min_size=1,
    max_size=15,
)
_examples = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_random_edits_through_the_server_match_a_fresh_analysis(
    server_thread: ServerThread, edits: list[tuple[int, int, str]]
) -> None:
    client = server_thread.client
    uri = f"file:///hypothesis/example-{next(_examples)}.yaml"  # an unsaved buffer per example
    text = BASE
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text))
    )
    for version, (where, length, insert) in enumerate(edits, start=2):
        a = where % (len(text) + 1)
        b = min(len(text), a + length)
        if text[a - 1 : a + 1] == "\r\n":  # an editor cannot place a cursor inside a CRLF
            a -= 1
        if text[b - 1 : b + 1] == "\r\n":
            b += 1
        b = max(a, b)
        edit_range = types.Range(_position(text, a), _position(text, b))
        text = text[:a] + insert + text[b:]
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangePartial(range=edit_range, text=insert)],
            )
        )
    try:
        server_thread.run(_analysed_as_fresh(client, uri, text))
    finally:
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))


async def _analysed_as_fresh(client: LanguageClient, uri: str, text: str) -> None:
    expected = _fresh(uri, text)
    await wait_for(lambda: _published(client, uri) == expected, timeout=15)


async def test_a_lone_surrogate_does_not_lose_the_files_diagnostics(client: LanguageClient, workspace: Path) -> None:
    # JSON can carry one (`"\ud800"`), no file on disk decodes to one; the YAML parser cannot read it
    text = BASE.replace("# a comment", "# a \ud800 comment").replace("[reviews]", '["rev\udfffiews"]')
    uri = uri_of(workspace / "surrogate.yaml")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text))
    )
    expected = _fresh(uri, text)
    assert expected, "the fresh analysis finds something to compare"
    await wait_for(lambda: _published(client, uri) == expected, timeout=15)


async def test_a_change_before_the_open_is_ignored(client: LanguageClient, workspace: Path) -> None:
    uri = uri_of(workspace / "early.yaml")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=1),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)), text="x"
                )
            ],
        )
    )
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="yaml", version=2, text=BASE))
    )
    await _analysed_as_fresh(client, uri, BASE)


async def test_positions_far_past_the_end_are_answered_at_once(client: LanguageClient, workspace: Path) -> None:
    uri = uri_of(workspace / "far.yaml")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=BASE))
    )
    far = types.Position(2**31 - 1, 2**31 - 1)  # padding the text to it took 11.5 GB
    document = types.TextDocumentIdentifier(uri)
    items = await asyncio.wait_for(
        client.text_document_completion_async(types.CompletionParams(document, far)), timeout=10
    )
    assert items is not None  # top-level keys of a new document, or nothing: an answer either way
    hover = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(document, far)), timeout=10)
    assert hover is None
    # the server still works
    await _analysed_as_fresh(client, uri, BASE)
