"""workloadgroup-service-account-not-found: a WorkloadGroup's VMs run as a service account its namespace lacks."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity, replace_fixes
from istio_lsp.checks.pods import service_accounts
from istio_lsp.checks.suggest import close_matches
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import WorkloadGroup

DOC = """\
A WorkloadGroup's `template.serviceAccount` names a service account that neither a
ServiceAccount manifest nor a workload of its namespace shows, in a namespace whose
identities the workspace does show (it declares ServiceAccounts there, or runs workloads
under named ones).

## Why it matters

A VM joining the mesh through the group gets a certificate for the identity
`spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccount>`, and the token it bootstraps
with must belong to that service account: a misspelt or missing account stops the VM
from joining, and AuthorizationPolicies written for the intended identity never match it.

## How sure it is

**Information** always: service accounts are often created by another repository, a
chart or the cluster's automation. Not reported when the namespace is known only at deploy
time, when the files place no identity in the namespace itself (resources whose namespace is
set at deploy time prove nothing about it), or for placeholders.

## Wrong

```yaml
kind: ServiceAccount
metadata: {name: billing-vm, namespace: billing}
---
kind: WorkloadGroup
metadata: {name: billing-vms, namespace: billing}
spec:
  template:
    serviceAccount: billing-mv
```

## Right

```yaml
  template:
    serviceAccount: billing-vm
```

## Fixes

**Did you mean `x`?** for a known service account of a close name.

Related: Kiali KIA1701.
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for group in summary.resources:
        if not isinstance(group, WorkloadGroup) or group.service_account is None:
            continue
        account, namespace = group.service_account, group.namespace
        if namespace in ("", ANY_NAMESPACE) or is_placeholder(account.value):
            continue
        known = service_accounts(ctx.index, namespace)
        if known is None or account.value in known or not _shows_identities(ctx.index, namespace):
            continue  # a placeholder among them, the account exists, or the files show no identity of it
        shown = ", ".join(f"`{a}`" for a in sorted(known))
        close = close_matches(account.value, sorted(known - {"default"}))
        hint = f" Did you mean `{close[0]}`?" if close else ""
        yield ctx.finding(
            RULE,
            group,
            account.span,
            f"No ServiceAccount or workload of namespace `{namespace}` shows the service account `{account.value}` "
            f"(the workspace shows {shown}): the VMs of this group would join as an identity that may not exist, "
            f"and policies written for the intended one do not match them. It may be created elsewhere.{hint}",
            fixes=replace_fixes(group.uri, account, close),
        )


def _shows_identities(index: WorkspaceIndex, namespace: str) -> bool:
    """Whether the files place a ServiceAccount, or a workload running as a named one, in the namespace itself
    (those of a namespace set at deploy time may be anywhere: they prove nothing about this one)."""
    return any(r.namespace == namespace for r in index.of_kind(namespace, "ServiceAccount")) or any(
        w.namespace == namespace and w.service_account is not None for w in index.workloads_in(namespace)
    )


RULE = Rule(
    code="workloadgroup-service-account-not-found",
    severity=Severity.INFORMATION,
    summary="A WorkloadGroup's VMs run as a service account its namespace does not show",
    doc=DOC,
    run=run,
    kiali_codes=("KIA1701",),
)
