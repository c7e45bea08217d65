"""Deterministic workspace generator: N services, each with Deployments, a Service, routing and policy.

python -m benchmarks.generate OUT_DIR --services 1000
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

NAMESPACES = 20


def service_yaml(i: int, rng: random.Random) -> str:
    name = f"svc-{i:05d}"
    ns = f"team-{i % NAMESPACES:02d}"
    v1, v2 = rng.randint(70, 95), 0
    v2 = 100 - v1
    docs = []
    for version in ("v1", "v2"):
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-{version}
  namespace: {ns}
  labels:
    app: {name}
    version: {version}
spec:
  replicas: {rng.randint(1, 5)}
  selector:
    matchLabels:
      app: {name}
      version: {version}
  template:
    metadata:
      labels:
        app: {name}
        version: {version}
      annotations:
        sidecar.istio.io/inject: "true"
    spec:
      containers:
      - name: app
        image: registry.example.com/{name}:{version}
        ports:
        - containerPort: 8080
          name: http
        - containerPort: 9090
          name: grpc
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{cpu: 500m, memory: 256Mi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: 8080}}
        env:
        - name: SERVICE_NAME
          value: {name}
        - name: LOG_LEVEL
          value: info
        - name: UPSTREAM_TIMEOUT
          value: "{rng.randint(1, 30)}s"
        volumeMounts:
        - name: config
          mountPath: /etc/{name}
      volumes:
      - name: config
        configMap:
          name: {name}-config
""")
    docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: {name}
spec:
  selector:
    app: {name}
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: grpc
    port: 9090
    targetPort: 9090
""")
    fault = (
        f"""    fault:
      delay:
        percentage: {{value: {rng.randint(1, 10)}}}
        fixedDelay: {rng.randint(1, 3)}s
"""
        if i % 7 == 0
        else ""
    )
    docs.append(f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
  namespace: {ns}
spec:
  hosts:
  - {name}
  http:
  - name: canary-by-header
    match:
    - headers:
        x-canary:
          exact: "true"
    route:
    - destination:
        host: {name}
        subset: v2
        port: {{number: 80}}
  - name: mobile
    match:
    - headers:
        user-agent:
          regex: ".*(Android|iPhone).*"
      uri:
        prefix: /m/
    route:
    - destination:
        host: {name}
        subset: v1
        port: {{number: 80}}
  - name: api
    match:
    - uri:
        prefix: /api/
    - uri:
        regex: "^/v[0-9]+/items/[a-z0-9-]+$"
{fault}    route:
    - destination:
        host: {name}
        subset: v1
        port: {{number: 80}}
      weight: {v1}
    - destination:
        host: {name}
        subset: v2
        port: {{number: 80}}
      weight: {v2}
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: 5xx,reset,connect-failure
    timeout: 10s
  - route:
    - destination:
        host: {name}
        subset: v1
""")
    docs.append(f"""apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: {name}
  namespace: {ns}
spec:
  host: {name}.{ns}.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp: {{maxConnections: 100}}
      http: {{http1MaxPendingRequests: 64, maxRequestsPerConnection: 10}}
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 30s
      baseEjectionTime: 60s
    tls:
      mode: ISTIO_MUTUAL
    portLevelSettings:
    - port:
        number: 9090
      loadBalancer:
        simple: LEAST_REQUEST
      connectionPool:
        http:
          http2MaxRequests: 1000
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
""")
    if i % 10 == 0:
        docs.append(f"""apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: {name}-external
  namespace: {ns}
spec:
  hosts:
  - api-{i}.partner.example.com
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {{number: 443, name: https, protocol: TLS}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}-gateway
  namespace: {ns}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {{number: 443, name: https, protocol: HTTPS}}
    hosts:
    - {name}.example.com
    tls: {{mode: SIMPLE, credentialName: {name}-cert}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {name}-allow
  namespace: {ns}
spec:
  selector:
    matchLabels:
      app: {name}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/{ns}/sa/frontend"]
    to:
    - operation:
        methods: ["GET", "POST"]
""")
    return "---\n".join(docs)


BIG_FILE_SERVICES = 10  # the first services share one ~2,000-line file, the one the latency benchmark edits
MISTAKE_EVERY = 100  # every 100th service routes to a subset its DestinationRule lacks


def generate(out: Path, services: int, seed: int = 7) -> int:
    """Write the workspace; returns its size in bytes. The same arguments always give the same files."""
    rng = random.Random(seed)
    total = 0
    big: list[str] = []
    for i in range(services):
        text = service_yaml(i, rng)
        if i % MISTAKE_EVERY == MISTAKE_EVERY - 1:
            text = text.replace(
                "subset: v2\n        port: {number: 80}\n      weight",
                "subset: v3\n        port: {number: 80}\n      weight",
                1,
            )
        total += len(text)
        if i < BIG_FILE_SERVICES:
            big.append(text)
            continue
        folder = out / f"team-{i % NAMESPACES:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"svc-{i:05d}.yaml").write_text(text, encoding="utf-8")
    if big:
        (out / "platform").mkdir(parents=True, exist_ok=True)
        big_file(out).write_text("---\n".join(big), encoding="utf-8")
    return total


def big_file(out: Path) -> Path:
    return out / "platform" / "first-services.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--services", type=int, default=1000)
    args = parser.parse_args()
    size = generate(args.out, args.services)
    print(f"{args.services} services, {size / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
