"""Incrementality: an edit re-derives one file's summary and re-checks only the files that depend on it."""

from __future__ import annotations

import pytest

from benchmarks.generate import generate
from istio_lsp.checks import analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings


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
    # the other Service of the same name (its own file) and the routes to the host are re-checked, nothing else
    assert affected == {uri, _file(corpus, "svc-00024.yaml")}
    assert all(check_file(index, u) is not None for u in affected)


def test_only_the_edited_file_is_parsed(
    monkeypatch: pytest.MonkeyPatch, index: WorkspaceIndex, corpus: dict[str, str]
) -> None:
    """Re-checking dependents reads their summaries; it never parses their text again."""
    from istio_lsp.syntax import parser

    parsed: list[int] = []
    original = parser.parse_file
    monkeypatch.setattr(parser, "parse_file", lambda text, **kw: parsed.append(len(text)) or original(text, **kw))
    import istio_lsp.index.summary as summary_module

    monkeypatch.setattr(summary_module, "parse_file", parser.parse_file)
    uri = _file(corpus, "svc-00025.yaml")
    affected = index.update(analyze_text(uri, corpus[uri].replace("subset: v1", "subset: v9", 1), Settings()))
    for other in affected:
        check_file(index, other)
    assert parsed == [len(corpus[uri])]
