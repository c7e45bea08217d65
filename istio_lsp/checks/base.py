"""What every check shares: findings, fixes, rule metadata, and the context a check reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from istio_lsp.checks.local import DocumentContext
from istio_lsp.checks.suggest import close_matches as close_matches  # the checks import them from here
from istio_lsp.checks.suggest import likely_typo as likely_typo
from istio_lsp.findings import Finding, Fix, Related, Severity, TextEdit
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.index.layout import Placement
from istio_lsp.model.resources import Ref, Resource
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span

SOURCE = "istio-lsp"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "rules"


@dataclass(frozen=True)
class Rule:
    """One check: its stable code, default severity, docs and the function that finds it."""

    code: str
    severity: Severity
    summary: str  # one line: what it reports
    doc: str  # Markdown: why it matters, wrong and right examples, fixes
    # a cross-file check reads the whole index; a local one reads one resource's own document
    run: Callable[[Context, FileSummary], Iterable[Finding]] | None = None
    local: Callable[[DocumentContext], Iterable[Finding]] | None = None
    kinds: tuple[str, ...] = ()  # resource kinds a local check reads; empty: all
    istio_codes: tuple[str, ...] = ()
    kiali_codes: tuple[str, ...] = ()

    @property
    def doc_path(self) -> Path:
        return DOCS_DIR / f"{self.code}.md"

    @property
    def doc_uri(self) -> str:
        return self.doc_path.as_uri()


@dataclass
class Context:
    """What a check may read: the whole index, and the settings of the file it checks."""

    index: WorkspaceIndex
    file_settings: Settings | None = None
    # the way the checked file is deployed (a kustomize build), when one is
    placement: Placement | None = None

    @property
    def settings(self) -> Settings:
        return self.file_settings if self.file_settings is not None else self.index.settings

    def renamed(self, name: str) -> str | None:
        """What the build deploying the checked file renames a resource `name` of the same build to
        (kustomize's namePrefix and nameSuffix), None when it renames nothing."""
        p = self.placement
        if p is None or not (p.name_prefix or p.name_suffix):
            return None
        return f"{p.name_prefix}{name}{p.name_suffix}"

    def build_label(self) -> str:
        """The folder of the build deploying the checked file, for messages."""
        return f"`{self.placement.label}`" if self.placement is not None else "of this file"

    def finding(
        self,
        rule: Rule,
        resource: Resource,
        span: Span,
        message: str,
        *,
        severity: Severity | None = None,
        related: Iterable[Related] = (),
        fixes: Iterable[Fix] = (),
    ) -> Finding:
        return Finding(
            code=rule.code,
            severity=rule.severity if severity is None else severity,
            message=message,
            uri=resource.uri,
            span=span,
            resource=resource.display,
            related=list(related),
            fixes=list(fixes),
        )


def related_to(resource: Resource, message: str) -> Related:
    return Related(resource.uri, resource.name_span, message)


def replace_fixes(uri: str, ref: Ref, suggestions: Iterable[str]) -> Iterator[Fix]:
    """ "Did you mean" fixes that rewrite a scalar, keeping its quotes."""
    for number, suggestion in enumerate(suggestions):
        yield Fix(
            f"Did you mean `{suggestion}`?",
            (TextEdit(uri, ref.span, f"{ref.quote}{suggestion}{ref.quote}"),),
            preferred=number == 0,
        )
