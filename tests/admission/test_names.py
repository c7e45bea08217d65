"""Kubernetes naming rules for `metadata.name` and `metadata.namespace`, table-driven.

The markers and the harness are test_destinationrule.py's: `# !code` on the line where a
finding must start; a case without markers must raise none of the codes under test.
"""

from __future__ import annotations

import pytest

from tests.admission.test_destinationrule import actual, apply_fix, expected, only_finding

CODES = {"invalid-resource-name"}


def doc(kind: str, name: str, namespace: str = "shop", api: str = "networking.istio.io/v1") -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec: {{}}\n"


CASES: list[tuple[str, str]] = [
    ("underscore", doc("DestinationRule", "reviews_v2  # !invalid-resource-name")),
    ("upper-case", doc("VirtualService", "Reviews  # !invalid-resource-name")),
    ("trailing-dash", doc("Gateway", "public-  # !invalid-resource-name")),
    ("service-with-a-dot", doc("Service", "reviews.v2  # !invalid-resource-name", api="v1")),
    ("service-starting-with-a-digit", doc("Service", "2fa  # !invalid-resource-name", api="v1")),
    ("namespace-with-a-dot", doc("Sidecar", "default", namespace="shop.prod  # !invalid-resource-name")),
    ("too-long", doc("ConfigMap", "a" * 254 + "  # !invalid-resource-name", api="v1")),
    ("dots-ok", doc("DestinationRule", "reviews.v2")),
    ("deployment-ok", doc("Deployment", "reviews-v2", api="apps/v1")),
    ("service-ok", doc("Service", "reviews-v2", api="v1")),
    ("fill-in-blanks-ok", doc("VirtualService", "<name>", namespace="<namespace>")),
    ("placeholder-tokens-ok", doc("VirtualService", "$(APP_NAME)", namespace="MY_NAMESPACE")),
    ("rbac-colons-ok", doc("ClusterRole", "system:controller:istio", api="rbac.authorization.k8s.io/v1")),
]


@pytest.mark.parametrize(("name", "yaml_text"), CASES, ids=[c[0] for c in CASES])
def test_case(name: str, yaml_text: str) -> None:
    assert actual(yaml_text, CODES) == expected(yaml_text)


def test_the_fix_writes_a_name_the_api_server_accepts() -> None:
    text = doc("DestinationRule", "Reviews_V2")
    finding = only_finding(text, "invalid-resource-name")
    assert "an underscore" in finding.message
    (fix,) = finding.fixes
    assert fix.title == "Use `reviews-v2`"
    assert actual(apply_fix(text, fix), CODES) == set()
