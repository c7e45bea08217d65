"""istio-lsp as users install it (issue 15): the wheel and the sdist, the pre-commit hook, the GitHub Action.

These build and install for real: a wheel into a fresh virtualenv (its dependencies from the package
index), the hook through pre-commit in a throwaway git repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BROKEN_ROUTE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v9}
"""


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ISTIO_LSP_CACHE_DIR": "", **env}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the test extra installs `build`")
    out = tmp_path_factory.mktemp("dist")
    # from a copy of the sources: building writes into the tree (egg-info, build/)
    source = tmp_path_factory.mktemp("src") / "istio-lsp"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "*.egg-info", "build", "dist", ".*cache*"),
    )
    result = _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=source)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_the_wheel_holds_what_the_server_reads(dist: Path) -> None:
    (wheel,) = dist.glob("istio_lsp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    pages = [n for n in names if n.startswith("istio_lsp/docs/rules/") and n.endswith(".md")]
    from istio_lsp.checks import RULES

    assert len(pages) == len(RULES) + 1  # a page per rule, and the index
    assert "istio_lsp/schemas/index.json" in names
    assert sum(n.startswith("istio_lsp/schemas/networking.istio.io/") for n in names) > 10
    assert "istio_lsp/py.typed" in names
    (sdist,) = dist.glob("istio_lsp-*.tar.gz")
    assert sdist.stat().st_size > 100_000


def test_the_wheel_installs_and_checks_in_a_fresh_virtualenv(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("istio_lsp-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path)
    assert install.returncode == 0, install.stderr[-3000:]
    command = env_dir / ("Scripts/istio-lsp.exe" if os.name == "nt" else "bin/istio-lsp")
    broken = _run([str(command), "check", "--format", "json", str(ROOT / "examples" / "broken")], cwd=ROOT)
    assert broken.returncode == 1, broken.stderr
    editable = _run([sys.executable, "-m", "istio_lsp", "check", "--format", "json", "examples/broken"], cwd=ROOT)
    assert broken.stdout == editable.stdout  # the installed wheel finds what the checkout finds
    fixed = _run([str(command), "check", str(ROOT / "examples" / "fixed")], cwd=ROOT)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    # the rule pages ship: every diagnostic links to one that exists
    pages = _run(
        [str(python), "-c", "from istio_lsp.checks import RULES; print(all(r.doc_path.is_file() for r in RULES))"],
        cwd=tmp_path,
    )
    assert pages.stdout.strip() == "True"


def test_the_pre_commit_hook_checks_a_repository(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists():
        pytest.skip("the test extra installs pre-commit")
    repo = tmp_path / "manifests"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "routes.yaml").write_text(BROKEN_ROUTE, encoding="utf-8")
    git = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "manifests"]):
        assert _run(command, cwd=repo, **git).returncode == 0
    found = _run([pre_commit, "try-repo", str(ROOT), "istio-lsp", "--all-files"], cwd=repo, **git)
    assert found.returncode == 1, found.stdout[-3000:] + found.stderr[-3000:]
    assert "subset-without-destinationrule" in found.stdout
    (repo / "deploy" / "routes.yaml").write_text(BROKEN_ROUTE.replace(", subset: v9", ""), encoding="utf-8")
    clean = _run([pre_commit, "try-repo", str(ROOT), "istio-lsp", "--all-files"], cwd=repo, **git)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]


def test_the_hook_definition_checks_the_whole_repository() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "istio-lsp" and hook["entry"] == "istio-lsp check"
    # cross-resource checks need every manifest: never only the staged files
    assert hook["pass_filenames"] is False and hook["args"] == ["."]


def test_the_action_runs_the_cli_and_uploads_sarif() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert "istio-lsp check --format sarif --fail-on never" in scripts
    assert "istio-lsp check --format github" in scripts
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "istio-lsp.sarif"
    # inputs reach the shell through the environment, never pasted into the script
    assert "${{" not in scripts
    assert set(action["inputs"]) >= {"paths", "fail-on", "args", "package", "upload-sarif"}
