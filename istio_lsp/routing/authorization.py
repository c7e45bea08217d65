"""Whether Istio's AuthorizationPolicies let a request into a workload, as its sidecar's RBAC filters decide.

The policies that apply to a workload: those of the root namespace and of its own namespace, without a
`selector` or with one its pod labels carry (`targetRefs` policies attach to gateways and waypoints, not
sidecars). Istio runs CUSTOM first (an external authorizer: the files cannot say what it answers), then
DENY (a matching rule refuses with 403), then ALLOW (when any ALLOW policy applies, some rule must match,
else 403); AUDIT only logs. A rule matches when one of its `from` sources, one of its `to` operations and
all its `when` conditions do; a field it does not write takes everything. What the request does not carry
(a JWT's claims, the client's IP, the caller's identity when the source is not a known workload) is
unknown, and so is a decision that hangs on it: the trace then says so rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from istio_lsp.checks.namespaces import pattern_matches
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.resources import SelectorPolicy, Workload
from istio_lsp.syntax import MappingNode, Node, Span, YamlDocument
from istio_lsp.syntax.nodes import get, items, pairs, scalar

Tri = bool | None  # True, False, or None: the files cannot tell


@dataclass(frozen=True)
class Caller:
    """Who sends the request, as the destination's sidecar sees it (None: not known)."""

    namespace: str | None
    principal: str | None  # `<trust domain>/ns/<namespace>/sa/<service account>`, from the mTLS certificate
    external: bool = False  # a client outside the mesh (at an ingress gateway): no peer identity at all


@dataclass(frozen=True)
class Request:
    """What of the request the RBAC filter reads (after the route's rewrites)."""

    method: str
    host: str  # the authority, without the port
    authority: str  # with the port when it is not the scheme's default
    path: str
    port: int | None  # the destination port
    headers: dict[str, str]


@dataclass(frozen=True)
class Decision:
    allowed: Tri
    reason: str
    policy: SelectorPolicy | None = None
    span: Span | None = None  # the deciding rule, or the policy


def applicable(index: WorkspaceIndex, workload: Workload) -> list[SelectorPolicy]:
    """The AuthorizationPolicies that apply to a workload's sidecar."""
    root = index.settings.root_namespace
    found: list[SelectorPolicy] = []
    for namespace in dict.fromkeys((workload.namespace, root)):
        for policy in _policies(index, namespace):
            if policy.targeted:
                continue
            mesh_wide = policy.namespace == root
            if not mesh_wide and not namespaces_match(policy.namespace, workload.namespace):
                continue
            selector = policy.selector or {}
            if all(workload.pod_labels.get(k) == v for k, v in selector.items()) and policy not in found:
                found.append(policy)
    return found


def _policies(index: WorkspaceIndex, namespace: str) -> Iterator[SelectorPolicy]:
    """Istio's AuthorizationPolicies (`security.istio.io`) that may be placed in a namespace."""
    for policy in index.of_kind(namespace, "AuthorizationPolicy"):
        if isinstance(policy, SelectorPolicy) and policy.api_version.startswith("security.istio.io/"):
            yield policy


def attached_to_gateway(index: WorkspaceIndex, namespace: str, name: str) -> list[SelectorPolicy]:
    """The AuthorizationPolicies whose `targetRefs` name a Gateway API Gateway: those its pods enforce."""
    found: list[SelectorPolicy] = []
    for policy in _policies(index, namespace):
        if not namespaces_match(policy.namespace, namespace):
            continue
        names = {
            ref.name.value
            for ref in policy.target_refs
            if ref.kind == "Gateway" and ref.group == "gateway.networking.k8s.io" and ref.name is not None
        }
        if name in names and policy not in found:
            found.append(policy)
    return found


def decide(
    policies: Iterable[tuple[SelectorPolicy, YamlDocument, MappingNode]], request: Request, caller: Caller
) -> Decision | None:
    """Istio's decision for the request under the policies (their parse trees given); None when none applies."""
    by_action: dict[str, list[tuple[SelectorPolicy, YamlDocument, MappingNode]]] = {}
    for entry in policies:
        by_action.setdefault((entry[0].action or "ALLOW").upper(), []).append(entry)
    if not by_action:
        return None
    hit, maybe = _scan(by_action.get("CUSTOM", []), request, caller)
    custom = maybe or hit  # the first rule that is not known not to match
    if custom is not None:
        return custom.decision(
            None, "(CUSTOM) {} sends the request to its external authorizer, whose answer the files cannot show"
        )
    hit, maybe = _scan(by_action.get("DENY", []), request, caller)
    if hit is not None:
        return hit.decision(False, "(DENY) {} matches: 403")
    unsure = maybe.decision(None, "(DENY) {} may match: it reads what the request does not show") if maybe else None
    allow = by_action.get("ALLOW", [])
    if not allow:
        return unsure or Decision(True, "no ALLOW policy applies: allowed")
    hit, maybe = _scan(allow, request, caller)
    if hit is not None:
        return unsure or Decision(True, f"allowed by {hit.policy.display} rule #{hit.index}", hit.policy, hit.span)
    if maybe is not None:
        return unsure or maybe.decision(None, "(ALLOW) {} may match: it reads what the request does not show")
    # no ALLOW rule can match: refused, whatever a DENY rule that may match would do
    names = ", ".join(p.display for p, _, _ in allow)
    first = allow[0][0]
    return Decision(
        False,
        f"ALLOW policies apply ({names}) and none of their rules matches: 403 (RBAC: access denied)",
        first,
        first.name_span,
    )


@dataclass(frozen=True)
class _Hit:
    """A rule of a policy that matches the request (or may)."""

    policy: SelectorPolicy
    index: int
    span: Span

    def decision(self, allowed: Tri, text: str) -> Decision:
        """`text` with `{}` for the rule, after the policy's name."""
        return Decision(allowed, f"{self.policy.display} " + text.format(f"rule #{self.index}"), self.policy, self.span)


def _scan(
    entries: list[tuple[SelectorPolicy, YamlDocument, MappingNode]], request: Request, caller: Caller
) -> tuple[_Hit | None, _Hit | None]:
    """The first rule of the policies that matches the request, and the first that may before it."""
    maybe: _Hit | None = None
    for policy, doc, node in entries:
        for i, rule in _rules(node):
            matched = rule_matches(rule, request, caller)
            if matched:
                return _Hit(policy, i, doc.span_of(rule)), maybe
            if matched is None and maybe is None:
                maybe = _Hit(policy, i, doc.span_of(rule))
    return None, maybe


def _rules(node: MappingNode) -> list[tuple[int, Node]]:
    return list(enumerate(items(get(get(node, "spec"), "rules"))))


def rule_matches(rule: Node, request: Request, caller: Caller) -> Tri:
    """Whether a rule takes the request: one `from` source, one `to` operation and every `when` condition."""
    if not isinstance(rule, MappingNode):
        return None
    parts: list[Tri] = []
    sources = [get(item, "source") for item in items(get(rule, "from"))]
    if get(rule, "from") is not None:
        parts.append(_any(_source(s, request, caller) for s in sources))
    operations = [get(item, "operation") for item in items(get(rule, "to"))]
    if get(rule, "to") is not None:
        parts.append(_any(_operation(o, request) for o in operations))
    parts += [_condition(c, request, caller) for c in items(get(rule, "when"))]
    return _all(parts)


def _source(node: Node | None, request: Request, caller: Caller) -> Tri:
    service_account = None
    if caller.principal is not None and "/sa/" in caller.principal:
        service_account = f"{caller.namespace}/{caller.principal.rsplit('/sa/', 1)[1]}"
    jwt = "authorization" in request.headers
    readings: dict[str, str | None] = {
        "principals": caller.principal,
        "namespaces": caller.namespace,
        "serviceAccounts": service_account,
    }
    parts: list[Tri] = []
    for key, value in pairs(node):
        name = str(key.value)
        positive = name.removeprefix("not")
        positive = positive[0].lower() + positive[1:] if positive else positive
        values = [v for v in (scalar(i) for i in items(value)) if v is not None]
        if positive in readings:
            got = readings[positive]
            found: Tri = None if got is None else any(pattern_matches(v, got) for v in values)
            if caller.external:  # no mTLS peer: no principal or namespace to match, not even `*`
                found = False
        elif positive == "requestPrincipals":
            found = None if jwt else False  # without a token there is no request principal
        else:  # ipBlocks, remoteIpBlocks: the client's address is not known
            found = None
        parts.append(_negate(found) if name.startswith("not") else found)
    return _all(parts)


def _operation(node: Node | None, request: Request) -> Tri:
    parts: list[Tri] = []
    for key, value in pairs(node):
        name = str(key.value)
        values = [v for v in (scalar(i) for i in items(value)) if v is not None]
        positive = name.removeprefix("not").lower()
        found: Tri
        if positive == "hosts":
            found = any(pattern_matches(v.lower(), h) for v in values for h in (request.host, request.authority))
        elif positive == "methods":
            found = any(pattern_matches(v, request.method) for v in values)
        elif positive == "paths":
            found = None if any("{" in v for v in values) else any(pattern_matches(v, request.path) for v in values)
        elif positive == "ports":
            found = None if request.port is None else str(request.port) in values
        else:
            found = None
        parts.append(_negate(found) if name.startswith("not") else found)
    return _all(parts)


def _condition(node: Node, request: Request, caller: Caller) -> Tri:
    key = (scalar(get(node, "key")) or "").strip()
    values = [v for v in (scalar(i) for i in items(get(node, "values"))) if v is not None]
    not_values = [v for v in (scalar(i) for i in items(get(node, "notValues"))) if v is not None]
    got: str | None
    if key.startswith("request.headers[") and key.endswith("]"):
        got = request.headers.get(key[len("request.headers[") : -1].lower())
        if got is None:  # an absent header matches no value, and every notValue
            return not values
    elif key in ("source.namespace", "source.principal") and caller.external:
        return False if values else None
    elif key == "source.namespace":
        got = caller.namespace
    elif key == "source.principal":
        got = caller.principal
    elif key == "destination.port":
        got = None if request.port is None else str(request.port)
    elif key.startswith("request.auth.") and "authorization" not in request.headers:
        return False if values else None  # no token: no claims
    else:
        return None  # source.ip, remote.ip, destination.ip, connection.sni, claims of a token, experimental keys
    if got is None:
        return None
    parts: list[Tri] = []
    if values:
        parts.append(any(pattern_matches(v, got) for v in values))
    if not_values:
        parts.append(not any(pattern_matches(v, got) for v in not_values))
    return _all(parts)


def _negate(value: Tri) -> Tri:
    return None if value is None else not value


def _all(values: Iterable[Tri]) -> Tri:
    seen = list(values)
    if any(v is False for v in seen):
        return False
    return None if any(v is None for v in seen) else True


def _any(values: Iterable[Tri]) -> Tri:
    seen = list(values)
    if any(v is True for v in seen):
        return True
    return None if any(v is None for v in seen) else False


def caller_of(source_namespace: str, workload: Workload | None, trust_domain: str) -> Caller:
    """The caller a sidecar's request carries: its namespace, and its principal when the workload is known
    (its service account, `default` when it names none)."""
    namespace = None if source_namespace == ANY_NAMESPACE else source_namespace
    if workload is None or namespace is None:
        return Caller(namespace, None)
    account = workload.service_account.value if workload.service_account is not None else "default"
    return Caller(namespace, f"{trust_domain}/ns/{namespace}/sa/{account}")
