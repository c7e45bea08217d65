"""The project's benchmark: cold and warm starts, keystroke latency and memory, with references.

    python -m benchmarks.run                      # 1,000 and 5,000 services, prints a Markdown table
    python -m benchmarks.run --services 1000 --edits 50
    python -m benchmarks.run --write benchmarks/RESULTS.md

Everything runs against the real command and the real server process over stdio.
Workspaces are generated deterministically (benchmarks/generate.py) into --workdir.
The table ends with the share of CPU time the hypervisor gave to other guests (steal)
during each column and during the keystrokes: read the other figures in its light.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from benchmarks.generate import NAMESPACES, big_file, generate

BIN = Path(sys.executable).parent


@dataclass
class Row:
    services: int
    size_mb: float
    lines: int
    figures: dict[str, str] = field(default_factory=dict)


def workspace(workdir: Path, services: int) -> Path:
    root = workdir / f"services-{services}"
    marker = root / ".complete"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        generate(root, services)
        marker.write_text("ok")
    return root


def files_of(root: Path) -> list[Path]:
    return sorted(root.rglob("*.yaml"))


def reference_pyyaml(files: list[Path]) -> float:
    texts = [f.read_text(encoding="utf-8") for f in files]
    started = time.perf_counter()
    for text in texts:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    return time.perf_counter() - started


def reference_json(files: list[Path]) -> float:
    blobs = [json.dumps(list(yaml.load_all(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))) for f in files]
    started = time.perf_counter()
    for blob in blobs:
        json.loads(blob)
    return time.perf_counter() - started


def suggestion_ms(files: list[Path]) -> tuple[float, float]:
    """(median, worst) ms of a "did you mean" for one unresolved host, among the workspace's Service
    hosts, as destination-host-not-found asks it: a typo in the name, in the namespace, in the
    domain, and a host with no close match. Each is asked once unmeasured first: the list is
    prepared once per run, whatever the number of unresolved hosts."""
    from istio_lsp.checks.base import close_matches

    hosts = []
    for path in files:
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if isinstance(doc, dict) and doc.get("kind") == "Service":
                meta = doc.get("metadata") or {}
                hosts.append(f"{meta.get('name')}.{meta.get('namespace')}.svc.cluster.local")
    name, namespace = hosts[len(hosts) // 2].split(".")[:2]
    asked = [
        f"{name[:-2]}{name[-1]}{name[-2]}.{namespace}.svc.cluster.local",  # two letters swapped
        f"{name}.{namespace}x.svc.cluster.local",
        f"{name}.{namespace}.svc.cluster.locla",
        "inventory.warehouse.svc.cluster.local",
    ]
    close_matches(asked[0], hosts)
    times = []
    for word in asked:
        started = time.perf_counter()
        for _ in range(20):
            close_matches(word, hosts)
        times.append((time.perf_counter() - started) / 20 * 1000)
    return statistics.median(times), max(times)


def run_istio_lsp(cache: Path, *args: str) -> float:
    """Seconds of one `istio-lsp` command (JSON output, discarded) with its cache in `cache`."""
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "istio-lsp"), *args, "--format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    )
    return time.perf_counter() - started


def run_check(root: Path, cache: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of `istio-lsp check` on the workspace."""
    elapsed = run_istio_lsp(cache, "check", str(root))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak


def routing_tests(services: int, cases: int = 100) -> str:
    """A routing test file of `cases` mesh requests between the generated services (where each goes is
    not judged: only how long tracing them takes)."""
    lines = ["apiVersion: istio-lsp.dev/v1", "kind: RoutingTest", "cases:"]
    for n in range(cases):
        i = n % services
        j = (i + NAMESPACES) % services  # a service of the same namespace
        lines += [
            f"- name: svc-{i:05d} calls svc-{j:05d}",
            f"  from: team-{i % NAMESPACES:02d}/svc-{i:05d}-v1",
            f"  request: {{url: 'http://svc-{j:05d}.team-{j % NAMESPACES:02d}:8080/api/items'}}",
            "  expectNot: {status: unknown}",
        ]
    return "\n".join(lines) + "\n"


def run_tests(root: Path, cache: Path, services: int) -> float:
    """Seconds of `istio-lsp test` with 100 routing test cases over the workspace (its cache warm)."""
    with tempfile.TemporaryDirectory() as folder:
        tests = Path(folder) / "routing-tests.yaml"
        tests.write_text(routing_tests(services), encoding="utf-8")
        return run_istio_lsp(cache, "test", str(root), str(tests))


def run_check_after_edit(root: Path, cache: Path) -> tuple[float, float]:
    """`istio-lsp check` after a comment was added to one file (then the file is restored)."""
    files = files_of(root)
    # a service's own file; a workspace too small to have one (below BIG_FILE_SERVICES) has the big file alone
    target = next((path for path in files if path.parent.name.startswith("team-")), files[-1])
    original = target.read_bytes()
    try:
        target.write_bytes(original + b"# edited\n")
        return run_check(root, cache)
    finally:
        target.write_bytes(original)


class BenchClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("istio-lsp-bench", "1")
        self.last_publish = 0.0
        self.published: dict[tuple[str, int | None], float] = {}
        self.progress_done = asyncio.Event()
        self.progress_end = 0.0  # when indexing ended: the index is complete (diagnostics may come earlier)
        self.analysis_ms: list[float] = []

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _diagnostics(params: types.PublishDiagnosticsParams) -> None:
            now = time.perf_counter()
            self.last_publish = now
            self.published[(params.uri, params.version)] = now

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.feature(types.PROGRESS)
        def _progress(params: types.ProgressParams) -> None:
            value = params.value
            if isinstance(value, dict) and value.get("kind") == "end":
                self.progress_end = time.perf_counter()
                self.progress_done.set()

        @self.feature("istioLsp/analysisTime")
        def _timing(params: Any) -> None:
            ms = params["ms"] if isinstance(params, dict) else getattr(params, "ms", None)
            if ms is not None:
                self.analysis_ms.append(float(ms))

        @self.feature(types.CLIENT_REGISTER_CAPABILITY)
        def _register(params: types.RegistrationParams) -> None:
            return None

        @self.feature(types.WORKSPACE_CONFIGURATION)
        def _configuration(params: types.ConfigurationParams) -> list[Any]:
            return [None for _ in params.items]


def cpu_ticks() -> tuple[int, int] | None:
    """(stolen, all) CPU ticks of the machine so far, from /proc/stat; None where it cannot be read.

    On a virtual machine the hypervisor may run other guests on our cores ("steal"): a run with
    much steal is slower for reasons outside the program, so every run reports its share.
    """
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (values[7], sum(values)) if len(values) == 8 else None


def stolen_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> str:
    if before is None or after is None or after[1] <= before[1]:
        return "–"
    return f"{100 * (after[0] - before[0]) / (after[1] - before[1]):.1f} %"


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def server_session(root: Path, cache: Path, edits: int) -> dict[str, Any]:
    """Start the server, wait for indexing, then time `edits` keystrokes in the big file."""
    client = BenchClient()
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    await client.start_io(str(BIN / "istio-lsp"), "serve", env=env)
    capabilities = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True))
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.resolve().as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.resolve().as_uri(), name="bench")],
            initialization_options={"reportTiming": True},
        )
    )
    client.initialized(types.InitializedParams())
    await asyncio.wait_for(client.progress_done.wait(), timeout=600)
    await asyncio.sleep(0.2)  # publications sent just before the end of progress
    # a workspace without findings publishes nothing: its diagnostics are "shown" when indexing ends
    shown = client.last_publish or client.progress_end
    result: dict[str, Any] = {"start": shown - started, "ready": client.progress_end - started}
    if edits:
        result.update(await keystrokes(client, root, edits))
    server = client._server
    result["rss"] = _peak_rss_mb(server.pid) if server is not None else float("nan")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return result


async def keystrokes(client: BenchClient, root: Path, edits: int) -> dict[str, Any]:
    path = big_file(root)
    uri = path.resolve().as_uri()
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    line = next(i for i, t in enumerate(lines) if t.strip().startswith("weight:"))
    column = lines[line].index(":") + 2
    old = lines[line][column:]
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text))
    )
    await _wait_published(client, uri, 1)
    client.analysis_ms.clear()
    seen: list[float] = []
    before = cpu_ticks()
    for version in range(2, edits + 2):
        new = str(10 + version % 80)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(line, column), types.Position(line, column + len(old))),
                        text=new,
                    )
                ],
            )
        )
        sent = time.perf_counter()
        await _wait_published(client, uri, version)
        seen.append((client.published[(uri, version)] - sent) * 1000)
        old = new
        await asyncio.sleep(0.1)  # a person types a few keys a second: leave the debounce window
    return {"seen": seen, "computed": list(client.analysis_ms), "stolen": stolen_share(before, cpu_ticks())}


async def _wait_published(client: BenchClient, uri: str, version: int) -> None:
    for _ in range(20_000):
        if (uri, version) in client.published:
            return
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"no diagnostics for version {version}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(services: int, workdir: Path, edits: int) -> Row:
    root = workspace(workdir, services)
    files = files_of(root)
    size = sum(f.stat().st_size for f in files)
    lines = sum(f.read_text(encoding="utf-8").count("\n") for f in files)
    row = Row(services, size / 1e6, lines)
    before = cpu_ticks()
    row.figures["load_all(CSafeLoader)"] = f"{reference_pyyaml(files):.2f} s"
    row.figures["json.loads"] = f"{reference_json(files):.2f} s"
    median, worst = suggestion_ms(files)
    row.figures["did you mean, per unresolved host: median / worst of 4 shapes"] = f"{median:.2f} / {worst:.2f} ms"
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        cold, peak = run_check(root, cache)
        warm, _ = run_check(root, cache)
        edited, _ = run_check_after_edit(root, cache)
        row.figures["check cold"] = f"{cold:.2f} s"
        row.figures["check warm"] = f"{warm:.2f} s"
        row.figures["check warm, one file changed"] = f"{edited:.2f} s"
        row.figures["check peak RSS"] = f"{peak:.0f} MB"
        row.figures["test, 100 routing cases (warm cache)"] = f"{run_tests(root, cache, services):.2f} s"
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        session = asyncio.run(server_session(root, cache, edits))
        warm_session = asyncio.run(server_session(root, cache, 0))
    row.figures["server cold start"] = f"{session['start']:.2f} s"
    row.figures["server warm start"] = f"{warm_session['start']:.2f} s"
    row.figures["server warm start, index complete"] = f"{warm_session['ready']:.2f} s"
    row.figures["server peak RSS"] = f"{session['rss']:.0f} MB"
    if edits:
        computed, seen = session["computed"], session["seen"]
        row.figures["keystroke computed p50/p95/max"] = (
            f"{statistics.median(computed):.1f} / {percentile(computed, 0.95):.1f} / {max(computed):.1f} ms"
        )
        row.figures["keystroke seen p50/p95/max"] = (
            f"{statistics.median(seen):.1f} / {percentile(seen, 0.95):.1f} / {max(seen):.1f} ms"
        )
        row.figures["CPU stolen by the hypervisor, keystrokes"] = session["stolen"]
    row.figures["CPU stolen by the hypervisor, whole column"] = stolen_share(before, cpu_ticks())
    return row


def table(rows: list[Row]) -> str:
    names = list(dict.fromkeys(name for row in rows for name in row.figures))
    names.sort(key=lambda name: name.startswith("CPU stolen"))  # how much to trust the rest: last
    header = "| figure | " + " | ".join(
        f"{r.services:,} services ({r.size_mb:.1f} MB, {r.lines:,} lines)" for r in rows
    )
    out = [header + " |", "|---|" + "---|" * len(rows)]
    for name in names:
        out.append(f"| {name} | " + " | ".join(r.figures.get(name, "–") for r in rows) + " |")
    return "\n".join(out)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, {platform.platform()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--edits", type=int, default=200, help="keystrokes timed in the largest workspace")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "istio-lsp-bench")
    parser.add_argument("--write", type=Path, help="also write the results into this Markdown file")
    args = parser.parse_args()
    rows = []
    for services in args.services:
        edits = args.edits if services == max(args.services) else 0
        rows.append(measure(services, args.workdir, edits))
        print(f"measured {services} services", file=sys.stderr)
    report = f"Machine: {machine()}\n\n{table(rows)}\n"
    print(report)
    if args.write:
        args.write.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
