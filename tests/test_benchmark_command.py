"""The benchmark command of the README runs end to end and prints a complete table.

Small workspaces keep it quick; the figures themselves are not judged here (they are
machine-dependent), only that every one of them was measured.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIGURES = [
    "load_all(CSafeLoader)",
    "json.loads",
    "did you mean, per unresolved host: median / worst of 4 shapes",
    "check cold",
    "check warm",
    "check warm, one file changed",
    "check peak RSS",
    "test, 100 routing cases (warm cache)",
    "server cold start",
    "server warm start",
    "server warm start, index complete",
    "server peak RSS",
    "keystroke computed p50/p95/max",
    "keystroke seen p50/p95/max",
    "CPU stolen by the hypervisor, whole column",
    "CPU stolen by the hypervisor, keystrokes",
]
NUMBER = r"\d+(?:\.\d+)?"


def test_benchmark_prints_every_figure(tmp_path: Path) -> None:
    written = tmp_path / "results.md"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "benchmarks.run", "--services", "10", "30", "--edits", "5"),
            *("--workdir", str(tmp_path / "work"), "--write", str(written)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert written.read_text(encoding="utf-8").strip() == run.stdout.strip()
    rows = {
        cells[0]: cells[1:]
        for line in run.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| figure")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert list(rows) == FIGURES
    for name, (small, large) in rows.items():
        if name.startswith("keystroke") or name.endswith("keystrokes"):
            assert small == "–", "keystrokes are timed in the largest workspace only"
            cells = [large]
        else:
            cells = [small, large]
        for cell in cells:
            if name.startswith("CPU stolen") and cell == "–":
                continue  # no /proc/stat on this system
            if "p50/p95/max" in name:
                assert re.fullmatch(rf"{NUMBER} / {NUMBER} / {NUMBER} ms", cell), (name, cell)
            elif "median / worst" in name:
                assert re.fullmatch(rf"{NUMBER} / {NUMBER} ms", cell), (name, cell)
            else:
                assert re.fullmatch(rf"{NUMBER} (s|MB|%)", cell), (name, cell)
