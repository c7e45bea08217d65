"""DestinationRule admission rule for the client TLS settings of a traffic policy
(`tls` at the top level, in a subset, or in a port-level setting)."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._drgw_helpers import is_networking, listing, traffic_policies
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import as_mapping, is_yaml_true, set_keys, set_text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import PathSegment, get

REJECTED = "Istio's webhook rejects the DestinationRule"
CONFIGMAP = "configmap://"

DOC = """\
A DestinationRule's client TLS settings (`tls`) combine fields that the chosen mode
does not allow, lack the client certificate MUTUAL needs, or read a ConfigMap from
another namespace.

Checklist rows (§2 DestinationRule), tls (ClientTLSSettings):

- `credentialName: configmap://<namespace>/<name>` must name the DestinationRule's own
  namespace;
- SIMPLE with `insecureSkipVerify: true`: no `caCertificates`, `credentialName` or
  `subjectAltNames`;
- MUTUAL with `insecureSkipVerify: true`: no `caCertificates` or `subjectAltNames`;
- SIMPLE or MUTUAL with `credentialName`: no `clientCertificate`, `caCertificates`,
  `privateKey` or `caCrl` (the credential holds them);
- MUTUAL without `credentialName`: `clientCertificate` and `privateKey` are required.

SIMPLE or MUTUAL without CA certificates is not a webhook error: `istioctl analyze`
reports it as IST0128/IST0129.

## Why it matters

`kubectl apply` fails. The settings contradict each other: skipping verification while
giving the CA to verify with, or giving certificate files while also naming a secret
that holds the certificates. A MUTUAL origination without a client certificate has
nothing to present to the server.

## Wrong

```yaml
trafficPolicy:
  tls:
    mode: MUTUAL
    credentialName: client-credential
    caCertificates: /etc/certs/ca.pem
```

## Right

```yaml
trafficPolicy:
  tls:
    mode: MUTUAL
    credentialName: client-credential   # holds key, cert and ca.crt
```

## Fixes

Keep one source of certificates: either `credentialName`, or the file fields. Drop
`caCertificates`/`subjectAltNames` when `insecureSkipVerify` is on, or turn it off.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    for policy in traffic_policies(ctx):
        tls = as_mapping(get(policy.node, "tls"))
        if tls is not None:
            yield from _tls(ctx, [*policy.path, "tls"], tls)


def _tls(ctx: DocumentContext, path: list[PathSegment], tls: MappingNode) -> Iterator[Finding]:
    credential = set_text(tls, "credentialName")
    if credential is not None and credential.startswith(CONFIGMAP):
        yield from _configmap(ctx, [*path, "credentialName"], credential)
    mode = set_text(tls, "mode") or "DISABLE"
    if is_yaml_true(get(tls, "insecureSkipVerify")):
        banned = {
            "SIMPLE": ("caCertificates", "credentialName", "subjectAltNames"),
            "MUTUAL": ("caCertificates", "subjectAltNames"),
        }
        given = set_keys(tls, *banned.get(mode, ()))
        if given:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                [*path, "insecureSkipVerify"],
                f"With `insecureSkipVerify: true` the server is not verified, so {mode} TLS cannot also set "
                f"{listing(given)}: {REJECTED}.",
                key=True,
            )
    if mode in ("SIMPLE", "MUTUAL") and credential is not None:
        given = set_keys(tls, "clientCertificate", "caCertificates", "privateKey", "caCrl")
        if given:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                [*path, given[0]],
                f"With `credentialName` the certificates come from the secret, so {listing(given)} cannot be set "
                f"too: {REJECTED}.",
                key=True,
            )
        return
    if mode == "MUTUAL":
        missing = [k for k in ("clientCertificate", "privateKey") if set_text(tls, k) is None]
        if missing:
            yield ctx.finding(
                RULE.code,
                RULE.severity,
                [*path, "mode"],
                f"MUTUAL TLS without `credentialName` needs {listing(missing)} (what the client presents): {REJECTED}.",
            )


def _configmap(ctx: DocumentContext, path: list[PathSegment], credential: str) -> Iterator[Finding]:
    namespace, slash, name = credential.removeprefix(CONFIGMAP).partition("/")
    name = name.split("/")[0]
    if not slash or not namespace or not name:
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            path,
            f"`{credential}` must be written `configmap://<namespace>/<name>`: {REJECTED}.",
        )
    elif ctx.resource.namespace_explicit and namespace != ctx.resource.namespace:
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            path,
            f"A configmap:// credential must be in the DestinationRule's own namespace "
            f"`{ctx.resource.namespace}`, not `{namespace}`: {REJECTED}.",
        )


RULE = Rule(
    code="invalid-client-tls",
    severity=Severity.ERROR,
    summary="A DestinationRule's client TLS settings mix fields the mode forbids or lack MUTUAL's client certificate.",
    doc=DOC,
    local=check,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)
