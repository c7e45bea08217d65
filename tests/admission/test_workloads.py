"""WorkloadEntry, WorkloadGroup, ProxyConfig and WasmPlugin admission rules, table-driven with the
markers of test_serviceentry.py (`# !code` or `# !code@warning` where a finding starts)."""

from __future__ import annotations

import textwrap

import pytest

from istio_lsp.checks.admission.wasm_plugin import url_scheme
from tests.admission.helpers import findings_for
from tests.admission.test_serviceentry import actual, expected, params

CODES = {"invalid-workload-entry", "invalid-workload-group", "invalid-proxy-config", "invalid-wasm-plugin"}


def resource(api_version: str, kind: str, spec: str) -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: vm\n  namespace: shop\nspec:\n{body}\n"


def we(spec: str) -> str:
    return resource("networking.istio.io/v1", "WorkloadEntry", spec)


def wg(spec: str) -> str:
    return resource("networking.istio.io/v1", "WorkloadGroup", "template:\n  serviceAccount: vm\n" + spec)


def pc(spec: str) -> str:
    return resource("networking.istio.io/v1beta1", "ProxyConfig", spec)


def wasm(spec: str, url: str = "oci://ghcr.io/example/auth:1.0") -> str:
    return resource("extensions.istio.io/v1alpha1", "WasmPlugin", f"url: {url}\n" + textwrap.dedent(spec))


SHA = "9f4c" * 16

CASES = {
    # ---- WorkloadEntry: address
    "we-ip": we("address: 10.0.0.12\nports: {http: 8080}\nlabels: {app: ratings}"),
    "we-ipv6": we('address: "2001:db8::12"'),
    "we-dns-name": we("address: vm-1.example.com"),
    "we-unix": we("address: unix:///var/run/app.sock"),
    "we-abstract-socket": we("address: unix://@app"),
    "we-no-address": we("serviceAccount: ratings\nlabels: {app: ratings}").replace(
        "spec:\n", "spec:  # !invalid-workload-entry\n"
    ),
    "we-empty-address": we('address: ""  # !invalid-workload-entry'),
    "we-network-only": we('address: ""  # !invalid-workload-entry@warning\nnetwork: vm-network'),
    "we-not-a-name": we("address: vm_1.example.com  # !invalid-workload-entry"),
    "we-unix-relative": we("address: unix://var/run/app.sock  # !invalid-workload-entry"),
    "we-unix-with-ports": we("address: unix:///var/run/app.sock\nports:  # !invalid-workload-entry\n  http: 8080"),
    # ---- WorkloadEntry: ports and labels
    "we-port-name": we("address: 10.0.0.12\nports:\n  HTTP: 8080  # !invalid-workload-entry"),
    "we-port-zero": we("address: 10.0.0.12\nports:\n  http: 0  # !invalid-workload-entry"),
    "we-port-too-big": we("address: 10.0.0.12\nports:\n  http: 70000  # !invalid-workload-entry"),
    "we-label-value": we('address: 10.0.0.12\nlabels:\n  app: "ratings v1"  # !invalid-workload-entry'),
    "we-label-key": we('address: 10.0.0.12\nlabels:\n  "-app": ratings  # !invalid-workload-entry'),
    "we-other-group": resource("example.com/v1", "WorkloadEntry", "address: vm_1"),
    # ---- WorkloadGroup
    "wg-valid-http": wg(
        """
        metadata:
          labels: {app: ratings}
        probe:
          periodSeconds: 5
          httpGet:
            port: 8080
            scheme: HTTPS
            httpHeaders:
            - name: X-Probe
              value: "1"
        """
    ),
    "wg-valid-tcp": wg("probe:\n  tcpSocket: {port: 9080}"),
    "wg-valid-exec": wg("probe:\n  exec:\n    command: [cat, /tmp/ready]"),
    "wg-template-address-not-checked": wg("probe:\n  tcpSocket: {port: 9080}").replace(
        "serviceAccount: vm", "serviceAccount: vm\n    address: vm_1"
    ),
    "wg-label": wg('metadata:\n  labels:\n    app: "a b"  # !invalid-workload-group'),
    "wg-negative": wg("probe:\n  timeoutSeconds: -1  # !invalid-workload-group\n  tcpSocket: {port: 9080}"),
    "wg-no-method": wg("probe:  # !invalid-workload-group\n  periodSeconds: 5"),
    "wg-grpc": wg("probe:\n  grpc:  # !invalid-workload-group\n    port: 9090"),
    "wg-port": wg("probe:\n  tcpSocket:\n    port: 0  # !invalid-workload-group"),
    "wg-scheme": wg("probe:\n  httpGet:\n    port: 8080\n    scheme: http  # !invalid-workload-group"),
    "wg-header": wg(
        "probe:\n  httpGet:\n    port: 8080\n    httpHeaders:\n    - name: X_Probe  # !invalid-workload-group"
    ),
    "wg-exec-empty": wg("probe:\n  exec:\n    command: []  # !invalid-workload-group"),
    # ---- ProxyConfig
    "pc-valid": pc("selector:\n  matchLabels: {app: ratings}\nconcurrency: 2\nimage: {imageType: distroless}"),
    "pc-zero": pc("concurrency: 0"),
    "pc-negative": pc("concurrency: -1  # !invalid-proxy-config"),
    "pc-wildcard": pc('selector:\n  matchLabels:\n    app: "ratings-*"  # !invalid-proxy-config'),
    "pc-empty-selector": pc("selector:  # !invalid-proxy-config@warning\n  matchLabels: {}\nconcurrency: 2"),
    # ---- WasmPlugin
    "wasm-valid": wasm(
        f"""
        selector:
          matchLabels: {{istio: ingressgateway}}
        sha256: {SHA}
        phase: AUTHN
        priority: 10
        failStrategy: FAIL_OPEN
        imagePullSecret: pull-secret
        vmConfig:
          env:
          - name: POD_NAME
            valueFrom: HOST
          - name: TRUST_DOMAIN
            value: cluster.local
        match:
        - mode: SERVER
          ports:
          - number: 8080
        """
    ),
    "wasm-target-refs": wasm(
        "targetRefs:\n- kind: Gateway\n  group: gateway.networking.k8s.io\n  name: bookinfo-gateway"
    ),
    "wasm-https": wasm("", url="https://example.com/plugins/auth.wasm"),
    "wasm-file": wasm("", url="file:///opt/plugins/auth.wasm"),
    "wasm-no-scheme": wasm("", url="ghcr.io/example/auth:1.0"),
    "wasm-both-selections": wasm(
        "selector:\n  matchLabels: {app: ratings}\n"
        "targetRefs:  # !invalid-wasm-plugin\n- kind: Service\n  name: ratings"
    ),
    "wasm-target-kind": wasm("targetRef:\n  kind: Deployment  # !invalid-wasm-plugin\n  name: ratings"),
    "wasm-target-namespace": wasm(
        "targetRef:\n  kind: Service\n  name: ratings\n  namespace: other  # !invalid-wasm-plugin"
    ),
    "wasm-empty-selector": wasm("selector:  # !invalid-wasm-plugin@warning\n  matchLabels: {}"),
    "wasm-scheme": wasm("", url="s3://plugins/auth.wasm  # !invalid-wasm-plugin"),
    "wasm-host-port": wasm("", url="localhost:5000/auth:1.0  # !invalid-wasm-plugin"),
    "wasm-empty-url": wasm("", url='""  # !invalid-wasm-plugin'),
    "wasm-sha-upper": wasm(f"sha256: {SHA.upper()}  # !invalid-wasm-plugin"),
    "wasm-sha-short": wasm("sha256: 9f4c  # !invalid-wasm-plugin"),
    "wasm-plugin-name": wasm(f"pluginName: {'p' * 257}  # !invalid-wasm-plugin"),
    "wasm-env": wasm(
        """
        vmConfig:
          env:
          - name: POD_NAME
            valueFrom: HOST
            value: x  # !invalid-wasm-plugin
          - name: POD_NAME  # !invalid-wasm-plugin
          - name: ""  # !invalid-wasm-plugin
        """
    ),
    "wasm-match": wasm(
        """
        match:
        -  # !invalid-wasm-plugin
        - ports:
          - number: 0  # !invalid-wasm-plugin
        """
    ),
}


@pytest.mark.parametrize("yaml_text", params(CASES))
def test_workload_case(yaml_text: str) -> None:
    assert actual(yaml_text, CODES) == expected(yaml_text)


def test_every_code_has_a_failing_case() -> None:
    fired = {code for text in CASES.values() for code, _, _ in expected(text)}
    assert fired == CODES


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("oci://ghcr.io/a:1", "oci"),
        ("ghcr.io/a:1", "http"),
        ("/opt/a.wasm", ""),
        ("HTTPS://x/a.wasm", "https"),
        ("localhost:5000/a", "localhost"),
        ("1host:5000/a", "http"),
    ],
)
def test_url_scheme_reads_like_go(url: str, scheme: str) -> None:
    assert url_scheme(url) == scheme


def test_wasm_target_ref_without_name_is_left_to_the_schema() -> None:
    text = wasm("targetRef:\n  kind: Service")
    codes = [f.code for f in findings_for(text)]
    assert "missing-required-field" in codes
    assert "invalid-wasm-plugin" not in codes


def test_fixes() -> None:
    titles = {
        t
        for text in (
            we("address: 10.0.0.12\nports: {HTTP: 8080}"),
            wg("probe:\n  httpGet: {port: 8080, scheme: https}"),
            pc("concurrency: -2"),
            wasm(f"sha256: {SHA.upper()}"),
            wasm("", url="localhost:5000/auth:1.0"),
        )
        for f in findings_for(text)
        if f.code in CODES
        for t in (x.title for x in f.fixes)
    }
    assert titles == {
        "Rename the port to `http`",
        "Change the scheme to HTTPS",
        "Set concurrency to 0 (one worker per CPU core)",
        "Write the checksum in lowercase",
        "Prefix the URL with oci://",
    }
