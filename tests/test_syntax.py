"""The syntax layer: documents survive their neighbours' errors, and spans are exact.

Spans are LSP positions: 0-based lines, columns in UTF-16 code units. Expected columns
are computed here from the text itself, independently of the code under test.
"""

from __future__ import annotations

import pytest

from istio_lsp.checks import Finding, Severity, check_file
from istio_lsp.index import FileSummary, WorkspaceIndex, summarize
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span, parse_file

URI = "file:///workspace/manifests.yaml"
SETTINGS = Settings()


def summary_of(text: str, settings: Settings = SETTINGS) -> FileSummary:
    return summarize(URI, text, settings)


def findings_of(text: str, settings: Settings = SETTINGS) -> list[Finding]:
    index = WorkspaceIndex(settings)
    index.update(summarize(URI, text, settings))
    return check_file(index, URI)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def span_of(text: str, needle: str, length: int | None = None) -> Span:
    """The span of the first `needle` in `text` (or of its first `length` characters), in LSP positions."""
    start = text.index(needle)
    line = text.count("\n", 0, start)
    line_start = text.rfind("\n", 0, start) + 1
    col = utf16(text[line_start:start])
    return Span(line, col, line, col + utf16(needle[:length]))


def names(summary: FileSummary) -> list[str]:
    return [r.display for r in summary.resources]


SERVICE_A = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  selector: {app: a}\n"
SERVICE_B = "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  selector: {app: b}\n"


def route_to(host: str, name: str = "r") -> str:
    return (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        f"metadata:\n  name: {name}\nspec:\n  hosts: [{name}]\n  http:\n  - route:\n    - destination:\n"
        f"        host: {host}\n"
    )


# ---- one broken document does not hide the others ---------------------------------


def test_a_broken_document_in_the_middle_yields_one_error_and_keeps_the_others() -> None:
    text = SERVICE_A + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n---\n" + route_to("a") + "---\n"
    text += route_to("nope", "s")
    summary = summary_of(text)
    assert names(summary) == ["Service a", "VirtualService r", "VirtualService s"]
    assert summary.document_count == 4
    found = findings_of(text)
    errors = [f for f in found if f.code == "yaml-syntax-error"]
    assert len(errors) == 1
    assert errors[0].severity == Severity.ERROR
    assert errors[0].span.start_line == text.splitlines().index("  name: [oops")
    # the documents after the broken one are checked: `a` resolves, `nope` does not
    missing = [f for f in found if f.code == "destination-host-not-found"]
    assert [f.resource for f in missing] == ["VirtualService s"]
    assert missing[0].span == span_of(text, "nope")


def test_an_error_at_the_end_of_a_document_points_at_what_was_written() -> None:
    # libyaml notices the unclosed `[` only at the end of the document; the error must
    # not land on the blank line, the comment, or the next document's `---`
    text = SERVICE_A + "---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n  ports: [\n\n# note\n\n---\n"
    text += SERVICE_B
    summary = summary_of(text)
    assert len(summary.syntax_errors) == 1
    lines = text.split("\n")
    assert summary.syntax_errors[0].span.start_line == lines.index("  ports: [")
    assert summary.syntax_errors[0].span.start_char == len("  ports: ")
    assert names(summary) == ["Service a", "Service b"]


def test_every_broken_document_is_reported_once() -> None:
    text = "a: [\n---\nb: {\n---\n" + SERVICE_A + "---\nc: 'open\n"
    summary = summary_of(text)
    assert [e.span.start_line for e in summary.syntax_errors] == [0, 2, 11]
    assert names(summary) == ["Service a"]
    assert codes(findings_of(text)) == ["yaml-syntax-error"] * 3


def test_syntax_error_columns_are_utf16() -> None:
    text = 'apiVersion: v1\nkind: Service\nmetadata: {name: "é😀", labels: {x: y} z}\n'
    (problem,) = summary_of(text).syntax_errors
    line = text.split("\n")[2]
    assert problem.span.start_line == 2
    assert problem.span.start_char == utf16(line[: line.index("z}")])


# ---- exact spans -------------------------------------------------------------------


def test_reference_spans_count_utf16_units_after_emoji_and_accents() -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: café\n"
        '  annotations: {note: "déjà vu 😀"}\nspec:\n  hosts: [café]\n  http:\n  - route:\n'
        '    - destination: {subset: "é😀", host: nope}\n'
        "      headers: {request: {set: {x: 🎉🎉}}}\n"
        '    - destination: {host: "ümlaut-😀", subset: v2}\n'
    )
    found = findings_of(text)
    by_code: dict[str, list[Span]] = {}
    for f in found:
        by_code.setdefault(f.code, []).append(f.span)
    assert by_code["destination-host-not-found"] == [span_of(text, "nope"), span_of(text, '"ümlaut-😀"')]
    assert by_code["subset-without-destinationrule"] == [span_of(text, '"é😀"'), span_of(text, "v2")]
    # the resource model holds the same spans
    (vs,) = summary_of(text).resources
    assert vs.name_span == span_of(text, "café")
    assert [d.host.span for d in vs.destinations] == [span_of(text, "nope"), span_of(text, '"ümlaut-😀"')]


def test_crlf_line_endings() -> None:
    text = (SERVICE_A + "---\n" + route_to("nope") + "---\n" + SERVICE_B).replace("\n", "\r\n")
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert names(summary) == ["Service a", "VirtualService r", "Service b"]
    (finding,) = findings_of(text)
    assert finding.code == "destination-host-not-found"
    assert finding.span == span_of(text, "nope")  # the \r is not part of the value


def test_crlf_broken_document_keeps_the_others() -> None:
    text = (SERVICE_A + "---\nkind: [\n---\n" + SERVICE_B).replace("\n", "\r\n")
    summary = summary_of(text)
    assert names(summary) == ["Service a", "Service b"]
    (problem,) = summary.syntax_errors
    assert problem.span.start_line == 7


def test_byte_order_mark() -> None:
    text = "\ufeff" + route_to("é😀")  # an astral character last: an index shifted by one would miscount it
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert names(summary) == ["VirtualService r"]
    (finding,) = findings_of(text)
    # the line with non-ASCII text after the first line is exact
    assert finding.span == span_of(text, "é😀")
    # on the first line, columns are those of the text after the mark (editors do not show it)
    flow = "\ufeff{apiVersion: v1, kind: Service, metadata: {name: a}}\n"
    (service,) = summary_of(flow).resources
    assert service.name_span == Span(0, flow.index("a}") - 1, 0, flow.index("a}"))  # index counts the mark


def test_tabs() -> None:
    # a tab may separate tokens, never indent
    separated = "apiVersion:\tv1\nkind:\tService\nmetadata: {name:\ta}\t# tabbed comment\n"
    (service,) = summary_of(separated).resources
    assert service.name_span == span_of(separated, "a}", 1)
    indented = SERVICE_A + "---\napiVersion: v1\nkind: Service\nmetadata:\n\tname: b\n"
    summary = summary_of(indented)
    assert names(summary) == ["Service a"]
    (problem,) = summary.syntax_errors
    assert problem.span.start_line == indented.split("\n").index("\tname: b")


def test_content_on_the_document_marker_line() -> None:
    text = (
        "--- {apiVersion: networking.istio.io/v1, kind: VirtualService, metadata: {name: r},"
        " spec: {http: [{route: [{destination: {host: nope}}]}]}}\n"
        "--- # a comment after the marker\n" + SERVICE_A + "--- !!map\n" + SERVICE_B
    )
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert names(summary) == ["VirtualService r", "Service a", "Service b"]
    (finding,) = findings_of(text)
    assert finding.span == span_of(text, "nope")


def test_document_end_markers() -> None:
    text = SERVICE_A + "...\n---\n" + route_to("nope") + "...\n" + "---\n" + SERVICE_B + "...\n"
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert names(summary) == ["Service a", "VirtualService r", "Service b"]
    (finding,) = findings_of(text)
    assert finding.span == span_of(text, "nope")


@pytest.mark.parametrize(
    "head",
    ["%YAML 1.2\n---\n", "# header\n%YAML 1.1\n%TAG !k8s! tag:kubernetes.io,2024:\n---\n"],
    ids=["yaml-1.2", "yaml-1.1-and-tag"],
)
def test_directives(head: str) -> None:
    text = head + route_to("nope") + "...\n%YAML 1.2\n---\n" + SERVICE_A
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert names(summary) == ["VirtualService r", "Service a"]
    (finding,) = findings_of(text)
    assert finding.span == span_of(text, "nope")


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "---\n", "---\n---\n\n---\n", "---\n...\n---\n...\n", "   \n  \n", "--- ~\n--- null\n"],
    ids=["empty", "blank-lines", "one-marker", "markers", "markers-and-ends", "whitespace", "null-documents"],
)
def test_empty_documents(text: str) -> None:
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert summary.resources == []
    assert summary.skipped is None
    assert findings_of(text) == []


def test_comments_only_file() -> None:
    text = "# Only comments here.\n#\n  # indented comment\n---\n# and after a marker\n"
    summary = summary_of(text)
    assert (summary.syntax_errors, summary.resources, summary.skipped) == ([], [], None)
    assert findings_of(text) == []


@pytest.mark.parametrize(
    "text",
    ["just a string\n", "- a\n- b\n", "--- 5\n--- [a, b]\n--- 'x'\n", "? complex\n: key\n"],
    ids=["scalar", "sequence", "scalars-and-lists", "complex-key"],
)
def test_documents_that_are_not_resources(text: str) -> None:
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert summary.resources == []
    assert findings_of(text) == []


def test_document_start_lines() -> None:
    text = "# c\n" + SERVICE_A + "---\n\n" + SERVICE_B + "--- # x\n---\n"
    parsed = parse_file(text)
    assert [d.start_line for d in parsed.documents] == [0, 7, 15, 16]
    assert [d.error for d in parsed.documents] == [None] * 4


def test_a_dash_run_that_is_not_a_marker_does_not_split() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  x: |\n    ---\n    ----\n" + "----: 1\n"
    summary = summary_of(text)
    assert summary.syntax_errors == []
    assert summary.document_count == 1
    assert names(summary) == ["ConfigMap c"]


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n---\nb: 2\n",
        "\ufeffa: 1\r\n--- \r\nb: [\r\n---\n",  # byte order mark, CRLF, a broken document
        "# head\n%YAML 1.2\n---\nkey: |\n  --- not a marker\n---\n\n---\nc: 3",  # directives, a block scalar
        "k: \u00e9\u2028x\n---\nv: \U0001f600\n",  # breaks LSP does not count, astral characters
    ],
)
def test_a_file_is_the_documents_it_splits_into(text: str) -> None:
    """The line scan that cuts a file (what an edit re-parses by) gives the documents the parser sees."""
    from istio_lsp.syntax import parse_document, split_documents

    pieces = split_documents(text)
    documents = parse_file(text).documents
    assert [(doc.start_line, doc.text) for doc in documents] == pieces
    assert "".join(piece for _, piece in pieces) == text.removeprefix("\ufeff")
    for index, (line, piece) in enumerate(pieces):
        alone, whole = parse_document(piece, index, line), documents[index]
        assert (alone.error, alone.root is None) == (whole.error, whole.root is None)
        if alone.root is not None and whole.root is not None:
            assert alone.span_of(alone.root) == whole.span_of(whole.root)
