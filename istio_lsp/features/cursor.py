"""Where the cursor is in a YAML document, read from the text alone.

Completion runs while the user types, when the document usually does not parse.
Like yaml-language-server's fallback, this reads the path to the cursor from
indentation: the keys of the lines above with less indentation, and `-` items.
It handles block style and a flow mapping or list opened on the cursor's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LEAD = re.compile(r"^(?P<indent> *)(?P<dashes>(?:-(?: +|$))*)")
_KEY = re.compile(r"^(?P<key>\"[^\"]*\"|'[^']*'|[^\s#:{}\[\],'\"][^#:]*?):(?: |$)")
_DOC_MARKER = re.compile(r"^(---|\.\.\.)(\s|$)")

Segment = str | int


@dataclass
class Cursor:
    """The cursor's place: the path from the resource root, and what is being typed."""

    path: list[Segment] = field(default_factory=list)  # ["spec", "http", 0, "route", 0, "destination"]
    key: str | None = None  # the key whose value is typed (`host` in `host: rev|`)
    prefix: str = ""  # what is typed so far of the key or the value
    in_value: bool = False  # typing a value, else a key
    in_list_item: bool = False  # the value is an item of the flow list under `key`
    item_start: bool = False  # the first word of a `- ` item: a scalar item, or the first key of a mapping item
    column: int = 0  # column where the key being typed starts
    siblings: dict[str, str] = field(default_factory=dict)  # the other keys of the cursor's mapping
    document_start: int = 0
    document_end: int = 0


@dataclass
class _Line:
    indent: int  # column of the first `-` or of the content
    dashes: int  # how many `- ` start the line
    content: int  # column where the content after the dashes starts
    key: str | None  # `key:` at the content column
    value: str  # the rest after `key:`, stripped of comments


def _read(text: str) -> _Line | None:
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    lead = _LEAD.match(text)
    assert lead is not None
    indent = len(lead.group("indent"))
    dashes = lead.group("dashes").count("-")
    content = lead.end()
    match = _KEY.match(text[content:])
    key = match.group("key").strip("'\"") if match else None
    value = text[content + match.end() :].split(" #")[0].strip() if match else ""
    return _Line(indent, dashes, content, key, value)


def document_bounds(lines: list[str], line: int) -> tuple[int, int]:
    start = line
    while start > 0 and not _DOC_MARKER.match(lines[start]):
        start -= 1
    if _DOC_MARKER.match(lines[start]):
        start += 1
    end = line + 1
    while end < len(lines) and not _DOC_MARKER.match(lines[end]):
        end += 1
    return start, end


def cursor_at(text: str, line: int, character: int) -> Cursor:
    lines = text.split("\n")
    if line >= len(lines):  # past the end: the line after the last one (never pad far, a line may be 2³¹)
        line = len(lines)
        lines.append("")
    start, end = document_bounds(lines, line)
    cursor = Cursor(document_start=start, document_end=end)
    current = lines[line][:character]
    lead = _LEAD.match(current)
    assert lead is not None
    indent = len(lead.group("indent"))
    dashes = lead.group("dashes").count("-")
    rest = current[lead.end() :]
    cursor.column = lead.end()
    line_path: list[Segment] = []
    if dashes:
        line_path.append(_item_index(lines, line, start, indent))
        line_path.extend(0 for _ in range(dashes - 1))
        key_limit, dash_limit = indent + 1, indent
    else:
        key_limit = dash_limit = cursor.column
    _read_typing(rest, cursor, line_path, bool(dashes))
    parents = _parents(lines, line, start, key_limit, dash_limit)
    cursor.path = parents + line_path
    cursor.siblings.update(_siblings(lines, line, start, end, cursor.column, first_of_item=bool(dashes)))
    return cursor


def _read_typing(rest: str, cursor: Cursor, line_path: list[Segment], item: bool) -> None:
    """What the current line, up to the cursor, says: a key, a value, or inside a flow collection."""
    opened = max(rest.rfind("{"), rest.rfind("["))
    if opened >= 0 and rest.rfind("}") < opened and rest.rfind("]") < opened:
        owner = re.search(r"(?P<key>[^\s:{}\[\],'\"]+):\s*$", rest[:opened])
        body = re.split(r",", rest[opened + 1 :])[-1].strip()
        if rest[opened] == "[":
            if owner:
                cursor.key = owner.group("key")
            cursor.in_value = cursor.in_list_item = True
            cursor.prefix = body.strip("'\"")
            return
        if owner:
            line_path.append(owner.group("key"))
        for earlier in re.split(r",", rest[opened + 1 :])[:-1]:
            done = re.match(r"^\s*(?P<key>[^:]+?):\s*(?P<value>.*?)\s*$", earlier)
            if done:
                cursor.siblings[done.group("key")] = done.group("value").strip("'\"")
        pair = re.match(r"^(?P<key>[^:]+?):\s*(?P<value>.*)$", body)
        if pair:
            cursor.key, cursor.in_value = pair.group("key").strip(), True
            cursor.prefix = pair.group("value").strip().strip("'\"")
        else:
            cursor.prefix = body
        return
    pair = re.match(r"^(?P<key>[^:#'\"]+?):(?: +(?P<value>.*))?$", rest)
    if pair:
        cursor.key, cursor.in_value = pair.group("key").strip(), True
        cursor.prefix = (pair.group("value") or "").strip().strip("'\"")
    elif item:
        cursor.item_start = True  # `- va|`: a scalar item, or the first key of a mapping item
        cursor.prefix = rest.strip().strip("'\"")
    else:
        cursor.prefix = rest.strip()


def _parents(lines: list[str], line: int, start: int, key_limit: int, dash_limit: int) -> list[Segment]:
    path: list[Segment] = []
    for number in range(line - 1, start - 1, -1):
        above = _read(lines[number])
        if above is None:
            continue
        if above.key is not None and above.content < key_limit:
            path.insert(0, above.key)
            if above.dashes:
                path.insert(0, _item_index(lines, number, start, above.indent))
                key_limit, dash_limit = above.indent + 1, above.indent
            else:
                key_limit = dash_limit = above.content
        elif above.dashes and above.indent < dash_limit:
            path.insert(0, _item_index(lines, number, start, above.indent))
            key_limit, dash_limit = above.indent + 1, above.indent
        if key_limit == 0:
            break
    return path


def _item_index(lines: list[str], number: int, start: int, indent: int) -> int:
    """Which item of its list the `-` at column `indent` of line `number` is."""
    index = 0
    for above in range(number - 1, start - 1, -1):
        info = _read(lines[above])
        if info is None:
            continue
        if info.indent < indent or (info.indent == indent and not info.dashes):
            break
        if info.indent == indent and info.dashes:
            index += 1
    return index


def _siblings(lines: list[str], line: int, start: int, end: int, column: int, first_of_item: bool) -> dict[str, str]:
    """The keys (and scalar values) of the mapping the cursor is in: same column, same block. On a `- ` line the
    mapping starts there: the keys above belong to the item before."""
    found: dict[str, str] = {}
    for step, stop in ((-1, start - 1), (1, end)):
        if step == -1 and first_of_item:
            continue
        for number in range(line + step, stop, step):
            info = _read(lines[number])
            if info is None:
                continue
            if info.content < column or (info.dashes and info.content == column and step == 1):
                if info.dashes and info.content == column and info.key and step == -1:
                    found.setdefault(info.key, info.value.strip("'\""))
                break
            if info.content == column and info.key and not info.dashes:
                found.setdefault(info.key, info.value.strip("'\""))
            if info.dashes and info.content == column:
                if info.key and step == -1:  # the item's first key, on its `- ` line
                    found.setdefault(info.key, info.value.strip("'\""))
                break
    return found


def top_level(lines: list[str], start: int, end: int, key: str) -> str | None:
    """The scalar value of a top-level key (`kind`, `apiVersion`) of the document."""
    for number in range(start, min(end, len(lines))):
        info = _read(lines[number])
        if info is not None and info.indent == 0 and not info.dashes and info.key == key and info.value:
            return info.value.strip("'\"")
    return None


def metadata_value(lines: list[str], start: int, end: int, key: str) -> str | None:
    """`metadata.<key>` of the document (block or flow style), read from its lines."""
    for number in range(start, min(end, len(lines))):
        info = _read(lines[number])
        if info is None or info.indent != 0 or info.key != "metadata":
            continue
        if info.value.startswith("{"):
            found = re.search(rf"(?:\{{|,)\s*{re.escape(key)}:\s*(?P<v>[^,}}]+)", info.value)
            return found.group("v").strip().strip("'\"") if found else None
        for inner in range(number + 1, min(end, len(lines))):
            child = _read(lines[inner])
            if child is None:
                continue
            if child.indent == 0:
                break
            if child.key == key and child.value:
                return child.value.strip("'\"")
    return None
