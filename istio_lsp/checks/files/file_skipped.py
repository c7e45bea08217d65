"""file-skipped: a file deliberately not analysed (template, too large, binary)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.index import FileSummary

DOC = """\
A file, or one `---` document of it, was not analysed, and the message says why:

- it is a template of a Helm chart (a file below `templates/` beside a
  `Chart.yaml`): it is not YAML until it is rendered. Render it
  (`helm template my-chart --output-dir out/`) and run `istio-lsp check out/` on
  the result;
- one of its documents uses Go or Helm template actions (`{{ .Values.x }}`) where
  YAML has keys, values or structure: that document is skipped, the file's other
  documents are checked. A `{{ … }}` inside a comment, a quoted string or a block
  scalar (an alerting rule's `"{{ $labels.instance }}"`, a ConfigMap's
  `_example: |` text, a workflow's `"{{inputs.parameters.x}}"`) is text and skips
  nothing; such a value counts as unknown, so no finding depends on it;
- it is larger than the `maxFileSize` setting (5 MB by default);
- it is not UTF-8 text (a binary file with a YAML name).

One information diagnostic is shown at the first offending line, instead of a
flood of syntax errors. The rest of the workspace is analysed as usual.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for skipped in [summary.skipped] if summary.skipped is not None else summary.skipped_documents:
        yield Finding(RULE.code, RULE.severity, skipped.message, summary.uri, skipped.span)


RULE = Rule(
    code="file-skipped",
    severity=Severity.INFORMATION,
    summary="A file that is not analysed: a template, too large, or not text.",
    doc=DOC,
    run=run,
)
