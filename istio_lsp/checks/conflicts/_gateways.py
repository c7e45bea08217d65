"""What the Gateway conflict checks share: which Gateways configure one gateway workload, and
how istiod sorts their servers onto its ports.

istiod gives a gateway pod every Gateway whose `selector` its labels satisfy, in any
namespace, and merges their servers port by port: plain-text HTTP servers of one port share a
listener; TLS servers of one port share it too, told apart by SNI host; any other
combination cannot share a port, and all but one of the servers are dropped.
"""

from __future__ import annotations

from istio_lsp.checks.together import same_object, together, workloads_with
from istio_lsp.index import WorkspaceIndex
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Gateway, GatewayServer, Workload

# protocols Istio counts as HTTP (protocol.Instance.IsHTTP): servers of these may share a port
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})
HTTP = "http"  # plain-text HTTP (possibly only redirecting to HTTPS)
TLS = "tls"  # a `tls` block on a non-HTTP protocol (HTTPS, TLS): terminated or passed through
TCP = "tcp"  # anything else: opaque TCP, a protocol that cannot share a port

Server = tuple[Gateway, GatewayServer]


def server_kind(server: GatewayServer) -> str | None:
    """HTTP, TLS or TCP, as istiod sorts servers; None when the protocol is not known."""
    protocol = (server.protocol or "").strip().upper()
    if not protocol or is_placeholder(protocol):
        return None
    if protocol in HTTP_PROTOCOLS:
        return HTTP
    return TLS if server.tls else TCP


def servers_on_port(index: WorkspaceIndex, port: int) -> list[Server]:
    """Every (Gateway, server) of the workspace listening on a port number (a shared lookup)."""
    table: dict[int, list[Server]] | None = index.memo.get(("conflicts.servers_by_port",))
    if table is None:
        table = {}
        for gateway in index.all_gateways():
            for server in gateway.servers:
                if server.port is not None:
                    table.setdefault(server.port, []).append((gateway, server))
        index.memo[("conflicts.servers_by_port",)] = table
    return table.get(port, [])


def rivals(index: WorkspaceIndex, gateway: Gateway, server: GatewayServer) -> list[tuple[Server, str]]:
    """The servers of other Gateways deployed with `gateway` that configure the same gateway pods on
    the same port and address as `server`, with how the workspace shows they are deployed together."""
    if server.port is None or not _known(gateway) or (server.bind is not None and is_placeholder(server.bind)):
        return []
    found = []
    for other, theirs in servers_on_port(index, server.port):
        if other is gateway or same_object(gateway, other) or not _known(other):
            continue
        if (theirs.bind or "") != (server.bind or ""):
            continue  # listeners on other addresses
        how = together(index, gateway, other)
        if how is not None and same_pods(index, gateway, other):
            found.append(((other, theirs), how))
    return found


def same_pods(index: WorkspaceIndex, a: Gateway, b: Gateway) -> bool:
    """Whether two Gateways certainly configure the same gateway pods: the same selector, or
    selectors a workload of the workspace satisfies both of."""
    if a.selector == b.selector:
        return True
    if any(b.selector.get(k, v) != v for k, v in a.selector.items()):
        return False  # one label asked with two values: no pod has both
    return bool(shared_workloads(index, a, b))


def shared_workloads(index: WorkspaceIndex, a: Gateway, b: Gateway) -> list[Workload]:
    return workloads_with(index, {**a.selector, **b.selector}, a, None)


def selector_text(gateway: Gateway) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(gateway.selector.items()))


def sni_hosts(gateway: Gateway, server: GatewayServer) -> list[str]:
    """The host names a server answers (its `hosts` without the namespace part), lowercased."""
    out: list[str] = []
    for ref in server.host_refs:
        written = ref.value.strip().lower()
        if is_placeholder(written):
            continue
        host = written.partition("/")[2] if "/" in written else written
        if host not in out:
            out.append(host)
    return out


def _known(gateway: Gateway) -> bool:
    """A Gateway whose selector is written and holds no placeholder (an empty one is left alone)."""
    return bool(gateway.selector) and not any(
        is_placeholder(k) or is_placeholder(v) for k, v in gateway.selector.items()
    )
