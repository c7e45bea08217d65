"""Incrementality: an edit re-derives one file's summary and re-checks only the files that depend on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.generate import generate
from istio_lsp.checks import analyze_text, check_file
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.settings import Settings
from istio_lsp.syntax import split_documents


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("corpus")
    generate(root, 40)
    return {p.resolve().as_uri(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.yaml"))}


@pytest.fixture
def index(corpus: dict[str, str]) -> WorkspaceIndex:
    built = WorkspaceIndex(Settings())
    for uri, text in corpus.items():
        built.update(analyze_text(uri, text, Settings()))
    return built


def _file(corpus: dict[str, str], name: str) -> str:
    return next(uri for uri in corpus if uri.endswith(name))


def test_editing_a_weight_rechecks_only_that_file(index: WorkspaceIndex, corpus: dict[str, str]) -> None:
    uri = _file(corpus, "svc-00021.yaml")
    text = corpus[uri]
    assert "weight: " in text
    edited = text.replace("weight: ", "weight: 1", 1)
    affected = index.update(analyze_text(uri, edited, Settings()))
    assert affected == {uri}


def test_editing_a_comment_rechecks_only_that_file(index: WorkspaceIndex, corpus: dict[str, str]) -> None:
    uri = _file(corpus, "svc-00022.yaml")
    affected = index.update(analyze_text(uri, corpus[uri] + "# a note\n", Settings()))
    assert affected == {uri}


def test_renaming_a_subset_rechecks_the_routes_that_use_it(index: WorkspaceIndex, corpus: dict[str, str]) -> None:
    # svc-00023's DestinationRule and VirtualService share its file: rename the subset in a copy elsewhere
    rule_uri = "file:///elsewhere/rule.yaml"
    rule = (
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x, namespace: team-03}\n"
        "spec:\n  host: svc-00023\n  subsets:\n  - name: v1\n    labels: {version: v1}\n"
    )
    index.update(analyze_text(rule_uri, rule, Settings()))
    route_file = _file(corpus, "svc-00023.yaml")
    affected = index.update(analyze_text(rule_uri, rule.replace("name: v1", "name: v9"), Settings()))
    assert affected == {rule_uri, route_file}


def test_a_new_service_rechecks_the_routes_to_its_host(index: WorkspaceIndex, corpus: dict[str, str]) -> None:
    uri = "file:///elsewhere/service.yaml"
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: svc-00024, namespace: team-04}\nspec:\n  ports: []\n"
    affected = index.update(analyze_text(uri, service, Settings()))
    # the routes to the host and the Services of namespace team-04 (the port rules compare them; the
    # generated workspace keeps its first Services in one file) are re-checked, nothing else
    assert affected == {uri, _file(corpus, "svc-00024.yaml"), _file(corpus, "first-services.yaml")}
    assert all(check_file(index, u) is not None for u in affected)


def test_only_the_edited_file_is_parsed(
    monkeypatch: pytest.MonkeyPatch, index: WorkspaceIndex, corpus: dict[str, str]
) -> None:
    """Re-checking dependents reads their summaries; it never parses their text again."""
    import istio_lsp.index.summary as summary_module

    parsed: list[str] = []
    original = summary_module.parse_document
    monkeypatch.setattr(
        summary_module, "parse_document", lambda text, *args: parsed.append(text) or original(text, *args)
    )
    uri = _file(corpus, "svc-00025.yaml")
    edited = corpus[uri].replace("subset: v1", "subset: v9", 1)
    affected = index.update(analyze_text(uri, edited, Settings()))
    for other in affected:
        check_file(index, other)
    assert "".join(parsed) == edited


# ---- the edited `---` document alone is parsed again --------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _canonical(summary: FileSummary) -> str:
    """Everything a summary says, resources included (they compare by identity, so by repr)."""
    return repr(
        (
            summary.uri,
            summary.digest,
            summary.resources,
            summary.local_findings,
            summary.syntax_errors,
            summary.skipped,
            summary.nonascii_lines,
            summary.provides,
            sorted(summary.requires),
            summary.document_count,
            summary.end,
            summary.parts,
            summary.analysis,
        )
    )


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every document parsed while the test runs (a document libyaml refuses at first
    and the parser retries, as kubectl would read it, counts once)."""
    import istio_lsp.index.summary as summary_module

    texts: list[str] = []
    original = summary_module.parse_document

    def counting(text: str, index: int = 0, start_line: int = 0) -> object:
        texts.append(text)
        return original(text, index, start_line)

    monkeypatch.setattr(summary_module, "parse_document", counting)
    return texts


def _new_documents(before: str, after: str) -> Counter[str]:
    return Counter(piece for _, piece in split_documents(after)) - Counter(
        piece for _, piece in split_documents(before)
    )


def _edits(text: str) -> list[str]:
    """Edits of a multi-document file, one after the other: in place, adding and removing lines
    (the documents below move), adding, removing and breaking documents."""
    lines = text.split("\n")
    weight = next(i for i, line in enumerate(lines) if line.strip().startswith("weight:"))
    third = [i for i, line in enumerate(lines) if line.startswith("---")][2]
    texts = []
    lines[weight] = lines[weight].replace("weight: ", "weight: 1", 1)  # a keystroke: nothing moves
    texts.append("\n".join(lines))
    lines.insert(weight + 1, "      # a new line: every document below moves down")
    texts.append("\n".join(lines))
    del lines[3]  # a line of the first document goes: every other document moves up
    texts.append("\n".join(lines))
    lines[third:third] = ["---", "apiVersion: v1", "kind: Service", "metadata: {name: added}", "spec: {ports: []}"]
    texts.append("\n".join(lines))  # a new document: those below change index too
    lines[third + 2] = "kind: [Service"  # ... and it breaks
    texts.append("\n".join(lines))
    del lines[third : third + 5]  # ... and goes again
    texts.append("\n".join(lines))
    texts.append("\n".join(lines[: third - 1]) + "\n")  # the end of the file is cut
    return texts


def test_an_edit_composes_only_the_documents_it_changed(corpus: dict[str, str], composed: list[str]) -> None:
    uri = _file(corpus, "platform/first-services.yaml")
    text = corpus[uri]
    assert text.count("\n---") >= 9
    previous = analyze_text(uri, text, Settings())
    for edited in _edits(text):
        composed.clear()
        summary = analyze_text(uri, edited, Settings(), previous)
        assert Counter(composed) == _new_documents(text, edited)
        assert len(composed) <= 2, "only the edited document (and a new one) is parsed again"
        assert _canonical(summary) == _canonical(analyze_text(uri, edited, Settings()))
        text, previous = edited, summary


def _multi_document_files() -> list[Path]:
    found = []
    for folder in ("examples", "tests/cases", "tests/fixtures"):
        for path in sorted((REPO / folder).rglob("*.y*ml")):
            if len(split_documents(path.read_text(encoding="utf-8"))) > 1:
                found.append(path)
    return found


@pytest.mark.parametrize("path", _multi_document_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_reused_documents_match_a_fresh_analysis(path: Path, composed: list[str]) -> None:
    """Whatever a document holds (findings with fixes, syntax errors, subsets), moving it by
    an edit above gives what analysing the edited file afresh gives."""
    uri, text = path.as_uri(), path.read_text(encoding="utf-8")
    pieces = [piece for _, piece in split_documents(text)]
    edits = [
        "# a comment above everything\n" + text,  # the first document changes, the others move
        "".join(pieces[1:]),  # the first document goes: the others move up and change index
        "".join([pieces[0], "---\n# an empty document\n\n", *pieces[1:]]),
        "".join(pieces[:-1]) + pieces[-1].rstrip("\n") + "\n# the end\n",  # only the last one changes
        # the first document becomes as many empty ones as it had lines: the others change index, not line
        "---\n" * pieces[0].count("\n") + "".join(pieces[1:]),
    ]
    previous = analyze_text(uri, text, Settings())
    for edited in edits:
        composed.clear()
        summary = analyze_text(uri, edited, Settings(), previous)
        assert Counter(composed) <= _new_documents(text, edited)
        assert _canonical(summary) == _canonical(analyze_text(uri, edited, Settings()))


def test_no_reuse_across_settings_or_files(corpus: dict[str, str], composed: list[str]) -> None:
    uri = _file(corpus, "platform/first-services.yaml")
    text = corpus[uri]
    previous = analyze_text(uri, text, Settings())
    other = Settings(default_namespace="elsewhere")
    composed.clear()
    summary = analyze_text(uri, text, other, previous)
    assert len(composed) == len(split_documents(text))
    assert _canonical(summary) == _canonical(analyze_text(uri, text, other))
    composed.clear()
    moved = analyze_text("file:///elsewhere.yaml", text, Settings(), previous)
    assert len(composed) == len(split_documents(text))
    assert all(r.uri == "file:///elsewhere.yaml" for r in moved.resources)


# ---- the dependency keys are complete: checked on every case of the table ---------------------

from tests.casekit import build_index, case_names, load_case  # noqa: E402

MULTI_FILE_CASES = [name for name in case_names() if len(load_case(name).files) > 1]


def _by_file(index: WorkspaceIndex) -> dict[str, Counter[tuple[str, int, str]]]:
    return {uri: Counter((f.code, f.span.start_line, f.message) for f in check_file(index, uri)) for uri in index.files}


@pytest.mark.parametrize("name", MULTI_FILE_CASES)
def test_removing_a_file_names_every_file_whose_findings_change(name: str) -> None:
    """A file's findings may change only when a file it depends on changes; the index must name it
    then, or the editor would keep showing stale diagnostics. Checked by removing each file of a
    case in turn and comparing every other file's findings before and after."""
    case = load_case(name)
    for removed in case.files:
        index = build_index(case)
        before = _by_file(index)
        affected = index.remove(case.uri(removed))
        after = _by_file(index)
        stale = sorted(case.rel(uri) for uri in after if after[uri] != before[uri] and uri not in affected)
        assert not stale, f"removing {removed} changes the findings of {stale}, which it does not name"


# ---- the mTLS checks: PeerAuthentications, DestinationRules and AuthorizationPolicies -------------

_MTLS = {  # file → (kind, namespace/name, spec)
    "pa.yaml": ("PeerAuthentication", "legacy/default", "  mtls: {mode: DISABLE}\n"),
    "mesh-pa.yaml": ("PeerAuthentication", "istio-system/default", "  mtls: {mode: PERMISSIVE}\n"),
    "wide.yaml": (
        "DestinationRule",
        "legacy/wide",
        "  host: '*.legacy.svc.cluster.local'\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n",
    ),
    "mesh.yaml": (
        "DestinationRule",
        "istio-system/mesh",
        "  host: '*.local'\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n",
    ),
    "plain.yaml": ("DestinationRule", "legacy/reviews", "  host: reviews\n"),
    "api.yaml": ("Service", "legacy/api", "  selector: {app: api}\n"),
    "ap.yaml": (
        "AuthorizationPolicy",
        "legacy/api",
        "  selector:\n    matchLabels: {app: api}\n  rules:\n  - from:\n    - source: {principals: [a]}\n",
    ),
    "shop.yaml": ("PeerAuthentication", "shop/default", "  mtls: {mode: STRICT}\n"),
}
_API_VERSIONS = {
    "PeerAuthentication": "security.istio.io/v1",
    "AuthorizationPolicy": "security.istio.io/v1",
    "DestinationRule": "networking.istio.io/v1",
    "Service": "v1",
}


def _mtls_index(settings: Settings) -> tuple[WorkspaceIndex, dict[str, str]]:
    index = WorkspaceIndex(settings)
    texts = {}
    for file, (kind, id_, spec) in _MTLS.items():
        namespace, name = id_.split("/")
        header = (
            f"apiVersion: {_API_VERSIONS[kind]}\nkind: {kind}\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        )
        texts[f"file:///mtls/{file}"] = f"{header}spec:\n{spec}"
    for uri, text in texts.items():
        index.update(analyze_text(uri, text, settings))
    return index, texts


def _edit(index: WorkspaceIndex, texts: dict[str, str], name: str, old: str, new: str) -> set[str]:
    uri = f"file:///mtls/{name}"
    assert old in texts[uri]
    affected = index.update(analyze_text(uri, texts[uri].replace(old, new), index.settings))
    return {u.removeprefix("file:///mtls/") for u in affected}


def test_a_peer_authentication_rechecks_what_sends_to_its_namespace() -> None:
    index, texts = _mtls_index(Settings())
    # the DestinationRules towards legacy and the policy on its pods; nothing of shop
    assert _edit(index, texts, "pa.yaml", "DISABLE", "STRICT") == {"pa.yaml", "wide.yaml", "plain.yaml", "ap.yaml"}
    # the mesh's: every rule that sets tls (it decides for namespaces without their own) and every policy
    assert _edit(index, texts, "mesh-pa.yaml", "PERMISSIVE", "DISABLE") == {
        "mesh-pa.yaml",
        "wide.yaml",
        "mesh.yaml",
        "plain.yaml",
        "ap.yaml",
    }


def test_a_destination_rule_rechecks_the_policies_of_its_hosts() -> None:
    index, texts = _mtls_index(Settings())
    # the namespace's PeerAuthentication and policy, the rule for one host it no longer stands behind, and
    # the mesh's PeerAuthentication (is ISTIO_MUTUAL set anywhere?)
    assert _edit(index, texts, "wide.yaml", "ISTIO_MUTUAL", "DISABLE") == {
        "wide.yaml",
        "pa.yaml",
        "mesh-pa.yaml",
        "plain.yaml",
        "ap.yaml",
    }
    # the mesh-wide rule: the PeerAuthentications and policies of every namespace
    assert _edit(index, texts, "mesh.yaml", "ISTIO_MUTUAL", "DISABLE") == {
        "mesh.yaml",
        "pa.yaml",
        "mesh-pa.yaml",
        "plain.yaml",
        "ap.yaml",
        "shop.yaml",
    }
    # a rule for one host that starts setting tls is read by its namespace's PeerAuthentication and policies
    assert _edit(
        index, texts, "plain.yaml", "host: reviews\n", "host: reviews\n  trafficPolicy:\n    tls: {mode: DISABLE}\n"
    ) == {
        "plain.yaml",
        "pa.yaml",
        "ap.yaml",
    }
    # the Service whose pods the policy selects (its DestinationRules may send them plain text)
    assert _edit(index, texts, "api.yaml", "{app: api}", "{app: web}") >= {"api.yaml", "ap.yaml"}


def test_what_the_mtls_checks_do_not_read_rechecks_nothing() -> None:
    index, texts = _mtls_index(Settings())
    wide = "file:///mtls/wide.yaml"
    subset = texts[wide] + "  subsets:\n  - name: v1\n    labels: {version: v1}\n"
    assert index.update(analyze_text(wide, subset, Settings())) == {wide}
