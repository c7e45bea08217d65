"""EnvoyFilter patch operations istiod skips or applies otherwise than written, table-driven.

Same format as test_destinationrule.py: `# !code[@severity]` markers at the end of the
line where a finding must start; cases without markers must produce none of the codes.
The EnvoyFilters set a `priority`, so the ordering checks stay out of the way.
"""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.model.extract import resources_of
from istio_lsp.model.resources import EnvoyFilter
from istio_lsp.syntax import parse_file
from tests.admission.helpers import URI
from tests.admission.test_destinationrule import actual, apply_fix, expected, only_finding

EF_CODES = {"envoyfilter-replace-misused", "envoyfilter-add-misused", "envoyfilter-remove-misused"}


def ef(patches: str) -> str:
    """An EnvoyFilter document with the given `configPatches` list (markers included)."""
    body = "\n".join(f"  {line}" if line else line for line in textwrap.dedent(patches).strip("\n").split("\n"))
    return (
        "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata:\n"
        f"  name: patches\n  namespace: shop\nspec:\n  priority: 10\n  configPatches:\n{body}\n"
    )


def patch(apply_to: str, operation: str, match: str = "{context: SIDECAR_INBOUND}", value: str = "") -> str:
    """One patch item; `operation` may carry a marker comment."""
    value_line = f"\n    value: {value}" if value else ""
    return f"- applyTo: {apply_to}\n  match: {match}\n  patch:\n    operation: {operation}{value_line}\n"


HCM = "{listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}"
VHOST = '{routeConfiguration: {vhost: {name: "reviews.shop.svc.cluster.local:9080"}}}'
ROUTE = '{routeConfiguration: {vhost: {name: "reviews.shop.svc.cluster.local:9080", route: {name: legacy}}}}'

CASES: list[tuple[str, str]] = [
    # REPLACE: istiod replaces HTTP and network filters, listener filters and virtual hosts only
    ("replace-cluster", ef(patch("CLUSTER", "REPLACE  # !envoyfilter-replace-misused", "{}", "{name: c}"))),
    ("replace-listener", ef(patch("LISTENER", "REPLACE  # !envoyfilter-replace-misused", "{}", "{name: l}"))),
    ("replace-route", ef(patch("HTTP_ROUTE", "REPLACE  # !envoyfilter-replace-misused", ROUTE, "{name: r}"))),
    (
        "replace-route-configuration",
        ef(patch("ROUTE_CONFIGURATION", "'REPLACE'  # !envoyfilter-replace-misused", "{}", "{name: rc}")),
    ),
    (
        "replace-supported",
        ef(
            patch("HTTP_FILTER", "REPLACE", HCM, "{name: envoy.lua}")
            + patch("NETWORK_FILTER", "REPLACE", HCM, "{name: envoy.filters.network.tcp_proxy}")
            + patch("LISTENER_FILTER", "REPLACE", "{listener: {listenerFilter: tls}}", "{name: tls}")
            + patch("VIRTUAL_HOST", "REPLACE", VHOST, "{name: vh, domains: ['*']}")
        ),
    ),
    # ADD: skipped on a route configuration, appended after the generated routes on HTTP_ROUTE
    ("add-route-configuration", ef(patch("ROUTE_CONFIGURATION", "ADD  # !envoyfilter-add-misused", "{}", "{a: 1}"))),
    (
        "add-route",
        ef(patch("HTTP_ROUTE", "ADD  # !envoyfilter-add-misused@warning", VHOST, "{name: r, match: {prefix: /x}}")),
    ),
    (
        "add-supported",
        ef(
            patch("HTTP_FILTER", "ADD", HCM, "{name: envoy.lua}")
            + patch("CLUSTER", "ADD", "{context: SIDECAR_OUTBOUND}", "{name: lua}")
            + patch("VIRTUAL_HOST", "ADD", "{context: SIDECAR_OUTBOUND}", "{name: vh, domains: [x]}")
            + patch("HTTP_ROUTE", "INSERT_FIRST", VHOST, "{name: r, match: {prefix: /x}}")
            + patch("ROUTE_CONFIGURATION", "MERGE", "{}", "{validate_clusters: false}")
        ),
    ),
    # REMOVE: skipped on a route configuration, every route of the virtual hosts on HTTP_ROUTE without a route
    ("remove-route-configuration", ef(patch("ROUTE_CONFIGURATION", "REMOVE  # !envoyfilter-remove-misused"))),
    ("remove-every-route", ef(patch("HTTP_ROUTE", "REMOVE  # !envoyfilter-remove-misused", VHOST))),
    ("remove-route-listener-match", ef(patch("HTTP_ROUTE", "REMOVE  # !envoyfilter-remove-misused", HCM))),
    (
        "remove-route-any-action",
        ef(
            patch(
                "HTTP_ROUTE",
                "REMOVE  # !envoyfilter-remove-misused",
                "{routeConfiguration: {vhost: {route: {action: ANY}}}}",
            )
        ),
    ),
    (
        "remove-supported",
        ef(
            patch("HTTP_ROUTE", "REMOVE", ROUTE)
            + patch("HTTP_ROUTE", "REMOVE", "{routeConfiguration: {vhost: {route: {action: REDIRECT}}}}")
            + patch("VIRTUAL_HOST", "REMOVE", VHOST)
            + patch("HTTP_FILTER", "REMOVE", HCM)
            + patch("CLUSTER", "REMOVE", "{cluster: {name: BlackHoleCluster}}")
        ),
    ),
    # what the API server rejects (no applyTo, no operation) is left to the schema checks
    ("no-apply-to", ef("- patch:\n    operation: REPLACE\n    value: {name: x}\n")),
    ("no-patch", ef("- applyTo: HTTP_ROUTE\n  match: {}\n")),
]


@pytest.mark.parametrize(("name", "yaml_text"), CASES, ids=[c[0] for c in CASES])
def test_case(name: str, yaml_text: str) -> None:
    assert actual(yaml_text, EF_CODES) == expected(yaml_text)


def test_every_code_has_failing_and_passing_cases() -> None:
    failing = {code for _, text in CASES for code, _, _ in expected(text)}
    assert failing == EF_CODES
    assert any(not expected(text) for _, text in CASES)


def test_add_on_a_route_offers_insert_first() -> None:
    text = ef(patch("HTTP_ROUTE", '"ADD"', VHOST, "{name: r, match: {prefix: /x}}"))
    found = only_finding(text, "envoyfilter-add-misused")
    assert "each virtual host the patch matches" in found.message
    fix = found.fixes[0]
    assert fix.title.startswith("Use INSERT_FIRST") and not fix.safe
    fixed = apply_fix(text, fix)
    assert 'operation: "INSERT_FIRST"' in fixed
    assert actual(fixed, EF_CODES) == set()


def test_messages_say_what_istiod_does() -> None:
    replace = only_finding(ef(patch("CLUSTER", "REPLACE", "{}", "{name: c}")), "envoyfilter-replace-misused")
    assert "skips this CLUSTER patch" in replace.message and "MERGE" in replace.message
    remove = only_finding(ef(patch("HTTP_ROUTE", "REMOVE", HCM)), "envoyfilter-remove-misused")
    assert "every route of every virtual host" in remove.message and "`listener` match" in remove.message
    assert "404" in remove.message


def test_the_model_reads_each_patch() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: networking.istio.io/v1alpha3
        kind: EnvoyFilter
        metadata: {name: lua, namespace: shop}
        spec:
          workloadSelector:
            labels: {app: reviews}
          configPatches:
          - applyTo: HTTP_FILTER
            match:
              proxy: {proxyVersion: '^1\\.22.*'}
              listener:
                filterChain:
                  filter:
                    name: envoy.filters.network.http_connection_manager
                    subFilter: {name: envoy.filters.http.router}
            patch:
              operation: INSERT_BEFORE
              value: {name: envoy.lua}
          - applyTo: HTTP_ROUTE
            match:
              routeConfiguration: {vhost: {name: vh, route: {name: legacy}}}
            patch: {operation: REMOVE}
        """
    )
    (resource,) = resources_of(parse_file(text).documents[0], URI)
    assert isinstance(resource, EnvoyFilter)
    assert resource.priority == 0 and resource.priority_span is None
    assert resource.selector == {"app": "reviews"} and resource.spec_first_key == (4, 2)
    first, second = resource.patches
    assert first.operation is not None and first.operation.value == "INSERT_BEFORE"
    assert first.anchor == "envoy.filters.http.router" and first.subject == "envoy.lua"
    assert first.proxy_version is not None and first.proxy_version.value == "^1\\.22.*"
    assert second.anchor == second.subject == "legacy" and second.route_match and second.vhost_match
