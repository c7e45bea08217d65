"""jwks-fetch-unrestricted: istiod fetches the JWKS of RequestAuthentications without BLOCKED_CIDRS_IN_JWKS_URIS."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.base import Context, Finding, Fix, Related, Rule, Severity, TextEdit
from istio_lsp.index import FileSummary, WorkspaceIndex
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import Container, JwtKeySource, SelectorPolicy, Workload
from istio_lsp.syntax import Span

DOC = """\
The workspace holds istiod's Deployment (labelled `app: istiod`) and RequestAuthentications
whose keys istiod fetches, and no container of istiod sets `BLOCKED_CIDRS_IN_JWKS_URIS`.

istiod fetches the keys of a `jwtRules[]` item that gives no inline `jwks`: from its
`jwksUri`, else from the `jwks_uri` of its issuer's OpenID discovery document. With
`PILOT_JWT_ENABLE_REMOTE_JWKS=envoy` on istiod, the proxies fetch `jwksUri` themselves
and only the issuers' discovery is left to istiod.

## Why it matters

Whoever may create a RequestAuthentication decides which URL istiod, a privileged
control-plane process, requests: an address inside the cluster network, a node's
kubelet, the cloud's instance metadata. `BLOCKED_CIDRS_IN_JWKS_URIS` (Istio 1.30 and
later; older versions ignore it) lists the address ranges istiod refuses to connect to
when it fetches keys. Recent istiod versions also refuse link-local and known cloud
metadata addresses by themselves; private ranges stay reachable, since in-cluster
identity providers (Keycloak, Dex) live there.

## How sure it is

Information: this is hardening advice. Nothing is misconfigured, and it matters where
RequestAuthentications are written by people who should not reach istiod's network.
`istioctl analyze` reports a warning. A variable set from `valueFrom` counts as set.

## Wrong

```yaml
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod}}
spec:
  template:
    spec:
      containers:
      - name: discovery
        env:
        - name: PILOT_TRACE_SAMPLING
          value: "1"
```

## Right

```yaml
        env:
        - name: BLOCKED_CIDRS_IN_JWKS_URIS
          value: "169.254.0.0/16,fe80::/10,100.100.100.200/32,fd00:ec2::/32"
```

Add the private ranges (`10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7`) when every
issuer is outside the cluster. With Helm, set `pilot.env.BLOCKED_CIDRS_IN_JWKS_URIS`.

## Fixes

**Add BLOCKED_CIDRS_IN_JWKS_URIS** (unsafe: it changes what istiod may fetch) blocks the
ranges no key set has a reason to be served from: link-local addresses (which hold the
cloud instance metadata services, `169.254.169.254`) and the two metadata addresses outside
them (Alibaba Cloud's `100.100.100.200`, AWS's IPv6 `fd00:ec2::254`). It closes the worst
case on istiod versions that do not block them by themselves and breaks no identity
provider; it leaves private ranges alone, since blocking them would cut off in-cluster
issuers.

Related: `istioctl analyze` IST0175 (JwksUriFetchUnrestricted).
"""

VARIABLE = "BLOCKED_CIDRS_IN_JWKS_URIS"
FETCH_MODE = "PILOT_JWT_ENABLE_REMOTE_JWKS"  # `envoy`: the proxies fetch `jwksUri`, istiod only discovery documents
NEVER_JWKS_HOSTS = "169.254.0.0/16,fe80::/10,100.100.100.200/32,fd00:ec2::/32"


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    for istiod in summary.resources:
        if (
            not isinstance(istiod, Workload)
            or istiod.kind != "Deployment"
            or istiod.api_version != "apps/v1"
            or istiod.labels.get("app") != "istiod"
            or not istiod.containers
        ):
            continue
        env = {name: value for c in istiod.containers for name, value in c.env.items()}
        if env.get(VARIABLE, "") != "":  # set, or from `valueFrom` (None): not known to be empty
            continue
        fetched = _fetched(ctx.index, envoy_fetches=(env.get(FETCH_MODE) or "").strip().lower() == "envoy")
        if not fetched:
            continue
        container = next((c for c in istiod.containers if c.name == "discovery"), istiod.containers[0])
        policies = list(dict.fromkeys(policy.display for policy, _ in fetched))
        names = ", ".join(policies[:5]) + (f" and {len(policies) - 5} more" if len(policies) > 5 else "")
        yield ctx.finding(
            RULE,
            istiod,
            container.env_span or container.span,
            f"istiod fetches the signing keys of {len(policies)} RequestAuthentication(s) ({names}) from the URLs "
            f"they name, and `{VARIABLE}` is not set: whoever writes a RequestAuthentication can make istiod connect "
            f"to any address its network reaches (the cluster's services, a kubelet). List the ranges istiod must "
            f"not fetch from in `{VARIABLE}` (Istio 1.30 or later).",
            related=[_related(policy, source) for policy, source in fetched[:5]],
            fixes=_fixes(istiod, container),
        )


def _fetched(index: WorkspaceIndex, envoy_fetches: bool) -> list[tuple[SelectorPolicy, JwtKeySource]]:
    """The RequestAuthentications' key sources istiod fetches (with envoy fetching, only issuer discovery)."""
    found = []
    for policy in index.of_kind(ANY_NAMESPACE, "RequestAuthentication"):
        if not isinstance(policy, SelectorPolicy) or policy.api_version.partition("/")[0] != "security.istio.io":
            continue
        found += [(policy, s) for s in policy.key_sources if not (envoy_fetches and s.jwks_uri is not None)]
    return found


def _related(policy: SelectorPolicy, source: JwtKeySource) -> Related:
    where = source.jwks_uri or source.issuer
    what = "its keys" if source.jwks_uri is not None else "its issuer's discovery document"
    span = where.span if where is not None else policy.name_span
    return Related(policy.uri, span, f"istiod fetches {what} from here")


def _fixes(istiod: Workload, container: Container) -> list[Fix]:
    if container.env_after is None:
        return []
    line, char = container.env_after
    indent = " " * container.env_indent
    item = f"{indent}- name: {VARIABLE}\n{indent}  value: {NEVER_JWKS_HOSTS!r}".replace("'", '"')
    text = f"\n{indent}env:\n{item}" if container.env_key else f"\n{item}"
    edit = TextEdit(istiod.uri, Span(line, char, line, char), text)
    title = f"Add {VARIABLE} (link-local and cloud metadata addresses)"
    return [Fix(title, (edit,), preferred=True, safe=False)]


RULE = Rule(
    code="jwks-fetch-unrestricted",
    severity=Severity.INFORMATION,
    summary="istiod fetches RequestAuthentication keys from any address: BLOCKED_CIDRS_IN_JWKS_URIS is not set",
    doc=DOC,
    run=run,
    istio_codes=("IST0175",),
)
