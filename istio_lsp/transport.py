"""The JSON-RPC transport over stdio, hardened where pygls leaves a client without an answer.

- A request whose parameters do not match the LSP types (a line of −1, `references` without its
  `context`) gets an InvalidParams error; pygls logs it and never answers, so the client waits.
- A request after `shutdown` gets an InvalidRequest error, as the specification asks, not silence.
- A message larger than `MAX_MESSAGE_BYTES` is refused, not read: a `Content-Length` of 100 GB
  made the reader allocate it and die, leaving a live process that answered nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger("istio_lsp.transport")

# Far above any manifest worth analysing (files over `maxFileSize` are skipped anyway), far below
# what would exhaust memory once the body is decoded.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_MAX_HEADER_BYTES = 64 * 1024
# after a refused message, its last bytes may run into the next header on one line
_CONTENT_LENGTH = re.compile(rb".*?Content-Length: *(\d+)\r?\n", re.IGNORECASE | re.DOTALL)


@dataclass
class _Unreadable:
    """A request pygls could not turn into its LSP type: answered with an error, never handled."""

    id: int | str
    method: str
    jsonrpc: str = "2.0"


class _NoDeserializationTraceback(logging.Filter):
    """pygls logs a traceback for every request it cannot read; the warning below says it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Unable to deserialize message")


logging.getLogger("pygls.protocol.json_rpc").addFilter(_NoDeserializationTraceback())


class IstioProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcInvalidParams:
            if "id" in data and isinstance(data.get("method"), str) and "error" not in data:
                return _Unreadable(data["id"], data["method"])
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Unreadable):
            log.warning("%s: the parameters do not match the LSP specification", message.method)
            self._send_response(
                message.id,
                error=types.ResponseError(
                    types.ErrorCodes.InvalidParams,
                    f"{message.method}: the parameters do not match the LSP specification",
                ),
            )
            return
        method = getattr(message, "method", None)
        if self._shutdown and method not in (None, types.EXIT) and getattr(message, "id", None) is not None:
            self._send_response(
                message.id,
                error=types.ResponseError(types.ErrorCodes.InvalidRequest, f"{method}: the server is shutting down"),
            )
            return
        super().handle_message(message)


def serve_stdio(server: LanguageServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """pygls' `start_io`, reading messages with `read_messages`."""
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(read_messages(stop, stdin or sys.stdin.buffer, server.thread_pool, server))
    except BrokenPipeError:
        log.error("the connection to the client is lost: shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


async def read_messages(
    stop: threading.Event, stdin: BinaryIO, executor: ThreadPoolExecutor, server: LanguageServer
) -> None:
    """Read framed messages and hand each to the protocol; a message too large is skipped unread
    (its bytes are read as header lines of bounded length, until the next `Content-Length`)."""
    loop = asyncio.get_running_loop()
    length: int | None = None
    while not stop.is_set():
        header = await loop.run_in_executor(executor, stdin.readline, _MAX_HEADER_BYTES)
        if not header:
            break
        if (match := _CONTENT_LENGTH.fullmatch(header)) is not None:
            length = int(match.group(1))
            continue
        if header.strip() or length is None:
            continue  # another header, or bytes between messages
        if length > MAX_MESSAGE_BYTES:
            _refuse(server, length)
            length = None
            continue
        body = await loop.run_in_executor(executor, stdin.read, length)
        length = None
        if not body:
            break
        try:
            message = json.loads(body, object_hook=server.protocol.structure_message)
        except (ValueError, JsonRpcInvalidParams) as error:  # no id to answer to: say it in the log
            log.error("a message that is not a JSON-RPC message was ignored: %s", error)
            continue
        try:
            server.protocol.handle_message(message)
        except Exception as error:
            server.report_server_error(error, JsonRpcException)


def _refuse(server: LanguageServer, length: int) -> None:
    text = (
        f"istio-lsp: a message of {length:,} bytes was refused unread (the limit is {MAX_MESSAGE_BYTES:,}); "
        "a request in it goes unanswered"
    )
    log.error("%s", text)
    server.window_show_message(types.ShowMessageParams(types.MessageType.Error, text))
