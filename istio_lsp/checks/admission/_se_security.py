"""Private helpers of the ServiceEntry, Sidecar and security-policy rules (no rule lives here).

They mirror small pieces of Istio's `pkg/config/validation` and `pkg/config/protocol`
that `common.py` does not hold: how protobuf treats absent, null and empty values,
port protocols, unix socket paths, `host:port` splitting, policy target references.
"""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission.common import dns1123_label_problem, is_cidr, is_ip
from istio_lsp.checks.base import TextEdit, close_matches, replace_fixes
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.model.resources import Ref
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode
from istio_lsp.syntax.nodes import PathSegment, get, is_null, pairs, scalar

Path = list[PathSegment]

# ---- presence, the way protobuf decoding sees it --------------------------------


def is_set(node: Node | None) -> bool:
    """A message field that decodes to non-nil: present and not `null`/`~`/empty."""
    if node is None:
        return False
    return not (isinstance(node, ScalarNode) and is_null(node))


def count(node: Node | None) -> int:
    """Entries of a list or map field (0 when absent, null or another shape): protobuf's `len()`."""
    if isinstance(node, (SequenceNode, MappingNode)):
        return len(node.value)
    return 0


def is_empty_list(node: Node | None) -> bool:
    """Written as a list with no items (`from: []`)."""
    return isinstance(node, SequenceNode) and not node.value


def texts(node: Node | None) -> list[tuple[int, Node, str]]:
    """(index, node, text) of a list of strings; null items read as "" (protobuf has no null string)."""
    if not isinstance(node, SequenceNode):
        return []
    out: list[tuple[int, Node, str]] = []
    for i, item in enumerate(node.value):
        if isinstance(item, ScalarNode):
            out.append((i, item, scalar(item) or ""))
    return out


def text_of(node: Node | None, key: str) -> str:
    """A string field of a mapping, "" when absent or null (protobuf's default)."""
    return scalar(get(node, key)) or ""


def as_bool(text: str | None) -> bool:
    return (text or "").strip().lower() == "true"


def ref_of(ctx: DocumentContext, node: Node) -> Ref:
    style = getattr(node, "style", None)
    return Ref(scalar(node) or "", ctx.node_span(node), style if style in ("'", '"') else "")


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
    ctx: DocumentContext, code: str, prefix: str, rejected: str = "kubectl apply is rejected"
) -> Iterator[Finding]:
    """One of selector/targetRef/targetRefs, and each target reference well formed."""
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
    if single is not None and is_set(single):
        refs.append((["spec", "targetRef"], single))
    many = get(spec, "targetRefs")
    if isinstance(many, SequenceNode):
        refs.extend((["spec", "targetRefs", i], item) for i, item in enumerate(many.value) if is_set(item))
    for where, ref in refs:
        yield from _target_ref_findings(ctx, code, prefix, where, ref, rejected)


def _selection_set(node: Node | None, key: str) -> bool:
    return count(node) > 0 if key == "targetRefs" else is_set(node)


def _target_ref_findings(
    ctx: DocumentContext, code: str, prefix: str, where: Path, ref: Node, rejected: str
) -> Iterator[Finding]:
    if not isinstance(ref, MappingNode):
        return
    if not text_of(ref, "name"):
        yield ctx.finding(
            code, Severity.ERROR, [*where, "name"], f"{prefix}the target reference has no `name`; {rejected}."
        )
    if text_of(ref, "namespace"):
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "namespace"],
            f"{prefix}a target reference cannot name another namespace (cross-namespace references are not "
            f"supported; the policy's own namespace is used); {rejected}.",
            key=True,
        )
    group, kind = text_of(ref, "group"), text_of(ref, "kind")
    if not kind:
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


def mapping_items(node: Node | None) -> Iterator[tuple[str, Node, Node]]:
    """(key, key node, value node) of a mapping."""
    for key, value in pairs(node):
        yield str(key.value), key, value


def unique_items(node: Node | None) -> list[tuple[int, Node]]:
    """(index, item) of a list, each distinct node once: YAML aliases (`[*a, *a, …]`) repeat one node,
    and checking it again per repeat makes nested lists cost their product (an alias bomb)."""
    if not isinstance(node, SequenceNode):
        return []
    seen: set[int] = set()
    out: list[tuple[int, Node]] = []
    for i, item in enumerate(node.value):
        if id(item) not in seen:
            seen.add(id(item))
            out.append((i, item))
    return out
