"""Definition, references, rename, completion and hover for the Gateway API kinds, called directly on an
index built from texts with a cursor marker (see `gateway_api_fixtures.py` for the workspace)."""

from __future__ import annotations

import pytest

from istio_lsp.features.completion import complete
from istio_lsp.features.cursor import cursor_at
from istio_lsp.features.definition import definition
from istio_lsp.features.hover import hover
from istio_lsp.features.references import references
from istio_lsp.features.rename import RenameError, prepare_rename, rename
from istio_lsp.features.symbols import document_symbols
from tests.e2e.helpers import apply_edits
from tests.features.gateway_api_fixtures import GATEWAY, ISTIO, ROUTES, SERVICES, files
from tests.features.helpers import Workspace, build, convert, mark

Target = tuple[str, int, str]  # (file, 0-based line, text of the range)


def at(name: str, text: str, target: str, occurrence: int = 1, offset: int = 1) -> Workspace:
    """The workspace, with the cursor `offset` characters into the `occurrence`-th `target` of one file."""
    return build(files(**{name: mark(text, target, occurrence, offset)}))


def targets(ws: Workspace) -> list[Target]:
    found = definition(ws.index, *ws.at, convert)
    return [
        (loc.uri.removeprefix("file:///ws/"), loc.range.start.line, ws.text_of(loc.uri, loc.range)) for loc in found
    ]


def places(ws: Workspace, include_declaration: bool = True) -> list[Target]:
    found = references(ws.index, *ws.at, include_declaration, convert)
    return [
        (loc.uri.removeprefix("file:///ws/"), loc.range.start.line, ws.text_of(loc.uri, loc.range)) for loc in found
    ]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at)


# ---- definition ---------------------------------------------------------------------------


def test_parent_ref_name_lands_on_the_gateway_api_gateway_not_istios_namesake() -> None:
    ws = at("shop_routes", ROUTES, "name: public", 1, 7)
    assert targets(ws) == [("infra/gateway.yaml", 3, "public")]


def test_section_name_lands_on_the_listener() -> None:
    ws = at("shop_routes", ROUTES, "sectionName: https", 1, 14)
    assert targets(ws) == [("infra/gateway.yaml", line_of(GATEWAY, "- name: https"), "https")]


def test_listener_set_parent_and_its_section_name() -> None:
    ws = at("shop_routes", ROUTES, "name: extra", 1, 7)
    assert targets(ws) == [("infra/gateway.yaml", line_of(GATEWAY, "name: extra"), "extra")]
    ws = at("shop_routes", ROUTES, "sectionName: admin", 1, 14)
    assert targets(ws) == [("infra/gateway.yaml", line_of(GATEWAY, "- name: admin"), "admin")]


def test_listener_set_parent_ref_lands_on_its_gateway() -> None:
    ws = at("infra_gateway", GATEWAY, "name: public", 2, 7)
    assert targets(ws) == [("infra/gateway.yaml", 3, "public")]


def test_backend_ref_lands_on_the_service_and_its_port() -> None:
    ws = at("shop_routes", ROUTES, "name: web", 1, 7)
    assert targets(ws) == [("shop/services.yaml", 3, "web")]
    ws = at("shop_routes", ROUTES, "port: 8080", 1, 7)
    ((file, line, text),) = targets(ws)
    assert (file, line) == ("shop/services.yaml", line_of(SERVICES, "- name: http")) and "port: 8080" in text


def test_hostname_backend_lands_on_the_serviceentry_host() -> None:
    ws = at("shop_routes", ROUTES, "api.partner.com", 1, 2)
    assert targets(ws) == [("shop/services.yaml", line_of(SERVICES, "- api.partner.com"), "api.partner.com")]


def test_mesh_parent_lands_on_the_service_and_its_port() -> None:
    ws = at("shop_routes", ROUTES, "name: web", 3, 7)
    assert targets(ws) == [("shop/services.yaml", 3, "web")]
    ws = at("shop_routes", ROUTES, "port: 8080", 3, 7)
    assert [t[:2] for t in targets(ws)] == [("shop/services.yaml", line_of(SERVICES, "- name: http"))]


def test_virtualservice_gateways_entry_is_unchanged() -> None:
    # Istio binds a VirtualService to a Gateway API Gateway of that name too: both, as before
    ws = at("infra_istio", ISTIO, "[public]", 1, 2)
    assert targets(ws) == [("infra/gateway.yaml", 3, "public"), ("infra/istio.yaml", 3, "public")]


def test_missing_gateway_goes_nowhere() -> None:
    broken = ROUTES.replace("- name: public\n    namespace: infra\n    sectionName: http", "- name: nowhere")
    ws = at("shop_routes", broken, "nowhere", 1, 2)
    assert targets(ws) == []


# ---- references ---------------------------------------------------------------------------


def test_references_of_a_gateway_are_its_parent_refs_never_virtualservice_gateways() -> None:
    expected = [
        ("infra/gateway.yaml", 3, "public"),
        ("infra/gateway.yaml", line_of(GATEWAY, "name: public", 2), "public"),  # the ListenerSet's parentRef
        ("shop/routes.yaml", line_of(ROUTES, "name: public"), "public"),
        ("shop/routes.yaml", line_of(ROUTES, "name: public", 2), "public"),
    ]
    assert places(at("infra_gateway", GATEWAY, "name: public", 1, 7)) == expected
    assert places(at("shop_routes", ROUTES, "name: public", 2, 7)) == expected  # from a reference
    assert places(at("shop_routes", ROUTES, "name: public", 2, 7), include_declaration=False) == expected[1:]


def test_references_of_istios_gateway_are_virtualservice_gateways_only() -> None:
    ws = at("infra_istio", ISTIO, "name: public", 1, 7)
    assert places(ws) == [("infra/istio.yaml", 3, "public"), ("infra/istio.yaml", line_of(ISTIO, "[public]"), "public")]


def test_references_of_a_listener_are_the_section_names_selecting_it() -> None:
    ws = at("infra_gateway", GATEWAY, "- name: https", 1, 10)
    assert places(ws) == [
        ("infra/gateway.yaml", line_of(GATEWAY, "- name: https"), "https"),
        ("shop/routes.yaml", line_of(ROUTES, "sectionName: https"), "https"),
    ]
    ws = at("infra_gateway", GATEWAY, "- name: admin", 1, 10)  # a ListenerSet's listener
    assert places(ws, include_declaration=False) == [
        ("shop/routes.yaml", line_of(ROUTES, "sectionName: admin"), "admin")
    ]


def test_a_route_in_another_namespace_naming_the_gateway_without_namespace_is_not_a_reference() -> None:
    stray = ROUTES.replace("  - name: public\n    namespace: infra\n    sectionName: http\n", "  - name: public\n")
    ws = build(files(shop_routes=stray, infra_gateway=mark(GATEWAY, "name: public", 1, 7)))
    assert [p[:2] for p in places(ws, include_declaration=False) if p[0] == "shop/routes.yaml"] == [
        ("shop/routes.yaml", line_of(stray, "name: public", 2))
    ]


def test_references_of_a_service_include_backend_refs_and_mesh_parents() -> None:
    expected = [
        ("infra/istio.yaml", line_of(ISTIO, "host: web"), "web.shop.svc.cluster.local"),
        ("shop/routes.yaml", line_of(ROUTES, "name: web"), "web"),
        ("shop/routes.yaml", line_of(ROUTES, "name: web", 2), "web"),
        ("shop/routes.yaml", line_of(ROUTES, "name: web", 3), "web"),  # the mesh route's parent
        ("shop/services.yaml", 3, "web"),
    ]
    assert places(at("shop_services", SERVICES, "name: web", 1, 7)) == expected
    assert places(at("shop_routes", ROUTES, "name: web", 1, 7)) == expected  # from a backendRef
    assert places(at("shop_routes", ROUTES, "name: web", 3, 7)) == expected  # from a mesh parentRef
    assert places(at("shop_routes", ROUTES, "api.partner.com", 1, 2)) == [
        ("shop/routes.yaml", line_of(ROUTES, "api.partner.com"), "api.partner.com"),
        ("shop/services.yaml", line_of(SERVICES, "- api.partner.com"), "api.partner.com"),
    ]


# ---- rename ---------------------------------------------------------------------------------


def renamed(ws: Workspace, new_name: str) -> dict[str, str]:
    edit = rename(ws.index, *ws.at, new_name, convert)
    assert edit is not None and edit.changes is not None
    return {
        file.removeprefix("file:///ws/"): apply_edits(ws.texts[file], list(edits))
        for file, edits in edit.changes.items()
    }


def test_rename_gateway_api_gateway_leaves_istios_gateway_and_virtualservices_alone() -> None:
    ws = at("shop_routes", ROUTES, "name: public", 1, 8)
    placeholder = prepare_rename(ws.index, *ws.at, convert)
    assert placeholder is not None and placeholder.placeholder == "public"
    out = renamed(ws, "edge")
    assert set(out) == {"infra/gateway.yaml", "shop/routes.yaml"}  # never infra/istio.yaml
    assert out["infra/gateway.yaml"] == GATEWAY.replace("name: public", "name: edge")
    assert out["shop/routes.yaml"] == ROUTES.replace("name: public", "name: edge")


def test_rename_istio_gateway_leaves_parent_refs_alone() -> None:
    ws = at("infra_istio", ISTIO, "name: public", 1, 8)
    out = renamed(ws, "edge")
    assert set(out) == {"infra/istio.yaml"}
    assert out["infra/istio.yaml"] == ISTIO.replace("name: public", "name: edge").replace("[public]", "[edge]")


def test_rename_listener_renames_the_section_names() -> None:
    ws = at("shop_routes", ROUTES, "sectionName: https", 1, 15)
    out = renamed(ws, "secure")
    assert out["infra/gateway.yaml"] == GATEWAY.replace("- name: https", "- name: secure")
    assert out["shop/routes.yaml"] == ROUTES.replace("sectionName: https", "sectionName: secure")


def test_rename_refuses_a_taken_or_invalid_name() -> None:
    ws = at("infra_gateway", GATEWAY, "- name: https", 1, 10)
    with pytest.raises(RenameError, match="already has a listener `http`"):
        rename(ws.index, *ws.at, "http", convert)
    with pytest.raises(RenameError):
        rename(ws.index, *ws.at, "Not_Valid", convert)
    ws = at("infra_gateway", GATEWAY, "name: public", 1, 8)
    assert rename(ws.index, *ws.at, "extra", convert) is not None  # a ListenerSet's name: another kind
    taken = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: taken, namespace: infra}\n"
    ws = build(files(infra_gateway=mark(GATEWAY, "name: public", 1, 8), infra_taken=taken))
    with pytest.raises(RenameError, match="already exists"):
        rename(ws.index, *ws.at, "taken", convert)


def test_backend_names_are_not_renamed_here() -> None:
    ws = at("shop_routes", ROUTES, "name: web", 1, 7)
    assert prepare_rename(ws.index, *ws.at, convert) is None


# ---- completion ---------------------------------------------------------------------------

NEW_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: new, namespace: shop}
spec:
  parentRefs:
  - name: @1
    namespace: infra
  - name: public
    namespace: infra
    sectionName: @2
    port: @3
  - name: @4
  - kind: Service
    group: ""
    name: @5
  rules:
  - backendRefs:
    - name: @6
      port: 8080
    - name: web
      port: @7
    - kind: Hostname
      group: networking.istio.io
      name: @8
"""


def labels(slot: int) -> list[str]:
    text = NEW_ROUTE.replace(f"@{slot}", "‸")
    for other in range(1, 9):
        text = text.replace(f"@{other}", "")
    ws = build(files(shop_new=text))
    file_uri, line, character = ws.at
    return [item.label for item in complete(ws.index, file_uri, ws.texts[file_uri], line, character, convert)]


@pytest.mark.parametrize(
    ("slot", "expected"),
    [
        (1, ["public"]),  # the Gateway API Gateways of infra (not Istio's namesake twice)
        (2, ["http", "https", "tcp"]),  # the listeners of infra/public
        (3, ["80", "443", "9000"]),
        (4, []),  # no Gateway in the route's own namespace
        (5, ["web"]),  # a mesh route's parent Service
        (6, ["web"]),  # the Services of the route's namespace
        (7, ["8080", "9090"]),  # the ports of the named Service
        (8, ["api.partner.com"]),  # a Hostname backend: ServiceEntry hosts
    ],
)
def test_completion_of_gateway_api_references(slot: int, expected: list[str]) -> None:
    assert labels(slot) == expected


def test_cursor_reads_the_item_first_line_key_as_a_sibling() -> None:
    text = "spec:\n  parentRefs:\n  - name: public\n    sectionName: \n"
    assert cursor_at(text, 3, len("    sectionName: ")).siblings == {"name": "public"}


# ---- hover ---------------------------------------------------------------------------------


def hover_text(ws: Workspace) -> str:
    file_uri, line, character = ws.at
    found = hover(ws.index, file_uri, ws.texts[file_uri], line, character, convert)
    assert found is not None and isinstance(found.contents, object)
    return str(getattr(found.contents, "value", ""))


def test_hover_on_a_listener_lists_attached_and_refused_routes() -> None:
    text = hover_text(at("infra_gateway", GATEWAY, "- name: https", 1, 0))  # on the item's dash
    assert text.startswith("**listener https** of Gateway infra/public: HTTPS 443 · *.example.com")
    assert "**refused**: HTTPRoute shop/shop: listener `https` accepts routes of its own namespace `infra` only" in text
    text = hover_text(at("infra_gateway", GATEWAY, "- name: http\n", 1, 9))  # on its name
    assert "- attached: HTTPRoute shop/shop" in text
    assert "No route in the workspace attaches to it." in hover_text(at("infra_gateway", GATEWAY, "name: tcp", 1, 1))


def test_hover_on_a_parent_ref_says_which_listeners_accept_the_route() -> None:
    text = hover_text(at("shop_routes", ROUTES, "name: public", 1, 8))
    assert "- listener `http` (HTTP 80 · *.example.com) accepts this route" in text
    text = hover_text(at("shop_routes", ROUTES, "sectionName: https", 1, 15))
    assert "- listener `https` (HTTPS 443 · *.example.com) **refuses** this route: listener `https` accepts" in text
    text = hover_text(at("shop_routes", ROUTES, "- name: public", 1, 0))  # on the item's dash
    assert "- listener `http` (HTTP 80 · *.example.com) accepts this route" in text
    text = hover_text(at("shop_routes", ROUTES, "name: extra", 1, 8))
    assert text.startswith("**ListenerSet infra/extra**") and "`admin` (HTTP 8443) accepts this route" in text


def test_hover_on_a_parent_ref_to_nothing_or_to_no_listener() -> None:
    broken = ROUTES.replace("sectionName: http\n", "sectionName: htp\n").replace("name: extra", "name: missing")
    assert "no listener matches this sectionName/port (NoMatchingParent); listeners: `http` (80)" in hover_text(
        at("shop_routes", broken, "sectionName: htp", 1, 14)
    )
    assert "**ListenerSet infra/missing**: not declared in the workspace" in hover_text(
        at("shop_routes", broken, "name: missing", 1, 8)
    )


def test_hover_on_a_hostname_mismatch_gives_the_reason() -> None:
    other = ROUTES.replace("- shop.example.com", "- shop.example.org")
    text = hover_text(at("shop_routes", other, "name: public", 1, 8))
    assert "**refuses** this route: no route hostname (`shop.example.org`) matches the listener's hostname" in text


def test_istio_gateway_hover_is_unchanged() -> None:
    text = hover_text(at("infra_istio", ISTIO, "[public]", 1, 2))
    assert text.startswith("**Gateway infra/public**\n\n- selector: `istio: ingressgateway`")
    assert "listener" not in text


# ---- outline ---------------------------------------------------------------------------------


def test_outline_lists_listeners_and_route_rules() -> None:
    ws = build(files())
    gateway, listener_set = document_symbols(ws.index, "file:///ws/infra/gateway.yaml", convert)
    assert [(c.name, c.detail) for c in gateway.children or []] == [
        ("http (HTTP 80)", "*.example.com"),
        ("https (HTTPS 443)", "*.example.com"),
        ("tcp (TCP 9000)", None),
    ]
    assert [c.name for c in listener_set.children or []] == ["admin (HTTP 8443)"]
    shop, *_ = document_symbols(ws.index, "file:///ws/shop/routes.yaml", convert)
    assert [(c.name, c.detail) for c in shop.children or []] == [("rules[0]", "→ web:8080, api.partner.com:443")]
