"""istio-config-validator's own example tests, run as routing tests: each of its test cases turned into a
`kind: RoutingTest` case by the mapping docs/routing.md describes (`description` → `name`, `wantMatch`
→ `expect` or `expectNot`, `route[].destination` and `weight` → `destination`; `request`, `redirect`,
`rewrite`, `fault`, `headers` and `delegate` keep their names), over its example VirtualService
(vendored in `tests/fixtures/istio-config-validator/`). The VirtualService serves `mesh` in namespace
`example`: the requests leave a sidecar of that namespace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from istio_lsp.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "istio-config-validator"
THEIR_TESTS = FIXTURES / "virtualservice_test.yml.txt"


def converted(case: dict[str, Any]) -> dict[str, Any]:
    """One istio-config-validator test case as a routing test case."""
    expected: dict[str, Any] = {}
    for key in ("redirect", "rewrite", "fault", "headers", "delegate"):
        if key in case:
            expected[key] = case[key]
    destinations = []
    for item in case.get("route") or []:
        destination = item["destination"]
        entry: dict[str, Any] = {"host": destination["host"]}
        if "port" in destination:
            entry["port"] = destination["port"]["number"]
        if "subset" in destination:
            entry["subset"] = destination["subset"]
        if "weight" in item:
            entry["weight"] = item["weight"]
        destinations.append(entry)
    aborts_all = case.get("fault", {}).get("abort", {}).get("percentage", {}).get("value") == 100
    if destinations and not aborts_all:  # a route that aborts every request sends nothing to its destination
        expected["destination"] = destinations
    return {
        "name": case["description"],
        "request": case["request"],
        "expect" if case.get("wantMatch", True) else "expectNot": expected,
    }


def routing_tests(cases: list[dict[str, Any]]) -> str:
    document = {"apiVersion": "istio-lsp.dev/v1", "kind": "RoutingTest", "from": "example", "cases": cases}
    return yaml.safe_dump(document, sort_keys=False)


def their_cases() -> list[dict[str, Any]]:
    return [case for doc in yaml.safe_load_all(THEIR_TESTS.read_text()) if doc for case in doc["testCases"]]


def test_their_example_tests_pass_as_routing_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [converted(c) for c in their_cases()]
    assert len(cases) == 6
    tests = tmp_path / "routing-tests.yaml"
    tests.write_text(routing_tests(cases))
    code = main(["test", str(FIXTURES), str(tests), "--no-cache", "--format", "json"])
    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize("index", range(6))
def test_each_of_them_fails_when_its_expectation_is_wrong(
    index: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [converted(c) for c in their_cases()]
    case = cases[index]
    wrong = "expectNot" if "expectNot" in case else "expect"
    case["expect" if wrong == "expectNot" else "expectNot"] = case.pop(wrong)  # the opposite claim
    tests = tmp_path / "routing-tests.yaml"
    tests.write_text(routing_tests([case]))
    assert main(["test", str(FIXTURES), str(tests), "--no-cache", "--format", "json"]) == 1
    capsys.readouterr()
