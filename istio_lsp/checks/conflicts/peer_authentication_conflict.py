"""peer-authentication-conflict: several PeerAuthentications for the same workloads of one namespace."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.checks.conflicts._one_per_workload import Clash, clashes, finding, is_pod_policy
from istio_lsp.index import FileSummary
from istio_lsp.model.resources import SelectorPolicy

DOC = """\
Two PeerAuthentications apply to the same workloads: both have no `selector` in one
namespace (each claims to be the namespace's policy, or the mesh's in the root
namespace), or their selectors pick the same pods.

## Why it matters

Istio decides what a workload accepts (mTLS `STRICT`, `PERMISSIVE`, `DISABLE`) by
level: the root namespace's PeerAuthentication without selector for the mesh, the
namespace's one without selector, then one whose selector matches the pod, each level
overriding the one before. At each level it takes a single PeerAuthentication: when
two qualify, istiod uses the oldest and ignores the other whole (its mode and its
`portLevelMtls`). Whether the pods refuse plain text then depends on the order the two
were created, and changes when they are re-created.

A PeerAuthentication with a selector in the root namespace is ignored by Istio and not
compared here.

## How sure it is

As for `sidecar-conflict`: reported when the two are in one file or one kustomize
build; information when only a folder joins them; nothing when no build or folder
does, or when their namespaces may differ. The finding is an error when the two say
different things (mode or port-level modes), a warning when they say the same (nothing
differs today, but an edit to the one that does not count has no effect).

## Wrong

```yaml
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
---
kind: PeerAuthentication
metadata: {name: migration, namespace: shop}
spec:
  mtls: {mode: PERMISSIVE}
```

## Right

One PeerAuthentication without selector per namespace (and one in the root namespace
for the mesh); PeerAuthentications with selectors that pick disjoint sets of pods.

## Fixes

None: which mode should apply is for you to decide.

Related: Kiali KIA0002, KIA0003. No `istioctl analyze` equivalent (IST0110/IST0111 are the
Sidecar case).
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    root = ctx.settings.root_namespace
    for policy in summary.resources:
        if not is_pod_policy(policy, "PeerAuthentication") or (policy.namespace == root and policy.selector):
            continue  # Istio ignores a PeerAuthentication with a selector in the root namespace
        found = clashes(ctx.index, policy)
        if not found:
            continue
        alike = all(_settings(c.other) == _settings(policy) for c in found)
        result = finding(ctx, RULE, policy, found, _consequence(policy, found, alike, root))
        if alike and result.severity == Severity.ERROR:
            result.severity = Severity.WARNING
        yield result


def _settings(policy: SelectorPolicy) -> tuple[str, tuple[str, ...]]:
    """What a PeerAuthentication says: its mode (UNSET when not written) and its port-level modes."""
    return ((policy.mtls_mode or "UNSET").upper(), tuple(m.upper() for m in policy.port_mtls_modes))


def _consequence(policy: SelectorPolicy, found: list[Clash], alike: bool, root: str) -> str:
    who = (
        "the mesh takes one PeerAuthentication without selector from the root namespace"
        if policy.namespace == root and not policy.selector
        else "a workload takes one PeerAuthentication per level"
    )
    text = f"{who}, the oldest, and ignores the other whole (its mode and portLevelMtls), "
    if alike:
        text += "so the one that does not count can be edited to no effect (today they say the same)."
    else:
        modes = "; ".join(f"{p.display}: {_mode(p)}" for p in (policy, *(c.other for c in found)))
        text += f"so whether the pods accept plain text depends on the order they were created ({modes})."
    return text + " Merge them, or make their selectors pick different pods."


def _mode(policy: SelectorPolicy) -> str:
    mode, ports = _settings(policy)
    text = "mode not set (inherited)" if mode == "UNSET" else mode
    return text + (f", port-level {', '.join(ports)}" if ports else "")


RULE = Rule(
    code="peer-authentication-conflict",
    severity=Severity.ERROR,
    summary="PeerAuthentications that apply to the same workloads: Istio uses only the oldest of them.",
    doc=DOC,
    run=run,
    kiali_codes=("KIA0002", "KIA0003"),
)
