"""AuthorizationPolicy admission rules (`ValidateAuthorizationPolicy`, `pkg/config/security`).

The selector's labels and an empty selector are the generic rules'
(`invalid-selector`, `empty-selector`); here: what the policy targets, its action
and provider, and its rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from istio_lsp.checks.admission._se_security import Path, did_you_mean, ip_or_cidr_problem, target_selection_findings
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import count, distinct_items, is_empty_list, present, scalar_items_or_empty, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import get, key_node

SOURCE_FIELDS = (
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "namespaces",
    "notNamespaces",
    "ipBlocks",
    "notIpBlocks",
    "remoteIpBlocks",
    "notRemoteIpBlocks",
    "serviceAccounts",
    "notServiceAccounts",
    "trustDomains",
    "notTrustDomains",
)
# source fields Istio counts as usable on TCP connections (Go's tcpRulesInFrom)
TCP_SOURCE_FIELDS = tuple(f for f in SOURCE_FIELDS if "equestPrincipals" not in f and "rustDomains" not in f)
OPERATION_FIELDS = ("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths")
IP_FIELDS = ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks")
SERVICE_ACCOUNT_FIELDS = ("serviceAccounts", "notServiceAccounts")
TRUST_DOMAIN_FIELDS = ("trustDomains", "notTrustDomains")
CUSTOM_UNSUPPORTED_SOURCE = (
    "namespaces",
    "notNamespaces",
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "serviceAccounts",
    "notServiceAccounts",
    "trustDomains",
    "notTrustDomains",
)
CUSTOM_UNSUPPORTED_KEYS = ("source.namespace", "source.serviceAccount", "source.trustDomain", "source.principal")

# `/*`, `/**`, `*/`, `**/` in a path template (Istio's unsupportedPathTempRegex, less its brace cases)
_GLOB_NEXT_TO_SLASH = re.compile(r"/\*\*?|\*\*?/")
MAX_SERVICE_ACCOUNTS = 16
MAX_SERVICE_ACCOUNT_LENGTH = 320


def _prefix(ctx: DocumentContext) -> str:
    """Istio prefixes every AuthorizationPolicy error with the policy's name."""
    resource = ctx.resource
    return f"invalid policy {resource.name}.{resource.namespace}: "


def _rejected() -> str:
    return "kubectl apply is rejected by Istio's webhook"


def _action(ctx: DocumentContext) -> str:
    return text_or_empty(ctx.spec, "action") or "ALLOW"


def _rules(ctx: DocumentContext) -> list[tuple[int, Node]]:
    rules = get(ctx.spec, "rules")
    return distinct_items(rules)


# ---- invalid-authorization-policy --------------------------------------------------

POLICY_DOC = """\
An AuthorizationPolicy's target, action or provider is not valid.

Checklist rows (§6 AuthorizationPolicy): only one of `selector`, `targetRef` or
`targetRefs`; a target reference has a `name`, no `namespace`, and a kind of
Service, networking.istio.io ServiceEntry, gateway.networking.k8s.io Gateway or
GatewayClass; CUSTOM without `rules`; CUSTOM without `provider.name`; CUSTOM with
source namespaces, principals, service accounts, trust domains or request
principals (or their `not` forms), or with `when` keys source.namespace,
source.serviceAccount, source.trustDomain, source.principal or request.auth.*;
`provider` with an action other than CUSTOM; DENY without `rules`. (A null `when`
entry, which Istio rejects for CUSTOM policies, is reported for every action by
`invalid-authorization-rule`.)

## Why it matters

Istio's webhook rejects each of these. A DENY or CUSTOM policy without `rules`
matches no request, so it would never take effect; the webhook makes you say so
explicitly with an empty rule (`rules: [{}]`, which matches every request). A
CUSTOM policy hands the decision to an external authorizer, which only sees the
attributes Envoy can pass along, not the peer identity.

## Wrong

```yaml
kind: AuthorizationPolicy
spec:
  action: DENY
  selector:
    matchLabels: {app: ratings}
  targetRefs:
  - {kind: Service, name: ratings}
```

## Right

```yaml
kind: AuthorizationPolicy
spec:
  action: DENY
  targetRefs:
  - {kind: Service, name: ratings}
  rules:
  - from:
    - source: {notNamespaces: [bookinfo]}
```
"""


def check_policy(ctx: DocumentContext) -> Iterator[Finding]:
    code = POLICY_RULE.code
    prefix = _prefix(ctx)
    rejected = _rejected()
    yield from target_selection_findings(ctx, code, prefix, rejected)
    spec = ctx.spec
    action = _action(ctx)
    rules_node = get(spec, "rules")
    has_rules = count(rules_node) > 0
    provider = get(spec, "provider")
    if action in ("CUSTOM", "DENY") and not has_rules:
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "rules"] if rules_node is not None else ["spec", "action"],
            f"{prefix}a {action} policy without `rules` never matches a request, so it has no effect; add an "
            f"empty rule `rules: [{{}}]` to apply it to every request; {rejected}.",
            key=rules_node is not None,
        )
    if action == "CUSTOM":
        if has_rules and not text_or_empty(provider, "name"):
            yield ctx.finding(
                code,
                Severity.ERROR,
                ["spec", "provider", "name"],
                f"{prefix}a CUSTOM policy needs `provider.name` (an extension provider of the mesh config); "
                f"{rejected}.",
                key=True,
            )
        yield from _custom_rules(ctx, code, prefix, rejected)
    elif present(provider):
        yield ctx.finding(
            code,
            Severity.ERROR,
            ["spec", "provider"],
            f"{prefix}`provider` is only used with action CUSTOM (the action here is {action}); {rejected}.",
            key=True,
        )


def _custom_rules(ctx: DocumentContext, code: str, prefix: str, rejected: str) -> Iterator[Finding]:
    for i, rule in _rules(ctx):
        for j, entry in distinct_items(get(rule, "from")):
            source = get(entry, "source")
            for name in CUSTOM_UNSUPPORTED_SOURCE:
                if count(get(source, name)) > 0:
                    yield ctx.finding(
                        code,
                        Severity.ERROR,
                        ["spec", "rules", i, "from", j, "source", name],
                        f"{prefix}`{name}` is not supported with action CUSTOM (the external authorizer does not "
                        f"receive the peer identity); {rejected}.",
                        key=True,
                    )
        for j, condition in distinct_items(get(rule, "when")):
            where: Path = ["spec", "rules", i, "when", j]
            key = text_or_empty(condition, "key")
            if key in CUSTOM_UNSUPPORTED_KEYS or key.startswith("request.auth."):
                yield ctx.finding(
                    code,
                    Severity.ERROR,
                    [*where, "key"],
                    f"{prefix}`when` key `{key}` is not supported with action CUSTOM; {rejected}.",
                )


POLICY_RULE = Rule(
    code="invalid-authorization-policy",
    severity=Severity.ERROR,
    summary="An AuthorizationPolicy's target, action, provider or missing rules are rejected by Istio.",
    doc=POLICY_DOC,
    local=check_policy,
    kinds=("AuthorizationPolicy",),
    istio_codes=("IST0106",),
)


# ---- invalid-authorization-rule ----------------------------------------------------

RULE_DOC = """\
A rule of an AuthorizationPolicy has an empty or malformed `from`, `to` or `when`.

Checklist rows (§6 AuthorizationPolicy): a rule is not null; a `when` entry is
not null (the CUSTOM row); `from: []` and `to: []` are errors; each `from` entry
has a non-empty `source`, each `to` entry a non-empty `operation`;
`serviceAccounts` is not combined with `namespaces` or `principals`; IP blocks are
IPs or CIDRs; no empty strings in any list; service accounts are `name` or
`namespace/name`, without wildcards, at most 16 of at most 320 characters; trust
domains have no `/`; path templates (`{*}`, `{**}`) are well formed with `{**}`
the last operator; a `when` condition has a `key` and `values` or `notValues`; the key is one
Istio knows (request.headers[…], source.ip, remote.ip, source.namespace,
source.serviceAccount, source.principal, source.trustDomain,
request.auth.principal/audiences/presenter, request.auth.claims[…],
destination.ip, destination.port, connection.sni, experimental.envoy.filters.*[…]);
destination.namespace, destination.labels, destination.name and destination.user
are rejected with their replacements; bracketed keys have the form `a[b]`; IP
values are valid; a value has at most one `*`, at its start or end. (Port numbers
in `ports`, `notPorts` and `destination.port` values are `invalid-port`'s.)

## Why it matters

Istio's webhook rejects each of these. The subtle ones change what a policy
matches: an empty string never matches anything, and `from: []` or an empty
`source` would read as "any source", so Istio refuses them rather than guess.

## Wrong

```yaml
rules:
- from:
  - source: {namespaces: [""], serviceAccounts: [bookinfo/reviews]}
  to:
  - operation: {ports: ["http"]}
  when:
  - key: destination.labels[app]
    values: [reviews]
```

## Right

```yaml
rules:
- from:
  - source: {serviceAccounts: [bookinfo/reviews]}
  to:
  - operation: {ports: ["9080"]}
```

## Fixes

- **Did you mean `X`?** for a `when` key close to a known one.
"""

KNOWN_KEYS = [
    "request.headers[]",
    "source.ip",
    "remote.ip",
    "source.namespace",
    "source.serviceAccount",
    "source.principal",
    "source.trustDomain",
    "request.auth.principal",
    "request.auth.audiences",
    "request.auth.presenter",
    "request.auth.claims[]",
    "destination.ip",
    "destination.port",
    "connection.sni",
]
_PLAIN_KEYS = {k for k in KNOWN_KEYS if not k.endswith("[]")}
_UNKNOWN = " is not an attribute Istio knows"
_MAP_KEY_PREFIXES = ("request.headers", "request.auth.claims", "experimental.envoy.filters.")
_REPLACED = {
    "destination.namespace": "use the policy's namespace (metadata.namespace) instead",
    "destination.name": "it was only supported by the old v1alpha1 API; use a selector or targetRef",
    "destination.user": "it was only supported by the old v1alpha1 API; use a selector or targetRef",
}


def check_rules(ctx: DocumentContext) -> Iterator[Finding]:
    code = RULE_RULE.code
    prefix = _prefix(ctx)
    rejected = _rejected()

    def error(where: Path | Node, message: str, key: bool = False) -> Finding:
        return ctx.finding(code, Severity.ERROR, where, f"{prefix}{message}; {rejected}.", key=key)

    for i, rule in _rules(ctx):
        here: Path = ["spec", "rules", i]
        if not present(rule):
            yield error(here, f"rule {i} is null")
            continue
        if not isinstance(rule, MappingNode):
            continue
        if is_empty_list(get(rule, "from")):
            yield error([*here, "from"], "`from` is an empty list (leave it out to match any source)", key=True)
        for j, entry in distinct_items(get(rule, "from")):
            yield from _source(ctx, error, [*here, "from", j], entry)
        if is_empty_list(get(rule, "to")):
            yield error([*here, "to"], "`to` is an empty list (leave it out to match any operation)", key=True)
        for j, entry in distinct_items(get(rule, "to")):
            yield from _operation(ctx, error, [*here, "to", j], entry)
        for j, condition in distinct_items(get(rule, "when")):
            yield from _condition(ctx, error, [*here, "when", j], condition)


def _source(ctx: DocumentContext, error: _Error, where: Path, entry: Node) -> Iterator[Finding]:
    if not present(entry):
        yield error(where, "a `from` entry is null")
        return
    source = get(entry, "source")
    if not present(source):
        yield error([*where, "source"], "a `from` entry needs a `source`", key=True)
        return
    at: Path = [*where, "source"]
    if not any(count(get(source, name)) for name in SOURCE_FIELDS):
        yield error(at, "`source` is empty; list the principals, namespaces, IP blocks… it matches", key=True)
    for name in SOURCE_FIELDS:
        yield from _empty_values(error, [*at, name], get(source, name), name)
    if any(present(get(source, n)) for n in SERVICE_ACCOUNT_FIELDS):
        for name in ("principals", "notPrincipals", "namespaces", "notNamespaces"):
            if present(get(source, name)):
                yield error(
                    [*at, name],
                    f"`serviceAccounts` cannot be combined with `{name}` in one source (service accounts already "
                    f"name their namespace)",
                    key=True,
                )
    for name in IP_FIELDS:
        for k, _, value in scalar_items_or_empty(get(source, name)):
            problem = ip_or_cidr_problem(value) if value else None
            if problem is not None:
                yield error([*at, name, k], f"`{name}`: {problem}")
    for name in SERVICE_ACCOUNT_FIELDS:
        values = scalar_items_or_empty(get(source, name))
        if len(values) > MAX_SERVICE_ACCOUNTS:
            yield error([*at, name], f"`{name}` lists {len(values)} values; at most {MAX_SERVICE_ACCOUNTS}", key=True)
        for k, _, value in values:
            problem = _service_account_problem(value) if value else None
            if problem is not None:
                yield error([*at, name, k], f"`{name}`: {problem}")
    for name in TRUST_DOMAIN_FIELDS:
        for k, _, value in scalar_items_or_empty(get(source, name)):
            if "/" in value:
                yield error([*at, name, k], f"`{name}`: trust domain `{value}` cannot contain `/`")


def _service_account_problem(value: str) -> str | None:
    if "*" in value:
        return f"service account `{value}` cannot use wildcards"
    if len(value) > MAX_SERVICE_ACCOUNT_LENGTH:
        return f"service account `{value[:40]}…` is longer than {MAX_SERVICE_ACCOUNT_LENGTH} characters"
    parts = value.split("/")
    if len(parts) > 2 or not all(parts):
        return (
            f"service account `{value}` must be `name` (in the policy's namespace) or `namespace/name`; "
            f"for a SPIFFE identity use `principals`"
        )
    return None


def _operation(ctx: DocumentContext, error: _Error, where: Path, entry: Node) -> Iterator[Finding]:
    if not present(entry):
        yield error(where, "a `to` entry is null")
        return
    operation = get(entry, "operation")
    if not present(operation):
        yield error([*where, "operation"], "a `to` entry needs an `operation`", key=True)
        return
    at: Path = [*where, "operation"]
    if not any(count(get(operation, name)) for name in OPERATION_FIELDS):
        yield error(at, "`operation` is empty; list the hosts, ports, methods or paths it matches", key=True)
    for name in OPERATION_FIELDS:
        yield from _empty_values(error, [*at, name], get(operation, name), name)
    for name in ("paths", "notPaths"):
        for k, _, value in scalar_items_or_empty(get(operation, name)):
            problem = _path_template_problem(value)
            if problem is not None:
                yield error([*at, name, k], f"`{name}`: {problem}")


def _path_template_problem(path: str) -> str | None:
    """Path templates (`/api/{*}/items/{**}`): only `{*}` and `{**}`, `{**}` the last operator, no globs."""
    if "{*}" not in path and "{**}" not in path:
        return None
    bad = f"path template `{path}` is not supported"
    stripped = path.replace("{**}", "").replace("{*}", "")
    if "{" in stripped or "}" in stripped:
        return f"{bad}: only `{{*}}` and `{{**}}` may appear in braces (no named or empty variables)"
    if _GLOB_NEXT_TO_SLASH.search(path):
        return f"{bad}: write `{{*}}` or `{{**}}` instead of `*` globs"
    after = path.partition("{**}")[2]
    if "{**}" in path and ("{*}" in after or "{**}" in after):
        return f"{bad}: `{{**}}` must be the last operator (literal segments may follow it, `{{*}}` may not)"
    return None


def _condition(ctx: DocumentContext, error: _Error, where: Path, condition: Node) -> Iterator[Finding]:
    if not present(condition):
        yield error(where, "a `when` entry is null")
        return
    key = text_or_empty(condition, "key")
    if not key:
        yield error([*where, "key"], "a `when` condition needs a `key`")
        return
    values, not_values = get(condition, "values"), get(condition, "notValues")
    if not count(values) and not count(not_values):
        yield error([*where, "key"], f"`when` key `{key}` needs `values` or `notValues`")
        return
    key_problem = _key_problem(key)
    if key_problem is not None:
        node = get(condition, "key")
        unknown = key_problem.endswith(_UNKNOWN)
        fixes = did_you_mean(ctx, node, sorted(_PLAIN_KEYS)) if node is not None and unknown else []
        yield ctx.finding(
            RULE_RULE.code,
            Severity.ERROR,
            [*where, "key"],
            f"{_prefix(ctx)}{key_problem}; {_rejected()}.",
            fixes=fixes,
        )
        return
    for field in ("values", "notValues"):
        items = scalar_items_or_empty(get(condition, field))
        yield from _empty_values(error, [*where, field], get(condition, field), field)
        for k, _, value in items:
            if not value:
                continue
            problem = _value_problem(key, value)
            if problem is not None:
                yield error([*where, field, k], f"`{field}` of `{key}`: {problem}")


def _key_problem(key: str) -> str | None:
    if key in _PLAIN_KEYS:
        return None
    if key in _REPLACED:
        return f"`when` key `{key}` is not supported: {_REPLACED[key]}"
    if key.startswith("destination.labels"):
        return f"`when` key `{key}` is not supported: select the workloads with `selector` instead"
    for map_prefix in _MAP_KEY_PREFIXES:
        if key.startswith(map_prefix):
            opening = key.find("[")
            if key.endswith("]") and 0 < opening < len(key) - 2:
                return None
            return f"`when` key `{key}` must have the form `name[key]`, e.g. `request.headers[x-user]`"
    return f"`when` key `{key}`{_UNKNOWN}"


def _value_problem(key: str, value: str) -> str | None:
    if key in ("source.ip", "remote.ip", "destination.ip"):
        return ip_or_cidr_problem(value)
    if key == "destination.port":
        return None  # the port numbers are invalid-port's
    if value.count("*") > 1 or ("*" in value and not (value.startswith("*") or value.endswith("*"))):
        return f"`{value}` may hold one `*`, at its start or end only (prefix, suffix or presence match)"
    return None


def _empty_values(error: _Error, where: Path, node: Node | None, name: str) -> Iterator[Finding]:
    for k, _, value in scalar_items_or_empty(node):
        if not value:
            yield error([*where, k], f"`{name}` holds an empty string, which matches nothing")
            return


class _Error(Protocol):
    """The signature of the `error` helper inside check_rules."""

    def __call__(self, where: Path | Node, message: str, key: bool = False) -> Finding: ...


RULE_RULE = Rule(
    code="invalid-authorization-rule",
    severity=Severity.ERROR,
    summary="An AuthorizationPolicy rule has an empty or malformed from, to or when.",
    doc=RULE_DOC,
    local=check_rules,
    kinds=("AuthorizationPolicy",),
    istio_codes=("IST0106",),
)


# ---- deny-policy-blocks-tcp --------------------------------------------------------

TCP_DOC = """\
A DENY rule uses only HTTP attributes, so on TCP ports it matches every
connection and denies all TCP traffic of the workloads in its scope.

Checklist row (§6 AuthorizationPolicy): DENY rule where either `from` exists, `to`
does not, and no TCP-capable source field (principals, namespaces, ipBlocks,
remoteIpBlocks, serviceAccounts, or their `not` forms) is set; or `to` exists
without ports/notPorts (warning).

## Why it matters

On a TCP (non-HTTP) port, Envoy cannot evaluate HTTP attributes such as methods,
paths, hosts or request principals. Istio builds DENY rules conservatively: an
attribute it cannot check counts as matching, so the rule denies every TCP
connection, for example to a database or a TCP-only port of the same workload.
Istio admits the policy with a warning.

## Wrong

```yaml
spec:
  action: DENY
  rules:
  - to:
    - operation: {methods: [DELETE]}
```

## Right

Name the HTTP port the rule is about:

```yaml
spec:
  action: DENY
  rules:
  - to:
    - operation: {methods: [DELETE], ports: ["8080"]}
```
"""


def check_deny_tcp(ctx: DocumentContext) -> Iterator[Finding]:
    if _action(ctx) != "DENY":
        return
    for i, rule in _rules(ctx):
        if not isinstance(rule, MappingNode):
            continue
        sources = [get(e, "source") for _, e in distinct_items(get(rule, "from")) if present(get(e, "source"))]
        operations = [get(e, "operation") for _, e in distinct_items(get(rule, "to")) if present(get(e, "operation"))]
        tcp_from = any(count(get(s, name)) for s in sources for name in TCP_SOURCE_FIELDS)
        tcp_to = any(count(get(o, name)) for o in operations for name in ("ports", "notPorts"))
        if (sources and not operations and not tcp_from) or (operations and not tcp_to):
            where = key_node(rule, "to") if operations else key_node(rule, "from")
            yield ctx.finding(
                TCP_RULE.code,
                Severity.WARNING,
                ctx.node_span(where) if where is not None else ["spec", "rules", i],
                "This DENY rule uses only HTTP attributes, so it denies all traffic to the TCP ports in the "
                "policy's scope; Istio admits it with a warning. Name the port it is about (`ports`).",
            )


TCP_RULE = Rule(
    code="deny-policy-blocks-tcp",
    severity=Severity.WARNING,
    summary="A DENY rule with only HTTP attributes denies all TCP traffic in its scope.",
    doc=TCP_DOC,
    local=check_deny_tcp,
    kinds=("AuthorizationPolicy",),
    istio_codes=("IST0133",),
)


RULES = (POLICY_RULE, RULE_RULE, TCP_RULE)
