"""The server's warm start: findings of the last run published at once, and never stale.

Each scenario runs the real server twice on one cache directory and compares what the
client ends up showing with a server that has no cache at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from tests.e2e.conftest import uri_of
from tests.e2e.helpers import wait_for

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "broken"
Shown = dict[str, list[tuple[str, int, int, str]]]


class Session:
    def __init__(self, shown: Shown, first_publish_status: dict[str, Any] | None) -> None:
        self.shown = shown
        self.first_publish_status = first_publish_status


@dataclass
class Observed:
    """A running server and what it has sent: the last diagnostics per uri, every status."""

    client: LanguageClient
    diagnostics: dict[str, Sequence[types.Diagnostic]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    status_at_first_publish: list[dict[str, Any] | None] = field(default_factory=list)

    def count(self, code: str) -> int:
        return sum(1 for found in self.diagnostics.values() for d in found if d.code == code)


@contextlib.asynccontextmanager
async def observed_server(root: Path, cache: Path | None) -> AsyncIterator[Observed]:
    """The real server on `root` with the summary cache in `cache` (None: no cache), initialized."""
    seen = Observed(LanguageClient("warm-start-test", "1"))
    client = seen.client

    @client.feature("istioLsp/status")
    def _status(params: Any) -> None:
        seen.statuses.append(params._asdict())  # pygls hands unknown notifications over as named tuples

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _published(params: types.PublishDiagnosticsParams) -> None:
        if not seen.status_at_first_publish:
            seen.status_at_first_publish.append(seen.statuses[-1] if seen.statuses else None)
        seen.diagnostics[params.uri] = params.diagnostics

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params: types.RegistrationParams) -> None:
        return None

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def _configuration(params: types.ConfigurationParams) -> list[Any]:
        return [None for _ in params.items]

    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": "" if cache is None else str(cache)}
    await client.start_io(sys.executable, "-m", "istio_lsp", env=env)
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                workspace_folders=[types.WorkspaceFolder(uri=uri_of(root), name="ws")],
                initialization_options={"statusNotifications": True},
            )
        )
        client.initialized(types.InitializedParams())
        yield seen
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()


async def run_server(root: Path, cache: Path | None, opened: dict[Path, str] | None = None) -> Session:
    """Start a server on `root`, open documents right away, and return what it shows once settled."""
    async with observed_server(root, cache) as seen:
        for path, text in (opened or {}).items():
            seen.client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri=uri_of(path), language_id="yaml", version=1, text=text)
                )
            )
        statuses = seen.statuses
        await wait_for(lambda: bool(statuses) and statuses[-1]["state"] == "ready", timeout=60)
        await asyncio.sleep(0.5)  # publications that follow the opened documents' analysis
        await wait_for(lambda: statuses[-1]["state"] == "ready", timeout=60)
        shown = {
            uri: sorted((str(d.code), d.range.start.line, d.range.start.character, d.message) for d in found)
            for uri, found in seen.diagnostics.items()
            if found
        }
        first = seen.status_at_first_publish
        return Session(shown, first[0] if first else None)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLES, root)
    old = time.time_ns() - 3600 * 1_000_000_000  # written long ago: stats are trusted
    for path in root.rglob("*.yaml"):
        os.utime(path, ns=(old, old))
    return root


async def test_warm_server_publishes_the_snapshot_before_indexing(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    cache = tmp_path / "cache"
    cold = await run_server(root, cache)
    assert sum(len(d) for d in cold.shown.values()) == 10
    assert cold.first_publish_status is not None and cold.first_publish_status["done"] > 0
    warm = await run_server(root, cache)
    assert warm.shown == cold.shown
    # published before a single summary was indexed: straight from the snapshot
    status = warm.first_publish_status
    assert status is not None and (status["state"], status["done"]) == ("indexing", 0)


async def test_warm_server_after_changes_shows_what_a_cold_one_shows(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    cache = tmp_path / "cache"
    (root / "extra").mkdir()
    (root / "extra" / "backend.yaml").write_text(BACKEND)
    (root / "extra" / "route.yaml").write_text(ROUTE)
    first = await run_server(root, cache)
    assert uri_of(root / "extra" / "route.yaml") not in first.shown
    (root / "bookstore" / "productpage.yaml").unlink()  # gateway.yaml routes to it
    (root / "extra" / "backend.yaml").unlink()  # route.yaml, clean so far, routes to it
    routes = root / "hello-world" / "routes.yaml"
    routes.write_text(routes.read_text() + "# edited\n")
    warm = await run_server(root, cache)
    cold = await run_server(root, None)
    assert warm.shown == cold.shown
    assert any("productpage" in d[3] for findings in warm.shown.values() for d in findings)
    assert [d[0] for d in warm.shown[uri_of(root / "extra" / "route.yaml")]] == ["destination-host-not-found"]
    assert warm.first_publish_status is not None and warm.first_publish_status["done"] > 0


async def test_unsaved_text_at_start_is_checked_against_the_snapshot(tmp_path: Path) -> None:
    """A buffer open at start that removes a Service: the files routing to it must show it missing."""
    root = _copy(tmp_path)
    cache = tmp_path / "cache"
    await run_server(root, cache)
    productpage = root / "bookstore" / "productpage.yaml"
    buffer = {productpage: "# emptied, not saved\n"}
    warm = await run_server(root, cache, buffer)
    cold = await run_server(root, None, buffer)
    assert warm.shown == cold.shown
    assert any("productpage" in d[3] for findings in warm.shown.values() for d in findings)


BACKEND = """\
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: extra}
spec:
  selector: {app: backend}
  ports: [{name: http, port: 80}]
"""
ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: route, namespace: extra}
spec:
  hosts: [route]
  http:
  - route:
    - destination: {host: backend}
"""


async def test_settings_changes_back_and_forth_with_a_cache(tmp_path: Path) -> None:
    """Each settings change re-indexes; going back to settings a snapshot exists for must show them again."""
    root = _copy(tmp_path)
    async with observed_server(root, tmp_path / "cache") as seen:
        await wait_for(lambda: seen.count("subset-not-found") == 1, timeout=60)
        for disabled, expected in ((["subset-not-found"], 0), ([], 1), (["subset-not-found"], 0), ([], 1)):
            seen.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"istioLsp": {"disabledRules": disabled}})
            )
            await wait_for(lambda n=expected: seen.count("subset-not-found") == n, timeout=60)  # type: ignore[misc]
            await wait_for(lambda: seen.statuses[-1]["state"] == "ready", timeout=60)
            assert seen.count("subset-matches-no-workload") == 2  # the other findings stay
