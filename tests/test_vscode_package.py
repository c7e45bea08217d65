"""The VS Code extension's platform package (issue 15): built from a clean copy with its one documented
command, it holds the compiled libraries (google-re2 above all) for every Python it claims, and the server
it bundles, started the way the extension starts it, finds exactly what `istio-lsp check` finds. Without
google-re2 it says so and still analyses.

The package tests are slow (npm ci, the wheels from the package index, vsce: three to four minutes);
deselect them with `-m "not slow"`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "vscode-extension"
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
TARGET = {"x86_64": "linux-x64", "aarch64": "linux-arm64"}.get(platform.machine(), "")
# RE2 rejects lookahead; Python's `re` accepts it: only a bundle with google-re2 reports it.
LOOKAHEAD_ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [ratings]
  http:
  - match:
    - uri: {regex: "/api/(?=v1).*"}
    route:
    - destination: {host: ratings}
"""
ROUTE_SCRIPT = """\
const { resolveRoute } = require(process.argv[1]);
resolveRoute({ serverPath: '', serverArgs: ['serve'], interpreter: [], importStrategy: 'fromEnvironment',
  launcher: process.argv[2], platform: process.platform, env: process.env, cwd: process.argv[3] })
  .then((route) => console.log(JSON.stringify(route)));
"""


def _run(command: list[str], cwd: Path, timeout: float = 900, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ISTIO_LSP_CACHE_DIR": "", **env}
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def _pyenv_python(version: str) -> Path | None:
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(versions.glob(f"{version}.*/bin/python")) if versions.is_dir() else []
    return found[-1] if found else None


def _pythons() -> list[Any]:
    return [
        pytest.param(v, marks=pytest.mark.skipif(_pyenv_python(v) is None, reason=f"no Python {v} here"))
        for v in PYTHONS
    ]


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository as a fresh clone has it, minus what the build makes (node_modules, bundles, packages)."""
    if not TARGET or sys.platform != "linux":
        pytest.skip("builds the linux-x64 or linux-arm64 package")
    if shutil.which("npm") is None:
        pytest.skip("npm is needed to build the extension")
    repo = tmp_path_factory.mktemp("clone") / "istio-lsp"
    repo.mkdir()
    for name in ("pyproject.toml", "LICENSE"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "istio_lsp", repo / "istio_lsp", ignore=shutil.ignore_patterns("__pycache__"))
    generated = shutil.ignore_patterns("node_modules", "dist", "out", "build", "*.vsix", "__pycache__")
    shutil.copytree(EXTENSION, repo / "vscode-extension", ignore=generated)
    shutil.rmtree(repo / "vscode-extension" / "bundled" / "libs", ignore_errors=True)
    return repo


@pytest.fixture(scope="module")
def unpacked(clean_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documented build (`npm ci && npm run package`, for this machine's platform), unpacked."""
    extension = clean_copy / "vscode-extension"
    for command in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "package", "--", "--target", TARGET]):
        result = _run(command, extension)
        assert result.returncode == 0, f"{command}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    vsix = extension / f"istio-lsp-{TARGET}-{_version()}.vsix"
    assert vsix.is_file(), sorted(p.name for p in extension.iterdir())
    out = tmp_path_factory.mktemp("vsix")
    with zipfile.ZipFile(vsix) as archive:
        archive.extractall(out)
        manifest = archive.read("extension.vsixmanifest").decode()
    assert f'TargetPlatform="{TARGET}"' in manifest
    return out / "extension"


def _version() -> str:
    return str(json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))["version"])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's examples, plus a route whose regex only RE2 rejects."""
    root = tmp_path_factory.mktemp("workspace") / "examples"
    shutil.copytree(ROOT / "examples", root)
    (root / "broken" / "regex").mkdir()
    (root / "broken" / "regex" / "ratings.yaml").write_text(LOOKAHEAD_ROUTE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def cli_findings(workspace: Path) -> list[dict[str, Any]]:
    result = _run([sys.executable, "-m", "istio_lsp", "check", "--format", "json", str(workspace)], ROOT)
    assert result.returncode == 1, result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["diagnostics"]
    assert any(f["code"] == "invalid-regex" and "(?=v1)" in f["message"] for f in findings)
    return findings


@pytest.fixture(scope="module")
def cli_test_findings(workspace: Path) -> list[dict[str, Any]]:
    """What `istio-lsp test` reports of the routing test files among the examples: the editor runs them too."""
    result = _run([sys.executable, "-m", "istio_lsp", "test", "--format", "json", str(workspace)], ROOT)
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["diagnostics"]
    return findings


def _route(extension: Path, clean_copy: Path, python: Path, tmp_path: Path) -> list[str]:
    """The command the extension starts the server with, decided by its own src/route.ts: no settings, no
    Python extension, `python3` on PATH is `python`."""
    bundle = tmp_path / "route.js"
    esbuild = clean_copy / "vscode-extension" / "node_modules" / ".bin" / "esbuild"
    source = clean_copy / "vscode-extension" / "src" / "route.ts"
    built = _run(
        [str(esbuild), str(source), "--bundle", "--platform=node", "--format=cjs", f"--outfile={bundle}"], tmp_path
    )
    assert built.returncode == 0, built.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    launcher = extension / "bundled" / "launch.py"
    result = _run(["node", "-e", ROUTE_SCRIPT, str(bundle), str(launcher), str(tmp_path)], tmp_path, PATH=path)
    route = json.loads(result.stdout)
    assert route["kind"] == "bundled", route
    assert route["args"] == ["-I", str(launcher), "serve"]
    return [route["command"], *route["args"]]


def _check_json(command: list[str], workspace: Path) -> tuple[list[dict[str, Any]], str]:
    result = _run([*command[:-1], "check", "--format", "json", str(workspace)], ROOT)
    assert result.returncode == 1, result.stderr[-3000:]
    return json.loads(result.stdout)["diagnostics"], result.stderr


@pytest.mark.slow
def test_the_package_holds_compiled_libraries_for_every_python_it_claims(unpacked: Path) -> None:
    libs = unpacked / "bundled" / "libs"
    listing = (libs / "BUNDLED.txt").read_text(encoding="utf-8").splitlines()
    assert f"target: {TARGET}" in listing
    assert f"pythons: {' '.join(PYTHONS)}" in listing
    machine = platform.machine()
    for version in PYTHONS:
        tag = f"cpython-{version.replace('.', '')}-{machine}-linux-gnu.so"
        assert (libs / "re2" / f"_re2.{tag}").is_file(), version
        assert list(libs.glob(f"pydantic_core/_pydantic_core.{tag}")), version
        assert (libs / "yaml" / f"_yaml.{tag}").is_file(), version
    for name in ("google-re2", "pydantic-core", "pyyaml"):
        assert f"native: {name} {' '.join(PYTHONS)}" in listing
    # the configuration file's schema, where package.json's yamlValidation points the YAML extension
    manifest = json.loads((unpacked / "package.json").read_text(encoding="utf-8"))
    for entry in manifest["contributes"]["yamlValidation"]:
        assert (unpacked / entry["url"]).is_file(), entry["url"]
    # every bundled distribution keeps its license
    for info in libs.glob("*.dist-info"):
        assert any("licen" in p.name.lower() for p in info.rglob("*")), info.name


@pytest.mark.slow
@pytest.mark.parametrize("version", _pythons())
def test_the_bundled_server_finds_what_the_cli_finds(
    version: str,
    unpacked: Path,
    clean_copy: Path,
    workspace: Path,
    cli_findings: list[dict[str, Any]],
    cli_test_findings: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    python = _pyenv_python(version)
    assert python is not None
    command = _route(unpacked, clean_copy, python, tmp_path)
    # the compiled modules load from the package, whatever that Python has installed
    libs = unpacked / "bundled" / "libs"
    where = _run(
        [
            command[0],
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import re2, pydantic_core, yaml; "
            "print(re2.__file__, pydantic_core.__file__, yaml.__with_libyaml__)",
            str(libs),
        ],
        tmp_path,
    )
    re2_file, core_file, with_libyaml = where.stdout.split()
    assert re2_file.startswith(str(libs)) and core_file.startswith(str(libs)), where.stdout + where.stderr
    assert with_libyaml == "True"
    findings, stderr = _check_json(command, workspace)
    assert findings == cli_findings
    assert "google-re2" not in stderr
    # and as the language server the extension talks to: the same diagnostics (those of `check` and, as the
    # editor also runs the routing test files, of `istio-lsp test`), no warning
    messages = _lsp_session(command, workspace)
    assert _published(messages) == _as_published(cli_findings + cli_test_findings)
    assert not [m for m in messages if m.get("method") == "window/logMessage" and m["params"]["type"] <= 2]
    statuses = [m["params"] for m in messages if m.get("method") == "istioLsp/status"]
    assert "notice" not in statuses[-1]


SEVERITIES = {1: "error", 2: "warning", 3: "information", 4: "hint"}


def _as_published(findings: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (
            str((ROOT / f["file"]).resolve()),
            f["range"]["start"]["line"],
            f["range"]["start"]["character"],
            f["range"]["end"]["line"],
            f["range"]["end"]["character"],
            f["severity"],
            f["code"],
            f["message"],
        )
        for f in findings
    }


def _published(messages: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """The last diagnostics published for each file, as `_as_published` tells a CLI finding."""
    last: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        if message.get("method") == "textDocument/publishDiagnostics":
            last[message["params"]["uri"]] = message["params"]["diagnostics"]
    return {
        (
            str(Path(unquote(urlparse(uri).path)).resolve()),
            d["range"]["start"]["line"],
            d["range"]["start"]["character"],
            d["range"]["end"]["line"],
            d["range"]["end"]["character"],
            SEVERITIES[d.get("severity", 1)],
            d.get("code"),
            d["message"],
        )
        for uri, diagnostics in last.items()
        for d in diagnostics
    }


@pytest.mark.slow
def test_without_google_re2_the_server_says_so_and_still_analyses(
    unpacked: Path, clean_copy: Path, workspace: Path, cli_findings: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A Python the package has no google-re2 build for (as on the universal package)."""
    extension = tmp_path / "extension"
    shutil.copytree(unpacked / "bundled", extension / "bundled")
    running = f"{sys.version_info[0]}{sys.version_info[1]}"
    for built in (extension / "bundled" / "libs" / "re2").glob(f"_re2.cpython-{running}-*"):
        built.unlink()
    command = _route(extension, clean_copy, Path(sys.executable), tmp_path)
    findings, stderr = _check_json(command, workspace)
    assert "google-re2 is not available" in stderr and "invalid-regex is not reported" in stderr
    assert findings == [f for f in cli_findings if f["code"] != "invalid-regex"]
    # the language server: a warning in the output (window/logMessage) and a notice in the status
    messages = _lsp_session(command, workspace.parent)
    warnings = [m for m in messages if m.get("method") == "window/logMessage" and m["params"]["type"] == 2]
    assert [m for m in warnings if "google-re2 is not available" in m["params"]["message"]], messages[:5]
    statuses = [m["params"] for m in messages if m.get("method") == "istioLsp/status"]
    assert statuses and "invalid-regex is not reported" in statuses[-1]["notice"]
    assert statuses[-1]["findings"] > 0  # it analysed all the same


def _lsp_session(command: list[str], root: Path) -> list[dict[str, Any]]:
    """Initialize, wait for the status `ready`, shut down: every message the server sent."""
    proc = subprocess.Popen(
        command,
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ISTIO_LSP_CACHE_DIR": ""},
    )
    assert proc.stdin is not None and proc.stdout is not None

    def send(message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    def receive() -> dict[str, Any]:
        length = 0
        while (line := proc.stdout.readline().strip()) != b"":  # type: ignore[union-attr]
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        message: dict[str, Any] = json.loads(proc.stdout.read(length))  # type: ignore[union-attr]
        return message

    received: list[dict[str, Any]] = []
    watchdog = threading.Timer(180, proc.kill)  # a server that never gets ready ends the read with an error
    watchdog.start()
    try:
        options = {"statusNotifications": True}
        send(
            {
                "id": 1,
                "method": "initialize",
                "params": {
                    "processId": None,
                    "rootUri": root.as_uri(),
                    "capabilities": {},
                    "initializationOptions": options,
                },
            }
        )
        send({"method": "initialized", "params": {}})
        while True:
            message = receive()
            received.append(message)
            if "id" in message and "method" in message:  # a request to the client: answer it plainly
                send({"id": message["id"], "result": None})
            if message.get("method") == "istioLsp/status" and message["params"]["state"] == "ready":
                break
        send({"id": 2, "method": "shutdown"})
        send({"method": "exit"})
        proc.wait(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return received


def test_the_cli_says_when_it_runs_without_google_re2(workspace: Path, tmp_path: Path) -> None:
    """The same note from `istio-lsp check` where google-re2 cannot be imported; the rest is checked."""
    code = (
        "import sys; sys.modules['re2'] = None; from istio_lsp.cli import main; "
        "sys.exit(main(['check', '--format', 'json', sys.argv[1]]))"
    )
    result = _run([sys.executable, "-c", code, str(workspace)], ROOT)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("google-re2 is not available for Python") == 1, result.stderr
    codes = {f["code"] for f in json.loads(result.stdout)["diagnostics"]}
    assert "invalid-regex" not in codes and "subset-not-found" in codes
