"""Where kustomize deploys each file, from kustomization files alone, checked rule by rule
against kustomize's documented semantics (each test a small tree)."""

from __future__ import annotations

import textwrap

from istio_lsp.checks import analyze_text, check_file
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.layout import PATCH, RESOURCE, SUPPORT, compute_layout
from istio_lsp.model.kustomization import Kustomization, read_kustomization
from istio_lsp.syntax import parse_document


def kustomization(text: str) -> Kustomization:
    k = read_kustomization(parse_document(textwrap.dedent(text)).root)
    assert k is not None
    return k


def layout(tree: dict[str, str]) -> dict:
    return compute_layout({path: kustomization(text) for path, text in tree.items()})


def indexed(files: dict[str, str]) -> WorkspaceIndex:
    """The files (uri → text) indexed in one batch, as the CLI does."""
    index = WorkspaceIndex()
    index.update_many(analyze_text(uri, text, index.settings_for(uri)) for uri, text in files.items())
    return index


def test_the_outermost_namespace_wins_and_prefixes_nest() -> None:
    placed = layout(
        {
            "/r/base/kustomization.yaml": "namespace: base-ns\nnamePrefix: b-\nresources: [app.yaml]\n",
            "/r/overlay/kustomization.yaml": "namespace: prod\nnamePrefix: p-\nnameSuffix: -x\nresources: [../base]\n",
        }
    )
    (way,) = placed["/r/base/app.yaml"]
    assert (way.builds, way.namespace, way.name_prefix, way.name_suffix, way.role) == (
        ("/r/overlay",),
        "prod",
        "p-b-",
        "-x",
        RESOURCE,
    )


def test_a_base_two_overlays_deploy_is_placed_twice() -> None:
    placed = layout(
        {
            "/r/base/kustomization.yaml": "resources: [app.yaml]\n",
            "/r/staging/kustomization.yaml": "namespace: staging\nresources: [../base]\n",
            "/r/prod/kustomization.yaml": "namespace: prod\nresources: [../base/]\n",
        }
    )
    assert sorted((p.builds, p.namespace) for p in placed["/r/base/app.yaml"]) == [
        (("/r/prod",), "prod"),
        (("/r/staging",), "staging"),
    ]


def test_builds_that_deploy_alike_are_one_placement() -> None:
    placed = layout(
        {
            "/r/base/kustomization.yaml": "resources: [app.yaml]\n",
            "/r/a/kustomization.yaml": "namespace: shop\nresources: [../base]\n",
            "/r/b/kustomization.yaml": "namespace: shop\nresources: [../base]\n",
        }
    )
    (way,) = placed["/r/base/app.yaml"]
    assert way.builds == ("/r/a", "/r/b") and way.label == "/r/a (and 1 more)"


def test_patches_and_configuration_are_not_resources() -> None:
    placed = layout(
        {
            "/r/o/kustomization.yaml": """\
                resources: [app.yaml, https://github.com/org/repo//base?ref=v1]
                patches:
                - path: patch-a.yaml
                - patch: |-
                    inline: true
                patchesStrategicMerge: [patch-b.yaml]
                patchesJson6902:
                - target: {kind: Gateway, name: x}
                  path: patch-c.yaml
                configurations: [params.yaml]
                transformers: [ns.yaml]
                replacements:
                - path: replacements.yaml
                """
        }
    )
    roles = {path.rsplit("/", 1)[1]: {p.role for p in ways} for path, ways in placed.items()}
    assert roles == {
        "app.yaml": {RESOURCE},
        "patch-a.yaml": {PATCH},
        "patch-b.yaml": {PATCH},
        "patch-c.yaml": {PATCH},
        "params.yaml": {SUPPORT},
        "ns.yaml": {SUPPORT},
        "replacements.yaml": {SUPPORT},
    }
    (way,) = placed["/r/o/app.yaml"]
    assert way.generated  # the remote base: the build holds what no file shows


def test_a_component_is_built_by_whoever_includes_it() -> None:
    placed = layout(
        {
            "/r/comp/kustomization.yaml": "kind: Component\nresources: [extra.yaml]\n",
            "/r/o/kustomization.yaml": "namespace: o\nresources: [app.yaml]\ncomponents: [../comp]\n",
            "/r/lonely/kustomization.yaml": "kind: Component\nresources: [unused.yaml]\n",
        }
    )
    assert [(p.builds, p.namespace) for p in placed["/r/comp/extra.yaml"]] == [(("/r/o",), "o")]
    assert "/r/lonely/unused.yaml" not in placed  # a component alone is never built


def test_a_cycle_of_kustomizations_ends() -> None:
    placed = layout(
        {
            "/r/top/kustomization.yaml": "namespace: t\nresources: [../a]\n",
            "/r/a/kustomization.yaml": "resources: [../b, a.yaml]\n",
            "/r/b/kustomization.yaml": "resources: [../a, b.yaml]\n",
        }
    )
    assert [p.namespace for p in placed["/r/a/a.yaml"]] == ["t"]
    assert [p.namespace for p in placed["/r/b/b.yaml"]] == ["t"]


def test_a_file_no_kustomization_lists_is_applied_as_it_is() -> None:
    placed = layout({"/r/o/kustomization.yaml": "resources: [app.yaml]\n"})
    assert "/r/o/stray.yaml" not in placed


def test_namespace_transformer_overrides_what_the_file_says() -> None:
    index = indexed(
        {
            "file:///r/o/kustomization.yaml": "namespace: prod\nresources: [svc.yaml]\n",
            "file:///r/o/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: dev}\n---\n"
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n",
        }
    )
    service, namespace = index.resources_in("file:///r/o/svc.yaml")
    assert (service.namespace, service.display) == ("prod", "Service prod/a")
    assert namespace.namespace == ""  # cluster-scoped: kustomize's namespace does not apply
    assert index.services_for(["a.prod.svc.cluster.local"]) == [service]
    assert index.services_for(["a.dev.svc.cluster.local"]) == []


def test_a_kustomization_edit_moves_its_files() -> None:
    routes = textwrap.dedent(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: r}
        spec:
          hosts: [r]
          gateways: [main]
          http:
          - route:
            - destination: {host: r}
        """
    )
    gateway = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: main, namespace: edge}\n"
    index = indexed(
        {
            "file:///r/app/kustomization.yaml": "namespace: shop\nresources: [routes.yaml]\n",
            "file:///r/app/routes.yaml": routes,
            "file:///r/edge/gateway.yaml": gateway,
        }
    )
    # in `shop`, `main` is shop/main: there is only edge/main
    assert "gateway-not-found" in [f.code for f in check_file(index, "file:///r/app/routes.yaml")]
    affected = index.update(
        analyze_text("file:///r/app/kustomization.yaml", "namespace: edge\nresources: [routes.yaml]\n", index.settings)
    )
    assert "file:///r/app/routes.yaml" in affected
    assert "gateway-not-found" not in [f.code for f in check_file(index, "file:///r/app/routes.yaml")]
    # the kustomization gone: the file is applied as it is, in whichever namespace
    affected = index.remove("file:///r/app/kustomization.yaml")
    assert "file:///r/app/routes.yaml" in affected
    (vs,) = index.resources_in("file:///r/app/routes.yaml")
    assert vs.namespace == "*"
    assert "gateway-not-found" not in [f.code for f in check_file(index, "file:///r/app/routes.yaml")]


def test_a_finding_only_one_overlay_has_names_it() -> None:
    base_routes = textwrap.dedent(
        """\
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: ratings}
        """
    )
    index = indexed(
        {
            "file:///r/base/kustomization.yaml": "resources: [routes.yaml]\n",
            "file:///r/base/routes.yaml": base_routes,
            "file:///r/overlays/staging/kustomization.yaml": "namespace: staging\nresources: [../../base]\n",
            "file:///r/overlays/prod/kustomization.yaml": "namespace: prod\nresources: [../../base, ratings.yaml]\n",
            "file:///r/overlays/prod/ratings.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: ratings}\n",
        }
    )
    (finding,) = check_file(index, "file:///r/base/routes.yaml")
    assert finding.code == "destination-host-not-found"
    assert "ratings.staging.svc.cluster.local" in finding.message
    assert finding.message.endswith("(as built by `../overlays/staging`; the other builds resolve it)")
    assert finding.severity.label == "warning"
    # both overlays lack it: one finding, naming no overlay
    index.remove("file:///r/overlays/prod/ratings.yaml")
    (finding,) = check_file(index, "file:///r/base/routes.yaml")
    assert "as built by" not in finding.message
