"""Shared helpers for tests that drive a real editor against the real server.

An editor test copies an example workspace into tmp_path, puts an `istio-lsp` command on PATH that runs
this checkout's server with this interpreter (the name the README's configurations use), runs the editor
headless as a child process with a deadline, and checks the markers its script printed. The editor
configuration under test is read from README.md, so the README cannot drift from what is tested.

Missing editors are installed when possible; when not, the test skips locally and fails on CI (env CI).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
EXAMPLES = REPO / "examples"

# The checker's severities, by LSP number (1 = error); the editor scripts print these names.
SEVERITIES = ("error", "warning", "information", "hint")


def unavailable(reason: str) -> NoReturn:
    """A tool that cannot be had: skip locally, fail on CI (which must prove the editors)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


def readme_block(marker: str, readme: Path = README) -> str:
    """The fenced code block that follows `<!-- tested: MARKER -->` in the README."""
    pattern = re.compile(rf"<!-- tested: {re.escape(marker)} -->[ \t]*\n```[\w-]*\n(.*?)\n```", re.DOTALL)
    blocks = pattern.findall(readme.read_text(encoding="utf-8"))
    if len(blocks) != 1:
        pytest.fail(f"README.md must hold exactly one block marked `<!-- tested: {marker} -->`, found {len(blocks)}")
    return str(blocks[0]) + "\n"


@dataclass(frozen=True, order=True)
class Finding:
    """One diagnostic as editor scripts print it: path relative to the workspace, 1-based line."""

    path: str
    line: int
    code: str
    severity: str

    def key(self) -> str:
        return f"{self.path}:{self.line}:{self.code}:{self.severity}"


def copy_example(name: str, dest: Path) -> Path:
    """A private copy of examples/NAME that is a Git repository, so editors find its root as users' do."""
    shutil.copytree(EXAMPLES / name, dest)
    git = shutil.which("git")
    if git is None or subprocess.run([git, "init", "-q", str(dest)], capture_output=True).returncode != 0:
        (dest / ".git").mkdir()  # root markers only look for the name
    return dest


def checker_findings(workspace: Path, settings: Mapping[str, object] | None = None) -> list[Finding]:
    """What `istio-lsp check` reports for the workspace: the editor must show exactly this."""
    command = [sys.executable, "-m", "istio_lsp", "check", "--format", "json"]
    if settings:
        config = workspace.parent / f"{workspace.name}-settings.json"
        config.write_text(json.dumps(settings), encoding="utf-8")
        command += ["--config", str(config)]
    proc = subprocess.run(
        [*command, "."],
        cwd=workspace,
        env={**os.environ, "ISTIO_LSP_CACHE_DIR": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return sorted(
        Finding(
            Path(d["file"]).as_posix(),
            d["range"]["start"]["line"] + 1,
            str(d["code"]),
            str(d["severity"]),
        )
        for d in json.loads(proc.stdout)["diagnostics"]
    )


def server_command(bin_dir: Path, argv: Sequence[str] | None = None) -> Path:
    """Write BIN_DIR/istio-lsp running this checkout's server with this interpreter (or ARGV, to break it)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = list(argv) if argv is not None else [sys.executable, "-m", "istio_lsp"]
    script = bin_dir / "istio-lsp"
    script.write_text(f'#!/bin/sh\nexec {shlex.join(target)} "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return script


def editor_env(home: Path, bin_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The editor's environment: the server command first on PATH, no summary cache, a throwaway home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NVIM", "VIM", "EMACS"))}
    for name in ("config", "data", "state", "cache"):
        (home / name).mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name.upper()}_HOME"] = str(home / name)
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(bin_dir), env.get("PATH", os.defpath)]),
        ISTIO_LSP_CACHE_DIR="",  # each server starts from the files alone (the cache has its own tests)
        TERM="dumb",
    )
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Session:
    """What an editor script gets: a workspace, the README config under test, and the checker's findings."""

    workspace: Path
    config: Path
    expected: list[Finding]
    env: dict[str, str]


def prepare_session(
    tmp_path: Path,
    *,
    readme_marker: str,
    config_name: str,
    settings: Mapping[str, object] | None = None,
    wait_ms: int = 15000,
    server: Sequence[str] | None = None,
) -> Session:
    """Copy examples/broken, write the README block to CONFIG_NAME and the ISTIO_TEST_* variables the scripts read.

    SERVER replaces the command behind `istio-lsp` (to check that a broken server fails the test).
    """
    workspace = copy_example("broken", tmp_path / "ws")
    expected = checker_findings(workspace, settings)
    config = tmp_path / config_name
    config.write_text(readme_block(readme_marker), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    server_command(bin_dir, server)
    env = editor_env(
        tmp_path / "home",
        bin_dir,
        {
            "ISTIO_TEST_CONFIG": str(config),
            "ISTIO_TEST_SETTINGS": json.dumps(settings) if settings else "",
            "ISTIO_TEST_EXPECT": json.dumps([f.key() for f in expected]),
            "ISTIO_TEST_WAIT_MS": str(wait_ms),
        },
    )
    return Session(workspace, config, expected, env)


@dataclass
class EditorRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def report(self, logs: Iterable[Path] = ()) -> str:
        parts = [
            f"$ {shlex.join(self.argv)}",
            f"exit status {self.returncode} after {self.seconds:.1f} s",
            "--- stdout ---",
            self.stdout,
            "--- stderr ---",
            self.stderr,
        ]
        for log in logs:
            if log.is_file():
                text = log.read_text(encoding="utf-8", errors="replace")
                parts += [f"--- {log} (last 4000 characters) ---", text[-4000:]]
        return "\n".join(parts)


def run_editor(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float) -> EditorRun:
    """Run the editor in its own process group; past the deadline the whole group (server too) is killed."""
    started = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        run = EditorRun(list(argv), -9, stdout, stderr, time.monotonic() - started)
        pytest.fail(f"the editor did not finish within {timeout} s\n{run.report()}")
    finally:
        with contextlib.suppress(ProcessLookupError):  # a server the editor left behind
            os.killpg(proc.pid, signal.SIGKILL)
    return EditorRun(list(argv), proc.returncode, stdout, stderr, time.monotonic() - started)


def expect_pass(run: EditorRun, markers: Iterable[str], logs: Iterable[Path] = ()) -> None:
    """The script exited 0 and printed every marker as a line of its own."""
    lines = set(run.stdout.splitlines())
    missing = [m for m in markers if m not in lines]
    if run.returncode != 0 or missing:
        why = f"exit status {run.returncode}" if run.returncode != 0 else f"missing lines {missing}"
        pytest.fail(f"editor run failed: {why}\n{run.report(logs)}")


def pip_install(requirement: str) -> str | None:
    """Install into the test interpreter's environment; None on success, else the reason."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", requirement],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return f"pip install {requirement} timed out"
    return None if proc.returncode == 0 else f"pip install {requirement} failed:\n{proc.stderr[-2000:]}"


def apt_install(packages: Sequence[str]) -> str | None:
    """Install Debian packages (root only); None on success, else the reason."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "installing Debian packages needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", *packages]
    try:
        proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:  # stale package lists are the usual cause: refresh once
            subprocess.run([apt, "update", "-q"], capture_output=True, env=env, timeout=600)
            proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    except subprocess.TimeoutExpired:
        return f"apt-get install {' '.join(packages)} timed out"
    return None if proc.returncode == 0 else f"apt-get install {' '.join(packages)} failed:\n{proc.stderr[-2000:]}"
