"""Istio annotation rules (istioctl's annotations and maturity analyzers), table-driven with the markers
of test_serviceentry.py, plus their quick fixes and the registry generator."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from istio_lsp.checks import Finding
from istio_lsp.checks.istio_annotations import _registry
from istio_lsp.checks.istio_annotations._values import VALIDATORS
from tests.admission.helpers import findings_for
from tests.admission.test_serviceentry import actual, expected, params
from tests.casekit import apply_edits

UNKNOWN = "unknown-istio-annotation"
MISPLACED = "misplaced-istio-annotation"
INVALID = "invalid-istio-annotation-value"
DEPRECATED = "deprecated-istio-annotation"
ALPHA = "alpha-istio-annotation"
CODES = {UNKNOWN, MISPLACED, INVALID, DEPRECATED, ALPHA}
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_annotation_registry.py"


def pod(annotations: str, init: str = "istio-init") -> str:
    """A Pod with these annotations (written at column 0) and, when given, one init container."""
    body = textwrap.indent(textwrap.dedent(annotations).strip("\n"), "    ")
    inits = f"  initContainers:\n  - name: {init}\n    image: proxy\n" if init else ""
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: shop\n  annotations:\n"
        f"{body}\nspec:\n{inits}  containers:\n  - name: app\n    image: app\n"
    )


def deployment(annotations: str = "", template: str = "", labels: str = "app: web") -> str:
    """A Deployment with annotations on its own metadata and on its pod template (each at column 0)."""
    own = "  annotations:\n" + textwrap.indent(textwrap.dedent(annotations).strip("\n"), "    ") + "\n"
    pods = "      annotations:\n" + textwrap.indent(textwrap.dedent(template).strip("\n"), "        ") + "\n"
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
        f"{own if annotations else ''}spec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n"
        f"    metadata:\n      labels:\n        {labels}\n{pods if template else ''}"
        "    spec:\n      containers:\n      - name: web\n        image: web\n"
    )


def service(annotations: str, api_version: str = "v1") -> str:
    body = textwrap.indent(textwrap.dedent(annotations).strip("\n"), "    ")
    return (
        f"apiVersion: {api_version}\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n  annotations:\n"
        f"{body}\nspec:\n  selector: {{app: web}}\n  ports: [{{name: http, port: 80}}]\n"
    )


CASES = {
    # unknown: in Istio's domains only; did-you-mean and labels
    "unknown-typo": pod("sidecar.istio.io/proxyCpu: 200m  # !unknown-istio-annotation@warning"),
    "unknown-subdomain": pod("foo.istio.io/bar: x  # !unknown-istio-annotation"),
    "unknown-bare-domain": service("istio.io/persistent-sessions: x  # !unknown-istio-annotation"),
    "unknown-label-as-annotation": service("istio.io/use-waypoint: waypoint  # !unknown-istio-annotation"),
    "unknown-in-template": deployment(template="traffic.sidecar.istio.io/excludeOutbound: '443'  # !" + UNKNOWN),
    "other-vendors": pod(
        """
        prometheus.io/scrape: "true"
        kubernetes.io/psp: privileged
        example.com/sidecar.istio.io: x
        notistio.io/x: y
        helm.sh/hook: test-success
        """
    ),
    "read-by-istio-without-registry": service(
        """
        istio.io/connect-strategy: RACE_FIRST_TCP_CONNECT
        internal.istio.io/route-semantics: gateway
        """
    ),
    "set-by-istio": pod(
        """
        sidecar.istio.io/status: "{}"
        istio.io/rev: canary
        gateway.istio.io/controller-version: "5"
        """
    ),
    "placeholder-key": pod('"$(PREFIX).istio.io/owner": team'),
    # misplaced
    "misplaced-on-deployment": deployment(
        "sidecar.istio.io/proxyMemory: 1Gi  # !misplaced-istio-annotation@warning, alpha-istio-annotation"
    ),
    "misplaced-service-annotation-in-template": deployment(
        template="networking.istio.io/exportTo: '.'  # !misplaced-istio-annotation, alpha-istio-annotation"
    ),
    "misplaced-ingress-class-on-namespace": (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  annotations:\n"
        "    kubernetes.io/ingress.class: istio  # !misplaced-istio-annotation\n"
    ),
    "ingress-class-on-ingress": (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations:\n"
        "    kubernetes.io/ingress.class: istio\nspec:\n  defaultBackend:\n"
        "    service: {name: web, port: {number: 80}}\n"
    ),
    "any-kind-annotation": service("galley.istio.io/analyze-suppress: IST0118  # !alpha-istio-annotation"),
    "gateway-api-gateway-annotations-reach-its-pods": (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: web\n  annotations:\n"
        "    proxy.istio.io/config: '{}'\n    networking.istio.io/service-type: ClusterIP  # !alpha-istio-annotation\n"
        "    istio.io/dry-run: 'true'  # !misplaced-istio-annotation, alpha-istio-annotation\n"
        "spec:\n  gatewayClassName: istio\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n"
    ),
    "third-party-kind": service("proxy.istio.io/config: '{}'", api_version="serving.knative.dev/v1"),
    "dry-run-on-authorization-policy": (
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: deny\n"
        '  annotations:\n    istio.io/dry-run: "true"  # !alpha-istio-annotation\nspec:\n  action: DENY\n'
        "  rules:\n  - from: [{source: {namespaces: [test]}}]\n"
    ),
    # invalid values
    "invalid-uint32": pod("readiness.status.sidecar.istio.io/periodSeconds: 10s  # !" + f"{INVALID}@warning, {ALPHA}"),
    "valid-uint32": pod("readiness.status.sidecar.istio.io/periodSeconds: '10'  # !alpha-istio-annotation"),
    "invalid-cidrs": pod(
        "traffic.sidecar.istio.io/excludeOutboundIPRanges: 10.0.0.0/8, 10.1.0.0/16  # !"
        "invalid-istio-annotation-value, alpha-istio-annotation"
    ),
    "valid-cidrs": pod(
        """
        traffic.sidecar.istio.io/excludeOutboundIPRanges: 10.0.0.0/8,fd00::/8  # !alpha-istio-annotation
        traffic.sidecar.istio.io/includeOutboundIPRanges: '*'  # !alpha-istio-annotation
        """
    ),
    "invalid-ports": pod("traffic.sidecar.istio.io/excludeInboundPorts: 80,http  # !" + f"{INVALID}, {ALPHA}"),
    "valid-ports": pod(
        """
        traffic.sidecar.istio.io/excludeInboundPorts: " 80, 8080 "  # !alpha-istio-annotation
        traffic.sidecar.istio.io/includeInboundPorts: "*"  # !alpha-istio-annotation
        status.sidecar.istio.io/port: "15021"  # !alpha-istio-annotation
        """
    ),
    "invalid-interfaces": pod(
        "istio.io/reroute-virtual-interfaces: a-very-long-interface0  # !" + f"{INVALID}, {ALPHA}"
    ),
    "invalid-interception-mode": pod("sidecar.istio.io/interceptionMode: redirect  # !" + f"{INVALID}, {ALPHA}"),
    "invalid-quantity": deployment(template="sidecar.istio.io/proxyCPU: 100 m  # !" + f"{INVALID}, {ALPHA}"),
    "invalid-bool": pod("prometheus.istio.io/merge-metrics: maybe  # !" + f"{INVALID}, {ALPHA}"),
    "invalid-proxy-config": deployment(template="proxy.istio.io/config: 'concurrency: two'  # !" + INVALID),
    "invalid-proxy-config-address": pod("proxy.istio.io/config: '{discoveryAddress: istiod}'  # !" + INVALID),
    "valid-proxy-config": deployment(
        template="""
        proxy.istio.io/config: |
          concurrency: 2
          holdApplicationUntilProxyStarts: true
          discoveryAddress: istiod.istio-system.svc:15012
          tracing:
            sampling: 10
        """
    ),
    "placeholder-value": pod('proxy.istio.io/config: "${PROXY_CONFIG}"'),
    "invalid-value-where-it-does-not-apply": service(
        "readiness.status.sidecar.istio.io/periodSeconds: soon  # !" + f"{MISPLACED}, {ALPHA}"
    ),
    # deprecated
    "deprecated-inject-annotation": deployment(
        template="sidecar.istio.io/inject: 'false'  # !" + DEPRECATED + "@information"
    ),
    "inject-annotation-beside-label": deployment(
        template="sidecar.istio.io/inject: 'false'", labels="{app: web, sidecar.istio.io/inject: 'false'}"
    ),
    "deprecated-stats": pod("sidecar.istio.io/statsInclusionRegexps: .*outlier.*  # !" + f"{DEPRECATED}, {ALPHA}"),
    # alpha: not where the CNI plugin set it
    "alpha-with-istio-init": pod("sidecar.istio.io/interceptionMode: TPROXY  # !" + ALPHA + "@hint"),
    "alpha-set-with-cni": pod("sidecar.istio.io/interceptionMode: TPROXY", init=""),
    "beta-and-stable": pod(
        """
        proxy.istio.io/config: "{}"
        ambient.istio.io/redirection: enabled
        """
    ),
}


@pytest.mark.parametrize("text", params(CASES))
def test_annotation_rules(text: str) -> None:
    assert actual(text, CODES) == expected(text)


# ---- messages ------------------------------------------------------------------------------


def only(text: str, code: str) -> Finding:
    found = [f for f in findings_for(text) if f.code == code]
    assert len(found) == 1, found
    return found[0]


def test_unknown_annotation_names_the_label() -> None:
    finding = only(service("istio.io/dataplane-mode: ambient"), UNKNOWN)
    assert "is an Istio label, not an annotation" in finding.message


def test_misplaced_on_a_workload_says_where_it_goes() -> None:
    finding = only(deployment("sidecar.istio.io/proxyCPU: 500m"), MISPLACED)
    assert "Pod" in finding.message and "`spec.template.metadata.annotations`" in finding.message


def test_invalid_value_is_reported_on_the_value() -> None:
    text = pod("readiness.status.sidecar.istio.io/failureThreshold: lots")
    finding = only(text, INVALID)
    line = textwrap.dedent(text).split("\n")[finding.span.start_line]
    assert line[finding.span.start_char : finding.span.end_char] == "lots"


def test_deprecated_names_the_replacement() -> None:
    assert (
        "`proxyStatsMatcher.inclusionPrefixes`"
        in only(pod("sidecar.istio.io/statsInclusionPrefixes: cluster.outbound"), DEPRECATED).message
    )
    assert "label" in only(deployment(template="sidecar.istio.io/inject: 'false'"), DEPRECATED).message


# ---- fixes ---------------------------------------------------------------------------------


def fixed(text: str, code: str, title: str) -> str:
    finding = only(text, code)
    fix = next((f for f in finding.fixes if f.title == title), None)
    assert fix is not None, [f.title for f in finding.fixes]
    after = apply_edits({"m": textwrap.dedent(text)}, fix.edits, lambda uri: "m")["m"]
    assert not [f for f in findings_for(after) if f.code == code and f.message == finding.message], after
    return after


def test_unknown_gets_a_did_you_mean_fix() -> None:
    after = fixed(pod("sidecar.istio.io/proxyCpu: 200m"), UNKNOWN, "Did you mean `sidecar.istio.io/proxyCPU`?")
    assert "sidecar.istio.io/proxyCPU: 200m" in after


def test_suggestions_prefer_the_domain_a_typo_missed() -> None:
    finding = only(pod("sidecar.istio.io/excludeOutboundPorts: '443'"), UNKNOWN)
    assert finding.fixes[0].title == "Did you mean `traffic.sidecar.istio.io/excludeOutboundPorts`?"
    assert not only(pod("sidecar.istio.io/nothingLikeIt: x"), UNKNOWN).fixes


def test_misplaced_pod_annotation_moves_to_the_template() -> None:
    text = deployment("sidecar.istio.io/proxyCPU: 500m  # sized for prod", template="prometheus.io/scrape: 'true'")
    after = fixed(text, MISPLACED, "Move it to the pod template")
    assert "      annotations:\n        sidecar.istio.io/proxyCPU: 500m  # sized for prod\n" in after
    assert "\n  annotations:" not in after  # the emptied mapping goes too


def test_misplaced_move_makes_the_template_annotations() -> None:
    after = fixed(deployment("sidecar.istio.io/proxyCPU: 500m"), MISPLACED, "Move it to the pod template")
    assert "    metadata:\n      annotations:\n        sidecar.istio.io/proxyCPU: 500m\n      labels:\n" in after


def test_misplaced_move_is_not_offered_where_the_place_is_not_plain() -> None:
    text = deployment("sidecar.istio.io/proxyCPU: 500m").replace("      labels:", "      annotations:\n      labels:")
    assert not only(text, MISPLACED).fixes  # `annotations:` holding nothing (null)
    flow = deployment("sidecar.istio.io/proxyCPU: 500m", template="{a.example.com/x: y}")
    assert not only(flow.replace("annotations:\n        {", "annotations: {"), MISPLACED).fixes


def test_deprecated_inject_annotation_moves_to_the_labels() -> None:
    text = deployment(template="sidecar.istio.io/inject: 'false'\nprometheus.io/scrape: 'true'")
    after = fixed(text, DEPRECATED, "Use the `sidecar.istio.io/inject` label")
    assert "      labels:\n        sidecar.istio.io/inject: 'false'\n        app: web\n" in after


def test_deprecated_kubevirt_is_renamed() -> None:
    after = fixed(
        pod("traffic.sidecar.istio.io/kubevirtInterfaces: net1"),
        DEPRECATED,
        "Rename to `istio.io/reroute-virtual-interfaces`",
    )
    assert "istio.io/reroute-virtual-interfaces: net1" in after


@pytest.mark.parametrize(
    ("annotation", "value", "title", "written"),
    [
        ("sidecar.istio.io/interceptionMode", "redirect", "Use `REDIRECT`", "REDIRECT"),
        ("readiness.status.sidecar.istio.io/periodSeconds", "' 10'", "Use `10`", "'10'"),
        ("sidecar.istio.io/proxyCPU", "1 000", "Use `1000`", '"1000"'),  # quoted: it stays a string
        ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/8, 10.0.0.1", "Use `", "10.0.0.0/8,10.0.0.1/32"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", '"80,,81"', "Use `80,81`", '"80,81"'),
        ("prometheus.istio.io/merge-metrics", '"yes"', "Use `true`", '"true"'),
        ("sidecar.istio.io/proxyMemory", "512MiB", "Use `512Mi`", "512Mi"),
    ],
)
def test_invalid_value_fixes(annotation: str, value: str, title: str, written: str) -> None:
    text = pod(f"{annotation}: {value}")
    finding = only(text, INVALID)
    fix = next((f for f in finding.fixes if f.title.startswith(title)), None)
    assert fix is not None, [f.title for f in finding.fixes]
    after = apply_edits({"m": textwrap.dedent(text)}, fix.edits, lambda uri: "m")["m"]
    assert f"{annotation}: {written}\n" in after
    assert not [f for f in findings_for(after) if f.code == INVALID]


# ---- the registry ----------------------------------------------------------------------------


def test_registry_holds_what_the_checks_read() -> None:
    annotations = _registry.ANNOTATIONS
    assert annotations["sidecar.istio.io/statsInclusionPrefixes"].deprecated
    assert annotations["sidecar.istio.io/inject"].replacement_is_label
    assert annotations["traffic.sidecar.istio.io/kubevirtInterfaces"].replacement == (
        "istio.io/reroute-virtual-interfaces"
    )
    assert annotations["proxy.istio.io/config"].status == "Beta"
    assert annotations["galley.istio.io/analyze-suppress"].resources == ("Any",)
    assert "istio.io/dataplane-mode" in _registry.LABELS
    assert set(VALIDATORS) <= set(annotations)
    assert _registry.SOURCE.startswith("istio/api@")


def test_generator_renders_a_module(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate_annotation_registry", SCRIPT)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generator
    spec.loader.exec_module(generator)
    (tmp_path / "a.yaml").write_text(
        "annotations:\n"
        "- name: sidecar.istio.io/old\n  featureStatus: Beta\n  deprecated: true\n  resources: [Pod]\n"
        "  description: Deprecated in favor of `sidecar.istio.io/new`.\n"
        "- name: sidecar.istio.io/new\n  resources: [Pod, Service]\n",
        encoding="utf-8",
    )
    (tmp_path / "l.yaml").write_text("labels:\n- name: istio.io/thing\n", encoding="utf-8")
    out = tmp_path / "registry.py"
    args = [str(tmp_path / "a.yaml"), str(tmp_path / "l.yaml"), "--commit", "abc", "--out", str(out)]
    assert generator.main(args) == 0
    namespace: dict = {}
    exec(compile(out.read_text(encoding="utf-8"), str(out), "exec"), namespace)
    old, new = namespace["ANNOTATIONS"]["sidecar.istio.io/old"], namespace["ANNOTATIONS"]["sidecar.istio.io/new"]
    assert (old.status, old.deprecated, old.replacement) == ("Beta", True, "sidecar.istio.io/new")
    assert (new.status, new.resources) == ("Alpha", ("Pod", "Service"))  # Go's zero value: Alpha
    assert namespace["LABELS"] == frozenset({"istio.io/thing"})
    assert namespace["SOURCE"] == "istio/api@abc"
