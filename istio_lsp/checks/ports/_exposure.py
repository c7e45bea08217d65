"""What the ports rules share: the ports a destination's host exposes, and the ports its route is used on."""

from __future__ import annotations

from dataclasses import dataclass, field

from istio_lsp.checks.base import Context, Related, Severity, related_to
from istio_lsp.index.patches import may_be_patched
from istio_lsp.index.resolve import HostResolution, gateways_named, resolve_host, resolve_rule_host
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import (
    Destination,
    DestinationRule,
    Gateway,
    Resource,
    Service,
    ServiceEntry,
    VirtualService,
)
from istio_lsp.model.serving import server_takes


@dataclass
class Exposure:
    """The providers of a destination host (Services, ServiceEntries) and the ports each exposes.

    Only built when every provider's ports are known: a port that is a placeholder, or an entry
    or Service without ports, leaves nothing to compare against."""

    providers: list[Resource]
    ports: list[list[int]]  # per provider, as declared

    @property
    def union(self) -> list[int]:
        return sorted({p for ports in self.ports for p in ports})

    @property
    def single(self) -> Resource | None:
        return self.providers[0] if len(self.providers) == 1 else None


def exposure(ctx: Context, vs: VirtualService, host: str) -> Exposure | None:
    """The ports behind a destination host, or None when the workspace cannot say: the host is not
    found (destination-host-not-found's business), hidden, external, a placeholder, or a provider's
    ports are not all known."""
    if not host.strip() or is_placeholder(host):
        return None
    return _of(ctx, resolve_host(ctx.index, host, vs))


def rule_exposure(ctx: Context, rule: DestinationRule) -> Exposure | None:
    """The ports behind a DestinationRule's host, or None when the workspace cannot say (as `exposure`;
    a wildcard host names no single service)."""
    host = rule.host.value.strip() if rule.host is not None else ""
    if not host or "*" in host or is_placeholder(host):
        return None
    return _of(ctx, resolve_rule_host(ctx.index, host, rule))


def _of(ctx: Context, res: HostResolution) -> Exposure | None:
    if res.unknown or res.external:
        return None
    providers: list[Resource] = [*res.services, *res.backed_entries, *res.hollow_entries]
    if not providers:
        return None
    ports = [None if may_be_patched(ctx.index, p, "port") else _declared_ports(p) for p in providers]
    if any(p is None for p in ports):
        return None
    return Exposure(providers, [p for p in ports if p is not None])


def mapped_to(found: Exposure, number: int) -> list[int]:
    """The Service ports whose targetPort is `number`: the container port written for the Service port."""
    return sorted(
        {
            port.port
            for provider in found.providers
            if isinstance(provider, Service)
            for port in provider.ports
            if port.port is not None and port.target_port == str(number)
        }
    )


def _declared_ports(provider: Resource) -> list[int] | None:
    if isinstance(provider, Service):
        numbers = [p.port for p in provider.ports]
        if not numbers or any(n is None for n in numbers):
            return None
        return [n for n in numbers if n is not None]
    if isinstance(provider, ServiceEntry):
        if not provider.ports or not provider.ports_complete:
            return None
        return list(provider.ports)
    return None


def port_list(ports: list[int]) -> str:
    return ", ".join(str(p) for p in ports)


def not_exposed(found: Exposure, host: str, number: int) -> str:
    """The sentence that the services behind `host` do not expose port `number`, naming what they do."""
    if found.single is not None:
        return f"{found.single.display} does not expose port {number} (it exposes {port_list(found.ports[0])})"
    listed = "; ".join(
        f"{p.display}: {port_list(ports)}" for p, ports in zip(found.providers, found.ports, strict=True)
    )
    return f"None of the services `{host}` may mean exposes port {number} ({listed})"


def target_port_hint(found: Exposure, number: int, advice: str) -> str:
    """When `number` is a Service port's targetPort (the container port written for the Service port), the
    sentence that says so, ending in `advice`; else nothing."""
    mapped = mapped_to(found, number)
    if not mapped:
        return ""
    ports = " or ".join(str(p) for p in mapped)
    return f" {number} is the container port (targetPort) of Service port {ports}: {advice}."


def exposing(found: Exposure) -> list[Related]:
    """Each service behind the host, with the ports it exposes (a finding's related information)."""
    return [related_to(p, f"exposes {port_list(ports)}") for p, ports in zip(found.providers, found.ports, strict=True)]


# ---- where a route is used ----------------------------------------------------------------

# Istio's protocol of a Service port comes from its name's prefix (`http-web` → HTTP).
_HTTP_PREFIXES = frozenset({"http", "http2", "grpc"})
_NOT_HTTP_PREFIXES = frozenset({"https", "tcp", "tls", "mongo", "mysql", "redis", "udp", "thrift"})
_HTTP_SERVERS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB"})
_TERMINATING = frozenset({"SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL"})


@dataclass
class Use:
    """A port a route is used on: Envoy's listener port, which a destination without a port inherits."""

    port: int
    where: str  # for messages: "server `http` of Gateway istio-system/gw"
    certain: bool  # the route's protocol surely applies there (an explicit HTTP port or server)


@dataclass
class Uses:
    uses: list[Use] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # why some listener is not known, for messages

    @property
    def complete(self) -> bool:
        """Whether every listener the route is used on is known."""
        return not self.unknown


def listener_ports(ctx: Context, vs: VirtualService, protocol: str) -> Uses:
    """The ports the routes of a VirtualService are used on, as far as the workspace tells.

    Istio builds a route once per listener it applies to, and a destination without a port is
    sent to the listener's port (unless its Service has a single port): on a gateway, the port of
    each server whose hosts take the VirtualService; in the mesh, each port of the Services behind
    its hosts. Only HTTP routes are followed."""
    found = Uses()
    if protocol != "http":
        found.unknown.append(f"where {protocol.upper()} routes are used is not followed")
    elif not vs.hosts:
        found.unknown.append("the VirtualService has no hosts (a delegate is used where its parent is)")
    elif vs.match_gateways:
        found.unknown.append("its rules choose gateways per match")
    if found.unknown:
        return found
    names = [g.value.strip() for g in vs.gateways]
    if not names or "mesh" in names:
        _mesh_uses(ctx, vs, found)
    for name in names:
        if name == "mesh":
            continue
        gateways = [] if is_placeholder(name) else gateways_named(ctx.index, name, vs.namespace)
        if len(gateways) != 1 or not isinstance(gateways[0], Gateway):
            what = "is not in the workspace" if not gateways else "may be several Gateways"
            found.unknown.append(f"Gateway `{name}` {what}")
            continue
        if may_be_patched(ctx.index, gateways[0], "servers"):
            found.unknown.append(f"a build patches {gateways[0].display}")
            continue
        _gateway_uses(vs, gateways[0], ctx.settings.cluster_domain, found)
    return found


def _mesh_uses(ctx: Context, vs: VirtualService, found: Uses) -> None:
    for host in vs.hosts:
        written = host.value.strip()
        if not written or "*" in written or is_placeholder(written):
            found.unknown.append(f"host `{written}` names no single service")
            continue
        res = resolve_host(ctx.index, written, vs)
        providers = [*res.services, *res.backed_entries, *res.hollow_entries]
        if res.unknown or res.external or not providers:
            found.unknown.append(f"no service for host `{written}` is in the workspace")
            continue
        if len({_port_shape(p) for p in providers}) > 1:
            names = ", ".join(p.display for p in providers)
            found.unknown.append(f"host `{written}` may mean several services with different ports ({names})")
            continue
        provider = providers[0]
        if may_be_patched(ctx.index, provider, "port"):
            found.unknown.append(f"a build patches {provider.display}")
            continue
        if isinstance(provider, ServiceEntry):
            # an entry's port protocols are not kept: its ports are where the route may be used
            if not provider.ports or not provider.ports_complete:
                found.unknown.append(f"the ports of {provider.display} are not all known")
            found.uses.extend(Use(p, f"port {p} of {provider.display}", False) for p in provider.ports)
            continue
        assert isinstance(provider, Service)
        for port in provider.ports:
            if port.port is None:
                found.unknown.append(f"the ports of {provider.display} are not all known")
                continue
            if (port.protocol or "TCP").upper() != "TCP":
                continue  # UDP, SCTP: no Envoy listener
            prefix = (port.name or "").lower().split("-", 1)[0]
            if prefix in _NOT_HTTP_PREFIXES:
                continue  # HTTP routes are not used there
            # an unnamed port is sniffed: HTTP routes apply to the HTTP requests it carries
            certain = prefix in _HTTP_PREFIXES
            sniffed = "" if certain else " (its protocol is sniffed)"
            found.uses.append(Use(port.port, f"port {port.port} of {provider.display}{sniffed}", certain))


def _port_shape(provider: Resource) -> tuple[object, ...]:
    """What of a provider decides where routes for its host are used: its kind and its ports."""
    if isinstance(provider, Service):
        return ("Service", *((p.port, p.name, p.protocol) for p in provider.ports))
    if isinstance(provider, ServiceEntry):
        return ("ServiceEntry", provider.ports_complete, *provider.ports)
    return (provider.kind,)


def _gateway_uses(vs: VirtualService, gateway: Gateway, domain: str, found: Uses) -> None:
    for number, server in enumerate(gateway.servers):
        if any(is_placeholder(h) for h in server.hosts) or any(is_placeholder(h.value) for h in vs.hosts):
            found.unknown.append(f"the hosts of {gateway.display} or of the VirtualService are placeholders")
            continue
        if not server_takes(server, gateway, vs, domain):
            continue
        kind = (server.protocol or "").upper()
        if server.https_redirect and kind == "HTTP":
            continue  # every request is redirected to HTTPS before any route
        if kind in _HTTP_SERVERS or (kind == "HTTPS" and (server.tls_mode or "").upper() in _TERMINATING):
            if server.port is None:
                found.unknown.append(f"a server port of {gateway.display} is not known")
                continue
            label = f"`{server.name}`" if server.name else f"servers[{number}]"
            found.uses.append(Use(server.port, f"server {label} (port {server.port}) of {gateway.display}", True))


def unreachable_port(dest: Destination) -> tuple[Severity, str]:
    """How bad a destination whose port its service does not expose is, and what happens to its requests."""
    if dest.role == "mirror":
        return Severity.WARNING, "the mirrored copies go nowhere (the original requests are unaffected)"
    if dest.weight == 0:
        return (
            Severity.WARNING,
            "the requests sent here once its weight is raised (as Argo Rollouts and Flagger do) fail with 503",
        )
    return Severity.ERROR, "the requests routed there fail with 503"
