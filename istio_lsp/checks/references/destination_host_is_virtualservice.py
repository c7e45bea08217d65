"""destination-host-is-virtualservice: a route to a host that only a VirtualService declares."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Rule, Severity, TextEdit, related_to
from istio_lsp.index import FileSummary
from istio_lsp.index.resolve import HostResolution, only_virtual, resolve_host
from istio_lsp.model.hosts import host_candidates, service_fqdn
from istio_lsp.model.resources import Destination, VirtualService
from istio_lsp.syntax import Span

DOC = """\
A route (or mirror) sends traffic to a host that no Kubernetes Service and no
ServiceEntry with endpoints provides; the host is only listed in the `hosts` of
another VirtualService.

## Why it matters

A VirtualService is a set of routing rules attached to traffic for its hosts. It
is not a service that can be called. Envoy resolves a destination only to a
Kubernetes Service or a ServiceEntry; for this host it finds no endpoints and
every request fails with **503 "no healthy upstream"**. The rules of the second
VirtualService are never consulted: a sidecar does not route twice.

Adding a ServiceEntry for the host silences `istioctl analyze` (IST0101), but the
503 stays, because such a ServiceEntry registers no endpoints. istio-lsp reports
that variant too and names the ServiceEntry.

To stay clear of false alarms the check needs evidence that the host is only a
routing name: either a ServiceEntry registers it without endpoints, or every
VirtualService declaring it never routes to it (it answers with
`directResponse`, `redirect` or `delegate`, or sends traffic to another host). A
VirtualService that declares `reviews` and routes to `reviews` points at a real
service, which may simply live in another repository; such hosts are left to
`destination-host-not-found`.

## Wrong

```yaml
kind: VirtualService
metadata: {name: hello-world-vs}
spec:
  hosts: [hello.example.com]
  gateways: [hello-gateway]
  http:
  - match: [{uri: {prefix: /direct}}]
    route:
    - destination:
        host: deployment-1.hello-world-app.svc.cluster.local   # only deployment-1-vs declares it
---
kind: VirtualService
metadata: {name: deployment-1-vs}
spec:
  hosts: [deployment-1.hello-world-app.svc.cluster.local]
  http:
  - route:
    - destination: {host: deployment-1-svc}
```

## Right

Route to what the second VirtualService routes to:

```yaml
    route:
    - destination:
        host: deployment-1-svc.hello-world-app.svc.cluster.local
```

or, to keep the second VirtualService's rules, hand the traffic over through an
internal Gateway: bind the second VirtualService to a Gateway (for example an
internal ingress gateway) and route the first one to that gateway's Service.

## Fixes

- **Route to `<host>`** for each Service or ServiceEntry host that the declaring
  VirtualService routes to. The port is kept; the subset is carried over when the
  declaring VirtualService uses exactly one subset for that host.
- **Answer with the directResponse of `<VirtualService>`** when the declaring
  VirtualService only answers with a `directResponse`: the response moves into
  this route.

Related: `istioctl analyze` IST0101 ReferencedResourceNotFound (which the
ServiceEntry silences); Kiali KIA1101.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for vs in summary.resources:
        if not isinstance(vs, VirtualService):
            continue
        for dest in vs.destinations:
            resolution = resolve_host(ctx.index, dest.host.value, vs)
            if only_virtual(ctx.index, resolution):
                yield _finding(ctx, vs, dest, resolution)


def _finding(ctx: Context, vs: VirtualService, dest: Destination, res: HostResolution) -> Finding:
    owners = ", ".join(v.display for v in res.declaring)
    message = (
        f"`{dest.host.value}` is only a VirtualService host (declared by {owners}); no Service or "
        f'ServiceEntry with endpoints provides it, so Envoy answers 503 "no healthy upstream". '
        f"Route to the service behind it."
    )
    related = [related_to(v, f"declares `{dest.host.value}` in its hosts") for v in res.declaring]
    if res.hollow_entries:
        names = ", ".join(e.display for e in res.hollow_entries)
        message += f" {names} registers the host without endpoints: it silences istioctl, not the 503."
        related += [related_to(e, "registers the host without endpoints") for e in res.hollow_entries]
    return ctx.finding(RULE, vs, dest.host.span, message, related=related, fixes=list(_fixes(ctx, vs, dest, res)))


def _fixes(ctx: Context, vs: VirtualService, dest: Destination, res: HostResolution) -> Iterator[Fix]:
    domain = ctx.settings.cluster_domain
    offered: set[str] = set()
    for downstream in res.declaring:
        targets: dict[str, set[str | None]] = {}
        for target in downstream.destinations:
            if target.role != "route":
                continue
            target_res = resolve_host(ctx.index, target.host.value, downstream)
            if not target_res.provided:
                continue
            text = _host_text(dest, vs, target, downstream, domain, target_res)
            targets.setdefault(text, set()).add(target.subset.value if target.subset else None)
        for text, subsets in targets.items():
            if text in offered:
                continue
            offered.add(text)
            # carry the subset over only when the downstream route uses exactly one for this host
            unambiguous = len(subsets) == 1
            subset = next(iter(subsets)) if unambiguous else None
            yield Fix(
                f"Route to `{text}`" + (f" (subset `{subset}`)" if subset else ""),
                tuple(_retarget_edits(vs.uri, dest, text, subset, unambiguous)),
                preferred=len(offered) == 1,
            )
        direct = [rule for rule in downstream.http_rules if rule.direct_response]
        if not downstream.destinations and len(direct) == 1:
            fix = _direct_response_fix(vs, dest, downstream, direct[0].direct_response or "")
            if fix is not None:
                yield fix


def _host_text(
    dest: Destination,
    vs: VirtualService,
    target: Destination,
    downstream: VirtualService,
    domain: str,
    res: HostResolution,
) -> str:
    """How to write the new host here: as written downstream when that means the same, else fully qualified."""
    written = target.host.value
    same_reading = host_candidates(written, vs.namespace, domain)[0] == res.fqdn
    if same_reading and ("." in written or "." not in dest.host.value):
        return written
    if res.services:
        service = res.services[0]
        return service_fqdn(service.name, service.namespace, domain)
    return res.fqdn


def _retarget_edits(
    uri: str, dest: Destination, host: str, subset: str | None, subset_known: bool
) -> Iterator[TextEdit]:
    yield TextEdit(uri, dest.host.span, f"{dest.host.quote}{host}{dest.host.quote}")
    if not subset_known:
        return
    if dest.subset is not None:
        if subset is not None:
            yield TextEdit(uri, dest.subset.span, f"{dest.subset.quote}{subset}{dest.subset.quote}")
        elif dest.subset_line is not None:  # the new host is used without a subset: drop ours
            yield TextEdit(uri, Span(dest.subset_line, 0, dest.subset_line + 1, 0), "")
    elif subset is not None and dest.key_column is not None:
        line, end = dest.host.span.end_line, dest.host.span.end_char
        yield TextEdit(uri, Span(line, end, line, end), f"\n{' ' * dest.key_column}subset: {subset}")


def _direct_response_fix(vs: VirtualService, dest: Destination, downstream: VirtualService, text: str) -> Fix | None:
    if dest.role != "route" or dest.protocol != "http":
        return None
    rule = next((r for r in vs.http_rules if r.index == dest.rule_index), None)
    if rule is None or rule.route_span is None or rule.route_count != 1:
        return None
    column = rule.route_span.start_char
    if text.startswith("{"):
        new_text = f"directResponse: {text}"
    else:
        body = "\n".join((" " * (column + 2) + line) if line else line for line in text.split("\n"))
        new_text = "directResponse:\n" + body
    return Fix(
        f"Answer with the directResponse of {downstream.display}",
        (TextEdit(vs.uri, rule.route_span, new_text),),
    )


RULE = Rule(
    code="destination-host-is-virtualservice",
    severity=Severity.ERROR,
    summary="A route or mirror destination whose host only a VirtualService declares.",
    doc=DOC,
    run=run,
    istio_codes=("IST0101",),
    kiali_codes=("KIA1101",),
)
