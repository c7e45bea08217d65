"""A small Gateway API workspace for the feature tests: a Gateway in `infra` with three listeners, a
ListenerSet, routes in `shop` (one refused), Services, a ServiceEntry, and an Istio Gateway of the same
name with a VirtualService bound to it (which the Gateway API features must leave alone)."""

from __future__ import annotations

GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: public
  namespace: infra
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes:
      namespaces:
        from: All
  - name: https
    port: 443
    protocol: HTTPS
    hostname: "*.example.com"
  - name: tcp
    port: 9000
    protocol: TCP
    allowedRoutes:
      namespaces:
        from: All
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata:
  name: extra
  namespace: infra
spec:
  parentRef:
    name: public
  listeners:
  - name: admin
    port: 8443
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: All
"""

ROUTES = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  namespace: shop
spec:
  parentRefs:
  - name: public
    namespace: infra
    sectionName: http
  - name: public
    namespace: infra
    sectionName: https
  hostnames:
  - shop.example.com
  rules:
  - backendRefs:
    - name: web
      port: 8080
    - name: api.partner.com
      group: networking.istio.io
      kind: Hostname
      port: 443
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: admin
  namespace: shop
spec:
  parentRefs:
  - name: extra
    namespace: infra
    kind: ListenerSet
    sectionName: admin
  rules:
  - backendRefs:
    - name: web
      port: 8080
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mesh
  namespace: shop
spec:
  parentRefs:
  - name: web
    kind: Service
    group: ""
    port: 8080
"""

SERVICES = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  ports:
  - name: http
    port: 8080
  - name: admin
    port: 9090
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: partner
  namespace: shop
spec:
  hosts:
  - api.partner.com
  ports:
  - number: 443
    name: https
    protocol: TLS
  resolution: DNS
"""

ISTIO = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: infra
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: legacy
  namespace: infra
spec:
  hosts: ["legacy.example.com"]
  gateways: [public]
  http:
  - route:
    - destination:
        host: web.shop.svc.cluster.local
"""


def files(**overrides: str) -> dict[str, str]:
    found = {
        "infra/gateway.yaml": GATEWAY,
        "shop/routes.yaml": ROUTES,
        "shop/services.yaml": SERVICES,
        "infra/istio.yaml": ISTIO,
    }
    found.update({f"{name.replace('_', '/')}.yaml": text for name, text in overrides.items()})
    return found
