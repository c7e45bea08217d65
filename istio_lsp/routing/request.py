"""A request to trace, and where it comes from: plain data, parsed from curl-like arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    """An HTTP request as the proxy sees it. Header names are lower-case (HTTP/2 spells them so)."""

    method: str = "GET"
    scheme: str = "http"
    host: str = ""  # without the port, lower-case
    port: int | None = None  # None: the scheme's default
    path: str = "/"  # without the query string
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (443 if self.scheme == "https" else 80)

    @property
    def authority(self) -> str:
        """The `:authority` header: the host, with the port when it is not the scheme's default."""
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port in (None, default) else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        query = "&".join(f"{k}={v}" if v else k for k, v in self.query.items())
        return f"{self.scheme}://{self.authority}{self.path}" + (f"?{query}" if query else "")

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "url": self.url,
            "scheme": self.scheme,
            "host": self.host,
            "port": self.effective_port,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
        }


def parse_request(method: str, url: str, headers: list[str] | None = None) -> Request:
    """A request from curl-like arguments: `GET http://shop.example.com/api?x=1 -H 'x-canary: true'`.

    A URL without a scheme is taken as `http://`. Raises ValueError on what cannot be read."""
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"only http and https URLs can be traced, got {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"not a port number in {url!r}") from None
    request = Request(
        method=method.upper(),
        scheme=scheme,
        host=parts.hostname.lower(),
        port=port,
        path=parts.path or "/",
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
    )
    for header in headers or []:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"a header is `name: value`, got {header!r}")
        request.headers[name.strip().lower()] = value.strip()
    return request


@dataclass(frozen=True)
class Source:
    """Where the request starts: an ingress Gateway (`via`) or a workload of the mesh (`from`)."""

    kind: str  # "gateway" or "mesh"
    namespace: str
    name: str | None = None  # the Gateway's name, or a workload's name
    labels: tuple[tuple[str, str], ...] = ()  # a mesh source given by its pod labels
    # which Gateway when an Istio Gateway and a Gateway API Gateway share the name: "istio" or "gateway-api"
    # (None: the Istio Gateway, else the Gateway API one)
    api: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "gateway":
            what = "Gateway API Gateway" if self.api == GATEWAY_API else "Gateway"
            return f"{what} {self.namespace}/{self.name}"
        what = self.name or ",".join(f"{k}={v}" for k, v in self.labels) or "any workload"
        return f"{self.namespace}/{what}"


ISTIO, GATEWAY_API = "istio", "gateway-api"


def parse_source(text: str, kind: str) -> Source:
    """`--via namespace/name` (a Gateway; `gateway-api:namespace/name` or `istio:namespace/name` says which
    when both kinds share the name) or `--from namespace[/workload or k=v,k=v]` (a mesh workload)."""
    api = None
    if kind == "gateway":
        prefix, colon, rest = text.strip().partition(":")
        if colon and prefix in (ISTIO, GATEWAY_API):
            api, text = prefix, rest
    namespace, slash, rest = text.strip().partition("/")
    if not namespace:
        raise ValueError(f"expected NAMESPACE/NAME, got {text!r}")
    if kind == "gateway":
        if not slash or not rest:
            raise ValueError(f"expected NAMESPACE/NAME of a Gateway, got {text!r}")
        return Source("gateway", namespace, rest, api=api)
    if "=" in rest:
        labels = []
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"labels are key=value,key=value, got {rest!r}")
            labels.append((key.strip(), value.strip()))
        return Source("mesh", namespace, None, tuple(labels))
    return Source("mesh", namespace, rest or None)
