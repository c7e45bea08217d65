"""Source positions as LSP counts them: 0-based lines, UTF-16 code units."""

from __future__ import annotations

from typing import NamedTuple


class Span(NamedTuple):
    """A range in a file. Characters are UTF-16 code units, as LSP's default encoding.

    A named tuple rather than a dataclass: a workspace holds hundreds of thousands of spans,
    and a tuple is built, compared, sorted and unpickled several times faster."""

    start_line: int
    start_char: int
    end_line: int
    end_char: int

    def contains(self, line: int, char: int) -> bool:
        """True when (line, char) lies inside the span, both ends included."""
        if (line, char) < (self.start_line, self.start_char):
            return False
        return (line, char) <= (self.end_line, self.end_char)

    def inside(self, outer: Span) -> bool:
        """True when this span lies within `outer`, ends included."""
        return (outer.start_line, outer.start_char) <= (self.start_line, self.start_char) and (
            self.end_line,
            self.end_char,
        ) <= (outer.end_line, outer.end_char)

    def to_json(self) -> dict[str, dict[str, int]]:
        return {
            "start": {"line": self.start_line, "character": self.start_char},
            "end": {"line": self.end_line, "character": self.end_char},
        }


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf16_to_units(line_text: str, utf16_col: int, encoding: str) -> int:
    """Convert a UTF-16 column on `line_text` to another LSP position encoding."""
    if encoding == "utf-16" or line_text.isascii():
        return utf16_col
    units = 0
    consumed = 0
    for ch in line_text:
        if units >= utf16_col:
            break
        units += 2 if ord(ch) > 0xFFFF else 1
        consumed += 1
    prefix = line_text[:consumed]
    if encoding == "utf-8":
        return len(prefix.encode("utf-8", "surrogatepass"))
    return len(prefix)  # utf-32: code points


def units_to_utf16(line_text: str, col: int, encoding: str) -> int:
    """Convert a column in another LSP position encoding to UTF-16 code units."""
    if encoding == "utf-16" or line_text.isascii():
        return col
    if encoding == "utf-8":
        prefix = line_text.encode("utf-8", "surrogatepass")[:col].decode("utf-8", errors="ignore")
    else:
        prefix = line_text[:col]
    return utf16_len(prefix)


def utf16_to_index(line_text: str, utf16_col: int) -> int:
    """The Python string index of a UTF-16 column on `line_text`."""
    if line_text.isascii():
        return min(utf16_col, len(line_text))
    units = 0
    for index, ch in enumerate(line_text):
        if units >= utf16_col:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line_text)
