"""authorization-principal-not-found: an AuthorizationPolicy principal no service account of the workspace has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit, close_matches, likely_typo
from istio_lsp.checks.pods import service_accounts
from istio_lsp.checks.security._authorization import authorization_policies, judged_values, outcome
from istio_lsp.index import FileSummary
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import Ref, RuleValue, SelectorPolicy, Workload

DOC = """\
An AuthorizationPolicy's `from.source.principals` (or `notPrincipals`, `serviceAccounts`,
`notServiceAccounts`) names a service account that no workload of its namespace runs as,
where the workspace holds that namespace's workloads. A principal is the caller's SPIFFE
identity without `spiffe://`: `<trust domain>/ns/<namespace>/sa/<service account>`, with
at most one `*`, at its start or its end.

The service accounts of a namespace are those its `ServiceAccount` manifests declare,
those its pod templates name (`serviceAccountName`, or the older `serviceAccount`), and
`default`, which every namespace has and pods run as when they name none.

Also reported: a trust domain one typing mistake away from `cluster.local`
(`cluster.locl/ns/…`). Istio reads `cluster.local` in a policy as the mesh's own trust
domain, whatever it is set to; any other trust domain matches only callers whose identity
carries exactly that one.

## Why it matters

The policy compares the caller's identity with the principal. No workload has an identity
with a service account that does not exist, so the entry matches no request: an ALLOW rule
that needs it lets no one in (the callers meant are refused with `403 RBAC: access
denied`), a DENY rule that needs it denies nothing, and in `notPrincipals` it excludes no
one, so the rule also applies to the caller meant to be left out.

## How sure it is

| situation | severity |
|---|---|
| a trust domain one typing mistake away from `cluster.local` | warning |
| the namespace's workloads are in the workspace, none runs as the account | information |
| the workspace holds no workload of that namespace | not reported |
| another trust domain (a federated mesh, a mesh with its own) | not reported |
| a pattern that leaves the namespace open (`*/sa/frontend`) | not reported |

Information, because the account and its pods may be deployed from elsewhere (an add-on,
another repository) into a namespace the workspace otherwise holds.

## Wrong

```yaml
kind: Deployment
metadata: {name: frontend, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: frontend
---
kind: AuthorizationPolicy
metadata: {name: allow-frontend, namespace: shop}
spec:
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/shop/sa/frontnd"]
```

## Right

```yaml
        principals: ["cluster.local/ns/shop/sa/frontend"]
```

## Fixes

**Did you mean `x`?** replaces the service account with a close one of the namespace;
**Use `cluster.local`** replaces a mistyped trust domain.

Related: Kiali KIA0106 (principal not found) and KIA0108 (unknown trust domain).
"""

CLUSTER_LOCAL = "cluster.local"  # in a policy: the mesh's own trust domain, whatever it is set to
_EXACT = re.compile(r"(?P<td>[^/*]+)/ns/(?P<ns>[^/*]+)/sa/(?P<sa>[^/*]+)")
_ENDING = re.compile(r"/ns/(?P<ns>[^/*]+)/sa/(?P<sa>[^/*]+)$")  # after a leading `*`
_STARTING = re.compile(r"(?P<td>[^/*]+)/ns/(?P<ns>[^/*]+)/sa/(?P<sa>[^/*]*)")  # before a trailing `*`


@dataclass(frozen=True)
class _Identity:
    trust_domain: str | None  # None: left open by a leading `*`, or not part of the field
    namespace: str
    account: str  # the service account, or its start when `prefix`
    prefix: bool = False


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    keys = ("principals", "notPrincipals", "serviceAccounts", "notServiceAccounts")
    seen: dict[str, set[str] | None] = {}  # namespace → its service accounts
    for policy in authorization_policies(summary):
        for item in judged_values(policy, *keys):
            identity = _identity(item, policy.namespace)
            if identity is None:
                continue
            if identity.trust_domain not in (None, CLUSTER_LOCAL):
                if _mistyped(identity.trust_domain):
                    yield _trust_domain_finding(ctx, policy, item, identity.trust_domain)
                continue
            if identity.namespace == ANY_NAMESPACE or is_placeholder(identity.namespace):
                continue
            pods = [w for w in ctx.index.workloads_in(identity.namespace) if w.namespace == identity.namespace]
            if identity.namespace not in seen:
                seen[identity.namespace] = service_accounts(ctx.index, identity.namespace)
            accounts = seen[identity.namespace]
            if not pods or accounts is None or _matches(identity, accounts):
                continue
            yield _account_finding(ctx, policy, item, identity, pods, sorted(accounts))


def _identity(item: RuleValue, policy_namespace: str) -> _Identity | None:
    """The namespace and service account a value names; None when it leaves the namespace open or is no
    identity of a Kubernetes service account (`*`, a custom SPIFFE id)."""
    value = item.value.value.strip()
    if item.key in ("serviceAccounts", "notServiceAccounts"):  # `name` (the policy's namespace) or `ns/name`
        namespace, slash, name = value.rpartition("/")
        return _Identity(None, namespace if slash else policy_namespace, name) if "*" not in value else None
    if value.startswith("*"):
        found = _ENDING.search(value[1:])
        return _Identity(None, found["ns"], found["sa"]) if found else None
    if value.endswith("*"):
        found = _STARTING.fullmatch(value[:-1])
        return _Identity(found["td"], found["ns"], found["sa"], prefix=True) if found else None
    found = _EXACT.fullmatch(value)
    return _Identity(found["td"], found["ns"], found["sa"]) if found else None


def _mistyped(trust_domain: str) -> bool:
    """A trust domain one typing mistake away from `cluster.local` in one of its two labels (`cluster.locl`,
    `clustr.local`); `mycluster.local` and `prod.example` are trust domains of their own."""
    labels = trust_domain.lower().split(".")
    if len(labels) != 2:
        return False
    wrong = [(want, got) for want, got in zip(CLUSTER_LOCAL.split("."), labels, strict=True) if want != got]
    return len(wrong) == 1 and likely_typo(*wrong[0])


def _matches(identity: _Identity, accounts: set[str]) -> bool:
    if identity.prefix:
        return any(a.startswith(identity.account) for a in accounts)
    return identity.account in accounts


def _account_finding(
    ctx: Context,
    policy: SelectorPolicy,
    item: RuleValue,
    identity: _Identity,
    pods: list[Workload],
    accounts: list[str],
) -> Finding:
    ns, account = identity.namespace, identity.account
    suggestions = [] if identity.prefix else close_matches(account, accounts)
    named = f"a service account starting with `{account}`" if identity.prefix else f"the service account `{account}`"
    hint = f" Did you mean `{suggestions[0]}`?" if suggestions else ""
    shown = ", ".join(f"`{a}`" for a in accounts[:5]) + (", …" if len(accounts) > 5 else "")
    return ctx.finding(
        RULE,
        policy,
        item.value.span,
        f"No workload or ServiceAccount of namespace `{ns}`, whose workloads the workspace holds, has {named} (the "
        f"namespace shows {shown}). Unless it is created elsewhere, this `{item.key}` entry matches no caller: "
        f"{outcome(policy, item.key)}.{hint}",
        related=[Related(w.uri, w.name_span, f"{w.display} runs as `{_runs_as(w)}`") for w in pods[:3]],
        fixes=[
            _replace(policy, item.value, _with_account(item.value.value, s), f"Did you mean `{s}`?", n == 0)
            for n, s in enumerate(suggestions)
        ],
    )


def _trust_domain_finding(ctx: Context, policy: SelectorPolicy, item: RuleValue, trust_domain: str) -> Finding:
    fixed = CLUSTER_LOCAL + item.value.value.strip()[len(trust_domain) :]
    return ctx.finding(
        RULE,
        policy,
        item.value.span,
        f"The trust domain `{trust_domain}` looks like a typing mistake for `{CLUSTER_LOCAL}`, which Istio reads as "
        f"the mesh's own trust domain: as written, this `{item.key}` entry matches only callers of a mesh whose trust "
        f"domain is `{trust_domain}`: {outcome(policy, item.key)}. Write `{CLUSTER_LOCAL}`.",
        severity=Severity.WARNING,
        fixes=[_replace(policy, item.value, fixed, f"Use `{CLUSTER_LOCAL}`", True)],
    )


def _runs_as(workload: Workload) -> str:
    return workload.service_account.value if workload.service_account is not None else "default"


def _with_account(value: str, account: str) -> str:
    """A principal (`…/sa/<name>`) or service account (`ns/<name>`, `<name>`) naming another account."""
    value = value.strip()
    head, separator, _ = value.rpartition("/sa/") if "/sa/" in value else value.rpartition("/")
    return f"{head}{separator}{account}"


def _replace(policy: SelectorPolicy, ref: Ref, value: str, title: str, preferred: bool) -> Fix:
    return Fix(title, (TextEdit(policy.uri, ref.span, f"{ref.quote}{value}{ref.quote}"),), preferred=preferred)


RULE = Rule(
    code="authorization-principal-not-found",
    severity=Severity.INFORMATION,
    summary="An AuthorizationPolicy principal naming a service account no workload of its namespace runs as",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0106", "KIA0108"),
)
