"""invalid-virtualservice-host: VirtualService `hosts` the webhook rejects."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED, is_istio, rules_and_children, vs_applies_to_gateway_only
from istio_lsp.checks.admission.common import is_ip, wildcard_domain_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import scalar_items
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import get, items

DOC = """\
A host of a VirtualService's `hosts` is not a valid name, is `*` on a mesh-bound
VirtualService, or overlaps another host of the same VirtualService.

Covers these rows of the webhook checklist (§1, top level):

- each host is a valid domain name, optionally with a wildcard first label (`*.example.com`,
  `*`); short names (`reviews`) and IP addresses are also accepted;
- a gateway-bound VirtualService with TLS `sniHosts` may also use the generated
  `outbound_.<port>_._.<host>` form;
- `*` is not allowed when the VirtualService applies to sidecars (no `gateways`, or `mesh`
  among them);
- no two hosts may match each other: the same host twice, or a host a wildcard host
  already covers (`*.example.com` and `shop.example.com`).

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. Overlapping hosts in one
VirtualService would give Envoy two virtual hosts for the same name; `*` on the mesh would
capture every outbound HTTP request of every sidecar.

## Wrong

```yaml
spec:
  hosts:
  - "*.example.com"
  - shop.example.com
  - reviews_v2
```

## Right

```yaml
spec:
  hosts:
  - "*.example.com"
  - reviews-v2
```

Related: `istioctl analyze` IST0106.
"""

_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[a-zA-Z]")


def _generated_sni_problem(host: str) -> str | None:
    """Istio's check of `outbound_.<port>_._.<host>`, the SNI Envoy generates for AUTO_PASSTHROUGH."""
    parts = host.split("_")
    if len(parts) < 4 or parts[0] != "outbound":
        return f"`{host}` does not follow the `outbound_.<port>_._.<hostname>` form"
    if not _DIGIT.search(parts[1].strip(".")) or not _LETTER.search(parts[3].strip(".")):
        return f"`{host}` does not follow the `outbound_.<port>_._.<hostname>` form"
    return None


def _has_sni_hosts(ctx: DocumentContext) -> bool:
    return any(items(get(match, "sniHosts")) for _, _, match in rules_and_children(ctx, ("tls",), "match"))


def host_problem(host: str, gateway_only: bool, sni: bool) -> str | None:
    if not host or len(host) > 255:
        return f"`{host}` is not a valid domain name (1 to 255 characters)"
    if gateway_only and sni and host.startswith("outbound_"):
        return _generated_sni_problem(host)
    problem = wildcard_domain_problem(host)
    if problem is not None and is_ip(host):
        return None
    return problem


class _Seen:
    """Earlier hosts, indexed so that Istio's `host.Name.Matches` against all of them is a few lookups."""

    def __init__(self) -> None:
        self.exact: dict[str, str] = {}  # non-wildcard host → itself
        self.wild: dict[str, str] = {}  # `*.a.com` → under key `.a.com`
        self.exact_suffixes: dict[str, str] = {}  # every suffix of a non-wildcard host → the host
        self.wild_suffixes: dict[str, str] = {}  # every suffix of a wildcard's tail → the wildcard

    def match(self, host: str) -> str | None:
        """An earlier host that matches `host`, as Istio's Matches sees it (plain suffixes, case-sensitive)."""
        if host.startswith("*"):
            tail = host[1:]
            hit = self.exact_suffixes.get(tail) or self.wild_suffixes.get(tail)
            return hit or next((self.wild[tail[k:]] for k in range(len(tail) + 1) if tail[k:] in self.wild), None)
        if host in self.exact:
            return self.exact[host]
        return next((self.wild[host[k:]] for k in range(len(host) + 1) if host[k:] in self.wild), None)

    def add(self, host: str) -> None:
        if host.startswith("*"):
            tail = host[1:]
            self.wild.setdefault(tail, host)
            for k in range(len(tail) + 1):
                self.wild_suffixes.setdefault(tail[k:], host)
        else:
            self.exact.setdefault(host, host)
            for k in range(len(host) + 1):
                self.exact_suffixes.setdefault(host[k:], host)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    hosts = list(scalar_items(ctx.at("spec.hosts")))
    if not hosts:
        return
    gateway_only = vs_applies_to_gateway_only(ctx)
    sni = _has_sni_hosts(ctx)
    all_valid = True
    for _, node, host in hosts:
        problem = host_problem(host, gateway_only, sni)
        if problem is None and host == "*" and not gateway_only:
            problem = (
                "host `*` is not allowed on a VirtualService that applies to sidecars (no `gateways`, or `mesh` "
                "among them): it would capture all outbound HTTP traffic of the mesh"
            )
        if problem is not None:
            all_valid = False
            yield ctx.finding(RULE.code, RULE.severity, node, f"{problem}; {REJECTED}.")
    if all_valid:
        yield from _overlaps(ctx, hosts)


def _overlaps(ctx: DocumentContext, hosts: list[tuple[int, ScalarNode, str]]) -> Iterator[Finding]:
    seen = _Seen()
    for _, node, host in hosts:
        earlier = seen.match(host)
        if earlier is not None:
            how = "is listed twice" if earlier == host else f"overlaps `{earlier}`, listed before it"
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                node,
                f"Host `{host}` {how}: one VirtualService may not have duplicate or overlapping hosts; {REJECTED}.",
            )
        seen.add(host)


RULE = Rule(
    code="invalid-virtualservice-host",
    severity=Severity.ERROR,
    summary="A VirtualService host is not a valid (wildcard) domain or IP, is `*` on the mesh, or overlaps another.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
