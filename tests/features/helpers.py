"""A workspace from YAML texts with a cursor marker, for calling feature functions directly."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from lsprotocol import types

from istio_lsp.checks import analyze_text
from istio_lsp.index import WorkspaceIndex
from istio_lsp.settings import Settings
from istio_lsp.syntax import Span, utf16_len

CURSOR = "‸"
ROOT = "file:///ws"


def uri(name: str) -> str:
    return f"{ROOT}/{name}"


@dataclass
class Workspace:
    index: WorkspaceIndex
    texts: dict[str, str]  # uri → text without the cursor marker
    cursor: tuple[str, int, int] | None  # (uri, line, UTF-16 character) of the marker

    @property
    def at(self) -> tuple[str, int, int]:
        assert self.cursor is not None, "no cursor marker in the texts"
        return self.cursor

    def text_of(self, file_uri: str, r: types.Range) -> str:
        """The text a range (UTF-16 columns) covers; lines joined with `\\n`."""
        lines = self.texts[file_uri].split("\n")
        if r.start.line == r.end.line:
            return _utf16_slice(lines[r.start.line], r.start.character, r.end.character)
        parts = [_utf16_slice(lines[r.start.line], r.start.character, 10**9)]
        parts += lines[r.start.line + 1 : r.end.line]
        parts.append(_utf16_slice(lines[r.end.line], 0, r.end.character))
        return "\n".join(parts)

    def line_of(self, file_uri: str, line: int) -> str:
        return self.texts[file_uri].split("\n")[line]


def build(files: dict[str, str], settings: Settings | None = None) -> Workspace:
    """Index the files (dedented); one of them may hold the cursor marker `‸`."""
    index = WorkspaceIndex(settings or Settings())
    texts: dict[str, str] = {}
    cursor = None
    for name, raw in files.items():
        text = textwrap.dedent(raw)
        file_uri = uri(name)
        if CURSOR in text:
            before = text[: text.index(CURSOR)]
            line = before.count("\n")
            cursor = (file_uri, line, utf16_len(before.split("\n")[-1]))
            text = text.replace(CURSOR, "", 1)
        texts[file_uri] = text
        index.update(analyze_text(file_uri, text, index.settings))
    return Workspace(index, texts, cursor)


def convert(file_uri: str, span: Span) -> types.Range:
    return types.Range(types.Position(span.start_line, span.start_char), types.Position(span.end_line, span.end_char))


def _utf16_slice(line: str, start: int, end: int) -> str:
    out = []
    units = 0
    for ch in line:
        if start <= units < end:
            out.append(ch)
        units += 2 if ord(ch) > 0xFFFF else 1
    return "".join(out)


SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: cart
  namespace: shop
spec:
  selector:
    app: cart
  ports:
  - name: http
    port: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart-v1
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: cart, version: v1}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart-v2
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: cart, version: v2}
"""

DESTINATION_RULE = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: cart
  namespace: shop
spec:
  host: cart.shop.svc.cluster.local
  subsets:
  - name: stable
    labels:
      version: v1
  - name: canary
    labels:
      version: v2
"""

VIRTUAL_SERVICE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: cart
  namespace: shop
spec:
  hosts:
  - cart
  gateways:
  - mesh
  - shop-gateway
  http:
  - name: testers
    match:
    - headers:
        x-canary: {exact: "1"}
    route:
    - destination:
        host: cart
        subset: canary
  - route:
    - destination:
        host: cart
        subset: stable
        port:
          number: 8080
      weight: 90
    - destination:
        host: cart
        subset: canary
      weight: 10
"""

GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gateway
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
"""


def shop(**overrides: str) -> dict[str, str]:
    """The acceptance workspace: shop/{service,destinationrule,virtualservice,gateway}.yaml; override a file's text."""
    files = {
        "shop/service.yaml": SERVICE,
        "shop/destinationrule.yaml": DESTINATION_RULE,
        "shop/virtualservice.yaml": VIRTUAL_SERVICE,
        "shop/gateway.yaml": GATEWAY,
    }
    files.update({f"shop/{name}.yaml": text for name, text in overrides.items()})
    return files


def mark(text: str, target: str, occurrence: int = 1, offset: int = 0) -> str:
    """Put the cursor marker inside the `occurrence`-th `target` of a text (`offset` characters into it)."""
    at = -1
    for _ in range(occurrence):
        at = text.index(target, at + 1)
    return text[: at + offset] + CURSOR + text[at + offset :]


FRONTEND = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: storefront
  namespace: frontend
spec:
  hosts: [store.example.com]
  gateways: [shop/shop-gateway]
  http:
  - route:
    - destination:
        host: cart.shop.svc.cluster.local
        subset: canary
    mirror:
      host: cart.shop.svc.cluster.local
  - route:
    - destination:
        host: cart
"""
