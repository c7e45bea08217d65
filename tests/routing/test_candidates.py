"""The trace finds the VirtualServices for a host through their host readings' first labels (`_candidates`)
instead of reading every VirtualService: the same traces as the full scan, on real workspaces, for the
request each VirtualService's lens starts from and for its hosts' other readings."""

from __future__ import annotations

from pathlib import Path

import pytest

from istio_lsp.features.code_lens import trace_argument
from istio_lsp.features.routing import trace_request
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.discovery import discover, summarize_path
from istio_lsp.index.summary import uri_path
from istio_lsp.model.resources import VirtualService
from istio_lsp.routing import engine, trace
from istio_lsp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WORKSPACES = [ROOT / "examples" / "broken", ROOT / "examples" / "fixed", ROOT / "tests" / "fixtures" / "bookinfo"]


def full_scan(self: engine.Tracer, hosts: list[str]) -> list[VirtualService]:
    return [vs for vs in self.index.resources() if isinstance(vs, VirtualService) and vs.hosts]


@pytest.mark.parametrize("root", WORKSPACES, ids=lambda p: p.name)
def test_the_candidates_give_the_traces_of_the_full_scan(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = WorkspaceIndex(Settings())
    for path in discover(root):
        index.update(summarize_path(path, Settings()))

    def read(uri: str) -> str | None:
        return Path(uri_path(uri)).read_text(encoding="utf-8")

    arguments = []
    for vs in index.resources():
        if isinstance(vs, VirtualService) and vs.hosts:
            argument = trace_argument(vs)
            assert argument is not None
            for host in [h.value for h in vs.hosts] + ["nowhere.example.org"]:
                concrete = "www" + host[1:] if host.startswith("*.") else host
                arguments.append({**argument, "url": f"http://{concrete}/"})
    assert len(arguments) > 5
    fast = [trace(index, read, *trace_request(a)).to_json() for a in arguments]
    monkeypatch.setattr(engine.Tracer, "_candidates", full_scan)
    index.memo.clear()
    assert [trace(index, read, *trace_request(a)).to_json() for a in arguments] == fast
