"""An analysis off the server's loop stops at its next checkpoint once its token is set (issue 16,
item 10): a keystroke in a huge file must not leave the core busy with a text already replaced."""

from __future__ import annotations

import threading
import time

import pytest

from istio_lsp.checks import analyze_text
from istio_lsp.index.cancellation import Cancelled, cancellable, checkpoint
from istio_lsp.settings import Settings


def _routes(count: int) -> str:
    head = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big, namespace: shop}\n"
    routes = "".join(
        f"  - match: [{{uri: {{prefix: /p{i}}}}}]\n    route: [{{destination: {{host: reviews}}}}]\n"
        for i in range(count)
    )
    return f"{head}spec:\n  hosts: [reviews]\n  http:\n{routes}"


def test_checkpoint_is_a_no_op_outside_a_cancellable_run() -> None:
    checkpoint()  # nothing to stop: no error


def test_a_cancelled_token_stops_the_analysis_before_it_starts() -> None:
    token = threading.Event()
    token.set()
    with cancellable(token), pytest.raises(Cancelled):
        analyze_text("file:///w/a.yaml", _routes(3), Settings())


def test_a_token_set_midway_stops_a_long_analysis() -> None:
    text = _routes(4_000)
    token = threading.Event()
    threading.Timer(0.2, token.set).start()
    started = time.perf_counter()
    with cancellable(token), pytest.raises(Cancelled):
        analyze_text("file:///w/big.yaml", text, Settings())
    stopped = time.perf_counter() - started
    # the whole analysis, for comparison: stopping midway must have saved most of it
    started = time.perf_counter()
    summary = analyze_text("file:///w/big.yaml", text, Settings())
    whole = time.perf_counter() - started
    assert summary.local_findings  # the same text, not cancelled, is analysed fully
    assert stopped < whole, (stopped, whole)


def test_cancellation_is_not_swallowed_by_the_guards_around_each_check() -> None:
    # the guards catch Exception so one broken check cannot hide the others' findings
    assert not issubclass(Cancelled, Exception)
