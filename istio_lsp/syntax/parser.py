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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from istio_lsp.syntax.spans import Span, utf16_len

try:  # the C composer is ~8x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _BaseLoader

    _C_LOADER = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

    _C_LOADER = False

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
# What the scanner never handed out before an error (at most a line or so) is read by hand:
# a `{{`, or a comment, a quoted scalar or a block scalar header to step over. Quotes open
# only where a token may start, so the `'` of `it's {{ .x }}` hides nothing.
_TEXT_OR_ACTION = re.compile(
    r"\{\{"
    r"|(?<![^ \t\n])#[^\n]*"
    r"|(?<![^ \t\n\[{,])(?:'(?:[^']|'')*'?|\"(?:[^\"\\]|\\[\s\S])*\"?)"
    r"|(?<=[ \t])[|>][-+1-9]*[ \t]*(?:#[^\n]*)?$",
    re.MULTILINE,
)
# what may follow a quoted scalar; anything else means its quotes were cut short by a template's own
# quotes, as in `"{{ include "name" . }}"`
_AFTER_QUOTE = frozenset(" \t\r\n,]}:#")
_QUOTE_STYLES = frozenset("'\"")
_SCALAR_TOKEN = yaml.ScalarToken
_FLOW_MAPPING_START_TOKEN = yaml.FlowMappingStartToken
# libyaml's error for a plain scalar's `:` followed by `,[]{}?` in a flow collection
_FLOW_COLON = "found unexpected ':'"
# private-use characters, none of them YAML syntax, to stand in for such a `:` (one absent from the text)
_COLON_STAND_INS = "\ue000\ue001\ue002\ue003"
_MAX_FLOW_COLONS = 64
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_FLOW_STARTS = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)
_FLOW_ENDS = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)
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


# `image: {docker_username}/app`: a placeholder in braces glued to more text, in a value position
_BRACE_PLACEHOLDER = re.compile(r"(?:^|[:\-][ \t]+)(\{[A-Za-z_][\w.-]*\})[^\s,}\]#]", re.MULTILINE)


def placeholder_problem(text: str) -> tuple[int, int] | None:
    """Where a document that does not parse holds a `{name}` placeholder glued to text (a sample to
    fill in before applying: `image: {docker_username}/app`), as (line, UTF-16 column), or None."""
    match = _BRACE_PLACEHOLDER.search(text)
    if match is None:
        return None
    index = match.start(1)
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index), utf16_len(text[line_start:index])


def template_problem(text: str) -> tuple[int, int] | None:
    """Where the first Go/Helm template action of one document makes it not plain YAML, or None.

    `text` is one piece from `split_documents`. The result is (line, column) in that text: lines
    counted by `\\n`, the column in UTF-16 code units. A `{{` in a comment, a quoted scalar or a
    block scalar is text (an alerting rule's "{{ $labels.instance }}", an Argo parameter, a
    ConfigMap's example); one that stands for a key, a plain scalar or structure is a template.
    """
    last = text.rfind("{{")
    if last < 0:  # nearly every document: no scanning at all
        return None
    # libyaml does not count a byte order mark in its indices: scan without it
    bom = 1 if text.startswith("\ufeff") else 0
    index = _template_index(text[bom:] if bom else text, last - bom)
    if index is None:
        return None
    index += bom
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index), utf16_len(text[line_start:index])


def _template_index(text: str, last: int) -> int | None:
    """The index of the first template action in `text`, whose last `{{` is at `last`."""
    loader = _BaseLoader(text)
    # one call per token (no check_token), dispatch on type(): scanning is most of the cost
    get_token: Callable[[], Any] = loader.get_token
    token = None
    brace = -2  # where the last `{` that opened a flow mapping was
    try:
        while (token := get_token()) is not None:
            kind = type(token)
            if kind is _SCALAR_TOKEN:
                start = token.start_mark.index
                if start > last:
                    return None
                end = token.end_mark.index
                if token.plain:
                    found = text.find("{{", start, end)
                    if found >= 0:
                        return found
                elif token.style in _QUOTE_STYLES:
                    escaped = _escaped_action(text, start, end)
                    if escaped is not None:
                        return escaped
            elif kind is _FLOW_MAPPING_START_TOKEN:
                # `{{` outside quotes: to the scanner a flow mapping opening a flow mapping
                start = token.start_mark.index
                if start == brace + 1:
                    return brace
                if start > last:
                    return None
                brace = start
    except yaml.YAMLError as exc:
        # The template may be what broke the scanner, and tokens it had read but not yet handed
        # out are lost: read by hand from the last token handed out to the end of the error's line.
        seen = 0 if token is None else token.end_mark.index
        mark = getattr(exc, "problem_mark", None)
        stop = len(text)
        if mark is not None:
            newline = text.find("\n", mark.index)
            stop = len(text) if newline < 0 else newline
        return _bare_action(text, seen, stop)
    finally:
        loader.dispose()
    return None


def _escaped_action(text: str, start: int, end: int) -> int | None:
    """The `{{` of the quoted scalar at text[start:end] whose action runs out of it, or None.

    In `"{{ include "name" . }}"` the scanner ends the string at the template's own quote;
    the action is left unclosed and the string is followed by what cannot follow one.
    """
    found = text.rfind("{{", start, end)
    if found < 0 or text.find("}}", found, end) >= 0:
        return None
    if end < len(text) and text[end] not in _AFTER_QUOTE:
        return found
    return None


def _bare_action(text: str, start: int, stop: int) -> int | None:
    """The first `{{` of text[start:stop] outside comments, quoted scalars and block scalars, or None."""
    pos = start
    while (match := _TEXT_OR_ACTION.search(text, pos, stop)) is not None:
        lexeme = match.group()
        pos = match.end()
        if lexeme == "{{":
            return match.start()
        if lexeme[0] in "'\"":
            found = _escaped_action(text, match.start(), pos)
            if found is not None:
                return found
        elif lexeme[0] in "|>":
            pos = _block_scalar_end(text, match.start())
    return None


def _block_scalar_end(text: str, header: int) -> int:
    """Where the block scalar whose `|` or `>` is at `header` ends: at the first line, not blank,
    indented no deeper than the header's line (an approximation, good enough here)."""
    line_start = text.rfind("\n", 0, header) + 1
    line = text[line_start:header]
    indent = len(line) - len(line.lstrip(" "))
    pos = text.find("\n", header)
    while pos >= 0:
        line_end = text.find("\n", pos + 1)
        line = text[pos + 1 : len(text) if line_end < 0 else line_end]
        if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
            return pos + 1
        pos = line_end
    return len(text)


def skip_reason(text: str, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES, templates: bool = True) -> SkippedFile | None:
    """Why a file is deliberately not parsed (too large, a template), or None.

    With `templates=False` only the size is checked: templates are then judged per
    document by `template_problem`."""
    size = len(text.encode("utf-8", "surrogatepass")) if not text.isascii() else len(text)
    if size > max_bytes:
        return SkippedFile(
            "too-large",
            f"File skipped: {size / 1_048_576:.1f} MB is above the "
            f"{max_bytes / 1_048_576:.1f} MB limit (setting maxFileSize).",
            Span(0, 0, 0, 0),
        )
    line = template_line(text) if templates else None
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
        doc.root = _compose_like_go(text, exc)
        if doc.root is None:
            doc.error = _problem_from(exc, doc)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL): at its place
        doc.error = _reader_problem(exc, doc)
    except yaml.YAMLError as exc:  # other errors without a position
        doc.error = SyntaxProblem(str(exc), Span(start_line, 0, start_line, 0))
    except RecursionError:
        doc.error = SyntaxProblem("Document is nested too deeply to analyse.", Span(start_line, 0, start_line, 0))
    return doc


def _reader_problem(exc: yaml.reader.ReaderError, doc: YamlDocument) -> SyntaxProblem:
    """A refused character, reported on its line and column (the reader only gives its index)."""
    position = max(int(exc.position), 0)
    if _C_LOADER and not doc.text.isascii():  # libyaml counts bytes of the UTF-8 text, not characters
        position = len(doc.text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore"))
    position = min(position, len(doc.text))
    line_start = doc.text.rfind("\n", 0, position) + 1
    line = doc.start_line + doc.text.count("\n", 0, position)
    column = utf16_len(doc.text[line_start:position])
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    message = f"YAML syntax error: the character U+{ord(character[:1] or chr(0)):04X} is not allowed in YAML"
    return SyntaxProblem(message, Span(line, column, line, column + 1))


def _compose_like_go(text: str, exc: yaml.MarkedYAMLError) -> Node | None:
    """The tree Go's decoder (kubectl) reads from a document libyaml refused for a flow-context colon, else None.

    In `[1.2.3.4, 2001:db8::]` or `{key:}`, libyaml stops at a plain scalar's `:` followed by `,[]{}?`;
    go-yaml keeps the `:` in the scalar (`"2001:db8::"`, key `"key:"`). (PyYAML's pure-Python
    parser accepts these too, but reads `{"2001:db8:": null}`, which kubectl never sees.) A character
    that is no YAML syntax stands in for each such `:`, so libyaml reads go-yaml's tokens at the same
    indices, and the scalars get their `:` back.
    """
    stand_in = next((c for c in _COLON_STAND_INS if c not in text), None)
    if stand_in is None:
        return None
    for _ in range(_MAX_FLOW_COLONS):
        mark = exc.problem_mark
        if exc.problem != _FLOW_COLON or mark is None or text[mark.index : mark.index + 1] != ":":
            return None
        text = f"{text[: mark.index]}{stand_in}{text[mark.index + 1 :]}"
        try:
            root = yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as again:
            exc = again
            continue
        except (yaml.YAMLError, RecursionError):
            return None
        _restore_colons(root, stand_in)
        return root
    return None


def _restore_colons(root: Node | None, stand_in: str) -> None:
    """Put back the `:` of every scalar in which `stand_in` stood for it (aliases make the tree a graph)."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if stand_in in node.value:
                node.value = node.value.replace(stand_in, ":")
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        else:
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


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


def _deepest_flow(text: str) -> int | None:
    """Where flow collections first nest deeper than MAX_NESTING, read from the scanner's tokens (brackets
    in comments and quoted strings do not count; scanning, unlike composing, does not recurse)."""
    loader = _BaseLoader(text)
    get_token: Callable[[], Any] = loader.get_token
    depth = 0
    try:
        while (token := get_token()) is not None:
            kind = type(token)
            if kind in _FLOW_STARTS:
                depth += 1
                if depth > MAX_NESTING:
                    return int(token.start_mark.index)
            elif kind in _FLOW_ENDS:
                depth -= 1
    except yaml.YAMLError:  # the scanner stopped early: count every bracket, as if none were quoted
        return _deepest_bracket(text)
    finally:
        loader.dispose()
    return None


def _deepest_bracket(text: str) -> int | None:
    depth = 0
    for match in _FLOW_BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_NESTING:
            return match.start()
    return None


def _nesting_problem(text: str) -> tuple[int, str] | None:
    """(line, message) when the document nests deeper than libyaml can safely compose."""
    if text.count("[") + text.count("{") > MAX_NESTING:
        deepest = _deepest_flow(text)
        if deepest is not None:
            return (
                text.count("\n", 0, deepest),
                f"Document not analysed: flow collections nest deeper than {MAX_NESTING} levels.",
            )
    dashes = _NESTED_DASHES.search(text)
    if dashes is not None:
        return (
            text.count("\n", 0, dashes.start()),
            f"Document not analysed: block collections nest deeper than {MAX_NESTING} levels.",
        )
    return None
