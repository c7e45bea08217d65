"""Real Emacs + eglot in batch mode, with the README's configuration, against the real server.

The elisp session (tests/editors/emacs/session.el) visits files so that the README's mode hook runs
`eglot-ensure`, then checks Flymake's diagnostics against what `istio-lsp check` reports for the visited
files, eglot's hover (its eldoc function), go to definition through xref (M-.), the "Route to …" quick
fix picked from `eglot-code-actions`' menu, and an edit that clears a finding. Settings go through
`eglot-workspace-configuration`, as the README says.

Emacs, eglot and yaml-mode come from Debian (`emacs-nox elpa-eglot elpa-yaml-mode`), installed when
missing; where that is impossible the test skips, or fails when CI is set.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.conftest import EditorRun, apt_install, expect_pass, prepare_session, run_editor, unavailable

pytestmark = pytest.mark.editor

SESSION = Path(__file__).resolve().parent / "emacs" / "session.el"
PACKAGES = ["emacs-nox", "elpa-eglot", "elpa-yaml-mode"]
TIMEOUT = 45  # kill guard: a passing session takes 2-15 s on a loaded machine; a stuck step fails in WAIT_MS
WAIT_MS = 15000
SETTINGS = {"severity": {"subset-not-found": "warning"}}  # shows in ratings.yaml: proves the settings arrive

# Loads eglot and yaml-mode as the session does and prints the versions.
PROBE = """(progn
  (require 'package)
  (add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
  (package-initialize)
  (require 'eglot)
  (require 'yaml-mode)
  (let ((eglot (cadr (assq 'eglot package-alist))))
    (princ (format "Emacs %s, eglot %s" emacs-version
                   (if eglot (package-version-join (package-desc-version eglot)) "built in")))))"""


def probe(emacs: str) -> tuple[bool, str]:
    try:
        proc = subprocess.run([emacs, "--batch", "-Q", "--eval", PROBE], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "emacs did not answer within 60 s"
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


@pytest.fixture(scope="module")
def emacs() -> str:
    found = shutil.which("emacs")
    if found and probe(found)[0]:
        return found
    problem = apt_install(PACKAGES)
    found = shutil.which("emacs")
    if found is None:
        unavailable(f"no emacs: {problem or 'apt-get installed no emacs'}")
    ok, output = probe(found)
    if not ok:
        unavailable(f"emacs cannot load eglot and yaml-mode ({problem or 'installed'}):\n{output}")
    return found


def run_session(emacs: str, tmp_path: Path, server: list[str] | None = None, wait_ms: int = WAIT_MS) -> EditorRun:
    session = prepare_session(
        tmp_path,
        readme_marker="emacs-eglot",
        config_name="init.el",
        settings=SETTINGS,
        wait_ms=wait_ms,
        server=server,
    )
    argv = [emacs, "--batch", "-Q", "-l", str(SESSION)]
    return run_editor(argv, cwd=session.workspace, env=session.env, timeout=TIMEOUT)


def test_readme_config_drives_the_server(emacs: str, tmp_path: Path) -> None:
    print(probe(emacs)[1])
    run = run_session(emacs, tmp_path)
    expect_pass(
        run,
        [
            "DIAG hello-world/routes.yaml:23:destination-host-is-virtualservice:error",
            "DIAG bookstore/ratings.yaml:81:subset-not-found:warning",
            "DEFINITION hello-world/routes.yaml:28 -> hello-world/workloads.yaml:4",
            "DEFINITION bookstore/ratings.yaml:85 -> bookstore/ratings.yaml:65",
            "FIXED hello-world/routes.yaml:23 host: deployment-1-svc.hello-world-app.svc.cluster.local",
            "EDITED bookstore/ratings.yaml:81 stabel -> stable",
            "PASS",
        ],
    )
    lines = run.stdout.splitlines()
    assert any(line.startswith("CLIENT (yaml-mode yaml-ts-mode) root=") for line in lines)  # the session checks it
    hover = next(line for line in lines if line.startswith("HOVER "))
    assert "Only a VirtualService host" in hover and "hello-world-app/deployment-1-vs" in hover
    actions = next(line for line in lines if line.startswith("ACTIONS "))
    assert "Route to `deployment-1-svc.hello-world-app.svc.cluster.local`" in actions


def test_a_silent_server_fails_the_session(emacs: str, tmp_path: Path) -> None:
    """The harness must catch a broken server: a command that reads stdin and never answers."""
    silent = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    run = run_session(emacs, tmp_path, server=silent, wait_ms=2000)
    assert run.returncode == 1, run.report()
    assert any(line.startswith("FAIL: ") for line in run.stdout.splitlines()), run.report()
    assert "PASS" not in run.stdout.splitlines()
