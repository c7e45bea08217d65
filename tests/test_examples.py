"""The bundled examples (examples/README.md): broken/ gives exactly the findings the README lists, fixed/ none."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import istio_lsp.checks
from istio_lsp.checks import check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.discovery import discover, summarize_path
from istio_lsp.settings import Settings

# what the front ends index: the summary plus per-document findings, where the checks have those
analyze_path = getattr(istio_lsp.checks, "analyze_path", summarize_path)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _findings(root: Path) -> list[tuple[str, int, str, str]]:
    settings = Settings()
    index = WorkspaceIndex(settings)
    for path in discover(root):
        index.update(analyze_path(path, settings))
    return [
        (
            Path(unquote(urlparse(f.uri).path)).relative_to(root).as_posix(),
            f.span.start_line + 1,
            f.code,
            f.severity.label,
        )
        for uri in sorted(index.files)
        for f in check_file(index, uri)
    ]


def test_broken_examples_give_the_documented_findings() -> None:
    assert _findings(EXAMPLES / "broken") == [
        ("bookstore/details.yaml", 23, "yaml-syntax-error", "error"),
        ("bookstore/gateway.yaml", 27, "gateway-not-found", "warning"),
        ("bookstore/gateway.yaml", 34, "destination-host-not-found", "warning"),
        ("bookstore/ratings.yaml", 81, "subset-not-found", "error"),
        ("bookstore/reviews.yaml", 50, "subset-matches-no-workload", "error"),
        ("bookstore/reviews.yaml", 53, "subset-matches-no-workload", "error"),
        ("hello-world/routes.yaml", 23, "destination-host-is-virtualservice", "error"),
        ("shop/payments.yaml", 50, "subset-without-destinationrule", "error"),
        ("storefront/gateway.yaml", 41, "route-backend-not-permitted", "error"),
        ("storefront/gateway.yaml", 45, "route-backend-not-permitted", "error"),
    ]


def test_fixed_examples_give_no_findings() -> None:
    assert _findings(EXAMPLES / "fixed") == []


def test_examples_are_the_same_workspace() -> None:
    """fixed/ corrects broken/, it does not drop scenarios: the same files, less the silencing ServiceEntry."""
    files = {p.relative_to(EXAMPLES / "broken").as_posix() for p in discover(EXAMPLES / "broken")}
    assert {p.relative_to(EXAMPLES / "fixed").as_posix() for p in discover(EXAMPLES / "fixed")} == files - {
        "hello-world/silence-istioctl.yaml"
    }
