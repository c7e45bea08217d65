"""invalid-gateway-reference: a VirtualService `gateways` entry that is not a valid gateway name."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import ADMITTED, REJECTED, is_istio, rules_and_children
from istio_lsp.checks.admission.common import DNS1123_LABEL, fqdn_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import scalar_items
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix
from istio_lsp.syntax import Node, ScalarNode
from istio_lsp.syntax.nodes import get

DOC = """\
A `gateways` entry of a VirtualService (top level, or in a `match`) is not a gateway name
Istio accepts.

Covers these rows of the webhook checklist (§1, top level, and the `match.gateways` rows
of the http, tls and tcp sections):

- an entry with `/` is `<namespace>/<name>`, both non-empty DNS-1123 labels (letters,
  digits and `-`); Istio ignores case here, so capitals are only a warning, but Kubernetes
  names are lowercase and such an entry never matches;
- an entry without `/` must be a valid domain name; `mesh` (all sidecars) passes;
- an entry without `/` that contains a dot (`my-gateway.istio-system`) is the legacy
  `<name>.<namespace>` form: admitted with a warning;
- Istio's webhook stops checking a list at its first entry without `/`: a bad entry after
  it is admitted, so it is reported here as a warning (it still never matches a Gateway).

## Why it matters

The webhook rejects the resource (error) or warns (legacy form). An entry such as
`istio-system/Public_GW` can never name a Gateway, so the routes would never be attached
to it.

## Wrong

```yaml
spec:
  gateways:
  - public-gateway.istio-system
  - istio-system/
```

## Right

```yaml
  gateways:
  - istio-system/public-gateway
```

## Fixes

- **Use `foo/bar`**: lowercases an entry with capitals.
- **Use `ns/name`**: rewrites a legacy `name.namespace[.svc.cluster.local]` entry as
  `namespace/name`, which names the same Gateway.

Related: `istioctl analyze` IST0106 (errors) and IST0133 (the legacy form warning).
"""


def _lists(ctx: DocumentContext) -> Iterator[tuple[str, Node | None]]:
    yield "`gateways`", ctx.at("spec.gateways")
    seen: set[int] = set()
    for protocol, _, match in rules_and_children(ctx, ("http", "tls", "tcp"), "match"):
        gateways = get(match, "gateways")
        if gateways is not None and id(gateways) not in seen:
            seen.add(id(gateways))
            yield f"{protocol} `match.gateways`", gateways


def _label_ok(text: str) -> bool:
    return len(text) <= 63 and DNS1123_LABEL.match(text) is not None


_NEVER_MATCHES = "the webhook admits it, but it never matches a Gateway"
_SKIPPED = "the webhook skips the entries after one without `/` and admits it, but it never matches a Gateway"


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    for where, node in _lists(ctx):
        unchecked = False  # Istio stops at the first entry without `/`
        for _, item, name in scalar_items(node):
            for severity, problem, consequence, fixes in _problems(ctx, item, name):
                if unchecked:
                    severity = Severity.WARNING
                    consequence = _SKIPPED
                yield ctx.finding(RULE.code, severity, item, f"{where}: {problem}; {consequence}.", fixes=fixes)
            if "/" not in name:
                unchecked = True


def _problems(ctx: DocumentContext, item: ScalarNode, name: str) -> Iterator[tuple[Severity, str, str, list[Fix]]]:
    namespace, slash, gateway = name.partition("/")
    if not slash:
        if "." in name:
            parts = name.split(".")
            better = f"{parts[1]}/{parts[0]}"
            fixes = [replace_scalar(ctx, item, better, f"Use `{better}`")] if _label_ok(parts[1]) else []
            legacy = f"`{name}` uses the legacy `name.namespace` form; prefer `namespace/name`: `{better}`"
            yield Severity.WARNING, legacy, ADMITTED, fixes
        invalid = fqdn_problem(name)
        if invalid:
            yield Severity.ERROR, f"gateway name {invalid}", REJECTED, []
        return
    if not namespace or not gateway:
        yield Severity.ERROR, f"`{name}`: the namespace and the gateway name must both be set", REJECTED, []
        return
    for what, text in (("namespace", namespace), ("gateway name", gateway)):
        if not _label_ok(text.lower()):  # Istio's DNS-1123 check ignores case
            yield Severity.ERROR, f"`{name}`: {what} `{text}` is not a DNS-1123 label", REJECTED, []
        elif not _label_ok(text):
            fix = replace_scalar(ctx, item, name.lower(), f"Use `{name.lower()}`")
            problem = f"`{name}`: {what} `{text}` has upper-case letters, and Kubernetes names are lowercase"
            yield Severity.WARNING, problem, _NEVER_MATCHES, [fix]


RULE = Rule(
    code="invalid-gateway-reference",
    severity=Severity.ERROR,
    summary="A VirtualService `gateways` entry is not `namespace/name` or a valid name (legacy `name.ns`: warning).",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106", "IST0133"),
    kiali_codes=("KIA1108",),
)
