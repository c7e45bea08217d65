"""The model's view of what the ambient and Gateway API checks read: WasmPlugins as selector policies, Gateway
API Gateways (kept apart from Istio's Gateway) with their listeners, and the ambient annotation of a pod."""

from __future__ import annotations

from istio_lsp.index import summarize
from istio_lsp.model.resources import Gateway, KubernetesGateway, Resource, SelectorPolicy, Workload
from istio_lsp.settings import Settings


def _resources(text: str) -> list[Resource]:
    return summarize("file:///m.yaml", text, Settings()).resources


def test_a_wasmplugin_is_a_selector_policy() -> None:
    (plugin,) = _resources(
        """\
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: headers, namespace: ingress}
spec:
  selector:
    matchLabels:
      gateway.networking.k8s.io/gateway-name: public
  url: oci://registry.example.com/headers:1
"""
    )
    assert isinstance(plugin, SelectorPolicy) and plugin.kind == "WasmPlugin"
    assert plugin.selector == {"gateway.networking.k8s.io/gateway-name": "public"}
    assert not plugin.targeted
    # `selector:` and its value, for a fix that replaces it
    entry = plugin.selector_entry
    assert entry is not None and (entry.start_line, entry.start_char, entry.end_line) == (4, 2, 6)


def test_a_wasmplugin_with_target_refs_is_targeted() -> None:
    (plugin,) = _resources(
        """\
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: headers, namespace: ingress}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: public}]
  url: oci://registry.example.com/headers:1
"""
    )
    assert isinstance(plugin, SelectorPolicy) and plugin.targeted and plugin.selector is None
    assert plugin.selector_entry is None


def test_a_wasmplugin_of_another_group_is_not_read() -> None:
    (other,) = _resources("apiVersion: example.com/v1\nkind: WasmPlugin\nmetadata: {name: x}\n")
    assert not isinstance(other, SelectorPolicy)


def test_a_sidecar_selector_entry_is_its_workload_selector() -> None:
    (sidecar,) = _resources(
        """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: s, namespace: shop}
spec:
  workloadSelector: {labels: {app: a}}
"""
    )
    assert isinstance(sidecar, SelectorPolicy) and sidecar.selector == {"app": "a"}
    assert sidecar.selector_entry is not None and sidecar.selector_entry.start_line == 4


def test_gateway_api_and_istio_gateways_are_kept_apart() -> None:
    kubernetes, istio = _resources(
        """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: ingress}
spec:
  gatewayClassName: istio
  listeners:
  - {name: shop, hostname: shop.example.com, port: 80, protocol: HTTP}
  - name: any
    port: 8080
    protocol: HTTP
  - not a listener
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
"""
    )
    assert isinstance(kubernetes, KubernetesGateway) and not isinstance(kubernetes, Gateway)
    assert isinstance(istio, Gateway) and not isinstance(istio, KubernetesGateway)
    assert kubernetes.class_name == "istio"
    shop, any_host, broken = kubernetes.listeners
    assert shop.name == "shop" and shop.hostname is not None and shop.hostname.value == "shop.example.com"
    assert shop.protocol == "HTTP" and shop.span is not None and shop.span.start_line == 6
    assert any_host.name == "any" and any_host.hostname is None
    assert broken.name is None and broken.hostname is None


def test_a_pod_keeps_its_ambient_redirection_annotation() -> None:
    pod, deployment = _resources(
        """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: shop
  annotations: {ambient.istio.io/redirection: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: d, istio.io/dataplane-mode: ambient}
"""
    )
    assert isinstance(pod, Workload) and pod.ambient_redirection == "enabled"
    assert isinstance(deployment, Workload) and deployment.ambient_redirection is None
    assert deployment.pod_labels["istio.io/dataplane-mode"] == "ambient"
