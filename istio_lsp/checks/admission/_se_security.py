"""Private helpers of the ServiceEntry, Sidecar and security-policy rules (no rule lives here).

They mirror small pieces of Istio's `pkg/config/validation` and `pkg/config/protocol`
that `common.py` does not hold: port protocols, unix socket paths, `host:port`
splitting, policy target references. How protobuf treats absent, null and empty values
is `istio_lsp.checks.fields`.
"""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission.common import dns1123_label_problem, is_cidr, is_ip
from istio_lsp.checks.base import TextEdit, close_matches, replace_fixes
from istio_lsp.checks.fields import absent, count, present, text_or_empty
from istio_lsp.checks.local import DocumentContext, quote_of
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.model.resources import Ref
from istio_lsp.syntax import MappingNode, Node, SequenceNode
from istio_lsp.syntax.nodes import PathSegment, get, scalar

Path = list[PathSegment]

# ---- quick fixes ---------------------------------------------------------------


def ref_of(ctx: DocumentContext, node: Node) -> Ref:
    return Ref(scalar(node) or "", ctx.node_span(node), quote_of(node))


def did_you_mean(ctx: DocumentContext, node: Node, candidates: list[str]) -> list[Fix]:
    """Replace a scalar by the closest known values, keeping its quotes."""
    word = scalar(node)
    if word is None:
        return []
    return list(replace_fixes(ctx.uri, ref_of(ctx, node), close_matches(word, candidates)))


def prefix_fix(ctx: DocumentContext, node: Node, prefix: str, title: str, preferred: bool = False) -> Fix:
    ref = ref_of(ctx, node)
    return Fix(title, (TextEdit(ctx.uri, ref.span, f"{ref.quote}{prefix}{ref.value}{ref.quote}"),), preferred=preferred)


# ---- protocols (pkg/config/protocol) -------------------------------------------

PROTOCOLS = {
    "tcp": "TCP",
    "udp": "UDP",
    "grpc": "GRPC",
    "grpc-web": "GRPC-Web",
    "http": "HTTP",
    "http_proxy": "HTTP_PROXY",
    "http2": "HTTP2",
    "https": "HTTPS",
    "tls": "TLS",
    "mongo": "Mongo",
    "redis": "Redis",
    "mysql": "MySQL",
}
PROTOCOL_NAMES = ["HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-Web", "TCP", "TLS", "UDP", "Mongo", "MySQL", "Redis"]
_HTTP = {"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-Web"}
_TLS = {"HTTPS", "TLS"}
_TCP = {"TCP", "HTTPS", "TLS", "Mongo", "Redis", "MySQL"}


def parse_protocol(text: str) -> str | None:
    """Istio's protocol.Parse (case-insensitive); None for an unsupported or empty protocol."""
    return PROTOCOLS.get(text.lower())


def is_http(protocol: str) -> bool:
    return parse_protocol(protocol) in _HTTP


def is_tls(protocol: str) -> bool:
    return parse_protocol(protocol) in _TLS


def is_tcp(protocol: str) -> bool:
    return parse_protocol(protocol) in _TCP


def protocol_problem(text: str) -> str | None:
    """Istio's ValidateProtocol: empty (sniffed) or a known protocol."""
    if text and parse_protocol(text) is None:
        return f"protocol `{text}` is not one Istio knows ({', '.join(PROTOCOL_NAMES)})"
    return None


def port_name_problem(name: str) -> str | None:
    return dns1123_label_problem(name, "port name")


# ---- addresses ---------------------------------------------------------------

UNIX_PREFIX = "unix://"


def unix_address_problem(path: str) -> str | None:
    """Istio's ValidateUnixAddress, for the part after `unix://`."""
    if not path:
        return "the unix socket path is empty"
    if path.startswith("@"):
        return None  # abstract socket
    if not path.startswith("/") or path.endswith("/"):
        return f"`{path}` is not an absolute path to a file"
    return None


def ip_or_cidr_problem(text: str) -> str | None:
    """Istio's ValidateIPSubnet / security.ValidateIPs: an IP, or a CIDR when it holds a `/`."""
    if "/" in text:
        if text.count("/") != 1 or not is_cidr(text):
            return f"`{text}` is not a valid CIDR block"
    elif not is_ip(text):
        return f"`{text}` is not a valid IP address"
    return None


def split_host_port(text: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort: `host:port` or `[v6]:port`; None when malformed."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            return None
        host, port = text[1:end], text[end + 2 :]
        return (host, port) if "[" not in port and "]" not in port else None
    host, colon, port = text.rpartition(":")
    if not colon or ":" in host or "[" in host or "]" in host:
        return None
    return host, port


# ---- policy target references (AuthorizationPolicy, RequestAuthentication) -----

ALLOWED_TARGET_KINDS = {
    ("core", "Service"),
    ("networking.istio.io", "ServiceEntry"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),
}
_TARGET_KIND_NAMES = "Service, networking.istio.io ServiceEntry, gateway.networking.k8s.io Gateway or GatewayClass"


def target_selection_findings(
    ctx: DocumentContext,
    code: str,
    prefix: str,
    rejected: str = "kubectl apply is rejected",
    schema_requires: bool = False,
) -> Iterator[Finding]:
    """One of selector/targetRef/targetRefs, and each target reference well formed.

    `schema_requires`: the kind's schema requires a reference's `name` and `kind`, so a
    missing one is `missing-required-field`'s (an empty one is still reported here)."""
    spec = ctx.spec
    chosen = [key for key in ("selector", "targetRef", "targetRefs") if _selection_set(get(spec, key), key)]
    if len(chosen) > 1:
        listing = " and ".join(f"`{key}`" for key in chosen)
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", chosen[1]],
            f"{prefix}{listing} are both set; only one of `selector`, `targetRef` or `targetRefs` may be, "
            f"so {rejected}.",
            key=True,
        )
    refs: list[tuple[Path, Node]] = []
    single = get(spec, "targetRef")
    if single is not None and present(single):
        refs.append((["spec", "targetRef"], single))
    many = get(spec, "targetRefs")
    if isinstance(many, SequenceNode):
        refs.extend((["spec", "targetRefs", i], item) for i, item in enumerate(many.value) if present(item))
    for where, ref in refs:
        yield from _target_ref_findings(ctx, code, prefix, where, ref, rejected, schema_requires)


def _selection_set(node: Node | None, key: str) -> bool:
    return count(node) > 0 if key == "targetRefs" else present(node)


def _target_ref_findings(
    ctx: DocumentContext, code: str, prefix: str, where: Path, ref: Node, rejected: str, schema_requires: bool
) -> Iterator[Finding]:
    if not isinstance(ref, MappingNode):
        return
    if not text_or_empty(ref, "name") and not (schema_requires and absent(get(ref, "name"))):
        yield ctx.finding(
            code, Severity.ERROR, [*where, "name"], f"{prefix}the target reference has no `name`; {rejected}."
        )
    if text_or_empty(ref, "namespace"):
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "namespace"],
            f"{prefix}a target reference cannot name another namespace (cross-namespace references are not "
            f"supported; the policy's own namespace is used); {rejected}.",
            key=True,
        )
    group, kind = text_or_empty(ref, "group"), text_or_empty(ref, "kind")
    if not kind:
        if schema_requires and absent(get(ref, "kind")):
            return
        yield ctx.finding(
            code,
            Severity.ERROR,
            where,
            f"{prefix}the target reference has no `kind` (a policy can target a {_TARGET_KIND_NAMES}); {rejected}.",
        )
    elif (group or "core", kind) not in ALLOWED_TARGET_KINDS:
        shown = f"{group}/{kind}" if group else kind
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "kind"],
            f"{prefix}a policy can target a {_TARGET_KIND_NAMES}, not `{shown}`; {rejected}.",
        )
