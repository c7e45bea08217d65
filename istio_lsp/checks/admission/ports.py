"""invalid-port: a port number outside what Istio accepts."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import ADMITTED, REJECTED, Pattern, is_istio, matching_scalars
from istio_lsp.checks.admission.common import as_int, port_problem
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.fields import scalar_items, unseen
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding
from istio_lsp.syntax import ScalarNode
from istio_lsp.syntax.nodes import get, items, pairs, scalar

DOC = """\
A port number is out of range, or written in a form Istio cannot read.

Covers the webhook checklist's "Port: 1..65535" (§0) wherever a port appears:

- VirtualService: `destination.port.number` of routes and mirrors, `match[].port` of
  http/tls/tcp rules and `redirect.port` (0 there means "not set");
- DestinationRule: `trafficPolicy.tunnel.targetPort`; a `portLevelSettings[].port.number`
  out of range is only a warning, because the webhook admits it (the settings then match
  no port and never apply);
- Gateway: `servers[].port.number` (0 is allowed with a `unix://` bind);
- ServiceEntry: `ports[].number`, `ports[].targetPort` (0 means "not set") and the
  numbers of `endpoints[].ports`;
- Sidecar: `ingress[].port.number`, `egress[].port.number` (0 is the Unix-socket form,
  judged by the Sidecar rules) and `outboundTrafficPolicy.egressProxy.port.number`;
- PeerAuthentication: the keys of `portLevelMtls` (1..65535);
- AuthorizationPolicy: `to[].operation.ports`/`notPorts` and the values of a
  `destination.port` condition, which are strings holding a number from 0 to 65535.

## Why it matters

The webhook rejects the resource, so `kubectl apply` fails. A port above 65535 is usually
a typo (`80800`); port 0 usually means a field was left as a placeholder.

## Wrong

```yaml
kind: PeerAuthentication
spec:
  selector:
    matchLabels: {app: db}
  portLevelMtls:
    "0":
      mode: DISABLE
```

## Right

```yaml
  portLevelMtls:
    "5432":
      mode: DISABLE
```

Related: `istioctl analyze` IST0106 (errors) and IST0133 (warnings).
"""

# (field-name suffix, how it is judged)
FIELDS: dict[str, tuple[tuple[Pattern, str], ...]] = {
    "VirtualService": (
        (("port", "number"), "strict"),
        (("match", "port"), "zero-ok"),
        (("redirect", "port"), "zero-ok"),
    ),
    "DestinationRule": (
        (("portLevelSettings", "port", "number"), "admitted"),
        (("tunnel", "targetPort"), "strict"),
    ),
    "Gateway": ((("servers", "port", "number"), "server"),),
    "ServiceEntry": (
        (("spec", "ports", "number"), "strict"),
        (("spec", "ports", "targetPort"), "zero-ok"),
        (("endpoints", "ports", "*"), "strict"),
    ),
    "Sidecar": (
        (("ingress", "port", "number"), "strict"),
        (("egress", "port", "number"), "zero-ok"),
        (("egressProxy", "port", "number"), "strict"),
    ),
    "AuthorizationPolicy": (
        (("operation", "ports"), "string"),
        (("operation", "notPorts"), "string"),
    ),
}


def _string_port_problem(text: str) -> str | None:
    """AuthorizationPolicy's ports are strings; Istio parses them as 0..65535."""
    number = as_int(text) if text.strip().isdigit() else None
    if number is None or number > 65535:
        return f"port `{text}` is not a number from 0 to 65535"
    return None


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_istio(ctx):
        return
    if ctx.resource.kind == "PeerAuthentication":
        yield from _port_level_mtls(ctx)
        return
    patterns = FIELDS.get(ctx.resource.kind)
    if not patterns:
        return
    for path, node, mode in matching_scalars(ctx, patterns):
        text = scalar(node)
        if text is None:
            continue
        field = ".".join(str(p) for p in path[-2:] if isinstance(p, str))
        if mode == "string":
            problem = _string_port_problem(text)
            if problem:
                yield _error(ctx, node, f"`{field}`: {problem}; {REJECTED}.")
            continue
        number = as_int(text)
        if number is None:
            continue  # not a number at all: a type error, reported by the schema checks
        if number == 0 and (mode == "zero-ok" or (mode == "server" and _unix_bind(ctx, path))):
            continue
        problem = port_problem(text)
        if problem is None:
            continue
        if mode == "admitted":
            yield ctx.finding(
                RULE.code,
                Severity.WARNING,
                node,
                f"`{field}`: {problem}; {ADMITTED}, but no port has this number, so these settings never apply.",
            )
        else:
            yield _error(ctx, node, f"`{field}`: {problem}; {REJECTED}.")
    if ctx.resource.kind == "AuthorizationPolicy":
        yield from _destination_port_conditions(ctx)


def _error(ctx: DocumentContext, node: ScalarNode, message: str) -> Finding:
    return ctx.finding(RULE.code, RULE.severity, node, message)


def _unix_bind(ctx: DocumentContext, path: list) -> bool:
    bind = ctx.text([*path[:-2], "bind"])
    return bind is not None and bind.startswith("unix://")


def _port_level_mtls(ctx: DocumentContext) -> Iterator[Finding]:
    for key, _ in pairs(ctx.at("spec.portLevelMtls")):
        problem = port_problem(str(key.value))
        if problem:
            yield _error(ctx, key, f"`portLevelMtls` key: {problem}; {REJECTED}.")


def _destination_port_conditions(ctx: DocumentContext) -> Iterator[Finding]:
    seen_rules: set[int] = set()
    seen_conditions: set[int] = set()
    for _, rule in unseen(ctx.list_at("spec.rules"), seen_rules):
        for _, condition in unseen(items(get(rule, "when")), seen_conditions):
            if scalar(get(condition, "key")) != "destination.port":
                continue
            for field in ("values", "notValues"):
                for _, node, text in scalar_items(get(condition, field)):
                    problem = _string_port_problem(text)
                    if problem:
                        yield _error(ctx, node, f"`destination.port` condition: {problem}; {REJECTED}.")


RULE = Rule(
    code="invalid-port",
    severity=Severity.ERROR,
    summary="A port number is outside 1..65535 (or the range the field allows).",
    doc=DOC,
    local=check,
    kinds=(*FIELDS, "PeerAuthentication"),
    istio_codes=("IST0106", "IST0133"),
)
