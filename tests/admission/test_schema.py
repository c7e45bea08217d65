"""Schema checks (istio_lsp/checks/schema/): the CRD schema layer the Kubernetes API server enforces,
the schema store and its generator."""

from __future__ import annotations

import filecmp
import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from istio_lsp.checks import Finding, Fix, analyze_path, check_file
from istio_lsp.checks.schema import store, validate
from istio_lsp.findings import Severity
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.discovery import discover
from istio_lsp.settings import Settings
from istio_lsp.syntax import MappingNode, parse_file
from tests.admission.helpers import findings_for, found

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
BUNDLE = SHARED / "istio" / "crd-all.gen.yaml"
SCHEMA_DIR = ROOT / "istio_lsp" / "schemas"

SCHEMA_CODES = {
    "unknown-field",
    "invalid-type",
    "invalid-enum-value",
    "missing-required-field",
    "unknown-api-version",
    "deprecated-api-version",
}

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
"""


THEN_ROUTE = "    route:\n    - destination: {host: reviews}\n"


def codes(yaml_text: str) -> set[tuple[str, int]]:
    return found(yaml_text, SCHEMA_CODES)


def one(yaml_text: str, code: str) -> Finding:
    matches = [f for f in findings_for(yaml_text) if f.code == code]
    assert len(matches) == 1, [(f.code, f.message) for f in findings_for(yaml_text)]
    return matches[0]


def apply(text: str, fix: Fix) -> str:
    """The text with a fix's edits applied (ASCII text: columns are characters)."""
    lines = textwrap.dedent(text).split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    out = "\n".join(lines)
    for edit in sorted(fix.edits, key=lambda e: (e.span.start_line, e.span.start_char), reverse=True):
        start = offsets[edit.span.start_line] + edit.span.start_char
        end = offsets[edit.span.end_line] + edit.span.end_char
        out = out[:start] + edit.new_text + out[end:]
    return out


def check_fix_removes(yaml_text: str, code: str, title: str) -> str:
    finding = one(yaml_text, code)
    fix = next(f for f in finding.fixes if f.title == title)
    fixed = apply(yaml_text, fix)
    assert not [f for f in findings_for(fixed) if f.code == code], fixed
    return fixed


# --- unknown-field ---------------------------------------------------------------------------------

MATCHS = (
    VS
    + """\
  - matchs:
    - uri:
        prefix: /api
    route:
    - destination:
        host: reviews
"""
)


def test_unknown_field_in_http_route_with_rename_fix() -> None:
    assert codes(MATCHS) == {("unknown-field", 8)}
    finding = one(MATCHS, "unknown-field")
    assert finding.severity == Severity.ERROR
    assert "`matchs`" in finding.message and "spec.http[0]" in finding.message
    assert "silently dropped" in finding.message and "kubectl apply" in finding.message
    assert finding.fixes[0].title == "Did you mean `match`?" and finding.fixes[0].preferred
    fixed = check_fix_removes(MATCHS, "unknown-field", "Did you mean `match`?")
    assert "  - match:\n    - uri:\n        prefix: /api" in fixed  # only the key changed
    assert codes(fixed) == set()


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        # a field one level too deep
        ("  - route:\n    - destination:\n        host: reviews\n      timeout: 5s\n", {("unknown-field", 11)}),
        ("  - route:\n    - destination:\n        host: reviews\n    timeout: 5s\n", set()),
        # in a StringMatch
        (
            "  - match:\n    - uri: {prefx: /a}\n    route:\n    - destination: {host: reviews}\n",
            {("unknown-field", 9)},
        ),
        ("  - match:\n    - uri: {prefix: /a}\n    route:\n    - destination: {host: reviews}\n", set()),
        # map values (header names) take any key
        ("  - headers:\n      request:\n        set: {x-any-name: v}\n" + THEN_ROUTE, set()),
    ],
)
def test_unknown_field_positions(snippet: str, expected: set[tuple[str, int]]) -> None:
    assert codes(VS + snippet) == expected


def test_unknown_field_keeps_quotes_of_the_key() -> None:
    text = VS + '  - "matchs":\n    - uri: {prefix: /a}\n    route:\n    - destination: {host: reviews}\n'
    fixed = check_fix_removes(text, "unknown-field", "Did you mean `match`?")
    assert '  - "match":' in fixed


def test_unknown_field_in_metadata() -> None:
    text = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: x\n  lables: {a: b}\n"
    assert codes(text) == {("unknown-field", 4)}
    check_fix_removes(text, "unknown-field", "Did you mean `labels`?")


def test_unknown_top_level_keys_and_status_are_not_unknown_field() -> None:
    """Top-level keys are invalid-metadata's; status is ignored by the API server on apply."""
    text = VS + "  - route:\n    - destination: {host: reviews}\nspecs: {}\nstatus:\n  anything: [1]\n"
    assert codes(text) == set()


def test_preserve_unknown_fields_allow_anything() -> None:
    text = """\
    apiVersion: networking.istio.io/v1alpha3
    kind: EnvoyFilter
    metadata: {name: f}
    spec:
      configPatches:
      - applyTo: HTTP_FILTER
        patch:
          operation: INSERT_BEFORE
          value:
            name: envoy.filters.http.lua
            typed_config: {"@type": type.googleapis.com/x, inlineCode: "x"}
    """
    assert codes(text) == set()


# --- invalid-type ----------------------------------------------------------------------------------

ROUTE = "  - route:\n    - destination:\n        host: reviews\n"


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        # a string where an integer is required
        (ROUTE + '        port: {number: "9080"}\n', {("invalid-type", 11)}),
        (ROUTE + "        port: {number: 9080}\n", set()),
        (ROUTE + "        port: {number: 9080.0}\n", set()),  # JSON carries 9080.0 as 9080
        (ROUTE + "        port: {number: 0x2378}\n", set()),
        (ROUTE + "        port: {number: 90.5}\n", {("invalid-type", 11)}),
        # an integer where a string is required
        (ROUTE + "    timeout: 5\n", {("invalid-type", 11)}),
        (ROUTE + "    timeout: 5s\n", set()),
        # a list where an object is required, an object where a list is
        (ROUTE + "    retries: [attempts: 3]\n", {("invalid-type", 11)}),
        (ROUTE + "    retries: {attempts: 3}\n", set()),
        ("  - route:\n      destination: {host: reviews}\n", {("invalid-type", 8)}),
        # booleans, YAML 1.1 included
        ("  - match:\n    - ignoreUriCase: yes\n" + THEN_ROUTE, set()),
        ('  - match:\n    - ignoreUriCase: "true"\n' + THEN_ROUTE, {("invalid-type", 9)}),
        # a number field takes integers
        (ROUTE + "    fault:\n      abort: {httpStatus: 503, percentage: {value: 100}}\n", set()),
        (ROUTE + '    fault:\n      abort: {httpStatus: 503, percentage: {value: "100"}}\n', {("invalid-type", 12)}),
        # an explicit !!str tag makes a string
        (ROUTE + "    timeout: !!str 5\n", set()),
        # an empty item in a list of strings
        (ROUTE + "    match:\n    - gateways: [mesh, ~]\n", {("invalid-type", 12)}),
    ],
)
def test_invalid_type(snippet: str, expected: set[tuple[str, int]]) -> None:
    assert codes(VS + snippet) == expected


def test_quoted_number_fix_removes_the_quotes() -> None:
    text = VS + ROUTE + '        port: {number: "9080"}\n'
    finding = one(text, "invalid-type")
    assert "must be an integer" in finding.message and "rejects" in finding.message
    fixed = check_fix_removes(text, "invalid-type", "Remove the quotes")
    assert "port: {number: 9080}" in fixed


def test_scalar_for_a_list_fix_makes_a_list() -> None:
    text = VS.replace("  hosts:\n  - reviews\n", "  hosts: reviews\n") + ROUTE
    assert codes(text) == {("invalid-type", 5)}
    fixed = check_fix_removes(text, "invalid-type", "Make it a one-item list")
    assert "hosts: [reviews]" in fixed


@pytest.mark.parametrize(("value", "type_name"), [("1", "an integer"), ("on", "a boolean"), ("1.5", "a number")])
def test_label_values_must_be_strings(value: str, type_name: str) -> None:
    text = f"apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s\n  labels:\n    version: {value}\n"
    finding = one(text, "invalid-type")
    assert finding.span.start_line == 5
    assert f"`{value}` is read as {type_name}" in finding.message
    fixed = check_fix_removes(text, "invalid-type", f"Quote `{value}`")
    assert f'version: "{value}"' in fixed


def test_annotation_values_must_be_strings() -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: s\n"
        "  annotations:\n    sidecar.istio.io/inject: false\n"
    )
    finding = one(text, "invalid-type")
    assert 'annotations["sidecar.istio.io/inject"]' in finding.message


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ("{exact: /a, prefix: /b}", {("invalid-type", 9)}),
        ("{exact: /a}", set()),
        ("{}", set()),  # none set is allowed
        ("{exact: /a, prefix: ~}", set()),  # null fields are dropped before validation
    ],
)
def test_only_one_of_stringmatch(match: str, expected: set[tuple[str, int]]) -> None:
    text = VS + f"  - match:\n    - uri: {match}\n    route:\n    - destination: {{host: reviews}}\n"
    assert codes(text) == expected


def test_only_one_of_message_names_the_fields() -> None:
    text = (
        VS
        + "  - match:\n    - uri:\n        exact: /a\n        regex: /b.*\n    route:\n    - destination: {host: r}\n"
    )
    finding = one(text, "invalid-type")
    assert finding.span.start_line == 11  # the second of the conflicting fields
    assert "Only one of `exact`, `prefix`, `regex`" in finding.message and "`exact` and `regex`" in finding.message


def test_only_one_of_inside_all_of() -> None:
    """DestinationRule consistentHash: allOf of two oneOf groups."""
    text = """\
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: r}
    spec:
      host: reviews
      trafficPolicy:
        loadBalancer:
          consistentHash:
            httpHeaderName: x-user
            useSourceIp: true
            ringHash: {minimumRingSize: 1024}
    """
    assert codes(text) == {("invalid-type", 9)}
    assert codes(text.replace("        useSourceIp: true\n", "")) == set()
    both = text.replace("        useSourceIp: true\n", "        maglev: {tableSize: 65537}\n")
    assert codes(both) == {("invalid-type", 10)}


# --- invalid-enum-value ----------------------------------------------------------------------------

PA = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\nspec:\n  mtls:\n"


def test_enum_value_with_fixes_closest_first() -> None:
    text = PA + "    mode: strict\n"
    assert codes(text) == {("invalid-enum-value", 6)}
    finding = one(text, "invalid-enum-value")
    assert "`STRICT`" in finding.message and "did you mean `STRICT`?" in finding.message
    assert finding.fixes[0].title == "Change to `STRICT`"
    assert finding.fixes[0].preferred and not any(f.preferred for f in finding.fixes[1:])
    assert {f.title for f in finding.fixes} == {
        f"Change to `{v}`" for v in ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
    }
    fixed = check_fix_removes(text, "invalid-enum-value", "Change to `STRICT`")
    assert "mode: STRICT" in fixed and codes(fixed) == set()


def test_enum_value_far_from_all_has_no_preferred_fix() -> None:
    finding = one(PA + "    mode: BANANA\n", "invalid-enum-value")
    assert finding.fixes and not any(f.preferred for f in finding.fixes)


def test_enum_fix_keeps_quotes() -> None:
    fixed = check_fix_removes(PA + '    mode: "permissive"\n', "invalid-enum-value", "Change to `PERMISSIVE`")
    assert 'mode: "PERMISSIVE"' in fixed


@pytest.mark.parametrize("mode", ["STRICT", "PERMISSIVE", "'DISABLE'"])
def test_enum_value_allowed(mode: str) -> None:
    assert codes(PA + f"    mode: {mode}\n") == set()


def test_enum_value_in_serviceentry() -> None:
    text = """\
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: ext}
    spec:
      hosts: [api.example.com]
      location: MESH_EXTERNALL
      resolution: DNS
      ports:
      - {number: 443, name: https, protocol: TLS}
    """
    assert codes(text) == {("invalid-enum-value", 5)}
    check_fix_removes(text, "invalid-enum-value", "Change to `MESH_EXTERNAL`")


# --- missing-required-field ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        # a route entry without destination: on the item
        ("  - route:\n    - weight: 100\n", {("missing-required-field", 9)}),
        ("  - route:\n    - weight: 100\n      destination: {host: reviews}\n", set()),
        # a destination without host: on the parent's key
        ("  - route:\n    - destination:\n        subset: v1\n", {("missing-required-field", 9)}),
        # required and null: on the null key
        ("  - route:\n    - destination:\n      weight: 100\n", {("missing-required-field", 9)}),
        # directResponse needs status
        ("  - directResponse:\n      body: {string: hi}\n", {("missing-required-field", 8)}),
        ("  - directResponse:\n      status: 200\n", set()),
    ],
)
def test_missing_required_field(snippet: str, expected: set[tuple[str, int]]) -> None:
    assert codes(VS + snippet) == expected


def test_missing_required_message() -> None:
    finding = one(VS + "  - route:\n    - destination:\n        subset: v1\n", "missing-required-field")
    assert "`spec.http[0].route[0].destination` is missing the required field `host`" in finding.message


def test_missing_required_at_the_top() -> None:
    """ServiceEntry requires spec, and spec.hosts; TLS routes require match and sniHosts."""
    assert codes("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n") == {
        ("missing-required-field", 1)
    }
    se = header("networking.istio.io/v1", "ServiceEntry") + "spec:\n  location: MESH_INTERNAL\n"
    assert codes(se) == {("missing-required-field", 4)}
    tls = VS.replace("  http:\n", "  tls:\n") + "  - route:\n    - destination: {host: reviews}\n"
    assert codes(tls) == {("missing-required-field", 8)}
    assert codes(tls.replace("  - route:", "  - match:\n    - sniHosts: [reviews]\n    route:")) == set()


# --- unknown-api-version ---------------------------------------------------------------------------


def header(api_version: str, kind: str) -> str:
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: x\n"


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("networking.istio.io/v2", "VirtualService", {("unknown-api-version", 0)}),
        ("security.istio.io/v1alpha3", "AuthorizationPolicy", {("unknown-api-version", 0)}),
        ("networking.istio.io/v1", "AuthorizationPolicy", {("unknown-api-version", 0)}),
        ("networking.istio/v1", "VirtualService", {("unknown-api-version", 0)}),
        ("networking.istio.io", "VirtualService", {("unknown-api-version", 0)}),
        ("networking.istio.io/v1", "VirtualServce", {("unknown-api-version", 1)}),
        ("networking.istio.io/v1", "VirtualService", set()),
        ("security.istio.io/v1", "AuthorizationPolicy", set()),
        ("networking.istio.io/v1alpha3", "EnvoyFilter", set()),
        ("extensions.istio.io/v1alpha1", "WasmPlugin", set()),
        # other projects' groups and kinds are not Istio's business
        ("gateway.networking.k8s.io/v1", "Gateway", set()),
        ("install.istio.io/v1alpha1", "IstioOperator", set()),
        ("apps/v1", "Deployment", set()),
        ("networking.istio.io/v1", "VirtualServiceList", set()),
    ],
)
def test_unknown_api_version(api_version: str, kind: str, expected: set[tuple[str, int]]) -> None:
    assert found(header(api_version, kind), {"unknown-api-version"}) == expected


def test_unknown_api_version_lists_served_and_fixes() -> None:
    text = header("security.istio.io/v1alpha3", "AuthorizationPolicy")
    finding = one(text, "unknown-api-version")
    assert "`security.istio.io/v1`, `security.istio.io/v1beta1`" in finding.message
    assert 'no matches for kind "AuthorizationPolicy"' in finding.message
    assert [f.title for f in finding.fixes] == ["Use `security.istio.io/v1`", "Use `security.istio.io/v1beta1`"]
    fixed = check_fix_removes(text, "unknown-api-version", "Use `security.istio.io/v1`")
    assert codes(fixed) == set()


def test_unknown_kind_fix() -> None:
    fixed = check_fix_removes(
        header("networking.istio.io/v1", "VirtualServce"), "unknown-api-version", "Did you mean `VirtualService`?"
    )
    assert "kind: VirtualService\n" in fixed


def test_no_schema_findings_without_a_served_version() -> None:
    """An unserved version has no schema: only unknown-api-version is reported."""
    text = header("networking.istio.io/v2", "VirtualService") + "spec:\n  hostz: [a]\n"
    assert codes(text) == {("unknown-api-version", 0)}


# --- deprecated-api-version ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("networking.istio.io/v1alpha3", "VirtualService", {("deprecated-api-version", 0)}),
        ("networking.istio.io/v1beta1", "DestinationRule", {("deprecated-api-version", 0)}),
        ("security.istio.io/v1beta1", "PeerAuthentication", {("deprecated-api-version", 0)}),
        ("telemetry.istio.io/v1alpha1", "Telemetry", {("deprecated-api-version", 0)}),
        ("networking.istio.io/v1", "VirtualService", set()),
        ("telemetry.istio.io/v1", "Telemetry", set()),
        # one version only: nothing newer to move to
        ("networking.istio.io/v1alpha3", "EnvoyFilter", set()),
        ("networking.istio.io/v1beta1", "ProxyConfig", set()),
    ],
)
def test_deprecated_api_version(api_version: str, kind: str, expected: set[tuple[str, int]]) -> None:
    assert found(header(api_version, kind), {"deprecated-api-version"}) == expected


def test_deprecated_api_version_is_a_hint_with_a_safe_fix() -> None:
    text = header("'networking.istio.io/v1alpha3'", "Gateway")
    finding = one(text, "deprecated-api-version")
    assert finding.severity == Severity.HINT
    assert "networking.istio.io/v1" in finding.message and "same schema" in finding.message
    fix = finding.fixes[0]
    assert fix.title == "Use `networking.istio.io/v1`" and fix.preferred and fix.safe
    fixed = check_fix_removes(text, "deprecated-api-version", "Use `networking.istio.io/v1`")
    assert fixed.startswith("apiVersion: 'networking.istio.io/v1'\n")


# --- YAML typing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("80", "integer"),
        ("+80", "integer"),
        ("-80", "integer"),
        ("0x50", "integer"),
        ("0o17", "integer"),
        ("017", "integer"),
        ("08", "integer"),  # not octal: read as the float 8, which JSON carries as 8
        ("0b101", "integer"),
        ("1_000", "integer"),
        ("1e3", "integer"),
        ("80.0", "integer"),
        ("1.5", "float"),
        (".5", "float"),
        ("-1.5e-3", "float"),
        (".inf", "float"),
        ("99999999999999999999", "float"),  # past int64: a JSON float
        ("true", "boolean"),
        ("False", "boolean"),
        ("yes", "boolean"),
        ("Off", "boolean"),
        ("y", "boolean"),
        ("N", "boolean"),
        ("~", "null"),
        ("null", "null"),
        ("", "null"),
        ("nulls", "string"),
        ("yess", "string"),
        ("TRue", "string"),
        ("1.2.3.4", "string"),
        ("2001-12-14", "string"),  # timestamps stay strings when decoded into interface{}
        ("10s", "string"),
        ("0x", "string"),
        ("-", "string"),
        (".", "string"),
        ("v1", "string"),
        ("1e400", "string"),  # overflows ParseFloat: go-yaml keeps the text
    ],
)
def test_plain_scalar_types(text: str, kind: str) -> None:
    assert validate.plain_type(text) == kind


def _walk(yaml_text: str, schema: dict) -> list[tuple[str, int]]:
    doc = parse_file(textwrap.dedent(yaml_text)).documents[0]
    assert isinstance(doc.root, MappingNode)
    root = {"type": "object", "properties": {"spec": schema}}
    return [(v.code, v.span.start_line) for v in validate.check_node(doc, doc.root, root)]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("80", True), ('"80"', True), ("http", True), ("1.5", False), ("true", False), ("[80]", False)],
)
def test_int_or_string(value: str, ok: bool) -> None:
    for schema in (
        {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        {"type": "string", "format": "int-or-string"},
    ):
        assert _walk(f"spec:\n  port: {value}\n", {"type": "object", "properties": {"port": schema}}) == (
            [] if ok else [("invalid-type", 1)]
        )


def test_nullable_and_null_fields() -> None:
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "string", "nullable": True}, "b": {"type": "string"}},
    }
    # a nullable null is a value; a null non-nullable field is dropped, so the required `b` is missing
    assert _walk("spec:\n  a: ~\n  b: ~\n", schema) == [("missing-required-field", 2)]
    assert _walk("spec:\n  a: ~\n  b: x\n", schema) == []


def test_preserve_unknown_fields_still_checks_known_fields() -> None:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"n": {"type": "integer"}}}
    assert _walk("spec:\n  anything: {deep: [1]}\n  n: 1\n", schema) == []
    assert _walk("spec:\n  n: one\n", schema) == [("invalid-type", 1)]


def test_exactly_one_of_without_a_none_branch() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
    }
    assert _walk("spec:\n  a: x\n", schema) == []
    assert _walk("spec:\n  c: x\n", {**schema, "additionalProperties": True}) == [("missing-required-field", 0)]
    assert _walk("spec:\n  a: x\n  b: z\n", schema) == [("invalid-type", 2)]


# --- cost ------------------------------------------------------------------------------------------


def test_aliases_are_walked_once() -> None:
    lines = [*VS.splitlines()[:-1], "  x0: &x0 [{matchs: 1}, {matchs: 1}]"]
    lines += [f"  x{i}: &x{i} [*x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}]" for i in range(1, 30)]
    lines.append("  http: *x29")
    start = time.perf_counter()
    results = findings_for("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 20  # 4**30 paths if aliases were expanded
    assert any(f.code == "invalid-type" for f in results)


def test_walk_stops_at_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "MAX_NODES", 5)
    text = VS + "".join(f"  - route:\n    - destinaton: {{host: r{i}}}\n" for i in range(20))
    doc = parse_file(text).documents[0]
    assert isinstance(doc.root, MappingNode)
    schema = store.schema_for("networking.istio.io/v1", "VirtualService")
    assert schema is not None
    assert len(validate.check_node(doc, doc.root, schema)) < 20


# --- the store -------------------------------------------------------------------------------------


def test_store_index_and_served_versions() -> None:
    assert set(store.kind_names()) >= {"VirtualService", "DestinationRule", "Gateway", "HTTPRoute", "Telemetry"}
    assert sum(info.source == "istio" for info in store.kinds().values()) == 15
    assert sum(info.source == "gateway-api" for info in store.kinds().values()) == 13
    assert store.served_versions("VirtualService") == (
        "networking.istio.io/v1",
        "networking.istio.io/v1beta1",
        "networking.istio.io/v1alpha3",
    )
    assert store.served_versions("Deployment") == ()
    telemetry = store.kind_info("Telemetry")
    assert telemetry is not None and telemetry.preferred == "v1" and telemetry.storage == "v1alpha1"
    assert store.groups() == {
        "networking.istio.io",
        "security.istio.io",
        "telemetry.istio.io",
        "extensions.istio.io",
        "gateway.networking.k8s.io",
        "gateway.networking.x-k8s.io",
    }


def test_store_keeps_the_two_gateways_apart() -> None:
    istio = store.kind_info("Gateway", "networking.istio.io")
    gwapi = store.kind_info("Gateway", "gateway.networking.k8s.io")
    assert istio is not None and gwapi is not None and istio != gwapi
    assert store.kind_info("Gateway") is istio  # no group: Istio's
    assert store.served_versions("Gateway", "gateway.networking.k8s.io") == (
        "gateway.networking.k8s.io/v1",
        "gateway.networking.k8s.io/v1beta1",
    )
    istio_schema = store.schema_for("networking.istio.io/v1", "Gateway")
    gwapi_schema = store.schema_for("gateway.networking.k8s.io/v1", "Gateway")
    assert "servers" in store.properties(store.subschema(istio_schema, "spec"))
    assert "listeners" in store.properties(store.subschema(gwapi_schema, "spec"))
    assert "servers" not in store.properties(store.subschema(gwapi_schema, "spec"))
    assert store.schema_for("gateway.networking.k8s.io/v1", "VirtualService") is None
    # the kinds and versions only the experimental channel serves
    tls = store.kind_info("TLSRoute", "gateway.networking.k8s.io")
    assert tls is not None and tls.experimental == ("v1alpha3", "v1alpha2")
    xmesh = store.kind_info("XMesh", "gateway.networking.x-k8s.io")
    assert xmesh is not None and xmesh.source == "gateway-api" and xmesh.experimental == ("v1alpha1",)


def test_schema_for_and_subschema() -> None:
    schema = store.schema_for("networking.istio.io/v1", "VirtualService")
    assert schema is not None
    assert store.schema_for("networking.istio.io/v1", "VirtualService") is schema  # loaded once
    assert store.schema_for("networking.istio.io/v2", "VirtualService") is None
    assert store.schema_for("networking.istio.io/v1", "../../index") is None
    assert set(store.properties(store.subschema(schema, "spec.http[0].route[0]"))) == {
        "destination",
        "headers",
        "weight",
    }
    assert store.subschema(schema, ["spec", "http", 0, "timeout"]) == {
        "type": "string",
        "x-kubernetes-validations": [
            {"message": "must be a valid duration greater than 1ms", "rule": "duration(self) >= duration('1ms')"}
        ],
    }
    # map values, through additionalProperties
    assert store.subschema(schema, "spec.http[0].match[0].headers.x-user.exact") == {"type": "string"}
    assert store.subschema(schema, "metadata.labels.app") == {"type": "string"}
    assert store.subschema(schema, "spec.http[0].nope") is None
    # branch-only properties are found through allOf/oneOf/anyOf
    dr = store.schema_for("networking.istio.io/v1", "DestinationRule")
    hash_policy = store.subschema(dr, "spec.trafficPolicy.loadBalancer.consistentHash")
    assert "maglev" in store.properties(hash_policy)
    assert "description" not in json.dumps(schema)


# --- fixtures --------------------------------------------------------------------------------------


def _schema_findings(root: Path) -> list[tuple[str, int, str]]:
    settings = Settings()
    index = WorkspaceIndex(settings)
    for path in discover(root):
        index.update(analyze_path(path, settings))
    return sorted(
        (Path(unquote(urlparse(f.uri).path)).relative_to(root.resolve()).as_posix(), f.span.start_line + 1, f.code)
        for uri in index.files
        for f in check_file(index, uri)
        if f.code in SCHEMA_CODES
    )


def test_examples_fixed_have_no_schema_findings() -> None:
    assert _schema_findings(ROOT / "examples" / "fixed") == []


# the Bookinfo files still at networking.istio.io/v1alpha3: a hint each
BOOKINFO_HINTS = [
    ("networking/bookinfo-gateway.yaml", 1),
    ("networking/bookinfo-gateway.yaml", 18),
    ("networking/egress-rule-google-apis.yaml", 1),
    ("networking/fault-injection-details-v1.yaml", 1),
    ("networking/fault-injection-details-v1.yaml", 23),
    ("networking/virtual-service-details-v2.yaml", 1),
    ("networking/virtual-service-ratings-mysql-vm.yaml", 1),
    ("networking/virtual-service-ratings-mysql-vm.yaml", 14),
    ("networking/virtual-service-ratings-test-abort.yaml", 1),
    ("networking/virtual-service-ratings-test-delay.yaml", 1),
    ("networking/virtual-service-reviews-80-20.yaml", 1),
    ("networking/virtual-service-reviews-jason-v2-v3.yaml", 1),
    ("networking/virtual-service-reviews-test-v2.yaml", 1),
]


def test_bookinfo_schema_findings() -> None:
    """Only hints for the v1alpha3 files, and one true positive: this copy of the abort sample (istio/istio
    062bdf2) sets `fault.abort.percent`, a field today's CRD no longer has (upstream later switched the
    sample to `percentage: {value: 100.0}`), so kubectl apply rejects it with strict field validation."""
    expected = [(path, line, "deprecated-api-version") for path, line in BOOKINFO_HINTS]
    expected.append(("networking/virtual-service-ratings-test-abort.yaml", 15, "unknown-field"))
    assert _schema_findings(ROOT / "tests" / "fixtures" / "bookinfo") == sorted(expected)


# --- the generator ---------------------------------------------------------------------------------


def _generator() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import generate_schemas
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return generate_schemas


GATEWAY_API = SHARED / "gateway-api"
SOURCES = [
    f"istio={BUNDLE}",
    f"gateway-api={GATEWAY_API / 'experimental'}",
    "--baseline",
    f"gateway-api={GATEWAY_API / 'standard'}",
]


def _committed() -> list[str]:
    return sorted(p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_DIR.rglob("*.json"))


def _same_as_committed(out: Path) -> None:
    generated = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert generated == _committed()
    _, mismatch, errors = filecmp.cmpfiles(out, SCHEMA_DIR, generated, shallow=False)
    assert not mismatch and not errors


@pytest.mark.skipif(
    not BUNDLE.is_file() or not GATEWAY_API.is_dir(), reason="the CRD bundles (/work/shared) are not available"
)
def test_generator_reproduces_the_committed_schemas(tmp_path: Path) -> None:
    """Istio's bundle and the Gateway API's CRDs (v1.6.1, experimental channel over the standard one)
    give exactly the committed files, together or one source after the other."""
    generate_schemas = _generator()
    out = tmp_path / "schemas"
    generate_schemas.main([*SOURCES, "--out", str(out)])
    _same_as_committed(out)
    # regenerating over an earlier output replaces it, and drops files the bundle no longer yields
    stale = out / "networking.istio.io" / "v9" / "Old.json"
    stale.parent.mkdir()
    stale.write_text("{}")
    index = json.loads((out / "index.json").read_text())
    index["kinds"].append({"kind": "Old", "group": "networking.istio.io", "served": ["v9"], "source": "istio"})
    (out / "index.json").write_text(json.dumps(index))
    generate_schemas.main([f"istio={BUNDLE}", "--out", str(out)])  # the Gateway API's files stay
    assert not stale.exists() and not stale.parent.exists()
    _same_as_committed(out)
    # one source at a time, in either order
    separate = tmp_path / "separate"
    generate_schemas.main([f"gateway-api={GATEWAY_API / 'experimental'}", *SOURCES[2:], "--out", str(separate)])
    generate_schemas.main([str(BUNDLE), "--out", str(separate)])  # a bare path is the source `istio`
    _same_as_committed(separate)
    # an index of format 1 (one source, keyed by kind) is read as Istio's
    legacy = tmp_path / "legacy"
    generate_schemas.main([f"istio={BUNDLE}", "--out", str(legacy)])
    old = json.loads((legacy / "index.json").read_text())
    old_kinds = {e["kind"]: e for e in old["kinds"]}
    (legacy / "index.json").write_text(json.dumps({**old, "format": 1, "kinds": old_kinds}))
    generate_schemas.main([*SOURCES, "--out", str(legacy)])
    _same_as_committed(legacy)


def test_experimental_fields_are_marked() -> None:
    schema = store.schema_for("gateway.networking.k8s.io/v1", "HTTPRoute")
    filters = store.subschema(schema, "spec.rules[0].filters[0]")
    assert filters is not None
    assert store.properties(filters)["externalAuth"].get("x-istio-lsp-experimental") is True
    assert "x-istio-lsp-experimental" not in store.properties(filters)["requestRedirect"]
