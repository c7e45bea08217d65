"""subset-without-labels, table-driven: each case marks the lines where a finding must start
(`# !severity`); a case without marks is a valid variant the rule must leave alone."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.admission.helpers import findings_for

CODE = "subset-without-labels"
_MARK = re.compile(r"#\s*!(?P<severity>[a-z]+)\s*$")

CASES = {
    "overlaps a labelled sibling": """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews.example.com
          subsets:
          - name: stable  # !warning
          - name: canary
            labels: {version: canary}
    """,
    "the only subset, empty labels": """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews.example.com
          subsets:
          - name: everything  # !information
            labels: {}
    """,
    "a traffic policy under a name": """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews.example.com
          subsets:
          - name: sticky  # !hint
            trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
    """,
    "labels everywhere": """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews.example.com
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
    """,
    "labels a template fills in": """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews.example.com
          subsets:
          - name: v1
            labels: "{{ .Values.subsetLabels }}"
    """,
    "no subsets": """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews}
        spec:
          host: reviews.example.com
          trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
    """,
}


@pytest.mark.parametrize("name", CASES)
def test_subset_without_labels(name: str) -> None:
    text = textwrap.dedent(CASES[name])
    expected = {
        (number, match.group("severity"))
        for number, line in enumerate(text.split("\n"))
        if (match := _MARK.search(line)) is not None
    }
    actual = {(f.span.start_line, f.severity.label) for f in findings_for(text) if f.code == CODE}
    assert actual == expected
