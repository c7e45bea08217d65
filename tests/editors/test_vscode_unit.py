"""The VS Code extension's own tests (`npm test` in vscode-extension/), run from pytest.

They resolve the server route against the real Pythons on the machine, build the bundled server
libraries and hold real LSP sessions with them; see vscode-extension/test/. No editor is involved.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.editors.conftest import unavailable

EXTENSION = Path(__file__).resolve().parents[2] / "vscode-extension"
TIMEOUT = 900

pytestmark = pytest.mark.editor


def _needs_install() -> bool:
    installed = EXTENSION / "node_modules" / ".package-lock.json"
    lock = EXTENSION / "package-lock.json"
    return not installed.exists() or lock.stat().st_mtime > installed.stat().st_mtime


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=EXTENSION, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    )


def test_extension_unit_and_server_session_tests() -> None:
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm is needed for the extension's tests")
    if _needs_install():
        installed = _run(npm, "ci", "--no-audit", "--no-fund")
        assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]
    result = _run(npm, "test")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "# fail 0" in output, output[-8000:]  # node --test's summary: every test ran and passed
