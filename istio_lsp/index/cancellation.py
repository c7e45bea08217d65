"""Cooperative cancellation of an analysis running off the server's event loop.

A thread cannot be stopped from outside, so the analysis looks at its token between units of
work (a `---` document, one check on one resource) and gives up there once the token is set:
the editor sent a newer text, and finishing would only burn the core the next run needs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_TOKEN: ContextVar[threading.Event | None] = ContextVar("istio_lsp_cancel_token", default=None)


class Cancelled(BaseException):
    """The analysis was stopped: its result is not wanted. A BaseException, like asyncio's own
    CancelledError, so the `except Exception` guards that keep one bad check from hiding the
    others do not swallow it."""


def checkpoint() -> None:
    """Stop here if the analysis running in this context was cancelled; a no-op outside one."""
    token = _TOKEN.get()
    if token is not None and token.is_set():
        raise Cancelled


@contextmanager
def cancellable(token: threading.Event) -> Iterator[None]:
    """Run the body so that `checkpoint()` inside it raises `Cancelled` once `token` is set."""
    reset = _TOKEN.set(token)
    try:
        yield
    finally:
        _TOKEN.reset(reset)
