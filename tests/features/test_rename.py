"""Rename and prepareRename, called on an index built from texts with a cursor marker."""

from __future__ import annotations

import pytest

from istio_lsp.features.rename import RenameError, prepare_rename, rename
from tests.e2e.helpers import apply_edits
from tests.features.helpers import (
    DESTINATION_RULE,
    FRONTEND,
    GATEWAY,
    SERVICE,
    VIRTUAL_SERVICE,
    Workspace,
    build,
    convert,
    mark,
    shop,
    uri,
)


def renamed(ws: Workspace, new_name: str) -> dict[str, str]:
    """file → its text after the rename, for the files the rename edits."""
    edit = rename(ws.index, *ws.at, new_name, convert)
    assert edit is not None and edit.changes is not None
    return {
        file.removeprefix("file:///ws/"): apply_edits(ws.texts[file], list(edits))
        for file, edits in edit.changes.items()
    }


def test_subset_renames_the_destinationrule_and_every_route_in_one_edit() -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, "canary", 1, 2)))
    placeholder = prepare_rename(ws.index, *ws.at, convert)
    assert placeholder is not None and placeholder.placeholder == "canary"
    assert ws.text_of(ws.at[0], placeholder.range) == "canary"
    out = renamed(ws, "preview")
    assert set(out) == {"shop/destinationrule.yaml", "shop/virtualservice.yaml"}
    assert out["shop/destinationrule.yaml"] == DESTINATION_RULE.replace("canary", "preview")
    assert out["shop/virtualservice.yaml"] == VIRTUAL_SERVICE.replace("subset: canary", "subset: preview")


def test_subset_from_a_route_and_across_namespaces() -> None:
    quoted = FRONTEND.replace("subset: canary", "subset: 'canary'")
    ws = build({**shop(virtualservice=mark(VIRTUAL_SERVICE, "subset: canary", 2, 10)), "frontend/vs.yaml": quoted})
    out = renamed(ws, "preview")
    assert out["frontend/vs.yaml"] == quoted.replace("'canary'", "'preview'")  # quotes kept
    assert "- name: preview" in out["shop/destinationrule.yaml"]
    assert out["shop/virtualservice.yaml"].count("subset: preview") == 2


def test_gateway_keeps_namespace_prefixes_and_other_forms() -> None:
    other = """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: legacy, namespace: shop}
    spec:
      hosts: [legacy.example.com]
      gateways: [shop-gateway.shop.svc.cluster.local]
      http:
      - match:
        - gateways: ["shop-gateway"]
        route:
        - destination: {host: cart}
    """
    ws = build(
        {**shop(gateway=mark(GATEWAY, "shop-gateway", 1, 4)), "frontend/vs.yaml": FRONTEND, "shop/other.yaml": other}
    )
    out = renamed(ws, "storefront")
    assert "name: storefront" in out["shop/gateway.yaml"]
    assert "gateways: [shop/storefront]" in out["frontend/vs.yaml"]
    assert "gateways: [storefront.shop.svc.cluster.local]" in out["shop/other.yaml"]
    assert '- gateways: ["storefront"]' in out["shop/other.yaml"]
    assert "  - storefront\n" in out["shop/virtualservice.yaml"] and "  - mesh\n" in out["shop/virtualservice.yaml"]


def test_gateway_from_a_prefixed_entry() -> None:
    ws = build({**shop(), "frontend/vs.yaml": mark(FRONTEND, "shop/shop-gateway", 1, 2)})
    placeholder = prepare_rename(ws.index, *ws.at, convert)
    assert placeholder is not None and placeholder.placeholder == "shop-gateway"
    assert ws.text_of(ws.at[0], placeholder.range) == "shop-gateway"  # the name part only
    out = renamed(ws, "storefront")
    assert set(out) == {"frontend/vs.yaml", "shop/gateway.yaml", "shop/virtualservice.yaml"}


@pytest.mark.parametrize(
    ("files", "why"),
    [
        (shop(virtualservice=mark(VIRTUAL_SERVICE, "kind: VirtualService", 1, 8)), "a kind value"),
        (shop(virtualservice=mark("# cart routes\n" + VIRTUAL_SERVICE, "cart routes", 1, 1)), "a comment"),
        (shop(virtualservice=mark(VIRTUAL_SERVICE, "host: cart", 1, 7)), "a host"),
        (shop(virtualservice=mark(VIRTUAL_SERVICE, "- mesh", 1, 3)), "mesh"),
        (shop(service=mark(SERVICE, "name: cart", 1, 7)), "a Service"),
        (shop(destinationrule=mark(DESTINATION_RULE, "version: v1", 1, 10)), "labels"),
        (
            shop(virtualservice=mark(VIRTUAL_SERVICE.replace("subset: stable", "subset: nope"), "nope", 1, 1)),
            "a subset no DestinationRule defines",
        ),
        (
            shop(virtualservice=mark(VIRTUAL_SERVICE.replace("- shop-gateway", "- missing-gw"), "missing-gw", 1, 1)),
            "a Gateway that does not exist",
        ),
    ],
)
def test_refused(files: dict[str, str], why: str) -> None:
    ws = build(files)
    assert prepare_rename(ws.index, *ws.at, convert) is None, why
    assert rename(ws.index, *ws.at, "other", convert) is None, why


def test_invalid_or_taken_names_are_errors() -> None:
    ws = build(shop(destinationrule=mark(DESTINATION_RULE, "canary", 1, 2)))
    with pytest.raises(RenameError, match="DNS-1123"):
        rename(ws.index, *ws.at, "Preview_1", convert)
    with pytest.raises(RenameError, match="already defines a subset `stable`"):
        rename(ws.index, *ws.at, "stable", convert)
    edit = rename(ws.index, *ws.at, "canary", convert)
    assert edit is not None and edit.changes == {}


def test_gateway_name_taken() -> None:
    second = GATEWAY.replace("name: shop-gateway", "name: other-gateway")
    ws = build({**shop(gateway=mark(GATEWAY, "shop-gateway", 1, 1)), "shop/second.yaml": second})
    with pytest.raises(RenameError, match="shop/other-gateway"):
        rename(ws.index, *ws.at, "other-gateway", convert)


def test_quoted_declaration_name() -> None:
    text = DESTINATION_RULE.replace("- name: canary", '- name: "canary"')
    ws = build(shop(destinationrule=mark(text, '"canary"', 1, 2)))
    out = renamed(ws, "preview")
    assert '- name: "preview"' in out["shop/destinationrule.yaml"]
    assert ws.texts[uri("shop/destinationrule.yaml")].count('"canary"') == 1
