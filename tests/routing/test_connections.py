"""`tcp` and `tls` routes: a connection matched by port, SNI and source, at a gateway's TCP, TLS and
passthrough servers and at a sidecar for a VirtualService without `http` routes."""

from __future__ import annotations

import pytest

from istio_lsp.routing import Trace
from tests.routing.helpers import run, text
from tests.routing.test_semantics import BACKENDS

GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ["*.example.com"]
    tls: {mode: PASSTHROUGH}
  - port: {number: 27017, name: mongo, protocol: MONGO}
    hosts: ["*"]
  - port: {number: 9443, name: terminated, protocol: TLS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: cert}
  - port: {number: 15443, name: east-west, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}
"""

PASSTHROUGH = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tls, namespace: shop}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [edge]
  tls:
  - match: [{sniHosts: [a.example.com], port: 443}]
    route: [{destination: {host: web, subset: v1}}]
  - match: [{sniHosts: [b.example.com]}]
    route: [{destination: {host: api}}]
"""

TCP = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [edge]
  tcp:
  - match: [{port: 27017}]
    route: [{destination: {host: web, subset: v2}, weight: 25}, {destination: {host: web, subset: v1}, weight: 75}]
  - match: [{port: 9443}]
    route: [{destination: {host: api}}]
"""


def via(files: dict[str, str], url: str) -> Trace:
    return run({"backends.yaml": BACKENDS, "gateway.yaml": GATEWAY, **files}, "GET", url, via="shop/edge")


def test_a_passthrough_server_routes_by_sni() -> None:
    result = via({"vs.yaml": PASSTHROUGH}, "https://b.example.com/")
    assert result.status == "routed", text(result)
    assert result.route == {"virtualService": "shop/tls", "index": 1, "protocol": "tls"}
    assert "tls[0]: sniHosts `a.example.com` do not include `b.example.com`" in text(result)
    assert "tls tls[1] (match #0: sniHosts `b.example.com`)" in text(result)
    assert [t.fqdn for t in result.targets] == ["api.shop.svc.cluster.local"]
    a = via({"vs.yaml": PASSTHROUGH}, "https://a.example.com/")
    assert (a.route["index"], a.targets[0].subset, a.targets[0].workloads) == (0, "v1", ["Deployment shop/web-v1"])


def test_no_tls_route_for_the_sni_closes_the_connection() -> None:
    only_a = PASSTHROUGH.replace("hosts: [a.example.com, b.example.com]", "hosts: ['*.example.com']")
    result = via({"vs.yaml": only_a}, "https://c.example.com/")
    assert result.status == "refused" and result.failed
    assert "no `tls` route takes the connection (SNI `c.example.com`, port 443): it is closed" in result.summary


def test_tcp_servers_route_by_port_with_weights() -> None:
    mongo = via({"vs.yaml": TCP}, "http://db.example.com:27017/")
    assert mongo.status == "routed" and mongo.route["protocol"] == "tcp"
    assert [(t.subset, float(t.share)) for t in mongo.targets] == [("v2", 0.25), ("v1", 0.75)]
    # a TLS server that terminates TLS forwards the bytes: `tcp` routes
    terminated = via({"vs.yaml": TCP}, "https://db.example.com:9443/")
    assert terminated.route["index"] == 1 and "terminates TLS" in text(terminated)


def test_auto_passthrough_is_not_a_route() -> None:
    result = via({"vs.yaml": TCP}, "https://web.shop.svc.cluster.local:15443/")
    assert result.status == "unknown" and "AUTO_PASSTHROUGH" in result.summary


MESH_TCP = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: shop}
spec:
  hosts: [api]
  tcp:
  - match: [{port: 5432}]
    route: [{destination: {host: web}}]
  - match: [{sourceLabels: {version: v2}}]
    route: [{destination: {host: web, subset: v2}}]
  - route: [{destination: {host: api}}]
  tls:
  - match: [{sniHosts: [api]}]
    route: [{destination: {host: web, subset: v1}}]
"""


@pytest.mark.parametrize(
    ("source", "url", "layer", "index"),
    [
        ("shop/web-v1", "http://api:8080/", "tcp", 2),  # port 5432 no, sourceLabels no: the catch-all
        ("shop/web-v2", "http://api:8080/", "tcp", 1),
        ("shop/web-v1", "http://api:5432/", "tcp", 0),
        ("shop/web-v1", "https://api:8080/", "tls", 0),  # TLS from the client: its SNI picks a `tls` route
    ],
)
def test_a_mesh_virtualservice_without_http_routes_takes_the_connection(
    source: str, url: str, layer: str, index: int
) -> None:
    result = run({"backends.yaml": BACKENDS, "vs.yaml": MESH_TCP}, "GET", url, source=source)
    assert (result.route.get("protocol"), result.route.get("index")) == (layer, index), text(result)
    assert f"no `http` route: the connection takes the `{layer}` routes" in text(result)
