"""Every rule's quick fix, as an editor applies it: over real LSP, one case of tests/cases per rule.

For each rule whose findings offer fixes in the case table, the first case that names one
(`# expect: code fix "title"`) is written to a folder, the real server is started on it, the
file is opened, and the fix is asked for with `textDocument/codeAction` on the published
diagnostic. Its workspace edit is applied to the open documents (opening those it touches), and
the server must then stop reporting that diagnostic. test_checks.py proves the same fixes in
process for every expectation; this proves the path through the protocol for every rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.casekit import Case, Expectation, case_names, load_case
from tests.e2e.conftest import uri_of
from tests.e2e.helpers import apply_edits, fix_titles_and_edits, open_doc, replace_doc, wait_for
from tests.e2e.test_editing import own_session


def _one_per_rule() -> list[tuple[str, str, Expectation, str]]:
    chosen: dict[str, tuple[str, str, Expectation, str]] = {}
    for name in case_names():
        for exp in load_case(name).expectations:
            if exp.fixes and exp.code not in chosen:
                chosen[exp.code] = (exp.code, name, exp, exp.fixes[0])
    return sorted(chosen.values(), key=lambda c: c[0])


RULE_FIXES = _one_per_rule()


def _at(client: LanguageClient, uri: str, exp: Expectation) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, ()) if d.code == exp.code and d.range.start.line == exp.line]


def _write(case: Case, root: Path) -> None:
    for rel, text in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_table_offers_fixes_of_many_rules() -> None:
    codes = {code for code, *_ in RULE_FIXES}
    assert len(codes) >= 15, codes
    assert {"subset-without-destinationrule", "gateway-route-skips-subsets", "plaintext-to-strict-mtls"} <= codes


@pytest.mark.parametrize(("code", "name", "exp", "title"), RULE_FIXES, ids=[c[0] for c in RULE_FIXES])
async def test_fix_over_lsp(code: str, name: str, exp: Expectation, title: str, workspace: Path) -> None:
    case = load_case(name)
    _write(case, workspace)
    options = {"istioLsp": case.editor_settings} if case.editor_settings else None
    async with own_session("visual-studio-code", workspace, options) as (client, _):
        texts = {uri_of(workspace / rel): text for rel, text in case.files.items()}
        uri = uri_of(workspace / exp.file)
        open_doc(client, uri, texts[uri])
        opened, versions = {uri}, {uri: 1}
        await wait_for(lambda: bool(_at(client, uri, exp)))
        diagnostic = _at(client, uri, exp)[0]
        before = sum(1 for d in client.diagnostics[uri] if d.code == code and d.message == diagnostic.message)
        actions = await fix_titles_and_edits(client, uri, diagnostic)
        action = next((a for a in actions if a.title.startswith(title)), None)
        assert action is not None, f"no fix starting with {title!r} among {[a.title for a in actions]}"
        assert action.edit is not None and action.edit.changes, action
        for target, edits in action.edit.changes.items():
            new_text = apply_edits(texts[target], list(edits))
            assert new_text != texts[target], "the fix changed nothing"
            texts[target] = new_text
            if target in opened:
                versions[target] += 1
                replace_doc(client, target, new_text, versions[target])
            else:
                opened.add(target)
                versions[target] = 1
                open_doc(client, target, new_text)
        # the finding is gone (lines may have moved: compare by what it says)
        await wait_for(
            lambda: (
                sum(1 for d in client.diagnostics.get(uri, ()) if d.code == code and d.message == diagnostic.message)
                < before
            )
        )
