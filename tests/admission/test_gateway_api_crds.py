"""gateway-api-crd-too-old: Gateway API CRDs below the bundle version Istio needs (IST0176)."""

from __future__ import annotations

import pytest

from istio_lsp.checks.schema.gateway_api_crd_too_old import parse_version
from istio_lsp.findings import Severity
from tests.admission.helpers import findings_for

CODE = "gateway-api-crd-too-old"


def crd(name: str, version: str | None) -> str:
    annotations = f"\n  annotations: {{gateway.networking.k8s.io/bundle-version: '{version}'}}" if version else ""
    return (
        f"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}{annotations}\n"
        "spec: {group: gateway.networking.k8s.io, names: {kind: X, plural: xs}, scope: Namespaced, versions: []}\n"
    )


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("tlsroutes.gateway.networking.k8s.io", "v1.4.1"),
        ("tcproutes.gateway.networking.k8s.io", "v1.5.9"),
        ("backendtlspolicies.gateway.networking.k8s.io", "v1.3.0"),
        ("grpcroutes.gateway.networking.k8s.io", "v1.0.0"),
        ("tlsroutes.gateway.networking.k8s.io", "1.4"),
    ],
)
def test_too_old(name: str, version: str) -> None:
    (finding,) = [f for f in findings_for(crd(name, version)) if f.code == CODE]
    assert finding.severity is Severity.WARNING
    assert finding.span.start_line == 4  # the annotation's value
    assert f"`{version}`" in finding.message and "Istio 1.31 needs at least" in finding.message


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("tlsroutes.gateway.networking.k8s.io", "v1.5.0"),
        ("tlsroutes.gateway.networking.k8s.io", "v1.5.0-rc.1"),  # a pre-release counts as its release
        ("tcproutes.gateway.networking.k8s.io", "v1.6.1"),
        ("grpcroutes.gateway.networking.k8s.io", "v1.4.1"),
        ("httproutes.gateway.networking.k8s.io", "v0.5.0"),  # no minimum for this CRD
        ("tlsroutes.gateway.networking.k8s.io", None),  # no annotation: istiod logs it, nothing to judge here
        ("tlsroutes.gateway.networking.k8s.io", "main"),  # not a version
        ("tlsroutes.gateway.networking.k8s.io", "$(GATEWAY_API_VERSION)"),
    ],
)
def test_recent_enough_or_unknown(name: str, version: str | None) -> None:
    assert [f for f in findings_for(crd(name, version)) if f.code == CODE] == []


def test_parse_version() -> None:
    assert parse_version("v1.4.1") == (1, 4, 1)
    assert parse_version("1.5") == (1, 5, 0)
    assert parse_version("v1.5.0-rc.1+build") == (1, 5, 0)
    assert parse_version("latest") is None
