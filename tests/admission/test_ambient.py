"""The ambient-mode label rule that reads one resource (`dataplane-mode-invalid`), table-driven with the
markers of test_serviceentry.py (`# !code` or `# !code@severity` where a finding starts)."""

from __future__ import annotations

import textwrap

import pytest

from tests.admission.helpers import findings_for
from tests.admission.test_serviceentry import actual, expected, params

CODES = {"dataplane-mode-invalid"}


def namespace(labels: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    {labels}\n"


def deployment(labels: str) -> str:
    return (
        textwrap.dedent(
            """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: cart
          namespace: shop
          labels: {istio.io/dataplane-mode: whatever}
        spec:
          selector: {matchLabels: {app: cart}}
          template:
            metadata:
              labels:
                app: cart
                %s
            spec:
              containers: [{name: cart, image: cart:1}]
        """
        )
        % labels
    )


CASES = {
    "namespace-ambient": namespace("istio.io/dataplane-mode: ambient"),
    "namespace-none": namespace("istio.io/dataplane-mode: none"),
    "namespace-capitalised": namespace("istio.io/dataplane-mode: Ambient  # !dataplane-mode-invalid"),
    "namespace-enabled": namespace("istio.io/dataplane-mode: enabled  # !dataplane-mode-invalid"),
    "namespace-placeholder": namespace('istio.io/dataplane-mode: "{{ .Values.mode }}"'),
    # only the pods' labels count: the Deployment's own metadata is not read
    "pod-template-typo": deployment("istio.io/dataplane-mode: ambiant  # !dataplane-mode-invalid"),
    "pod-template-none": deployment("istio.io/dataplane-mode: none"),
}


@pytest.mark.parametrize("text", params(CASES))
def test_dataplane_mode(text: str) -> None:
    assert actual(text, CODES) == expected(text)


@pytest.mark.parametrize(
    ("written", "fixed"),
    [("Ambient", "ambient"), ("ambiant", "ambient"), ("'NONE'", "'none'"), ("enabled", None)],
)
def test_dataplane_mode_fix(written: str, fixed: str | None) -> None:
    text = namespace(f"istio.io/dataplane-mode: {written}")
    (finding,) = [f for f in findings_for(text) if f.code == "dataplane-mode-invalid"]
    if fixed is None:
        assert not finding.fixes
        return
    (edit,) = finding.fixes[0].edits
    lines = text.split("\n")
    line = lines[edit.span.start_line]
    lines[edit.span.start_line] = line[: edit.span.start_char] + edit.new_text + line[edit.span.end_char :]
    assert f"istio.io/dataplane-mode: {fixed}" in "\n".join(lines)
    assert not [f for f in findings_for("\n".join(lines)) if f.code == "dataplane-mode-invalid"]
