"""Conformance of `unreachable-route` and `ineffective-match` with Istio's analyzer test table.

Istio's case "dupmatches" runs the VirtualService schema analyzer on two files and
expects IST0130 (VirtualServiceUnreachableRule) and IST0131
(VirtualServiceIneffectiveMatch) for some resources. We run our checks on the same
files, keep the findings of the two mapped codes, and compare (code, "Kind ns/name")
pairs as multisets, as Istio's own test does (order ignored, duplicates counted).

Resources without `metadata.namespace` are analysed with an empty namespace
(`defaultNamespace: ""`), as Istio's harness does, so that our resource ids match the
expected ones (`VirtualService duplicate-match`).

Intentional divergences, each with its reason, are listed in `DIVERGENCES`; the test
fails on any other mismatch, and when a listed divergence no longer happens.

Divergences in behaviour that the case does not exercise are in `BEHAVIOUR_DIVERGENCES`
(Istio's behaviour, ours, and why), and in the rules' docs.

The folder is optional: without it the module is skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from istio_lsp.checks import analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CASES_DIR = SHARED / "istio" / "analyzer-cases"

if not (CASES_DIR / "cases.json").is_file():
    pytest.skip(f"Istio analyzer cases not found at {CASES_DIR}", allow_module_level=True)

CODES = {"unreachable-route": "IST0130", "ineffective-match": "IST0131"}
CASE_NAMES = ("dupmatches",)

Pair = tuple[str, str]  # (Istio code, "Kind ns/name" or "Kind name")

# case → [("missing" | "extra", pair, reason)]
DIVERGENCES: dict[str, list[tuple[str, Pair, str]]] = {
    "dupmatches": [
        (
            "extra",
            ("IST0130", "VirtualService overlapping-in-two-matches"),
            "the second route's only match (`prefix /api/v1/products`, GET) is covered by the first route's "
            "(`prefix /api/v1/product`, GET), so the route never receives traffic; Istio reports the covered "
            "match (IST0131) but counts only exact duplicates toward IST0130",
        ),
        (
            "extra",
            ("IST0131", "VirtualService uri-with-prefix-exact"),
            "match #1 (`exact /`, GET) is covered by match #0 (`prefix /`, any method) of the same route: every "
            "request it accepts is taken by match #0 first; Istio compares only prefix matches with prefix matches",
        ),
    ],
}

# (what Istio does, what we do, why): differences the case above does not exercise
BEHAVIOUR_DIVERGENCES: list[tuple[str, str, str]] = [
    (
        "a route with matches after a catch-all route gets IST0130 once per match",
        "once per route",
        "one dead route is one problem; repeating it per match adds noise",
    ),
    (
        "prefix coverage treats a missing `method` as `exact: GET`",
        "a missing method accepts every method",
        "that is what Envoy does: Istio's reading reports a GET-only `/a` as covering a later any-method "
        "`/a/b`, yet POST `/a/b` still reaches the later route",
    ),
    (
        "prefix coverage ignores `scheme`, `gateways`, `sourceLabels`, `sourceNamespace` and `ignoreUriCase`, "
        "and compares method/authority/header prefixes the wrong way round (`exact:GET` covers `exact:GE`)",
        "every condition is compared; an earlier prefix covers later values that start with it",
        "Istio's reading reports matches that do receive traffic",
    ),
    (
        "only exact duplicates count toward IST0130 (all matches used by prior rules)",
        "matches covered by broader earlier HTTP matches count too",
        "such a route receives no traffic either",
    ),
]

SETTINGS = Settings(default_namespace="")


def _cases() -> list[dict[str, Any]]:
    cases = json.loads((CASES_DIR / "cases.json").read_text(encoding="utf-8"))["cases"]
    return [case for case in cases if case["name"] in CASE_NAMES]


CASES = _cases()


def _ours(case: dict[str, Any]) -> Counter[Pair]:
    index = WorkspaceIndex(SETTINGS)
    for name in case["inputFiles"]:
        path = CASES_DIR / name
        index.update(analyze_text(path.as_uri(), path.read_text(encoding="utf-8"), SETTINGS))
    found: Counter[Pair] = Counter()
    for uri in index.files:
        for finding in check_file(index, uri):
            if finding.code in CODES:
                assert finding.resource is not None, finding
                found[(CODES[finding.code], finding.resource)] += 1
    return found


def _expected(case: dict[str, Any]) -> Counter[Pair]:
    return Counter((e["code"], e["resource"]) for e in case["expected"] if e["code"] in CODES.values())


def test_the_cases_are_there() -> None:
    assert [case["name"] for case in CASES] == list(CASE_NAMES)
    assert set(DIVERGENCES) <= set(CASE_NAMES)
    assert all(istio and ours and reason for istio, ours, reason in BEHAVIOUR_DIVERGENCES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_case(case: dict[str, Any]) -> None:
    expected = _expected(case)
    assert expected, "the case expects IST0130/IST0131 findings"
    missing: Counter[Pair] = Counter()
    extra: Counter[Pair] = Counter()
    for direction, pair, reason in DIVERGENCES.get(case["name"], []):
        assert reason
        if direction == "missing":
            assert expected[pair] > missing[pair], f"stale divergence: Istio does not expect {pair}"
            missing[pair] += 1
        else:
            assert direction == "extra", direction
            assert expected[pair] == 0, f"not a divergence: Istio expects {pair}"
            extra[pair] += 1
    wanted = expected - missing + extra
    ours = _ours(case)
    assert ours == wanted, (
        f"missing: {sorted((wanted - ours).elements())}; unexpected: {sorted((ours - wanted).elements())}"
    )
