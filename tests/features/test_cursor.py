"""Reading the path to the cursor from text that may not parse (`‸` marks the cursor)."""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.features.cursor import cursor_at, metadata_value, top_level


def at(marked: str):
    text = textwrap.dedent(marked)
    offset = text.index("‸")
    before = text[:offset]
    return cursor_at(text.replace("‸", ""), before.count("\n"), len(before.split("\n")[-1]))


@pytest.mark.parametrize(
    ("marked", "path", "key", "prefix"),
    [
        (
            """\
            spec:
              http:
              - match:
                - uri: {prefix: /x}
                route:
                - destination:
                    host: reviews
                    subset: v‸
            """,
            ["spec", "http", 0, "route", 0, "destination"],
            "subset",
            "v",
        ),
        (
            """\
            spec:
              http:
              - route:
                - destination: {host: reviews, subset: ‸
            """,
            ["spec", "http", 0, "route", 0, "destination"],
            "subset",
            "",
        ),
        (
            """\
            spec:
              http:
              - route:
                - destination: {host: a}
              - route:
                - destination: {host: b}
                - destination:
                    host: c‸
            """,
            ["spec", "http", 1, "route", 1, "destination"],
            "host",
            "c",
        ),
        (
            """\
            spec:
              subsets:
              - name: v1
                labels:
                  versi‸
            """,
            ["spec", "subsets", 0, "labels"],
            None,
            "versi",
        ),
        (
            # an indentless sequence: the list's key and its `-` share a column
            """\
            spec:
              subsets:
              - name: v1
              - name: v2
                labels:
                  ‸
            """,
            ["spec", "subsets", 1, "labels"],
            None,
            "",
        ),
    ],
)
def test_path_key_and_prefix(marked: str, path: list, key: str | None, prefix: str) -> None:
    cursor = at(marked)
    assert (cursor.path, cursor.key, cursor.prefix) == (path, key, prefix)


def test_siblings_of_the_cursor_mapping() -> None:
    cursor = at(
        """\
        spec:
          http:
          - route:
            - destination:
                host: reviews
                subset: ‸
                port: {number: 80}
              weight: 10
        """
    )
    assert cursor.siblings == {"host": "reviews", "port": "{number: 80}"}


def test_list_items() -> None:
    cursor = at(
        """\
        spec:
          gateways:
          - my-gw
          - ‸
        """
    )
    assert cursor.item_start and cursor.path == ["spec", "gateways", 1]
    flow = at("spec:\n  gateways: [mesh, ‸]\n")
    assert flow.in_list_item and flow.key == "gateways" and flow.path == ["spec"]


def test_documents_are_separate() -> None:
    cursor = at(
        """\
        kind: A
        spec:
          x: 1
        ---
        kind: B
        spec:
          ‸
        """
    )
    assert cursor.path == ["spec"] and cursor.document_start == 4


def test_top_level_and_metadata_values() -> None:
    lines = textwrap.dedent(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: a
          namespace: shop # comment
        spec: {}
        """
    ).split("\n")
    assert top_level(lines, 0, len(lines), "kind") == "VirtualService"
    assert metadata_value(lines, 0, len(lines), "namespace") == "shop"
    assert metadata_value(["metadata: {name: a, namespace: web}"], 0, 1, "namespace") == "web"
