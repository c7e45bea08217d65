"""invalid-tls-route: `tls` route rules Istio rejects (matches, SNI hosts, subnets, missing route)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, spec_routes, subnet_problems, vs_hosts
from istio_lsp.checks.admission.common import is_ip, wildcard_domain_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, distinct, items_at, value_at
from istio_lsp.checks.local import DocumentContext, name_or_first_key
from istio_lsp.findings import Finding, Severity
from istio_lsp.model.hosts import host_matches
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import get, items, key_node, scalar

DOC = """\
A `tls` route rule that Istio's webhook rejects or warns about.

Covers the "TLS and TCP routes" rows of the webhook checklist for `tls`:

- a rule with an empty `match: []` (error);
- a null `match` entry (error);
- a match with an empty `sniHosts: []` (error);
- an SNI host that is not a valid (wildcard) domain name (error), or that is an IP
  address (warning: SNI carries names, and most clients never send an IP there);
- an SNI host that is not within the VirtualService's `hosts` (error): `sniHosts:
  [a.example.com]` needs a host `a.example.com`, `*.example.com` or `*`;
- a `destinationSubnets` entry that is not an IP address or CIDR block (error);
- a rule without `route` destinations (error).

Ports, source labels and gateway names in the match are checked by `invalid-port`,
`invalid-labels` and `invalid-gateway-reference`; the destinations themselves by
`invalid-route-destination`. A rule without `match`, or a match without `sniHosts`,
is `missing-required-field`: the API server's schema requires both and rejects the
resource before the webhook runs.

## Why it matters

TLS rules route by the SNI name the client sends, and only for the hosts the
VirtualService claims. The webhook rejects rules that could never apply, so the
whole VirtualService fails to apply.

## Wrong

```yaml
spec:
  hosts: [api.example.com]
  tls:
  - match:
    - port: 443
      sniHosts: [web.example.com]
    route:
    - destination: {host: web}
```

## Right

```yaml
spec:
  hosts: [api.example.com, web.example.com]
  tls:
  - match:
    - port: 443
      sniHosts: [web.example.com]
    route:
    - destination: {host: web}
```

Related: `istioctl analyze` IST0106 (schema validation error), IST0133 (schema
warning).
"""

_OUTBOUND_SNI = re.compile(r"^outbound_\.([^_]*)_\._\.(.*)$")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    hosts = list(dict.fromkeys(vs_hosts(ctx)))
    gateways = [g for g in (scalar(item) for item in items(get(ctx.spec, "gateways"))) if g is not None]
    gateway_bound = "mesh" not in gateways  # as Istio's isGateway reads it: no gateways counts as bound
    for _, rule in spec_routes(ctx, "tls"):
        matches = items_at(rule, "match")
        match_key = key_node(rule, "match")
        if not matches and match_key is not None and value_at(rule, "match") is not None:
            # an absent (or null) `match` is missing-required-field's: the API server's schema requires it
            yield _error(ctx, match_key, "A `tls` rule needs at least one `match`.")
        for match in distinct(matches):
            if absent(match):
                yield _error(ctx, match, "A `tls` match entry is empty (null).")
            elif isinstance(match, MappingNode):
                yield from _check_match(ctx, match, hosts, gateway_bound)
        if not items_at(rule, "route"):
            yield _error(
                ctx,
                key_node(rule, "route") or name_or_first_key(rule),
                "A `tls` rule needs a `route` with at least one destination.",
            )


def _check_match(ctx: DocumentContext, match: MappingNode, hosts: list[str], gateway_bound: bool) -> Iterator[Finding]:
    sni_hosts = items_at(match, "sniHosts")
    sni_key = key_node(match, "sniHosts")
    if not sni_hosts and sni_key is not None and value_at(match, "sniHosts") is not None:
        # an absent (or null) `sniHosts` is missing-required-field's, like an absent `match`
        yield _error(ctx, sni_key, "A `tls` match needs at least one SNI host in `sniHosts`.")
    for node in distinct(sni_hosts):
        sni = scalar(node)
        if sni is None:
            continue
        problem = _sni_problem(sni, gateway_bound)
        if problem is not None:
            if is_ip(sni):
                yield ctx.finding(
                    RULE.code,
                    Severity.WARNING,
                    node,
                    f"SNI host `{sni}` is an IP address: SNI carries host names and most clients never send an IP "
                    "there (kubectl apply warns).",
                )
            else:
                yield _error(ctx, node, f"SNI host is invalid: {problem}.")
        elif hosts and not any(_within(sni, host) for host in hosts):
            listing = ", ".join(f"`{h}`" for h in hosts)
            yield _error(
                ctx,
                node,
                f"SNI host `{sni}` is not within the VirtualService's hosts ({listing}); add it to `hosts` or "
                "match a name the VirtualService serves.",
            )
    for node, message in subnet_problems(match):
        yield ctx.finding(RULE.code, RULE.severity, node, message)


def _sni_problem(sni: str, gateway_bound: bool) -> str | None:
    if gateway_bound and sni.startswith("outbound_"):
        # Istio accepts its own cluster names (`outbound_.<port>_._.<host>`) on gateway-bound services
        found = _OUTBOUND_SNI.match(sni)
        if found and re.search(r"[0-9]", found.group(1)) and re.search(r"[a-zA-Z]", found.group(2)):
            return None
        return f"`{sni}` does not follow the `outbound_.<PORT>_._.<HOSTNAME>` format"
    return wildcard_domain_problem(sni)


def _within(sni: str, host: str) -> bool:
    """Istio's SubsetOf: the SNI name (or wildcard) lies inside the VirtualService host."""
    if host_matches(host, sni):
        return True
    if host.startswith("*"):  # also `*suffix` wildcards, which Istio reads as a plain suffix
        name = sni[1:] if sni.startswith("*") else sni
        return name.endswith(host[1:])
    return False


def _error(ctx: DocumentContext, where: Node, message: str) -> Finding:
    return ctx.finding(RULE.code, RULE.severity, where, f"{message} {REJECTED}.")


RULE = Rule(
    code="invalid-tls-route",
    severity=Severity.ERROR,
    summary="A tls route rule Istio rejects: empty match or SNI host lists, an invalid SNI host or one outside "
    "the VirtualService hosts, a bad destination subnet, no route.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106", "IST0133"),
)
