"""YAML text → documents with exact source spans. Knows nothing of Istio, LSP or disk."""

from istio_lsp.syntax.parser import (
    DEFAULT_MAX_FILE_BYTES,
    MappingNode,
    Node,
    ParsedFile,
    ScalarNode,
    SequenceNode,
    SkippedFile,
    SyntaxProblem,
    YamlDocument,
    decode,
    parse_document,
    parse_file,
    placeholder_problem,
    skip_reason,
    split_documents,
    template_problem,
)
from istio_lsp.syntax.spans import Span, units_to_utf16, utf16_len, utf16_to_units

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "MappingNode",
    "Node",
    "ParsedFile",
    "ScalarNode",
    "SequenceNode",
    "SkippedFile",
    "Span",
    "SyntaxProblem",
    "YamlDocument",
    "decode",
    "parse_document",
    "parse_file",
    "placeholder_problem",
    "skip_reason",
    "split_documents",
    "template_problem",
    "units_to_utf16",
    "utf16_len",
    "utf16_to_units",
]
