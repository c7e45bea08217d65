"""The layering of DESIGN.md, and generated docs that match the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from istio_lsp.checks import RULES
from istio_lsp.checks.base import DOCS_DIR
from istio_lsp.checks.docs import README, TABLE_END, TABLE_START, pages, readme_with_table

PACKAGE = Path(__file__).resolve().parents[1] / "istio_lsp"

# layer → the istio_lsp layers it may import (each imports only those to its left)
ALLOWED = {
    "syntax": {"syntax"},
    "model": {"syntax", "model", "settings"},
    "index": {"syntax", "model", "index", "settings", "settings_model", "findings"},
    # routing_test_model: the format of routing test files, whose schema the docs generator writes
    "checks": {"syntax", "model", "index", "checks", "settings", "settings_model", "routing_test_model", "findings"},
    "routing": {
        "syntax",
        "model",
        "index",
        "checks",
        "routing",
        "settings",
        "settings_model",
        "routing_test_model",
        "findings",
    },
    "features": {
        "syntax",
        "model",
        "index",
        "checks",
        "routing",
        "features",
        "settings",
        "settings_model",
        "findings",
    },
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_layers_to_its_left(layer: str) -> None:
    for path in (PACKAGE / layer).glob("*.py"):
        for name in imports_of(path):
            if name.startswith("istio_lsp."):
                target = name.split(".")[1]
                assert target in ALLOWED[layer], f"{path.name} ({layer}) imports {name}"


def test_only_the_server_imports_pygls() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("server.py", "transport.py"):  # the server and its JSON-RPC transport
            continue
        offenders = [n for n in imports_of(path) if n == "pygls" or n.startswith("pygls.")]
        assert not offenders, f"{path.relative_to(PACKAGE)} imports {offenders}"


def test_rule_docs_are_generated_from_the_code() -> None:
    expected = pages()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DOCS_DIR.glob("*.md")}
    assert on_disk == expected, "run `python -m istio_lsp.checks.docs` to regenerate istio_lsp/docs/rules"


def test_the_readme_rule_table_is_generated_from_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(TABLE_START) == 1 and text.count(TABLE_END) == 1
    assert text == readme_with_table(text), "run `python -m istio_lsp.checks.docs` to regenerate README.md's rule table"
    for rule in RULES:
        assert f"[`{rule.code}`](istio_lsp/docs/rules/{rule.code}.md)" in text, rule.code


def test_every_rule_links_to_a_page_that_exists() -> None:
    for rule in RULES:
        assert rule.doc_path.is_file(), rule.code
        assert rule.doc_uri.startswith("file://") and rule.doc_uri.endswith(f"/{rule.code}.md")
