"""file-skipped: a file deliberately not analysed (template, too large, binary)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.index import FileSummary

DOC = """\
The file was not analysed, and the message says why:

- it holds Go or Helm template actions (`{{ .Values.x }}`): it is not YAML
  until it is rendered. Render it (`helm template my-chart --output-dir out/`)
  and run `istio-lsp check out/` on the result;
- it is larger than the `maxFileSize` setting (5 MB by default);
- it is not UTF-8 text (a binary file with a YAML name).

One information diagnostic is shown at the first offending line, instead of a
flood of syntax errors. The rest of the workspace is analysed as usual.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    if summary.skipped is not None:
        yield Finding(RULE.code, RULE.severity, summary.skipped.message, summary.uri, summary.skipped.span)


RULE = Rule(
    code="file-skipped",
    severity=Severity.INFORMATION,
    summary="A file that is not analysed: a template, too large, or not text.",
    doc=DOC,
    run=run,
)
