"""Run the real analysis on a YAML snippet and list what it finds, for table-driven rule tests."""

from __future__ import annotations

import textwrap

from istio_lsp.checks import Finding, analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings

URI = "file:///workspace/manifest.yaml"


def findings_for(yaml_text: str, settings: Settings | None = None) -> list[Finding]:
    """Every finding for one file holding `yaml_text` (dedented), as the CLI and server compute them."""
    settings = settings or Settings()
    index = WorkspaceIndex(settings)
    index.update(analyze_text(URI, textwrap.dedent(yaml_text), settings))
    return check_file(index, URI)


def found(yaml_text: str, codes: set[str] | None = None, settings: Settings | None = None) -> set[tuple[str, int]]:
    """(code, 0-based line) of the findings, restricted to `codes` when given."""
    return {(f.code, f.span.start_line) for f in findings_for(yaml_text, settings) if codes is None or f.code in codes}
