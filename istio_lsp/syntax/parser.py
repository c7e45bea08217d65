"""Multi-document YAML parsing that never raises.

libyaml (through PyYAML's C composer) gives node trees with positions at a few
times the speed of the pure-Python parsers (see README, "Design"). A file is cut
on its `---` lines first and each document is composed alone, so one broken
document leaves every other document of the file analysable. Only composing
happens: no tag is ever constructed into a Python object, so unsafe tags are
inert, and aliases stay shared nodes (a "billion laughs" document composes in
linear time; walks over it must be cycle-safe, see `nodes.walk`).
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from dataclasses import dataclass, field

import yaml

from istio_lsp.syntax.spans import Span, utf16_len

try:  # the C composer is ~8x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TAGS = {
    yaml.ScalarNode: "tag:yaml.org,2002:str",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


class _Loader(_BaseLoader):
    """Composes without resolving implicit tags: values are read as text, and the
    per-scalar regex matching of PyYAML's resolver was a fifth of parse time."""

    def resolve(self, kind: type, value: object, implicit: object) -> str:
        return _TAGS[kind]

    # The composer calls these around every node for path-based resolvers, of which there are
    # none: C callables that ignore their arguments spare two Python calls per node (~10% of parsing).
    descend_resolver = staticmethod(operator.is_)  # type: ignore[assignment]  # (parent, index), result unused
    ascend_resolver = staticmethod(bool)  # type: ignore[assignment]  # (), result unused


Node = yaml.Node
MappingNode = yaml.MappingNode
SequenceNode = yaml.SequenceNode
ScalarNode = yaml.ScalarNode

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
# libyaml's composer recurses in C: thousands of nested flow collections overflow
# the C stack and kill the process. Refuse documents nested deeper than this.
MAX_NESTING = 500

_DOC_START = re.compile(r"^---(?=[ \t\r]|$)", re.MULTILINE)  # \r: CRLF line ends
_TEMPLATE_ACTION = re.compile(r"\{\{-?\s*[^\n]*?\}\}")
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
# YAML 1.1 line breaks that LSP (and our line numbers) do not count: libyaml's lines and
# columns are then off, and positions are computed from the mark's index instead
_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
# `- - - x` (sequences) and `? ? ? x` (complex keys) nest block collections on one line
_NESTED_DASHES = re.compile(rf"(?:[-?][ \t]+){{{MAX_NESTING},}}")


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Why a document or a file could not be analysed, at a place in the file."""

    message: str
    span: Span


@dataclass(slots=True)
class YamlDocument:
    """One `---`-separated document of a file."""

    index: int
    start_line: int  # line of the document's first text line in the file
    text: str
    root: Node | None  # None for an empty document or one that did not parse
    error: SyntaxProblem | None = None
    _ascii: bool = True
    _line_starts: list[int] | None = None  # offsets of the lines, when libyaml counts lines differently

    def span_of(self, node: Node) -> Span:
        """The file span of a node, in UTF-16 columns."""
        start, end = node.start_mark, node.end_mark
        if self._ascii and self._line_starts is None:  # libyaml's lines and columns are LSP's
            return Span(self.start_line + start.line, start.column, self.start_line + end.line, end.column)
        start_line, start_column = self.line_column(start)
        end_line, end_column = self.line_column(end)
        return Span(
            self.start_line + start_line,
            self._col(start.index, start_column),
            self.start_line + end_line,
            self._col(end.index, end_column),
        )

    def line_column(self, mark: yaml.Mark) -> tuple[int, int]:
        """A mark's line in the document and column in code points, counting only `\\n` as a line break."""
        if self._line_starts is None:
            return mark.line, mark.column
        row = bisect_right(self._line_starts, mark.index) - 1
        return row, mark.index - self._line_starts[row]

    def _col(self, index: int, column: int) -> int:
        if self._ascii:
            return column
        return utf16_len(self.text[index - column : index])

    def source_of(self, node: Node) -> str:
        """The exact text a node was parsed from."""
        return self.text[node.start_mark.index : node.end_mark.index]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file that is deliberately not parsed, and why."""

    reason: str
    message: str
    span: Span


@dataclass(slots=True)
class ParsedFile:
    text: str
    documents: list[YamlDocument] = field(default_factory=list)
    skipped: SkippedFile | None = None


def decode(data: bytes) -> str | None:
    """Decode file bytes as YAML text; None for binary or non-UTF-8 content."""
    if b"\x00" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text


def template_line(text: str) -> int | None:
    """The first line holding a Go/Helm template action, or None."""
    match = _TEMPLATE_ACTION.search(text)
    if match is None:
        return None
    return text.count("\n", 0, match.start())


def skip_reason(text: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> SkippedFile | None:
    """Why a file is deliberately not parsed (too large, a template), or None."""
    size = len(text.encode("utf-8")) if not text.isascii() else len(text)
    if size > max_bytes:
        return SkippedFile(
            "too-large",
            f"File skipped: {size / 1_048_576:.1f} MB is above the "
            f"{max_bytes / 1_048_576:.1f} MB limit (setting maxFileSize).",
            Span(0, 0, 0, 0),
        )
    line = template_line(text)
    if line is not None:
        return SkippedFile(
            "template",
            "File skipped: it holds Go/Helm template actions ({{ … }}) and is not "
            "plain YAML. Render it (helm template) to check the output.",
            Span(line, 0, line, 0),
        )
    return None


def parse_file(text: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> ParsedFile:
    """Parse all documents of a file. Never raises."""
    skipped = skip_reason(text, max_bytes=max_bytes)
    if skipped is not None:
        return ParsedFile(text, skipped=skipped)
    documents = [parse_document(piece, index, line) for index, (line, piece) in enumerate(split_documents(text))]
    return ParsedFile(text, documents=documents)


def parse_document(text: str, index: int = 0, start_line: int = 0) -> YamlDocument:
    """Compose one document whose text starts at `start_line` of its file."""
    doc = YamlDocument(index, start_line, text, None, _ascii=text.isascii())
    if (not doc._ascii or "\r" in text) and _OTHER_BREAKS.search(text):
        doc._line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
    too_deep = _nesting_problem(text)
    if too_deep is not None:
        doc.error = SyntaxProblem(too_deep[1], Span(start_line + too_deep[0], 0, start_line + too_deep[0], 0))
        return doc
    try:
        doc.root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        doc.error = _problem_from(exc, doc)
    except yaml.YAMLError as exc:  # errors without a position, e.g. reader errors
        doc.error = SyntaxProblem(str(exc), Span(start_line, 0, start_line, 0))
    except RecursionError:
        doc.error = SyntaxProblem("Document is nested too deeply to analyse.", Span(start_line, 0, start_line, 0))
    return doc


def split_documents(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each document of a file, without composing any: a cheap line scan.

    Each piece starts at a `---` line (kept, so libyaml sees the marker and any content
    after it on the same line) or at the start of the file. Directive lines (`%YAML 1.2`,
    `%TAG`) before a `---` belong to the document it starts.
    """
    # libyaml skips a byte order mark without counting it in its marks' indices: drop it
    # so that indices into the text stay exact (columns are those of the text after it)
    text = text.removeprefix("\ufeff")
    starts = sorted({0, *(_directives_start(text, m.start()) for m in _DOC_START.finditer(text))})
    pieces: list[tuple[int, str]] = []
    line = 0
    for number, begin in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(text)
        piece = text[begin:end]
        pieces.append((line, piece))
        line += piece.count("\n")
    return pieces


def _directives_start(text: str, start: int) -> int:
    """Where the directive lines just above the `---` at `start` begin (comments and blank lines
    may sit between), else `start`."""
    begin = pos = start
    while pos > 0:
        line_start = text.rfind("\n", 0, pos - 1) + 1
        line = text[line_start:pos].strip()
        if line.startswith("%"):
            begin = line_start
        elif line and not line.startswith("#"):
            break
        pos = line_start
    return begin


def _last_content(text: str) -> tuple[int, int] | None:
    """(line, column) of the last character of the last line holding more than blanks and comments."""
    lines = text.split("\n")
    for number in range(len(lines) - 1, -1, -1):
        stripped = lines[number].rstrip()
        if stripped and not stripped.lstrip().startswith("#"):
            return number, len(stripped) - 1
    return None


def _problem_from(exc: yaml.MarkedYAMLError, doc: YamlDocument) -> SyntaxProblem:
    mark = exc.problem_mark or exc.context_mark
    # An error found only at the end of the document ("expected ']'") is better shown
    # where the unclosed construct began.
    if mark is not None and exc.context_mark is not None and mark.index >= len(doc.text.rstrip()):
        mark = exc.context_mark
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    if mark is None:
        return SyntaxProblem(f"YAML syntax error: {problem}", Span(doc.start_line, 0, doc.start_line, 0))
    row, column = doc.line_column(mark)
    if mark.index >= len(doc.text.rstrip()):
        # the parser ran off the end ("expected node content" after a `[`): show the error
        # on the last thing written, not on the blank line or the next document's `---`
        row, column = _last_content(doc.text) or (row, column)
    line = doc.start_line + row
    lines = doc.text.split("\n")
    line_text = lines[row] if row < len(lines) else ""
    col = utf16_len(line_text[:column])
    end = max(col, utf16_len(line_text.rstrip()))
    if end == col:
        end = col + (1 if col < utf16_len(line_text) else 0)
    return SyntaxProblem(f"YAML syntax error: {problem}", Span(line, col, line, end))


def _nesting_problem(text: str) -> tuple[int, str] | None:
    """(line, message) when the document nests deeper than libyaml can safely compose."""
    if text.count("[") + text.count("{") > MAX_NESTING:
        depth = 0
        for match in _FLOW_BRACKETS.finditer(text):
            depth += 1 if match.group() in "[{" else -1
            if depth > MAX_NESTING:
                return (
                    text.count("\n", 0, match.start()),
                    f"Document not analysed: flow collections nest deeper than {MAX_NESTING} levels.",
                )
    dashes = _NESTED_DASHES.search(text)
    if dashes is not None:
        return (
            text.count("\n", 0, dashes.start()),
            f"Document not analysed: block collections nest deeper than {MAX_NESTING} levels.",
        )
    return None
