"""Which VirtualService hosts a Gateway server's host entries admit, as Istio matches them.

A server host entry is `host`, `ns/host`, `./host` (the Gateway's namespace) or `*/host`; the
namespace part says which VirtualServices (by their namespace) may bind to it. Two names match
when they overlap: a wildcard on either side covers the names under it, and `*` covers all.
"""

from __future__ import annotations

from istio_lsp.model.hosts import ANY_NAMESPACE, host_candidates, namespaces_match
from istio_lsp.model.resources import Gateway, GatewayServer, VirtualService

# A name as labels; None is a label that may be anything (the namespace of a short name when the
# VirtualService's namespace is not known).
Labels = list[str | None]


def server_entry(written: str, gateway_namespace: str, vs_namespace: str) -> tuple[bool, str]:
    """(whether a server host entry admits VirtualServices of `vs_namespace`, its host part, lowercased)."""
    written = written.strip().lower()
    if "/" not in written:
        return True, written
    namespace, _, host = written.partition("/")
    if namespace == ".":
        namespace = gateway_namespace
    return namespace == "*" or namespaces_match(namespace, vs_namespace), host


def readings(host: str, namespace: str, domain: str) -> list[Labels]:
    """The names a VirtualService host can stand for. Istio expands a short name to the service of
    the VirtualService's namespace; the host as written is kept too, so no reading is missed."""
    host = host.strip().lower()
    out: list[Labels] = [list(host.split("."))]
    for candidate in host_candidates(host, namespace, domain):
        labels: Labels = list(candidate.split("."))
        # a `*` past the first label is the unknown namespace host_candidates put in
        out.append([labels[0], *(None if label == ANY_NAMESPACE else label for label in labels[1:])])
    return out


def meets(server_host: str, vs_host: Labels) -> bool:
    """Whether a server host (its host part) and a reading of a VirtualService host overlap."""
    if server_host == "*" or vs_host == ["*"]:
        return True
    left = server_host.split(".")
    if left[0] == "*" and vs_host[0] == "*":
        n = min(len(left), len(vs_host)) - 1
        return _same(left[len(left) - n :], vs_host[len(vs_host) - n :])
    if left[0] == "*":
        n = len(left) - 1
        return len(vs_host) > n and _same(left[1:], vs_host[len(vs_host) - n :])
    if vs_host[0] == "*":
        n = len(vs_host) - 1
        return len(left) > n and _same(left[len(left) - n :], vs_host[1:])
    return len(left) == len(vs_host) and _same(left, vs_host)


def server_takes(server: GatewayServer, gateway: Gateway, vs: VirtualService, domain: str) -> bool:
    """Whether a Gateway server admits one of a VirtualService's hosts."""
    hosts = [reading for h in vs.hosts for reading in readings(h.value, vs.namespace, domain)]
    for written in server.hosts:
        admits, host = server_entry(written, gateway.namespace, vs.namespace)
        if admits and any(meets(host, reading) for reading in hosts):
            return True
    return False


def _same(a: list[str], b: Labels) -> bool:
    return all(y is None or x == y for x, y in zip(a, b, strict=True))
