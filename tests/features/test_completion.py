"""Completion from the schemas and the index, on text that may not parse (`‸` marks the cursor)."""

from __future__ import annotations

import textwrap

from lsprotocol import types

from istio_lsp.checks import analyze_text
from istio_lsp.features.completion import complete
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span

WORKSPACE = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Service
    metadata: {name: reviews, namespace: shop}
    spec:
      selector: {app: reviews}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reviews-v1, namespace: shop}
    spec:
      template:
        metadata:
          labels: {app: reviews, version: v1, pod-template-hash: abc}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reviews-v2, namespace: shop}
    spec:
      template:
        metadata:
          labels: {app: reviews, version: v2}
    ---
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata: {name: public, namespace: edge}
    spec:
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["*"]
    """
)


def _range(uri: str, span: Span) -> types.Range:
    return types.Range(types.Position(span.start_line, span.start_char), types.Position(span.end_line, span.end_char))


def complete_at(marked: str, snippets: bool = True) -> list[types.CompletionItem]:
    index = WorkspaceIndex(Settings())
    index.update(analyze_text("file:///ws/shop.yaml", WORKSPACE, Settings()))
    text = textwrap.dedent(marked)
    offset = text.index("‸")
    before = text[:offset]
    return complete(
        index,
        "file:///ws/edit.yaml",
        text.replace("‸", ""),
        before.count("\n"),
        len(before.split("\n")[-1]),
        _range,
        snippets=snippets,
    )


def labels(items: list[types.CompletionItem]) -> list[str]:
    return [i.label for i in items]


def test_keys_valid_at_the_cursor_required_first_with_snippets() -> None:
    items = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r, namespace: shop}
        spec:
          http:
          - route:
            - ‸
        """
    )
    by_label = {i.label: i for i in items}
    assert {"destination", "weight", "headers"} <= set(by_label)
    destination = by_label["destination"]
    assert destination.insert_text_format == types.InsertTextFormat.Snippet
    assert destination.text_edit is not None and "host: $1" in destination.text_edit.new_text
    # `host` is required in a Destination: offered first there
    nested = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r, namespace: shop}
        spec:
          http:
          - route:
            - destination:
                ‸
        """
    )
    ordered = sorted(nested, key=lambda i: i.sort_text or "")
    assert ordered[0].label == "host" and ordered[0].detail and ordered[0].detail.startswith("required")


def test_keys_already_present_are_not_offered_and_plain_text_without_snippets() -> None:
    items = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: r, namespace: shop}
        spec:
          host: reviews
          ‸
        """,
        snippets=False,
    )
    assert "host" not in labels(items) and {"subsets", "trafficPolicy", "exportTo"} <= set(labels(items))
    assert all(i.insert_text_format in (None, types.InsertTextFormat.PlainText) for i in items)


def test_enum_values() -> None:
    items = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: r, namespace: shop}
        spec:
          trafficPolicy:
            loadBalancer:
              simple: ‸
        """
    )
    assert {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH"} <= set(labels(items))


def test_gateways_offer_mesh_and_gateways_as_written_from_this_namespace() -> None:
    items = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r, namespace: shop}
        spec:
          gateways:
          - ‸
        """
    )
    assert {"mesh", "edge/public"} <= set(labels(items))


def test_subset_labels_offer_the_labels_of_the_service_workloads() -> None:
    items = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: r, namespace: shop}
        spec:
          host: reviews
          subsets:
          - name: v1
            labels:
              ‸
        """
    )
    assert set(labels(items)) == {"version: v1", "version: v2"}  # not the selector's app, not pod-template-hash


def test_hosts_with_short_names_in_the_same_namespace_only() -> None:
    items = complete_at(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r, namespace: other}
        spec:
          http:
          - route:
            - destination:
                host: ‸
        """
    )
    assert "reviews.shop.svc.cluster.local" in labels(items)
    assert "reviews" not in labels(items)  # a short name would resolve in `other`
