"""Table-driven tests of every check: each case under tests/cases declares its expected findings in comments.

See casekit.py for the fixture format.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from istio_lsp.checks import AFTER_CHECKS, FROM_ROUTING_TESTS, RULES, RULES_BY_CODE, Finding, Severity, TextEdit
from istio_lsp.checks.base import close_matches
from istio_lsp.syntax import Span
from tests.casekit import (
    Case,
    Expectation,
    apply_edits,
    apply_fix,
    case_names,
    compare,
    load_case,
    offset_of,
    parse_expectations,
    run_checks,
    summarize_text,
)

CASES = case_names()
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")


def _fix_params() -> list:
    params = []
    for name in CASES:
        for exp in load_case(name).expectations:
            for title in exp.fixes:
                params.append(pytest.param(name, exp, title, id=f"{name}:{exp.line + 1}:{exp.code}:{title}"))
    return params


# ---- the table ----------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_case(name: str) -> None:
    case = load_case(name)
    problems = compare(case, run_checks(case))
    assert not problems, f"case {name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", CASES)
def test_case_is_well_formed(name: str) -> None:
    case = load_case(name)
    assert case.files, f"case {name} has no YAML files"
    assert case.covers, f"case {name} has no `# covers:` line"
    for code in case.covers:
        assert code in RULES_BY_CODE, f"case {name} covers unknown rule {code!r}"
    for exp in case.expectations:
        assert exp.code in RULES_BY_CODE, f"case {name}: unknown code in {exp}"
        assert exp.code in case.covers, f"case {name}: {exp} is not among the rules it covers"


# ---- the registry ---------------------------------------------------------------


def test_rule_codes_are_unique_kebab_case() -> None:
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes)), Counter(codes).most_common(3)
    for code in codes:
        assert KEBAB.match(code), code
    assert set(RULES_BY_CODE) == set(codes)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_is_documented(rule) -> None:
    assert rule.summary.strip(), rule.code
    assert rule.doc.strip(), rule.code
    assert len(rule.doc.split()) >= 30, f"{rule.code}: the doc is too short to explain anything"
    assert isinstance(rule.severity, Severity)
    # by the core, from what the checks found; or by running routing test files
    produced_after = rule.code in AFTER_CHECKS or rule.code in FROM_ROUTING_TESTS
    assert callable(rule.run) or callable(getattr(rule, "local", None)) or produced_after, f"{rule.code} runs nowhere"


CROSS_FILE_RULES = [rule for rule in RULES if rule.run is not None or rule.code in AFTER_CHECKS]
CROSS_FILE_CODES = {rule.code for rule in CROSS_FILE_RULES}
LOCAL_RULES = [rule for rule in RULES if rule.local is not None]
ADMISSION_TESTS = Path(__file__).parent / "admission"


@pytest.mark.parametrize("rule", LOCAL_RULES, ids=lambda r: r.code)
def test_local_rule_has_its_own_tests(rule) -> None:
    """Per-document rules are tested table-driven under tests/admission (positive and negative rows)."""
    mentions = [p.name for p in ADMISSION_TESTS.glob("test_*.py") if f'"{rule.code}"' in p.read_text(encoding="utf-8")]
    assert mentions, f"no test under tests/admission names {rule.code}"


@pytest.mark.parametrize("rule", CROSS_FILE_RULES, ids=lambda r: r.code)
def test_rule_has_positive_and_negative_cases(rule) -> None:
    positive, negative = [], []
    for name in CASES:
        case = load_case(name)
        if rule.code not in case.covers:
            continue
        expects = any(e.code == rule.code for e in case.expectations)
        (positive if expects else negative).append(name)
    assert positive, f"no case expects a {rule.code} finding"
    assert negative, f"no case covers {rule.code} while expecting none of its findings"


# ---- the harness itself must be able to fail ------------------------------------------


def _first_case_with_expectations() -> Case:
    for name in CASES:
        case = load_case(name)
        if case.expectations:
            return case
    raise AssertionError("no case has expectations")


def test_compare_reports_a_missing_finding() -> None:
    case = _first_case_with_expectations()
    extra = replace(case.expectations[0], line=case.expectations[0].line + 1000)
    case.expectations.append(extra)
    assert any(p.startswith("missing:") for p in compare(case, run_checks(case)))


def test_compare_reports_an_unexpected_finding() -> None:
    case = _first_case_with_expectations()
    case.expectations.pop(0)
    assert any(p.startswith("unexpected:") for p in compare(case, run_checks(case)))


def test_compare_reports_a_wrong_severity() -> None:
    case = _first_case_with_expectations()
    first = case.expectations[0]
    actual = next(f for f in run_checks(case) if (case.rel(f.uri), f.code, f.span.start_line) == first.key)
    wrong = Severity.HINT if actual.severity != Severity.HINT else Severity.ERROR
    case.expectations[0] = replace(first, severity=wrong)
    assert any(p.startswith("severity:") for p in compare(case, run_checks(case)))


def test_parse_expectations() -> None:
    parsed = parse_expectations(
        "a.yaml", 3, 'subset-not-found@error fix "Did you mean `v1`?" fix "Add subset, twice", gateway-not-found'
    )
    assert parsed == [
        Expectation("a.yaml", 3, "subset-not-found", Severity.ERROR, ("Did you mean `v1`?", "Add subset, twice")),
        Expectation("a.yaml", 3, "gateway-not-found"),
    ]
    with pytest.raises(ValueError):
        parse_expectations("a.yaml", 0, "Subset-Not-Found!")


def test_offsets_count_utf16_units() -> None:
    text = "a: 1\nb: \U0001f600x\n"
    assert offset_of(text, 1, 0) == 5
    assert offset_of(text, 1, 5) == text.index("x")  # the emoji is two UTF-16 units
    assert offset_of(text, 2, 0) == len(text)
    with pytest.raises(AssertionError):
        offset_of(text, 1, 4)  # inside the surrogate pair
    with pytest.raises(AssertionError):
        offset_of(text, 0, 9)


def test_apply_edits_in_several_files() -> None:
    files = {"a.yaml": "one\ntwo\n", "b.yaml": "x\n"}
    edits = [
        TextEdit("u:a", Span(1, 0, 1, 3), "TWO"),
        TextEdit("u:a", Span(0, 3, 0, 3), "!"),
        TextEdit("u:b", Span(1, 0, 1, 0), "y\n"),
    ]
    out = apply_edits(files, edits, lambda uri: {"u:a": "a.yaml", "u:b": "b.yaml"}[uri])
    assert out == {"a.yaml": "one!\nTWO\n", "b.yaml": "x\ny\n"}
    assert files["a.yaml"] == "one\ntwo\n"
    with pytest.raises(AssertionError):
        apply_edits(
            files, [TextEdit("u:a", Span(0, 0, 1, 1), ""), TextEdit("u:a", Span(0, 2, 0, 3), "")], lambda _: "a.yaml"
        )


# ---- quick fixes ----------------------------------------------------------------------


def _target(case: Case, findings: list[Finding], exp: Expectation) -> Finding:
    matching = [f for f in findings if (case.rel(f.uri), f.code, f.span.start_line) == exp.key]
    assert matching, f"{exp} not found"
    return matching[0]


@pytest.mark.parametrize(("name", "exp", "title"), _fix_params())
def test_fix_removes_the_finding(name: str, exp: Expectation, title: str) -> None:
    case = load_case(name)
    before = run_checks(case)
    finding = _target(case, before, exp)
    offered = [fix for fix in finding.fixes if fix.title.startswith(title)]
    assert offered, f"no fix starting with {title!r} among {[f.title for f in finding.fixes]}"
    fixed_files = apply_fix(case, offered[0])
    assert fixed_files != case.files, "the fix changed nothing"
    after = run_checks(case, fixed_files)
    syntax_errors = [f.message for f in after if f.code == "yaml-syntax-error"]
    assert len(syntax_errors) <= sum(f.code == "yaml-syntax-error" for f in before), syntax_errors
    # the finding is gone (lines may have moved: compare by what it says)
    same = Counter((f.code, f.message) for f in after)
    assert (
        same[(finding.code, finding.message)]
        < Counter((f.code, f.message) for f in before)[(finding.code, finding.message)]
    ), [f"{case.rel(f.uri)}:{f.span.start_line + 1} {f.code}: {f.message}" for f in after]
    # and nothing new appeared (a fix may clear siblings too: one created DestinationRule serves every subset);
    # of the per-document rules (which have their own fix tests) only the fixed one's own code counts here
    counted = CROSS_FILE_CODES | {exp.code}
    codes_before = Counter(f.code for f in before if f.code in counted)
    codes_after = Counter(f.code for f in after if f.code in counted)
    assert codes_after[exp.code] < codes_before[exp.code]
    assert not codes_after - codes_before, f"the fix introduced findings: {codes_after - codes_before}"


def test_every_check_with_fixes_has_a_fix_test() -> None:
    """Each check that offers fixes somewhere in the cases has at least one fix applied by a test."""
    offering = set()
    tested = {exp.code for name in CASES for exp in load_case(name).expectations if exp.fixes}
    for name in CASES:
        case = load_case(name)
        offering |= {f.code for f in run_checks(case) if f.fixes and f.code in CROSS_FILE_CODES}
    assert offering - tested == set()
    assert {
        "destination-host-is-virtualservice",
        "destination-host-not-found",
        "subset-without-destinationrule",
        "subset-not-found",
        "subset-matches-no-workload",
        "gateway-not-found",
    } <= tested


# ---- what the fixes write ---------------------------------------------------------------


def _applied(name: str, rel: str, line: int, code: str, title: str) -> tuple[Case, dict[str, str]]:
    """A case's files after applying the fix `title` of the `code` finding starting on 1-based `line` of `rel`."""
    case = load_case(name)
    finding = _target(case, run_checks(case), Expectation(rel, line - 1, code))
    fix = next(f for f in finding.fixes if f.title.startswith(title))
    return case, apply_fix(case, fix)


def _resources(case: Case, files: dict[str, str], rel: str) -> dict[str, object]:
    summary = summarize_text(case.uri(rel), files[rel], case.settings)
    assert not summary.syntax_errors, summary.syntax_errors
    return {f"{r.kind} {r.name}": r for r in summary.resources}


def test_route_fix_rewrites_only_the_host() -> None:
    case, files = _applied(
        "vs-host-silenced-by-serviceentry", "routes.yaml", 20, "destination-host-is-virtualservice", "Route to"
    )
    old, new = case.files["routes.yaml"].split("\n"), files["routes.yaml"].split("\n")
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert [b.split("#")[0].strip() for _, b in changed] == ["host: deployment-1-svc.hello-world-app.svc.cluster.local"]
    assert files["silence.yaml"] == case.files["silence.yaml"]  # the ServiceEntry is left for the user to delete


def test_direct_response_fix_moves_the_response() -> None:
    case, files = _applied(
        "vs-host-direct-response-and-redirect",
        "vs-host-direct-response-and-redirect.yaml",
        43,
        "destination-host-is-virtualservice",
        "Answer with the directResponse",
    )
    vs = _resources(case, files, "vs-host-direct-response-and-redirect.yaml")["VirtualService storefront"]
    rule = vs.http_rules[0]
    assert rule.route_span is None and rule.route_count == 0
    assert rule.direct_response == 'status: 503\nbody:\n  string: "checkout is down for maintenance"'


def test_create_destination_rule_fix_takes_labels_from_the_workloads() -> None:
    case, files = _applied(
        "subset-without-destinationrule",
        "subset-without-destinationrule.yaml",
        50,
        "subset-without-destinationrule",
        "Create a DestinationRule",
    )
    created = _resources(case, files, "subset-without-destinationrule.yaml")["DestinationRule payments"]
    assert created.namespace == "shop"
    assert created.host.value == "payments"
    assert [(s.name.value, s.labels) for s in created.subsets] == [("v1", {"version": "v1"}), ("v2", {"version": "v2"})]


def test_add_subset_fix_edits_the_destination_rule_in_its_own_file() -> None:
    case, files = _applied(
        "subset-not-found-new-version", "virtual-service.yaml", 13, "subset-not-found", "Add subset `v3`"
    )
    assert files["virtual-service.yaml"] == case.files["virtual-service.yaml"]
    assert files["workloads.yaml"] == case.files["workloads.yaml"]
    rule = _resources(case, files, "destination-rule.yaml")["DestinationRule reviews"]
    assert [(s.name.value, s.labels) for s in rule.subsets] == [
        ("v1", {"version": "v1"}),
        ("v2", {"version": "v2"}),
        ("v3", {"version": "v3"}),
    ]


def test_add_subset_fix_creates_the_subsets_list() -> None:
    case, files = _applied(
        "subset-not-found-rule-shapes", "subset-not-found-rule-shapes.yaml", 92, "subset-not-found", "Add subset"
    )
    rule = _resources(case, files, "subset-not-found-rule-shapes.yaml")["DestinationRule ratings-policy"]
    assert [(s.name.value, s.labels) for s in rule.subsets] == [("v1", {"version": "v1"})]


def test_label_fix_keeps_only_the_distinguishing_labels() -> None:
    case, files = _applied(
        "subset-labels-replacement-fix",
        "subset-labels-replacement-fix.yaml",
        41,
        "subset-matches-no-workload",
        "Use the labels of Deployment bookstore/ratings-stable",
    )
    rule = _resources(case, files, "subset-labels-replacement-fix.yaml")["DestinationRule ratings"]
    assert [(s.name.value, s.labels) for s in rule.subsets] == [
        ("stable", {"track": "stable"}),  # not app (the Service selector) nor pod-template-hash
        ("canary", {"version": "canary"}),
    ]


def test_did_you_mean_keeps_quotes_and_utf16_columns() -> None:
    _, files = _applied("host-not-found-typos", "host-not-found-typos.yaml", 34, "destination-host-not-found", "Did")
    assert '        host: "ratings.bookinfo.svc.cluster.local"  # expect' in files["host-not-found-typos.yaml"]
    _, files = _applied("utf16-columns", "utf16-columns.yaml", 28, "subset-not-found", "Did you mean `v1`?")
    assert '{"x-🎯-é": ignored, host: reviews, subset: v1}' in files["utf16-columns.yaml"]


# ---- messages and suggestions --------------------------------------------------------------


def test_suggestions_ignore_case_and_shared_dns_suffixes() -> None:
    assert close_matches("V1", ["v1", "v2", "v10"])[0] == "v1"
    cluster = ["cart.shop.svc.cluster.local", "reviews.bookinfo.svc.cluster.local"]
    assert close_matches("inventory.warehouse.svc.cluster.local", cluster) == []
    assert close_matches("reveiws.bookinfo.svc.cluster.local", cluster) == ["reviews.bookinfo.svc.cluster.local"]
    assert close_matches("billing.internal.example.com", ["files.partner.example.com"]) == []


def test_far_fetched_hosts_get_no_suggestion() -> None:
    case = load_case("host-forms-and-namespaces")
    finding = _target(
        case, run_checks(case), Expectation("host-forms-and-namespaces.yaml", 50, "destination-host-not-found")
    )
    assert "inventory.warehouse" in finding.message
    assert finding.fixes == []


def test_hidden_destination_rule_names_the_namespaces_that_use_the_route() -> None:
    case = load_case("host-exportto-virtualservice")
    finding = next(f for f in run_checks(case) if f.code == "subset-without-destinationrule")
    assert "DestinationRule shop/cart exists but is not exported to `storefront`." in finding.message


def test_aliased_routes_are_reported_once() -> None:
    case = load_case("yaml-valid-unusual-syntax")
    assert [f.code for f in run_checks(case) if f.code in CROSS_FILE_CODES] == ["subset-not-found"]
