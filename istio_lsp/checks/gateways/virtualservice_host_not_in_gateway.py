"""virtualservice-host-not-in-gateway: a VirtualService bound to a Gateway that serves none of its hosts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit, close_matches, likely_typo
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import kubernetes_gateways
from istio_lsp.model.hosts import ANY_NAMESPACE, gateway_key
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Gateway, GatewayServer, KubernetesGateway, Ref, VirtualService
from istio_lsp.model.serving import Labels, meets, readings, server_entry
from istio_lsp.syntax import Span

DOC = """\
A VirtualService is bound to a Gateway (in `gateways`, or a route's
`match[].gateways`), but none of the VirtualService's `hosts` is among the hosts
that Gateway's servers accept, or, for a Gateway API Gateway
(`gateway.networking.k8s.io`), among the hostnames its listeners accept.

## Why it matters

A gateway applies a bound VirtualService only to the hosts its servers accept:
the intersection of the VirtualService's `hosts` and the server's `hosts`. When
that intersection is empty, the gateway has no route for any of the
VirtualService's hosts and answers 404; nothing fails at apply time.

Hosts are compared as Istio compares them: a wildcard on either side covers the
names under it (`*.example.com` and `shop.example.com` meet; `*.example.com` does
not cover `example.com`), and `*` meets everything. A short VirtualService host
(`reviews`) means `reviews.<namespace>.svc.cluster.local`.

A server host may say which namespaces' VirtualServices it accepts:
`istio-system/shop.example.com` only those in `istio-system`,
`./shop.example.com` only those in the Gateway's own namespace, `*/…` or no
prefix those of any namespace. A VirtualService whose namespace is not known is
compared as if it were in the namespace that suits it best, and when several
Gateways of the name it gives may be meant, it is reported only if none of them
accepts its hosts.

## Gateway API Gateways

A `gateways` entry may name a Gateway API Gateway instead of an Istio Gateway (Istio's
own Gateway of that name wins when both exist). Such a Gateway accepts the hostnames
of its listeners: a listener without `hostname` accepts every host, and a wildcard
hostname `*.example.com` covers every name that ends in `.example.com` (one label or
more), not `example.com` itself. Each listener's `allowedRoutes` is not compared: it
says which routes may attach, and `istioctl analyze` does not apply it to
VirtualServices either.

## How sure it is

| situation | severity |
|---|---|
| the Gateway is in the workspace and no host meets | warning |
| the Gateway declares no server hosts (rejected as written; a patch may add them) | information |
| a host is a placeholder or set by a kustomize replacement, on either side | not reported |
| the Gateway is not in the workspace | not reported (`gateway-not-found`) |
| a Gateway API Gateway in the workspace, and no listener hostname meets | warning |
| a Gateway API Gateway with a listener without `hostname` (or a placeholder) | not reported |
| both an Istio Gateway and a Gateway API Gateway of that name (which one is meant?) | not reported |
| `mesh` | not reported |

## One finding per Gateway

The finding is on the `gateways` entry, once per Gateway a VirtualService names,
and lists every host of the VirtualService, like `istioctl analyze`. It is not
one finding per host: a VirtualService that serves `shop.example.com` through one
Gateway and `admin.example.com` through another (or a short name to the mesh) is
fine, and a host a given Gateway does not serve is only a problem when *none* of
them is served there: the binding is what is wrong, or the Gateway's hosts.

## Wrong

```yaml
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
---
kind: VirtualService
metadata: {name: admin, namespace: shop}
spec:
  hosts: ["admin.example.com"]
  gateways: [istio-system/public]    # public does not accept admin.example.com
```

## Right

```yaml
    hosts: ["shop.example.com", "admin.example.com"]
```

## Fixes

- **Add `host` to the hosts of server `name` of Gateway `ns/name`** (edits the
  Gateway's file), when the server's `hosts` is a block list. A server whose hosts
  name namespaces gets `<namespace of the VirtualService>/host`, so it stays scoped.
  Short names and `*` are never offered.
- **Did you mean `x`?** on a VirtualService host one typing mistake away from a
  host the Gateway accepts (a listener hostname of a Gateway API Gateway).

Related: `istioctl analyze` IST0132 VirtualServiceHostNotFoundInGateway.
"""

_MAX_ADD_FIXES = 4


@dataclass
class _Verdict:
    """What one Gateway makes of a VirtualService's hosts, when it serves none of them."""

    gateway: Gateway
    accepted: list[str] = field(default_factory=list)  # server hosts open to the VirtualService's namespace
    closed: list[str] = field(default_factory=list)  # server hosts that would meet, but for their namespace
    has_hosts: bool = False  # some server declares hosts at all


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    domain = ctx.settings.cluster_domain
    for vs in summary.resources:
        if not isinstance(vs, VirtualService) or not vs.hosts or not vs.gateways:
            continue
        if any(is_placeholder(h.value) for h in vs.hosts):
            continue  # a host we cannot read may be the one the Gateway serves
        host_readings = [readings(h.value, vs.namespace, domain) for h in vs.hosts]
        seen: set[tuple[str, str]] = set()
        for ref in vs.gateways:
            if ref.value.strip() == "mesh" or is_placeholder(ref.value):
                continue
            key = gateway_key(ref.value, vs.namespace)
            if key in seen:
                continue  # named again in a route's match: one finding per Gateway
            seen.add(key)
            namespace, name = key
            gateways = ctx.index.gateway(namespace, name)
            found = kubernetes_gateways(ctx.index, namespace, name)
            kubernetes = [g for g in found if isinstance(g, KubernetesGateway)]
            if gateways and kubernetes:
                continue  # an Istio Gateway and a Gateway API Gateway of that name: which one is meant?
            if kubernetes:
                yield from _kubernetes_finding(ctx, vs, ref, kubernetes, host_readings)
                continue
            if not gateways:
                continue  # not in the workspace (gateway-not-found)
            verdicts = []
            for gateway in gateways:
                verdict = _judge(gateway, vs.namespace, host_readings)
                if verdict is None:
                    break
                verdicts.append(verdict)
            else:
                yield _finding(ctx, vs, ref, verdicts)


def _judge(gateway: Gateway, vs_namespace: str, host_readings: list[list[Labels]]) -> _Verdict | None:
    """None when the Gateway serves one of the hosts (or may: a placeholder), else what it serves."""
    verdict = _Verdict(gateway)
    for server in gateway.servers:
        for written in server.hosts:
            if is_placeholder(written):
                return None
            verdict.has_hosts = True
            admits, host = server_entry(written, gateway.namespace, vs_namespace)
            overlaps = any(meets(host, reading) for candidates in host_readings for reading in candidates)
            if overlaps and admits:
                return None
            if admits:
                verdict.accepted.append(written)
            elif overlaps:
                verdict.closed.append(written)
    return verdict


def _and_the_others(others: int, noun: str) -> str:
    """When a name without namespace matched several Gateways: that none of the others serves the hosts."""
    if others == 1:
        return f" (nor does the other {noun} of that name)"
    return f" (nor do the {others} other {noun}s of that name)" if others else ""


def _finding(ctx: Context, vs: VirtualService, ref: Ref, verdicts: list[_Verdict]) -> Finding:
    gateway = verdicts[0].gateway
    shown = _gateway_label(gateway)
    # the namespace is not known: every Gateway of that name was tried
    others = len(verdicts) - 1
    more = _and_the_others(others, "Gateway")
    hosts = ", ".join(f"`{h.value}`" for h in vs.hosts)
    if not any(v.has_hosts for v in verdicts):
        message = (
            f"Gateway `{shown}` declares no server hosts: it accepts no host, so this VirtualService's routes "
            f"get no traffic through it. As written the Gateway is rejected (every server needs hosts); if a "
            f"patch or another tool adds them, make sure they include {hosts}."
        )
        return ctx.finding(RULE, vs, ref.span, message, severity=Severity.INFORMATION, related=_related(verdicts))
    accepted = list(dict.fromkeys(h for v in verdicts for h in v.accepted))
    closed = list(dict.fromkeys(h for v in verdicts for h in v.closed))
    if len(vs.hosts) == 1:
        message = f"Gateway `{shown}` does not accept this VirtualService's host {hosts}{more}"
    else:
        message = f"Gateway `{shown}` accepts none of this VirtualService's hosts ({hosts}){more}"
    if accepted:
        message += f"; {'their' if others else 'its'} servers accept {_listed(accepted)}"
    it = "it" if len(vs.hosts) == 1 else "them"
    message += f". The gateway answers 404 to requests for {it}: these routes get no traffic through `{shown}`."
    message += _short_host_note(ctx, vs)
    if closed:
        # only a known namespace can be refused: an unknown one may be the one a server host names
        message += (
            f" {_listed(closed)} would match, but its namespace part does not admit VirtualServices "
            f"of namespace `{vs.namespace}`."
        )
    fixes: list[Fix] = []
    if len(verdicts) == 1:  # several Gateways of that name (namespace not known): which one to edit?
        typos = list(_typo_fixes(vs, accepted))
        fixes = [fix for _, fix in typos]
        fixes += _add_fixes(vs, gateway, [host for host, _ in typos])
    return ctx.finding(RULE, vs, ref.span, message, related=_related(verdicts), fixes=fixes)


def _short_host_note(ctx: Context, vs: VirtualService) -> str:
    short = [h.value for h in vs.hosts if "." not in h.value and h.value.strip() != "*"]
    if short and vs.namespace not in ("", ANY_NAMESPACE):
        fqdn = f"{short[0].strip().lower()}.{vs.namespace}.svc.{ctx.settings.cluster_domain}"
        return f" A short host stands for the service of the VirtualService's namespace: `{fqdn}`."
    return ""


def _kubernetes_hostnames(gateway: KubernetesGateway, host_readings: list[list[Labels]]) -> list[str] | None:
    """The listener hostnames of a Gateway API Gateway when none meets the VirtualService's hosts; None when
    one does, or may (a listener without hostname accepts every host; a placeholder), or it has no listeners."""
    hostnames = []
    for listener in gateway.listeners:
        written = listener.hostname.value.strip() if listener.hostname is not None else ""
        if not written or is_placeholder(written):
            return None
        if any(meets(written.lower(), reading) for candidates in host_readings for reading in candidates):
            return None
        hostnames.append(written)
    return hostnames or None


def _kubernetes_finding(
    ctx: Context,
    vs: VirtualService,
    ref: Ref,
    gateways: list[KubernetesGateway],
    host_readings: list[list[Labels]],
) -> Iterator[Finding]:
    """A VirtualService bound to a Gateway API Gateway: judged by its listeners' hostnames."""
    accepted: list[str] = []
    for gateway in gateways:
        hostnames = _kubernetes_hostnames(gateway, host_readings)
        if hostnames is None:
            return
        accepted += [h for h in hostnames if h not in accepted]
    gateway = gateways[0]
    shown = _gateway_label(gateway)
    hosts = ", ".join(f"`{h.value}`" for h in vs.hosts)
    more = _and_the_others(len(gateways) - 1, "Gateway API Gateway")
    subject = f"No listener of Gateway API Gateway `{shown}` accepts"
    if len(vs.hosts) == 1:
        message = f"{subject} this VirtualService's host {hosts}{more}"
    else:
        message = f"{subject} any of this VirtualService's hosts ({hosts}){more}"
    it = "it" if len(vs.hosts) == 1 else "them"
    message += (
        f"; its listeners' hostnames are {_listed(accepted)}. The gateway has no route for {it} from this "
        f"VirtualService: these routes get no traffic through `{shown}`."
    )
    message += _short_host_note(ctx, vs)
    related = []
    for g in gateways:
        label = _gateway_label(g)
        for listener in g.listeners[:5]:
            if listener.span is not None and listener.hostname is not None:
                name = f"`{listener.name}`" if listener.name else f"#{g.listeners.index(listener) + 1}"
                text = f"Listener {name} of Gateway API Gateway `{label}`: hostname `{listener.hostname.value}`"
                related.append(Related(g.uri, listener.span, text))
    fixes = [fix for _, fix in _typo_fixes(vs, accepted)] if len(gateways) == 1 else []
    yield ctx.finding(RULE, vs, ref.span, message, related=related, fixes=fixes)


def _gateway_label(gateway: Gateway | KubernetesGateway) -> str:
    return gateway.name if gateway.namespace in ("", ANY_NAMESPACE) else f"{gateway.namespace}/{gateway.name}"


def _listed(hosts: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"`{h}`" for h in hosts[:limit])
    return shown + (f" and {len(hosts) - limit} more" if len(hosts) > limit else "")


def _related(verdicts: list[_Verdict]) -> list[Related]:
    out = []
    for verdict in verdicts:
        gateway = verdict.gateway
        label = _gateway_label(gateway)
        servers = [s for s in gateway.servers if s.span is not None]
        if not servers:
            out.append(Related(gateway.uri, gateway.name_span, f"Gateway `{label}`: no servers"))
        for server in servers[:5]:
            assert server.span is not None
            listed = ", ".join(f"`{h}`" for h in server.hosts) or "no hosts"
            text = f"Server {_server_label(gateway, server)} of `{label}`: {listed}"
            out.append(Related(gateway.uri, server.span, text))
    return out


def _server_label(gateway: Gateway, server: GatewayServer) -> str:
    """How a message names a server: its name when no other server has it, else its position and port."""
    if server.name and sum(s.name == server.name for s in gateway.servers) == 1:
        return f"`{server.name}`"
    position = f"#{gateway.servers.index(server) + 1}"
    return f"{position} (port {server.port})" if server.port is not None else position


def _typo_fixes(vs: VirtualService, accepted: list[str]) -> Iterator[tuple[Ref, Fix]]:
    """Rewrite a VirtualService host that is one typing mistake from a host the Gateway accepts."""
    names = [h.partition("/")[2] if "/" in h else h for h in accepted]
    names = [n for n in dict.fromkeys(names) if n != "*"]
    for host in vs.hosts:
        for suggestion in close_matches(host.value, names):
            if likely_typo(host.value, suggestion):
                edit = TextEdit(vs.uri, host.span, f"{host.quote}{suggestion}{host.quote}")
                yield host, Fix(f"Did you mean `{suggestion}`?", (edit,), preferred=True, safe=False)
                break


def _add_fixes(vs: VirtualService, gateway: Gateway, skip: list[Ref]) -> Iterator[Fix]:
    """Add a VirtualService host to a server of the Gateway whose `hosts` is a block list (not a host
    that looks like a typing mistake, nor a short name, the mesh's, nor `*`, which opens the gateway to all)."""
    label = _gateway_label(gateway)
    hosts = [h.value.strip() for h in vs.hosts if h not in skip and "." in h.value and h.value.strip() != "*"]
    known = vs.namespace not in ("", ANY_NAMESPACE)
    count = 0
    for server in gateway.servers:
        if server.hosts_at is None:
            continue
        # a server whose hosts name namespaces admits this one's VirtualServices by name too
        scoped = known and any(h.partition("/")[0] not in ("", "*") for h in server.hosts if "/" in h)
        for host in hosts:
            if count == _MAX_ADD_FIXES:
                return
            entry = f"{vs.namespace}/{host}" if scoped else host
            quote = server.host_refs[0].quote if server.host_refs else ""
            if not quote and entry.startswith("*"):
                quote = '"'  # a plain `*` starts a YAML alias
            line, char = server.hosts_at
            text = f"- {quote}{entry}{quote}\n{' ' * server.hosts_indent}"
            yield Fix(
                f"Add `{entry}` to the hosts of server {_server_label(gateway, server)} of Gateway {label}",
                (TextEdit(gateway.uri, Span(line, char, line, char), text),),
                safe=False,
            )
            count += 1


RULE = Rule(
    code="virtualservice-host-not-in-gateway",
    severity=Severity.WARNING,
    summary="A VirtualService bound to a Gateway none of whose servers accepts any of the VirtualService's hosts.",
    doc=DOC,
    run=run,
    istio_codes=("IST0132",),
)
