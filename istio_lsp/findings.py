"""Findings and fixes: the plain values every layer above syntax can produce and pass on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from istio_lsp.syntax import Span


class Severity(IntEnum):
    """Values match LSP's DiagnosticSeverity."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, name: str) -> Severity:
        return cls[name.upper()]


@dataclass(frozen=True, slots=True)
class TextEdit:
    uri: str
    span: Span
    new_text: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[TextEdit, ...]
    preferred: bool = False
    # safe: applying it cannot change behaviour the user relies on; unsafe fixes are offered, never auto-applied
    safe: bool = True


@dataclass(frozen=True, slots=True)
class Related:
    uri: str
    span: Span
    message: str


@dataclass(slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    uri: str
    span: Span
    resource: str | None = None  # "Kind namespace/name"
    related: list[Related] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
