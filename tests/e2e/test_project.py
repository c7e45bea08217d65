"""The project's own inputs over real LSP: configuration files, suppression comments and their
quick fix, and kustomizations that decide where files are deployed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import SERVER, accept_registrations, uri_of
from tests.e2e.helpers import apply_edits, code_actions, has_code, open_doc, replace_doc, wait_for
from tests.e2e.test_editing import _session, own_session

SERVICES = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Service
    metadata: {name: reviews, namespace: bookinfo}
    spec:
      selector: {app: reviews}
      ports: [{name: http, port: 9080}]
    """
)
# no namespace: `reviews` is the Service of bookinfo when applied there, a missing one in `shop`
ROUTES = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: storefront
    spec:
      hosts: [shop.example.com]
      http:
      - route:
        - destination:
            host: reviews
    """
)
HOST_LINE = 9
CONFIG = "defaultNamespace: shop\n"


@pytest.fixture
def project(workspace: Path) -> Path:
    (workspace / "platform").mkdir()
    (workspace / "platform" / "services.yaml").write_text(SERVICES)
    (workspace / "shop").mkdir()
    (workspace / "shop" / "routes.yaml").write_text(ROUTES)
    (workspace / "shop" / ".istio-lsp.yaml").write_text(CONFIG)
    return workspace


@pytest_lsp.fixture(config=SERVER, params=["visual-studio-code", "neovim"])
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient, project: Path):
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(_session(request.param, project))
    yield
    await lsp_client.shutdown_session()


async def test_a_folder_configuration_applies_and_its_edits_re_check(client: LanguageClient, project: Path) -> None:
    routes = uri_of(project / "shop" / "routes.yaml")
    config = uri_of(project / "shop" / ".istio-lsp.yaml")
    # shop/.istio-lsp.yaml puts the namespace-less VirtualService in `shop`, where no `reviews` is
    await wait_for(has_code(client, routes, "destination-host-not-found"))
    (diag,) = client.diagnostics[routes]
    assert diag.range.start.line == HOST_LINE and diag.severity == types.DiagnosticSeverity.Warning
    assert "reviews.bookinfo" in diag.message
    # the configuration, as it is typed: a misspelt key is an error on its line, and applies nothing
    open_doc(client, config, CONFIG)
    replace_doc(client, config, "defaultNamespce: shop\n", 2)
    await wait_for(has_code(client, config, "invalid-config"))
    (problem,) = client.diagnostics[config]
    assert problem.range.start.line == 0 and problem.severity == types.DiagnosticSeverity.Error
    assert "did you mean 'defaultNamespace'" in problem.message
    await wait_for(lambda: not client.diagnostics.get(routes))  # no namespace: `reviews` may be bookinfo's
    # fixed again: the configuration applies again
    replace_doc(client, config, CONFIG, 3)
    await wait_for(has_code(client, routes, "destination-host-not-found"))
    await wait_for(lambda: not client.diagnostics.get(config))


async def test_suppression_quick_fix_and_unused_hint(client: LanguageClient, project: Path) -> None:
    routes = uri_of(project / "shop" / "routes.yaml")
    open_doc(client, routes, ROUTES)
    await wait_for(has_code(client, routes, "destination-host-not-found"))
    (diag,) = client.diagnostics[routes]
    actions = await code_actions(client, routes, diag)
    assert [a.title for a in actions[-2:]] == [
        "Suppress `destination-host-not-found` on this line (comment above it)",
        "Suppress `destination-host-not-found` in this file",
    ], [a.title for a in actions]
    on_line = actions[-2]
    assert on_line.edit is not None and on_line.edit.changes is not None
    suppressed = apply_edits(ROUTES, list(on_line.edit.changes[routes]))
    assert "        # istio-lsp: disable-next-line destination-host-not-found\n        host: reviews" in suppressed
    replace_doc(client, routes, suppressed, 2)
    await wait_for(lambda: not client.diagnostics.get(routes))
    # the reference fixed for real: the comment now silences nothing, and says so
    fixed = suppressed.replace("host: reviews", "host: reviews.bookinfo")
    replace_doc(client, routes, fixed, 3)
    await wait_for(has_code(client, routes, "unused-suppression"))
    (hint,) = client.diagnostics[routes]
    assert hint.severity == types.DiagnosticSeverity.Hint and hint.range.start.line == HOST_LINE
    (remove,) = [a for a in await code_actions(client, routes, hint) if a.title == "Remove the unused suppression"]
    assert remove.edit is not None and remove.edit.changes is not None
    assert apply_edits(fixed, list(remove.edit.changes[routes])) == ROUTES.replace(
        "host: reviews", "host: reviews.bookinfo"
    )


BASE_ROUTES = textwrap.dedent(
    """\
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: reviews
    spec:
      hosts: [reviews]
      http:
      - route:
        - destination: {host: reviews}
        mirror: {host: ratings}
    """
)
MIRROR_LINE = 9


async def test_kustomize_overlays_name_the_build_a_finding_comes_from(workspace: Path) -> None:
    (workspace / "base").mkdir()
    (workspace / "base" / "kustomization.yaml").write_text("resources: [routes.yaml, reviews.yaml]\n")
    (workspace / "base" / "routes.yaml").write_text(BASE_ROUTES)
    (workspace / "base" / "reviews.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {selector: {app: reviews}}\n"
    )
    for overlay in ("staging", "prod"):
        (workspace / overlay).mkdir()
        resources = "[../base, ratings.yaml]" if overlay == "prod" else "[../base]"
        (workspace / overlay / "kustomization.yaml").write_text(f"namespace: {overlay}\nresources: {resources}\n")
    (workspace / "prod" / "ratings.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ratings}\nspec: {selector: {app: ratings}}\n"
    )
    routes = uri_of(workspace / "base" / "routes.yaml")
    async with own_session("visual-studio-code", workspace) as (client, _):
        await wait_for(has_code(client, routes, "destination-host-not-found"))
        (diag,) = client.diagnostics[routes]
        assert diag.range.start.line == MIRROR_LINE
        assert "ratings.staging.svc.cluster.local" in diag.message
        assert "(as built by `../staging`; the other builds resolve it)" in diag.message
        # the staging overlay gets the Service too: the finding goes
        staging = uri_of(workspace / "staging" / "kustomization.yaml")
        open_doc(client, staging, "namespace: staging\nresources: [../base]\n")
        replace_doc(client, staging, "namespace: staging\nresources: [../base, ../prod/ratings.yaml]\n", 2)
        await wait_for(lambda: not client.diagnostics.get(routes))
