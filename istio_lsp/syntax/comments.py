"""Suppression comments: `# istio-lsp: disable-next-line CODE`, `# istio-lsp: disable CODE` at the end
of a line, `# istio-lsp: disable-file CODE` anywhere. Found in the text alone, without parsing it.

Codes are separated by commas or blanks; none means every code. What they apply to is decided
where findings are (`checks.files.suppressions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from istio_lsp.syntax.spans import Span, utf16_len

MARKER = "istio-lsp:"
_DIRECTIVE = re.compile(r"#\s*istio-lsp:\s*(?P<kind>disable-next-line|disable-file|disable)\b(?P<codes>[^#]*)")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")

LINE = "line"
FILE = "file"


@dataclass(frozen=True, slots=True)
class Suppression:
    scope: str  # LINE or FILE
    line: int  # the line a LINE suppression applies to
    codes: tuple[str, ...]  # empty: every code
    span: Span  # the directive's comment
    removal: Span  # what to delete to remove it: its whole line, or the comment and the blanks before it


def suppressions(text: str) -> list[Suppression]:
    """The suppression comments of a file's text. Cheap when there are none (most files)."""
    if MARKER not in text:
        return []
    lines = text.split("\n")
    found: list[Suppression] = []
    for number, line in enumerate(lines):
        if MARKER not in line:
            continue
        match = _DIRECTIVE.search(line)
        if match is None or not _is_comment(line, match.start()):
            continue
        before = line[: match.start()]
        alone = not before.strip()
        codes = tuple(_CODE.findall(match.group("codes")))
        span = Span(number, utf16_len(before), number, utf16_len(line[: match.end()].rstrip()))
        if alone:
            removal = (
                Span(number, 0, number + 1, 0) if number + 1 < len(lines) else Span(number, 0, number, span.end_char)
            )
        else:
            removal = Span(number, utf16_len(before.rstrip()), number, span.end_char)
        kind = match.group("kind")
        if kind == "disable-file":
            found.append(Suppression(FILE, number, codes, span, removal))
        elif kind == "disable":
            found.append(Suppression(LINE, number, codes, span, removal))
        else:
            found.append(Suppression(LINE, _next_content_line(lines, number), codes, span, removal))
    return found


def _next_content_line(lines: list[str], number: int) -> int:
    """The first line after `number` holding more than blanks and comments (stacked directives
    and comments between a directive and its line are fine)."""
    for index in range(number + 1, len(lines)):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            return index
    return number + 1


def _is_comment(line: str, hash_index: int) -> bool:
    """Whether the `#` at `hash_index` starts a YAML comment: at the start of the line or after a
    blank, and outside quotes."""
    if hash_index > 0 and line[hash_index - 1] not in " \t":
        return False
    before = line[:hash_index]
    return before.count('"') % 2 == 0 and before.count("'") % 2 == 0
