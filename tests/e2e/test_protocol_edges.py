"""Messages a client should not send, sent to the real server over stdio (issue 16, item 14): each
gets the answer the JSON-RPC and LSP specifications ask for, and the server keeps serving.

pytest-lsp's client refuses to send most of these, so the messages are framed by hand here."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

HOVER_OK = {"textDocument": {"uri": "file:///w/a.yaml"}, "position": {"line": 0, "character": 0}}


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Wire:
    """The server process, with a reader of what it writes."""

    def __init__(self) -> None:
        env = {**os.environ, "ISTIO_LSP_CACHE_DIR": ""}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "istio_lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        self.write(_frame({"jsonrpc": "2.0", **message}))

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def messages(self, timeout: float) -> Iterator[dict[str, Any]]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\r\n\r\n" in self.buffer:
                head, rest = self.buffer.split(b"\r\n\r\n", 1)
                length = next(
                    int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")
                )
                if len(rest) < length:
                    break
                self.buffer = rest[length:]
                yield json.loads(rest[:length])
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    return
                self.buffer += chunk

    def answer(self, request_id: int, timeout: float = 20.0) -> dict[str, Any]:
        for message in self.messages(timeout):
            if message.get("id") == request_id and "method" not in message:
                return message
        raise AssertionError(f"no answer to request {request_id} within {timeout} s")


@pytest.fixture
def wire() -> Iterator[Wire]:
    wire = Wire()
    wire.send({"id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None, "rootUri": None}})
    wire.answer(1)
    wire.send({"method": "initialized", "params": {}})
    yield wire
    wire.process.kill()
    wire.process.wait()


@pytest.mark.parametrize(
    "params",
    [
        {"textDocument": {"uri": "file:///w/a.yaml"}, "position": {"line": -1, "character": 0}},
        {"textDocument": {"uri": "file:///w/a.yaml"}, "position": {"line": 2**31, "character": 0}},
        {"textDocument": {"uri": "file:///w/a.yaml"}},
    ],
    ids=["line-1", "line-2^31", "no-position"],
)
def test_a_request_with_unreadable_params_gets_invalid_params(wire: Wire, params: dict[str, Any]) -> None:
    wire.send({"id": 2, "method": "textDocument/hover", "params": params})
    assert wire.answer(2)["error"]["code"] == -32602
    wire.send({"id": 3, "method": "textDocument/hover", "params": HOVER_OK})
    assert "result" in wire.answer(3)  # and the next request is served


def test_references_without_context_gets_invalid_params(wire: Wire) -> None:
    wire.send({"id": 2, "method": "textDocument/references", "params": HOVER_OK})
    assert wire.answer(2)["error"]["code"] == -32602


def test_a_request_after_shutdown_gets_invalid_request_and_exit_ends_the_process(wire: Wire) -> None:
    wire.send({"id": 2, "method": "shutdown"})
    assert wire.answer(2)["result"] is None
    wire.send({"id": 3, "method": "textDocument/hover", "params": HOVER_OK})
    assert wire.answer(3)["error"]["code"] == -32600
    wire.send({"method": "exit"})
    assert wire.process.wait(timeout=20) == 0


def test_a_huge_content_length_is_refused_and_the_server_keeps_serving(wire: Wire) -> None:
    wire.write(b"Content-Length: 99999999999\r\n\r\n{}")
    wire.send({"id": 2, "method": "textDocument/hover", "params": HOVER_OK})
    shown = []
    for message in wire.messages(20):
        if message.get("method") == "window/showMessage":
            shown.append(message["params"]["message"])
        if message.get("id") == 2:
            break
    else:
        raise AssertionError("the request after the huge message was not answered")
    assert any("refused unread" in text for text in shown), shown
    assert wire.process.poll() is None


def test_a_body_that_is_not_json_is_ignored(wire: Wire) -> None:
    wire.write(b"Content-Length: 5\r\n\r\n{{{{{")
    wire.send({"id": 2, "method": "textDocument/hover", "params": HOVER_OK})
    assert "result" in wire.answer(2)
    assert wire.process.poll() is None
