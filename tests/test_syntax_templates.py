"""Template actions judged per document by YAML tokens, and documents libyaml refuses that kubectl reads.

Positions are (line, UTF-16 column) within the document's text, computed here from the text itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from istio_lsp.syntax import ScalarNode, Span, parse_document, skip_reason, split_documents, template_problem

CASES = Path(__file__).parent / "cases"

# The rule template_problem replaces: any `{{ … }}` on a line made the whole file a template.
OLD_RULE = re.compile(r"\{\{-?\s*[^\n]*?\}\}")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def position_of(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    line_start = text.rfind("\n", 0, start) + 1
    return text.count("\n", 0, start), utf16(text[line_start:start])


def old_rule(text: str) -> tuple[int, int] | None:
    match = OLD_RULE.search(text)
    if match is None:
        return None
    line_start = text.rfind("\n", 0, match.start()) + 1
    return text.count("\n", 0, match.start()), utf16(text[line_start : match.start()])


# ---- text, not templates ----------------------------------------------------------

TEXT_ONLY = {
    "comment line": "# rendered from {{ .Chart.Name }}\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: mesh\n",
    "trailing comment": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mesh  # was {{ .Release.Namespace }}\n",
    "alerting rule, double quoted": (
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: mesh\nspec:\n"
        '  groups:\n  - name: istio\n    rules:\n    - alert: IstioDown\n      expr: up{job="istiod"} == 0\n'
        '      annotations:\n        summary: "{{ $labels.instance }} is down"\n'
        "        description: '{{ $value }} replicas of {{ $labels.job }}'\n"
    ),
    "Argo parameters": (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: hello-\nspec:\n"
        "  templates:\n  - name: print\n    inputs:\n      parameters: [{name: message}]\n"
        '    container:\n      args: ["{{inputs.parameters.message}}"]\n'
        '      env: [{name: RUN, value: "{{workflow.name}}"}]\n'
        '  - name: flip\n    when: "{{steps.flip.outputs.result}} == heads"\n'
    ),
    "quoted key": 'data:\n  "{{ .Values.key }}": "{{ .Values.value }}"\n',
    "quoted over lines": "data:\n  a: \"first line\n    {{ .Values.x }} second\"\n  b: 'it''s\n    {{ y }}'\n",
    "literal block scalar": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\ndata:\n  _example: |\n"
        "    {{- if .Values.global.proxy }}\n    namespace: {{ .Release.Namespace }}\n\n"
        "    {{ toYaml .Values.x | nindent 2 }}\n    {{- end }}\n  other: plain\n"
    ),
    "folded block scalar": "data:\n  script: >-\n    echo {{ .Values.a }}\n    {{ .Values.b }}\n  next: 1\n",
    "block scalars with indicators": "a: |2\n   {{ x }}\n  y\nb: >+\n  {{ z }}\n\nc: |-1\n  {{ w }}\n",
    "block scalars nested in lists": (
        "spec:\n  containers:\n  - name: a\n    args:\n    - |\n      {{ .x }}\n    - - >\n        {{ .y }}\n"
        "  - name: b\n    command: [sh, -c]\n    script: |\n      {{- range .z }}\n"
    ),
    "braces that are not templates, next to quoted ones": (
        "metadata: {name: settings, namespace: default}\ndata:\n  shell: ${HOME}/bin\n"
        '  json: \'{"a": {}}\'\n  empty: {}\n  spaced: { {a: b}: c }\n  note: "{{ not.a.template }}"\n'
    ),
}


@pytest.mark.parametrize("text", TEXT_ONLY.values(), ids=TEXT_ONLY.keys())
def test_template_actions_in_comments_quotes_and_block_scalars_are_text(text: str) -> None:
    assert template_problem(text) is None
    yaml.compose(text, Loader=yaml.SafeLoader)  # the case is valid YAML


# ---- templates: the first action that is key, plain scalar or structure ------------

# (text, the text at which the first template action starts)
TEMPLATES = {
    "Helm if on its own line": (
        'metadata:\n  annotations:\n    checksum: "{{ .Values.sum }}"\nspec:\n'
        "{{- if .Values.replicas }}\n  replicas: {{ .Values.replicas }}\n{{- end }}\n",
        "{{- if",
    ),
    "include piped to nindent": (
        'metadata:\n  name: web  # {{ .Release.Name }}\n  labels:\n    {{- include "chart.labels" . | nindent 4 }}\n',
        "{{- include",
    ),
    "plain value": (
        "metadata:\n  annotations:\n    summary: '{{ $labels.pod }}'\n  namespace: {{ .Release.Namespace }}\n",
        "{{ .Release",
    ),
    "key": ('data:\n  a: "{{ quoted }}"\n  {{ .Values.key }}: value\n', "{{ .Values.key"),
    "inside a plain scalar": (
        '# image: "{{ x }}"\nspec:\n  containers:\n  - image: repo/web:{{ .Values.tag }}\n',
        "{{ .Values.tag",
    ),
    "inside a plain scalar, after wide characters": (
        'a: "{{ x }}"\nimage: \U0001f600é/{{ .Values.tag }}\n',
        "{{ .Values.tag",
    ),
    "toYaml as structure": (
        'spec:\n  note: "{{ x }}"\n  resources:\n    {{- toYaml .Values.resources | nindent 4 }}\n',
        "{{- toYaml",
    ),
    "whole document is one action": ("# {{ x }}\n{{ toYaml .Values.manifest }}\n", "{{ toYaml"),
    "in a flow sequence": ("args: ['{{ a }}', --port, {{ .Values.port }}]\n", "{{ .Values.port"),
    "quotes cut short by the action's own": (
        'labels:\n  a: \'{{ b }}\'\n  app: "{{ include "chart.name" . }}"\n',
        '{{ include "chart',
    ),
    "action over two lines": ('a: "{{ b }}"\n{{- include "x"\n    . }}\n', '{{- include "x"'),
    "after a block scalar it ends": (
        'data:\n  config: |\n    {{ in.text }}\n{{ .Files.Get "extra" | indent 4 }}\n',
        "{{ .Files",
    ),
}


@pytest.mark.parametrize(("text", "start"), TEMPLATES.values(), ids=TEMPLATES.keys())
def test_a_template_action_as_key_value_or_structure_is_found(text: str, start: str) -> None:
    assert template_problem(text) == position_of(text, start)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, None) for text in TEXT_ONLY.values()]
    + [(text, position_of(text, start)) for text, start in TEMPLATES.values()],
    ids=[*TEXT_ONLY.keys(), *TEMPLATES.keys()],
)
def test_the_old_regex_rule_gets_every_case_wrong(text: str, expected: tuple[int, int] | None) -> None:
    # the cases above would not notice a return to the regex if it answered any of them right
    assert old_rule(text) != expected


def test_braces_that_must_stay_legal_are_not_templates() -> None:
    text = (CASES / "file-skipped-braces-are-not-templates.yaml").read_text(encoding="utf-8")
    for _line, piece in split_documents(text):
        assert template_problem(piece) is None
    for piece in ["a: ${HOME}\n", "a: { {a} }\n", "a: '{\"a\": {}}'\n", "a: {}\n", "a: {b: {c: d}}\n", "{a: {b: c}}\n"]:
        assert template_problem(piece) is None, piece


def test_a_document_without_braces_is_not_scanned_at_all() -> None:
    # libyaml would refuse this text: no `{{`, so it is never handed to a scanner
    assert template_problem("a: [b\n\tc: 'd\n") is None


def test_a_template_that_breaks_the_scanner_is_found_past_quoted_ones_on_its_line() -> None:
    text = "spec:\n  a: 1\n  b: '{{ q }}' # {{ c }}\n  x: [y, '{{ q }}', {{ .Values.z | quote }}]\n"
    assert template_problem(text) == position_of(text, "{{ .Values.z")
    broken = "spec:\n  a: [b\n  c: 'd {{ x }}'\n"  # broken YAML, but its `{{` is text
    assert template_problem(broken) is None
    # the scanner gives up on the `{{- if` line: the comment line before it is read by hand
    text = "spec:\n  # {{ note }}\n{{- if .Values.x }}\n  replicas: 1\n{{- end }}\n"
    assert template_problem(text) == position_of(text, "{{- if")


def test_text_the_scanner_refuses_outright_is_read_by_hand_past_block_scalars_and_comments() -> None:
    # a control character: libyaml hands out no token at all
    text = "a: |\n  {{ x }}\n  # {{ y }}\nb: '{{ z }}' # {{ w }}\nc: \x07\n"
    assert template_problem(text) is None
    text += "d: {{ .Values.d }}\n"
    assert template_problem(text) == position_of(text, "{{ .Values.d")


def test_skip_reason_can_leave_templates_to_each_document() -> None:
    text = 'a: "{{ x }}"\n'
    skipped = skip_reason(text)
    assert skipped is not None and skipped.reason == "template"
    assert skip_reason(text, templates=False) is None
    too_large = skip_reason(text * 100, max_bytes=100, templates=False)
    assert too_large is not None and too_large.reason == "too-large"


# ---- documents libyaml refuses and kubectl reads ----------------------------------

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="the difference is libyaml's")


def libyaml_refuses(text: str) -> bool:
    try:
        yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return True
    return False


def plain(node: yaml.Node) -> object:
    """A node as Python values, every scalar as its text (as the parser reads them)."""
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [plain(item) for item in node.value]
    return {plain(key): plain(value) for key, value in node.value}


# Inputs on which libyaml and PyYAML's pure-Python parser differ (libyaml refuses, PyYAML accepts),
# with what go-yaml (kubectl) reads: a `:` before `,]}` stays in the plain scalar. PyYAML would read
# `[2001:db8::]` as [{"2001:db8:": null}] instead, so it is not the fallback.
READ_LIKE_GO = {
    "a: [1.2.3.4, 001:db8::]\n": {"a": ["1.2.3.4", "001:db8::"]},
    "a: [2001:db8::, 10.0.0.0/8]\n": {"a": ["2001:db8::", "10.0.0.0/8"]},
    "a: [fe80::]\n": {"a": ["fe80::"]},
    "a: [x:, y]\n": {"a": ["x:", "y"]},
    "a: [x:,]\n": {"a": ["x:"]},
    "- [a:]\n": [["a:"]],
    "a: [1, 2:]\n": {"a": ["1", "2:"]},
    "a: {x:}\n": {"a": {"x:": ""}},
    "a: {x:, y: 1}\n": {"a": {"x:": "", "y": "1"}},
    "a: {b: c:}\n": {"a": {"b": "c:"}},  # PyYAML refuses this one, go-yaml reads it
}


@needs_libyaml
@pytest.mark.parametrize(("text", "expected"), READ_LIKE_GO.items(), ids=READ_LIKE_GO.keys())
def test_a_colon_ending_a_plain_scalar_in_a_flow_collection_is_read_as_kubectl_reads_it(
    text: str, expected: object
) -> None:
    assert libyaml_refuses(text)
    doc = parse_document(text)
    assert doc.error is None
    assert doc.root is not None and plain(doc.root) == expected


# Inputs both parsers take alike: nothing to fall back for.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [2001:db8::1]\n", {"a": ["2001:db8::1"]}),
        ("key: [a:b]\n", {"key": ["a:b"]}),
        ("{a:1}\n", {"a:1": ""}),
        ("a: [http://x]\n", {"a": ["http://x"]}),
        ('a: {"b":[1]}\n', {"a": {"b": ["1"]}}),
    ],
)
def test_colons_libyaml_already_reads_are_unchanged(text: str, expected: object) -> None:
    doc = parse_document(text)
    assert doc.error is None and doc.root is not None and plain(doc.root) == expected


@needs_libyaml
def test_a_service_entry_with_ipv6_prefixes_composes_with_exact_spans() -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ext  # café\nspec:\n"
        "  hosts: [ext.example.com]\n  addresses: [192.0.2.1, 2001:db8::, fe80::]\n  endpoints:\n"
        "  - {address: 2001:db8::, labels: {zone:}}\n"
    )
    assert libyaml_refuses(text)
    doc = parse_document(text, index=2, start_line=40)
    assert doc.error is None and doc.root is not None
    spec = dict((key.value, value) for key, value in doc.root.value)["spec"]
    fields = {key.value: value for key, value in spec.value}
    addresses = fields["addresses"].value
    assert [node.value for node in addresses] == ["192.0.2.1", "2001:db8::", "fe80::"]
    for node in addresses:
        line, col = position_of(text, node.value + ("]" if node.value == "fe80::" else ","))
        assert doc.span_of(node) == Span(40 + line, col, 40 + line, col + len(node.value))
        assert doc.source_of(node) == node.value
    endpoint = fields["endpoints"].value[0]
    assert plain(endpoint) == {"address": "2001:db8::", "labels": {"zone:": ""}}


@needs_libyaml
def test_a_broken_document_keeps_libyaml_s_message_and_position() -> None:
    doc = parse_document("apiVersion: v1\nmetadata:\n  name: [oops\n", start_line=7)
    assert doc.root is None and doc.error is not None
    assert doc.error.message == "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"
    assert doc.error.span == Span(9, 8, 9, 13)


@needs_libyaml
def test_a_flow_colon_next_to_a_real_error_reports_libyaml_s_first_error() -> None:
    text = "a: [2001:db8::]\nb: [oops\n"
    doc = parse_document(text)
    assert doc.root is None and doc.error is not None
    assert doc.error.message == "YAML syntax error: found unexpected ':' (while scanning a plain scalar)"
    line, col = position_of(text, ":]")
    assert (doc.error.span.start_line, doc.error.span.start_char) == (line, col)


@needs_libyaml
@pytest.mark.parametrize(
    "text",
    [
        "a: [fe80::, ::1]\n",  # `::1` starts with a value indicator for go-yaml too
        "%FOO\n---\na: 1\n",  # PyYAML accepts these four; go-yaml, like libyaml, does not
        "%YAML 1.3\n---\na: 1\n",
        'a: "\\ud800"\n',
        'a: "\\U0011FFFF"\n',  # PyYAML's pure-Python parser crashes here (ValueError)
    ],
)
def test_what_go_yaml_refuses_too_stays_an_error(text: str) -> None:
    doc = parse_document(text)
    assert doc.root is None and doc.error is not None


def test_nesting_beyond_the_limit_is_refused_before_any_fallback() -> None:
    text = "a: " + "[" * 600 + "x:" + "]" * 600 + "\n"
    doc = parse_document(text)
    assert doc.root is None and doc.error is not None
    assert "nest deeper than" in doc.error.message
