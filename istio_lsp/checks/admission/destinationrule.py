"""DestinationRule admission rules: the host, the subsets, exportTo with a workloadSelector,
and the shape of each traffic policy (what Istio's `ValidateDestinationRule` checks first)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._drgw_helpers import is_networking, listing, replace_scalar_fix, traffic_policies
from istio_lsp.checks.admission.common import dns1123_label_problem, fqdn_problem, is_ip, wildcard_domain_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, is_set, is_set_at, set_keys, set_text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import PathSegment, get, items, scalar

REJECTED = "Istio's webhook rejects the DestinationRule"

# ---- invalid-destinationrule-host ---------------------------------------------------

HOST_DOC = """\
The DestinationRule's `host` is missing, empty or not a host name Istio accepts.

Checklist row (§2 DestinationRule): `host` is a valid wildcard domain (short names allowed).

## Why it matters

`kubectl apply` fails: the admission webhook requires `host` to be a DNS name made of
DNS-1123 labels (letters, digits and `-`), optionally starting with a `*` label, and
with a top-level label that is not all digits. Short names such as `reviews` are fine:
they are expanded with the DestinationRule's namespace. An IP address is not accepted,
and neither is a URL, a `host:port` pair or a name with `_`.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: reviews_v2.default.svc.cluster.local   # `_` is not allowed
```

## Right

```yaml
kind: DestinationRule
spec:
  host: reviews.default.svc.cluster.local
```

## Fixes

Write the name of the Service or ServiceEntry host the policy is for: a short name, a
fully qualified name, or a wildcard such as `*.example.com`.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check_host(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    node = ctx.at("spec.host")
    if node is None:
        if ctx.spec is not None:
            yield ctx.finding(
                HOST_RULE.code,
                HOST_RULE.severity,
                "spec",
                f"The DestinationRule has no `host`: {REJECTED} (an empty host is not a domain name).",
                key=True,
            )
        return
    host = scalar(node)
    if not host:
        yield ctx.finding(HOST_RULE.code, HOST_RULE.severity, node, f"`host` is empty: {REJECTED}.")
        return
    problem = wildcard_domain_problem(host)
    if problem is not None:
        yield ctx.finding(HOST_RULE.code, HOST_RULE.severity, node, f"Invalid host: {problem}. {REJECTED}.")


HOST_RULE = Rule(
    code="invalid-destinationrule-host",
    severity=Severity.ERROR,
    summary="A DestinationRule's host is missing or not a valid (wildcard) domain name.",
    doc=HOST_DOC,
    local=check_host,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)

# ---- invalid-subset -------------------------------------------------------------------

SUBSET_DOC = """\
A DestinationRule subset is null, has no name, a name that is not a DNS-1123 label, or
the same name as another subset of the rule.

Checklist rows (§2 DestinationRule): subsets: none may be null; names must be unique;
name is a DNS-1123 label (and not empty).

## Why it matters

`kubectl apply` fails. Subset names end up in Envoy cluster names
(`outbound|9080|v1|reviews.default.svc.cluster.local`), so Istio only accepts DNS-1123
labels: letters, digits and `-`, starting and ending with a letter or digit, at most 63
characters. Version numbers with dots (`1.0`) or underscores are the usual mistake. Two
subsets with one name would make the routes to that name ambiguous.

Subset *labels* are checked by `invalid-labels`.

## Wrong

```yaml
subsets:
- name: v1.0
  labels: {version: "1.0"}
- name: v1.0
  labels: {version: "1.1"}
```

## Right

```yaml
subsets:
- name: v1-0
  labels: {version: "1.0"}
- name: v1-1
  labels: {version: "1.1"}
```

## Fixes

- **Rename the subset to `x`**: replaces the characters Istio does not accept with `-`.
  Routes that name the old subset must be renamed too, so this fix is never applied
  automatically.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def _label_like(name: str) -> str | None:
    """A DNS-1123 label close to `name`, for the rename fix."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in name.lower())
    cleaned = cleaned.strip("-")[:63].strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned or None


def check_subsets(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    rule = SUBSET_RULE
    seen: dict[str, int] = {}
    for index, subset in enumerate(ctx.list_at("spec.subsets")):
        path: list[PathSegment] = ["spec", "subsets", index]
        if absent(subset):
            yield ctx.finding(rule.code, rule.severity, path, f"Subset {index + 1} is null: {REJECTED}.")
            continue
        if not isinstance(subset, MappingNode):
            continue  # a wrong shape is the schema check's to report
        name_node = get(subset, "name")
        name = scalar(name_node)
        if not name:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "name"] if name_node is not None else path,
                f"Subset {index + 1} has no name: {REJECTED}, and no route could select it.",
            )
            continue
        # Istio's label check accepts upper case (`V1`), unlike Kubernetes' own
        if dns1123_label_problem(name.lower()) is not None and name_node is not None:
            fixes: list[Fix] = []
            suggestion = _label_like(name)
            if suggestion and suggestion != name:
                fix = replace_scalar_fix(ctx, name_node, suggestion, f"Rename the subset to `{suggestion}`", safe=False)
                fixes = [fix] if fix else []
            yield ctx.finding(
                rule.code,
                rule.severity,
                name_node,
                f"Subset name `{name}` is not a DNS-1123 label (letters, digits and `-`, starting and ending "
                f"with a letter or digit, at most 63 characters): {REJECTED}.",
                fixes=fixes,
            )
        if name in seen and name_node is not None:
            yield ctx.finding(
                rule.code,
                rule.severity,
                name_node,
                f"Subset name `{name}` is already used by subset {seen[name] + 1}: {REJECTED} "
                f"(duplicate subset names).",
            )
        else:
            seen.setdefault(name, index)


SUBSET_RULE = Rule(
    code="invalid-subset",
    severity=Severity.ERROR,
    summary="A DestinationRule subset is null, unnamed, badly named, or named like another subset.",
    doc=SUBSET_DOC,
    local=check_subsets,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)

# ---- workload-selector-export-to ------------------------------------------------------

EXPORT_DOC = """\
A DestinationRule with a `workloadSelector` is exported beyond its own namespace, or
lists more than one `exportTo` entry.

Checklist row (§2 DestinationRule): a DR with `workloadSelector` can only export to its
own namespace, with a single entry.

## Why it matters

`kubectl apply` fails. A `workloadSelector` makes the DestinationRule apply only to the
selected workloads of its own namespace, so exporting it elsewhere has no meaning and
Istio refuses it. The only accepted `exportTo` is the own namespace, written `.` or by
name, alone (or no `exportTo` at all).

The values of `exportTo` themselves (`.`, `*`, namespace names, duplicates) are checked
by `invalid-export-to`.

## Wrong

```yaml
kind: DestinationRule
metadata: {name: payments-egress-tls, namespace: shop}
spec:
  host: payments.example.com
  workloadSelector:
    matchLabels: {app: checkout}
  exportTo: ["*"]
```

## Right

```yaml
spec:
  host: payments.example.com
  workloadSelector:
    matchLabels: {app: checkout}
  exportTo: ["."]
```

## Fixes

Remove `exportTo`, or set it to `["."]`.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""

_OWN = "\0own"  # the DestinationRule's own namespace, however it is written


def check_export(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    spec = ctx.spec
    if not is_set(get(spec, "workloadSelector")):
        return
    explicit = ctx.resource.namespace_explicit
    namespace = ctx.resource.namespace
    keys: set[str] = set()
    for entry in items(get(spec, "exportTo")):
        value = scalar(entry)
        if value is None:
            continue
        if value == "." or (explicit and value == namespace):
            keys.add(_OWN)
        elif value == "*" or dns1123_label_problem(value.lower()) is None:
            keys.add(value)  # invalid entries are invalid-export-to's, and Istio skips them here
    if not keys:
        return
    others = keys - {_OWN}
    if not explicit and "*" not in others and others:
        return  # a named namespace might be the one the file is applied to
    rule = EXPORT_RULE
    if _OWN in keys and others:
        message = (
            f"A DestinationRule with a workloadSelector can list only its own namespace in exportTo, "
            f"not also {listing(sorted(others))}: {REJECTED}."
        )
    elif _OWN not in keys:
        message = (
            f"A DestinationRule with a workloadSelector cannot be exported beyond its own namespace "
            f"(exportTo {listing(sorted(others))}): {REJECTED}. Use `.` or drop exportTo."
        )
    else:
        return
    yield ctx.finding(rule.code, rule.severity, "spec.exportTo", message, key=True)


EXPORT_RULE = Rule(
    code="workload-selector-export-to",
    severity=Severity.ERROR,
    summary="A DestinationRule with a workloadSelector is exported beyond its own namespace.",
    doc=EXPORT_DOC,
    local=check_export,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)

# ---- invalid-traffic-policy -----------------------------------------------------------

POLICY_DOC = """\
A traffic policy of a DestinationRule (top level, a subset's, or a `portLevelSettings`
entry) has no setting at all, combines `tunnel` with `proxyProtocol`, has an invalid
`tunnel`, or a port-level entry without a port.

Checklist rows (§2 DestinationRule):

- a `trafficPolicy` (top or subset) that is present but has no field set;
- `tunnel` and `proxyProtocol` set together;
- `tunnel.protocol` is `CONNECT` or `POST` (or empty);
- `tunnel.targetHost` is an FQDN or an IP (and is set); `tunnel.targetPort` is set (its
  range is `invalid-port`'s);
- portLevelSettings: an entry is not null, has a `port`, and sets at least one of
  `outlierDetection`, `connectionPool`, `loadBalancer` or `tls`.

## Why it matters

`kubectl apply` fails on each of these. An empty `trafficPolicy: {}` is usually a
leftover of deleted settings, or settings indented one level too deep. A port-level
entry applies only to the port it names, so without `port` it could not apply anywhere.

## Wrong

```yaml
spec:
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {}
```

## Right

```yaml
spec:
  host: reviews
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: v1
    labels: {version: v1}
```

## Fixes

Remove the empty policy, or put the intended settings under it. For `tunnel`, give
`targetHost` (a DNS name or an IP) and `targetPort`, and use `CONNECT` or `POST`.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""

_POLICY_FIELDS = (
    "connectionPool",
    "loadBalancer",
    "outlierDetection",
    "tls",
    "portLevelSettings",
    "tunnel",
    "proxyProtocol",
    "retryBudget",
)
_PORT_POLICY_FIELDS = ("outlierDetection", "connectionPool", "loadBalancer", "tls")


def check_policies(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    rule = POLICY_RULE
    for policy in traffic_policies(ctx):
        node = policy.node
        if policy.port_level:
            if not is_set(get(node, "port")):
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    policy.path,
                    f"A portLevelSettings entry needs `port` (the port it applies to): {REJECTED}.",
                )
            if not set_keys(node, *_PORT_POLICY_FIELDS):
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    policy.path,
                    f"This portLevelSettings entry sets none of {listing(list(_PORT_POLICY_FIELDS))}: {REJECTED}.",
                )
            continue
        if not set_keys(node, *_POLICY_FIELDS):
            yield ctx.finding(
                rule.code,
                rule.severity,
                policy.path,
                f"This trafficPolicy sets nothing (a traffic policy needs at least one setting): {REJECTED}.",
                key=True,
            )
            continue
        for index, setting in enumerate(items(get(node, "portLevelSettings"))):
            if absent(setting):
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    [*policy.path, "portLevelSettings", index],
                    f"portLevelSettings entry {index + 1} is null: {REJECTED}.",
                )
        tunnel = get(node, "tunnel")
        if is_set(tunnel) and is_set(get(node, "proxyProtocol")):
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*policy.path, "proxyProtocol"],
                f"`tunnel` and `proxyProtocol` cannot be set together: {REJECTED}.",
                key=True,
            )
        if isinstance(tunnel, MappingNode):
            yield from _tunnel(ctx, [*policy.path, "tunnel"], tunnel)


def _tunnel(ctx: DocumentContext, path: list[PathSegment], tunnel: MappingNode) -> Iterator[Finding]:
    rule = POLICY_RULE
    protocol = set_text(tunnel, "protocol")
    if protocol is not None and protocol not in ("CONNECT", "POST"):
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "protocol"],
            f"Tunnel protocol `{protocol}` is neither `CONNECT` nor `POST`: {REJECTED}.",
        )
    host = set_text(tunnel, "targetHost")
    if host is None:
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "targetHost"] if get(tunnel, "targetHost") is not None else path,
            f"The tunnel has no `targetHost`: {REJECTED}.",
            key=get(tunnel, "targetHost") is None,
        )
    elif fqdn_problem(host) is not None and not is_ip(host):
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "targetHost"],
            f"Tunnel targetHost `{host}` is neither a DNS name nor an IP address: {REJECTED}.",
        )
    if not is_set_at(tunnel, "targetPort"):
        yield ctx.finding(
            rule.code,
            rule.severity,
            path,
            f"The tunnel has no `targetPort`: {REJECTED}.",
            key=True,
        )


POLICY_RULE = Rule(
    code="invalid-traffic-policy",
    severity=Severity.ERROR,
    summary="A DestinationRule traffic policy is empty, mixes tunnel and proxyProtocol, "
    "or has an invalid tunnel or port-level entry.",
    doc=POLICY_DOC,
    local=check_policies,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)

RULES = (HOST_RULE, SUBSET_RULE, EXPORT_RULE, POLICY_RULE)
