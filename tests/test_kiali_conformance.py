"""Conformance with Kiali's own validation tests (`kiali-cases/`, see its README).

Kiali's checker tests load YAML fixtures, run one checker on one or more of the loaded
resources (the case's `subjects`) and assert the validations it returns: internal check ids,
which `cases.json` maps to KIA codes. Services and workloads those tests inject in Go are
small YAML files of ours under `kiali-cases/injected/`.

For each case we index the fixture and the injected files as the editor does (with the
per-document checks), run every check, keep our findings on the subjects whose rule names a
KIA code the case's checker can report (`Rule.kiali_codes`), and compare the
(KIA code, resource) pairs as multisets with the expected ones. A rule that covers several KIA
codes joins them into one key (`KIA0207+KIA0208`), as `test_conformance.py` does for Istio's codes.

- `NOT_IMPLEMENTED`: KIA codes of the table no rule names yet; they are not compared, only
  counted. The test fails when one of them gets a rule, or when a code of the table is in
  neither list, and says which line to change.
- `DIVERGENCES`: where we differ from Kiali on purpose, one reason each. The test fails on any
  other mismatch, and when a listed divergence no longer happens.
- `MESH_SETTINGS`: Kiali's mesh settings a case sets (`enableAutoMtls`, the default `exportTo`),
  mapped to our settings. A case that needs a value we cannot set is skipped and counted as not
  run; the test fails when `Settings` grows a field for one we have none for.

`business/istio_validations_test.go` also uses fixtures, to test which VirtualServices,
DestinationRules and ServiceEntries a namespace sees through `exportTo`; those cases
(`visibility` in the table) are compared with `istio_lsp.model.hosts.visible`.

Run as a script for the coverage summary: `python tests/test_kiali_conformance.py`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from istio_lsp.checks import RULES, analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.hosts import visible
from istio_lsp.settings import Settings

CASES_DIR = Path(__file__).resolve().parent / "kiali-cases"
TABLE: dict[str, Any] = json.loads((CASES_DIR / "cases.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = TABLE["cases"]
VISIBILITY: list[dict[str, Any]] = TABLE["visibility"]
THIS_FILE = "tests/test_kiali_conformance.py"

# KIA codes of the table that no rule implements yet: not compared, counted as not matched.
NOT_IMPLEMENTED: dict[str, str] = {}

# Kiali's mesh settings → the Settings field that sets them in istio-lsp (None: there is none yet)
MESH_SETTINGS: dict[str, str | None] = {"enableAutoMtls": "enable_auto_mtls", "defaultExportTo": None}
# What Istio assumes when the mesh config does not say (so do we, without a setting)
MESH_DEFAULTS: dict[str, Any] = {"enableAutoMtls": True, "defaultExportTo": ["*"]}

Pair = tuple[str, str]  # (KIA code, "Kind ns/name")

# case name → [("missing" | "extra", (KIA code, resource), reason)]. "missing": Kiali reports it and
# we do not; "extra": we report it and Kiali does not.
_POLICY = ("KIA0105", "AuthorizationPolicy bookinfo/policy")
DIVERGENCES: dict[str, list[tuple[str, Pair, str]]] = {
    "TestAutoAuthzPeerAuthnValid[2,autoMtls=off]": [
        (
            "missing",
            _POLICY,
            "the namespace's PeerAuthentication is STRICT: every request that reaches the pods carries the caller's "
            "identity, so the policy's principals work; callers sending plain text (automatic mTLS off, no "
            "DestinationRule) are refused by the PeerAuthentication, not misjudged by the policy",
        )
    ],
    "TestPeerAuthnNotFoundDestRuleIstioMutual[6,autoMtls=off]": [
        (
            "missing",
            _POLICY,
            "a DestinationRule for every host of the namespace makes clients send ISTIO_MUTUAL, and the pods "
            "(PERMISSIVE by default) accept it: requests carry the caller's identity; Kiali also wants a "
            "PeerAuthentication that requires mTLS",
        )
    ],
    "TestAutoAuthzMeshDestRuleEnabled[12,autoMtls=off]": [
        (
            "missing",
            _POLICY,
            "a mesh-wide DestinationRule (`*.local`) makes clients send ISTIO_MUTUAL, and the pods (PERMISSIVE by "
            "default) accept it: requests carry the caller's identity; Kiali also wants a PeerAuthentication that "
            "requires mTLS",
        )
    ],
}

_WRONG = (
    "exported only to `wrong`, a namespace that does not exist: Istio shows it to no other namespace, while Kiali's "
    "filter keeps it in every namespace's view so that its KIA0005 error is shown"
)
_AMBIENT = (
    "Kiali's filter keeps configuration of an Ambient namespace (bookinfo) to that namespace; we apply its "
    "exportTo as written and do not model Ambient namespaces in visibility"
)
_OBJECT = {"VS": "VirtualService", "DR": "DestinationRule", "SE": "ServiceEntry"}

# visibility case name → {resource: reason}: resources whose visibility differs from Kiali's filter
VISIBILITY_DIVERGENCES: dict[str, dict[str, str]] = {
    **{
        f"TestFilterExportToNamespaces{short}": {f"{kind} bookinfo3/{short.lower()}_bookinfo3_to_wrong": _WRONG}
        for short, kind in _OBJECT.items()
    },
    **{
        f"TestAmbientFilterExportToNamespaces{short}": {
            f"{kind} bookinfo3/{short.lower()}_bookinfo3_to_wrong": _WRONG,
            f"{kind} bookinfo/{short.lower()}_bookinfo1_to_2_3": _AMBIENT,
        }
        for short, kind in _OBJECT.items()
    },
}


def _code_groups() -> dict[str, str]:
    """KIA code → the key comparing it: codes one rule covers together are joined (`KIA0207+KIA0208`)."""
    parent: dict[str, str] = {}

    def find(code: str) -> str:
        while parent.setdefault(code, code) != code:
            code = parent[code]
        return code

    for rule in RULES:
        for code in rule.kiali_codes:
            parent[find(code)] = find(rule.kiali_codes[0])
    members: dict[str, list[str]] = {}
    for code in list(parent):
        members.setdefault(find(code), []).append(code)
    return {code: "+".join(sorted(group)) for group in members.values() for code in group}


GROUP = _code_groups()  # only the KIA codes some rule implements
OURS: dict[str, str] = {rule.code: GROUP[rule.kiali_codes[0]] for rule in RULES if rule.kiali_codes}
TABLE_CODES = sorted({code for case in CASES for code in case["codes"]})


def _case_id(case: dict[str, Any]) -> str:
    return re.sub(r"[^A-Za-z0-9=,]+", "-", case["name"]).strip("-")


def _missing_setting(mesh: dict[str, Any]) -> str | None:
    """Why a case cannot run: a mesh setting it needs that we have no setting for (None: it can run)."""
    for key, value in mesh.items():
        if MESH_SETTINGS[key] is None and value != MESH_DEFAULTS[key]:
            return f"needs Kiali's mesh setting {key}={value}, which istio-lsp has no setting for"
    return None


def _settings(mesh: dict[str, Any]) -> Settings:
    values = {MESH_SETTINGS[k]: v for k, v in mesh.items() if MESH_SETTINGS[k] is not None}
    return dataclasses.replace(Settings(), **values)  # type: ignore[arg-type]


def _paths(case: dict[str, Any]) -> list[Path]:
    return [CASES_DIR / "fixtures" / name for name in case["inputFiles"]] + [
        CASES_DIR / "injected" / name for name in case.get("injected", ())
    ]


def _index(case: dict[str, Any]) -> WorkspaceIndex:
    settings = _settings(case.get("mesh", {}))
    index = WorkspaceIndex(settings)
    for path in _paths(case):
        index.update(analyze_text(path.as_uri(), path.read_text(encoding="utf-8"), settings))
    return index


def _compared(case: dict[str, Any]) -> set[str]:
    """The keys of `GROUP` this case compares: those of the codes its checker reports that we implement."""
    return {GROUP[code] for code in case["codes"] if code in GROUP}


def _our_findings(case: dict[str, Any]) -> list[tuple[Pair, str]]:
    """Our findings on the case's subjects, of the rules that cover a code the case's checker reports:
    ((key of `GROUP`, resource), severity)."""
    index = _index(case)
    subjects, compared = set(case["subjects"]), _compared(case)
    return [
        ((OURS[finding.code], finding.resource), finding.severity.label)
        for uri in index.files
        for finding in check_file(index, uri)
        if OURS.get(finding.code) in compared and finding.resource is not None and finding.resource in subjects
    ]


def _ours(case: dict[str, Any]) -> Counter[Pair]:
    return Counter(pair for pair, _ in _our_findings(case))


def _expected(case: dict[str, Any]) -> Counter[Pair]:
    return Counter((GROUP[e["code"]], e["resource"]) for e in case["expected"] if e["code"] in GROUP)


def _keyed(pair: Pair) -> Pair:
    code, resource = pair
    return (GROUP.get(code, code), resource)


def test_every_code_of_the_table_is_implemented_or_listed() -> None:
    problems = []
    for code in TABLE_CODES:
        rules = sorted(rule for rule, key in OURS.items() if code in key.split("+"))
        if rules and code in NOT_IMPLEMENTED:
            problems.append(
                f"{code} is implemented now (rules {', '.join(rules)}): remove {code!r} from NOT_IMPLEMENTED "
                f"in {THIS_FILE}, then add DIVERGENCES for the mismatches the cases report, if any"
            )
        elif not rules and code not in NOT_IMPLEMENTED:
            problems.append(
                f"{code} has no rule (no Rule.kiali_codes names it): add {code!r} to NOT_IMPLEMENTED in {THIS_FILE}"
            )
    stray = sorted(set(NOT_IMPLEMENTED) - set(TABLE_CODES))
    if stray:
        problems.append(f"NOT_IMPLEMENTED lists codes no case uses: remove {stray} from it in {THIS_FILE}")
    assert not problems, "\n".join(problems)


def test_mesh_settings_are_mapped() -> None:
    """A Kiali mesh setting we have no setting for: fail once Settings grows a field for it."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    for key, name in MESH_SETTINGS.items():
        if name is not None:
            assert name in fields, f"Settings has no field {name!r}: fix MESH_SETTINGS[{key!r}] in {THIS_FILE}"
            continue
        wanted = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower().removeprefix("enable_")  # enableAutoMtls → auto_mtls
        like = sorted(f for f in fields if wanted in f)
        assert not like, (
            f"Settings has {like[0]!r} now: set MESH_SETTINGS[{key!r}] = {like[0]!r} in {THIS_FILE}, so the cases "
            f"that need {key} run"
        )


def test_the_table_is_consistent() -> None:
    ids = [_case_id(case) for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert set(DIVERGENCES) <= {case["name"] for case in CASES}, "DIVERGENCES names a case the table has not"
    assert set(VISIBILITY_DIVERGENCES) <= {case["name"] for case in VISIBILITY}
    for case in CASES:
        assert set(case.get("mesh", {})) <= set(MESH_SETTINGS), case["name"]
        for e in case["expected"]:
            assert e["code"] in case["codes"] and e["resource"] in case["subjects"], (case["name"], e)
            assert TABLE["checks"][e["check"]]["code"] == e["code"], (case["name"], e)
    on_disk = {str(p.relative_to(CASES_DIR / "fixtures")) for p in (CASES_DIR / "fixtures").rglob("*.yaml")}
    used = {name for case in [*CASES, *VISIBILITY] for name in case["inputFiles"]}
    assert used == on_disk, f"fixtures no case uses: {sorted(on_disk - used)}; missing: {sorted(used - on_disk)}"


def test_the_inputs_parse_cleanly() -> None:
    for case in CASES:
        index = _index(case)
        for summary in index.files.values():
            assert summary.skipped is None, (summary.uri, summary.skipped)
            assert summary.syntax_errors == [], (summary.uri, summary.syntax_errors)
        declared = {r.display for summary in index.files.values() for r in summary.resources}
        assert set(case["subjects"]) <= declared, (case["name"], set(case["subjects"]) - declared)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case(case: dict[str, Any]) -> None:
    divergences = DIVERGENCES.get(case["name"], [])
    if (why := _missing_setting(case.get("mesh", {}))) is not None:
        assert not divergences, f"DIVERGENCES[{case['name']!r}] is for a case that cannot run: remove it"
        pytest.skip(why)
    compared = _compared(case)
    if not compared:
        assert not divergences, f"DIVERGENCES[{case['name']!r}] is for a case nothing compares: remove it"
        pytest.skip(f"no rule implements {', '.join(case['codes'])} (NOT_IMPLEMENTED)")
    expected = _expected(case)
    where = f"DIVERGENCES[{case['name']!r}] in {THIS_FILE}"
    missing: Counter[Pair] = Counter()
    extra: Counter[Pair] = Counter()
    for direction, pair, reason in divergences:
        assert reason, f"{where}: {pair} needs its reason"
        key = _keyed(pair)
        assert key[0] in compared, f"{where}: {pair[0]} is not compared in this case; remove {pair}"
        if direction == "missing":
            assert expected[key] > missing[key], f"{where}: Kiali does not expect {pair}; remove it"
            missing[key] += 1
        else:
            assert direction == "extra", direction
            assert expected[key] == 0, f"{where}: Kiali expects {pair}, so it is no extra; remove it"
            extra[key] += 1
    ours = _ours(case)
    stale = [f"missing {pair}" for pair, n in missing.items() if ours[pair] > expected[pair] - n]
    stale += [f"extra {pair}" for pair, n in extra.items() if ours[pair] < n]
    assert not stale, f"{where} lists divergences that no longer happen: remove {stale}"
    wanted = expected - missing + extra
    assert ours == wanted, (
        f"we miss {sorted((wanted - ours).elements())} and report {sorted((ours - wanted).elements())} beyond "
        f"Kiali's expectations (pairs are keyed by the KIA codes of our rule, joined by '+'). Fix the rule, or "
        f'add each pair to {where} as ("missing" or "extra", (one KIA code of the key, resource), reason)'
    )


def _visible_resources(case: dict[str, Any]) -> list[tuple[str, bool]]:
    """(resource, whether the case's viewer namespace sees it) for every object of a visibility case."""
    default = case.get("meshDefaultExportTo", [])
    settings = Settings()
    result = []
    for name in case["inputFiles"]:
        path = CASES_DIR / "fixtures" / name
        summary = analyze_text(path.as_uri(), path.read_text(encoding="utf-8"), settings)
        for r in summary.resources:
            if r.kind == case["kind"]:
                export_to = list(getattr(r, "export_to", ())) or list(default)
                result.append((r.display, visible(export_to, r.namespace, case["viewer"])))
    return result


@pytest.mark.parametrize("case", VISIBILITY, ids=_case_id)
def test_visibility(case: dict[str, Any]) -> None:
    diverging = VISIBILITY_DIVERGENCES.get(case["name"], {})
    default = case.get("meshDefaultExportTo")
    if default is not None and MESH_SETTINGS["defaultExportTo"] is None and default != MESH_DEFAULTS["defaultExportTo"]:
        assert not diverging, f"VISIBILITY_DIVERGENCES[{case['name']!r}] is for a case that cannot run: remove it"
        pytest.skip(f"needs Kiali's mesh setting defaultExportTo={default}, which istio-lsp has no setting for")
    seen = _visible_resources(case)
    assert set(diverging) <= {r for r, _ in seen}
    kiali = set(case["expectedVisible"])
    wrong = sorted(r for r, ours in seen if ours != (r in kiali) and r not in diverging)
    stale = sorted(r for r, ours in seen if ours == (r in kiali) and r in diverging)
    assert not wrong and not stale, (
        f"differ from Kiali: {wrong}; listed in VISIBILITY_DIVERGENCES[{case['name']!r}] but agree now: {stale} "
        f"({THIS_FILE})"
    )


# Kiali's severity → ours: Kiali shows `unknown` as information
_SEVERITY = {"error": "error", "warning": "warning", "unknown": "information"}


def coverage() -> dict[str, Counter[str]]:
    """Per KIA code: expected messages; those we match (and of these, with another severity); those not
    compared (no rule, no setting); our findings beyond the expected ones."""
    result: dict[str, Counter[str]] = {}
    for case in CASES:
        runnable = _missing_setting(case.get("mesh", {})) is None
        found = _our_findings(case) if runnable and _compared(case) else []
        ours = Counter(pair for pair, _ in found)
        for code in case["codes"]:
            result.setdefault(code, Counter())["cases"] += 1
            result[code]["cases run"] += runnable and code in GROUP
        for (code, resource), severities in _by_pair(
            ((e["code"], e["resource"]), _SEVERITY[e["severity"]]) for e in case["expected"]
        ).items():
            tally = result.setdefault(code, Counter())
            tally["expected"] += len(severities)
            if code not in GROUP:
                tally["not implemented"] += len(severities)
            elif not runnable:
                tally["needs a setting"] += len(severities)
            else:
                pair = (GROUP[code], resource)
                matched = min(len(severities), ours[pair])
                tally["matched"] += matched
                same = Counter(severities) & Counter(s for p, s in found if p == pair)
                tally["other severity"] += matched - min(matched, sum(same.values()))
        for (joined, _), n in (ours - _expected(case)).items():
            result.setdefault(joined, Counter())["unexpected"] += n
    return result


def _by_pair(items: Any) -> dict[Pair, list[str]]:
    grouped: dict[Pair, list[str]] = {}
    for pair, severity in items:
        grouped.setdefault(pair, []).append(severity)
    return grouped


def main() -> None:
    table = coverage()
    total, matched = sum(t["expected"] for t in table.values()), sum(t["matched"] for t in table.values())
    comparable = total - sum(t["not implemented"] + t["needs a setting"] for t in table.values())
    print(
        f"Kiali's validation tests: {len(CASES)} cases, {total} expected messages; matched {matched}/{total} "
        f"({matched}/{comparable} of those whose KIA code we implement and whose mesh settings we can set)"
    )
    rows = [("KIA code", "our rules", "cases run", "matched", "notes")]
    for code in sorted(table):
        t = table[code]
        rules = ", ".join(sorted(r for r, key in OURS.items() if set(code.split("+")) & set(key.split("+"))))
        notes = [f"{t[k]} {k}" for k in ("not implemented", "needs a setting", "other severity", "unexpected") if t[k]]
        runs = f"{t['cases run']}/{t['cases']}" if t["cases"] else ""
        rows.append((code, rules or "-", runs, f"{t['matched']}/{t['expected']}", "; ".join(notes)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)), row[4])
    run = [c for c in VISIBILITY if c.get("meshDefaultExportTo") in (None, MESH_DEFAULTS["defaultExportTo"])]
    seen = [(r in set(c["expectedVisible"])) == ours for c in run for r, ours in _visible_resources(c)]
    print(f"exportTo visibility: {len(run)}/{len(VISIBILITY)} cases run; {sum(seen)}/{len(seen)} objects agree")


if __name__ == "__main__":
    main()
