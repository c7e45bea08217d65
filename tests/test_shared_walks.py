"""What the checks derive once per resource and share gives what each rule derived alone."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from benchmarks.generate import generate
from istio_lsp.checks.admission import durations, percentages, ports
from istio_lsp.checks.admission._generic import first_match, matching_scalars, names, spec_fields
from istio_lsp.checks.local import DocumentContext
from istio_lsp.model.extract import resource_nodes
from istio_lsp.model.hosts import is_ip
from istio_lsp.settings import Settings
from istio_lsp.syntax import ScalarNode, parse_file
from istio_lsp.syntax.nodes import parse_path

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> list[DocumentContext]:
    """Every resource of the examples, the case fixtures and a small generated workspace."""
    generated = tmp_path_factory.mktemp("generated")
    generate(generated, 12)
    found = []
    for folder in (REPO / "examples", REPO / "tests/cases", REPO / "tests/fixtures", generated):
        for path in sorted(folder.rglob("*.y*ml")):
            for doc in parse_file(path.read_text(encoding="utf-8")).documents:
                for resource, node in resource_nodes(doc, path.as_uri()):
                    found.append(DocumentContext(doc, node, resource, Settings()))
    return found


@pytest.mark.parametrize(
    "fields", [durations.FIELDS, percentages.FIELDS, ports.FIELDS], ids=["durations", "percentages", "ports"]
)
def test_matching_scalars_is_the_walk_each_rule_did(fields: dict, contexts: list[DocumentContext]) -> None:
    """The shared walk finds the fields, in the order, that walking `spec_fields` per rule found."""
    checked = 0
    for ctx in contexts:
        patterns = fields.get(ctx.resource.kind)
        if not patterns:
            continue
        alone = [
            (path, node, tag)
            for path, node in spec_fields(ctx)
            if isinstance(node, ScalarNode) and (tag := first_match(names(path), patterns)) is not None
        ]
        assert list(matching_scalars(ctx, patterns)) == alone
        checked += len(alone)
    assert checked >= 5  # the fixtures hold such fields: the comparison is not vacuous


@pytest.mark.parametrize(
    "text",
    ["1.2.3.4", "::1", "fe80::1%eth0", "2001:DB8::1", "10.0.0.0/8", "abc", "cafe", "a.b", "", "1.2.3", "reviews.shop"],
)
def test_is_ip_agrees_with_ipaddress(text: str) -> None:
    try:
        ipaddress.ip_address(text)
        expected = True
    except ValueError:
        expected = False
    assert is_ip(text) is expected


def test_parsed_paths_are_fresh_lists() -> None:
    first = parse_path("spec.http[0].route[1].destination")
    first.append("changed")
    assert parse_path("spec.http[0].route[1].destination") == ["spec", "http", 0, "route", 1, "destination"]
