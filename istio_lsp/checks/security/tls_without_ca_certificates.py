"""tls-without-ca-certificates: TLS origination (SIMPLE or MUTUAL) that names no CA to verify the server with."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._drgw_helpers import is_networking, traffic_policies
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import as_mapping, is_set_at, is_yaml_true, set_text, text
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax.nodes import get

DOC = """\
A DestinationRule originates TLS (`tls.mode: SIMPLE` or `MUTUAL`) without saying which
certificate authority signs the server: no `caCertificates`, and no `credentialName` a
sidecar can read. Checked for the top-level traffic policy, each subset's, and each
port-level setting.

## Why it matters

With no CA given, the proxy falls back to the operating system's CA bundle of its image
(current Istio verifies against it by default; releases before 1.20, or meshes that turn
`VERIFY_CERTIFICATE_AT_CLIENT` off, do not verify the server at all). That works for a
server with a publicly signed certificate. A server signed by your own CA (a database,
an internal API) fails the handshake and every request answers 503; on older meshes any
server is accepted, including an impostor.

`credentialName` helps sidecars only when the DestinationRule also has a
`workloadSelector`: without one the secret is read by gateways alone.

`insecureSkipVerify: true` says verification is off on purpose; it is not reported.

## Wrong

```yaml
kind: DestinationRule
spec:
  host: db.internal.example.com
  trafficPolicy:
    tls:
      mode: SIMPLE
```

## Right

```yaml
kind: DestinationRule
spec:
  host: db.internal.example.com
  trafficPolicy:
    tls:
      mode: SIMPLE
      caCertificates: /etc/certs/internal-ca.pem
      subjectAltNames: [db.internal.example.com]
```

## Fixes

None: which CA signs the server, and where its certificate is mounted, is yours to say.
Set `caCertificates`, or a `credentialName` holding `ca.crt` together with a
`workloadSelector`, or `insecureSkipVerify: true` if you mean not to verify.

Related: `istioctl analyze` IST0128 (top level), IST0129 (port level).
"""

MODES = ("SIMPLE", "MUTUAL")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    selected = is_set_at(ctx.spec, "workloadSelector")
    host = text(ctx.spec, "host") or "its host"
    for policy in traffic_policies(ctx):
        tls = as_mapping(get(policy.node, "tls"))
        mode = set_text(tls, "mode")
        if tls is None or mode not in MODES or is_set_at(tls, "caCertificates"):
            continue
        if is_yaml_true(get(tls, "insecureSkipVerify")):
            continue
        credential = is_set_at(tls, "credentialName")
        if credential and selected:
            continue  # the sidecars of the selected pods read `ca.crt` from the secret
        where = "this port" if policy.port_level else "this policy"
        why = (
            "`credentialName` is read by gateways only when the DestinationRule has no `workloadSelector`, so "
            "sidecars get no CA from it"
            if credential
            else "no `caCertificates`"
        )
        yield ctx.finding(
            RULE.code,
            RULE.severity,
            [*policy.path, "tls", "mode"],
            f"{mode} TLS to {host} on {where} names no CA to verify the server with ({why}): the proxy falls back to "
            "its image's public CA bundle, so a server signed by a private CA fails the handshake (and meshes "
            "before Istio 1.20 do not verify at all). Set `caCertificates`, or `insecureSkipVerify: true` if "
            "skipping verification is meant.",
        )


RULE = Rule(
    code="tls-without-ca-certificates",
    severity=Severity.INFORMATION,
    summary="TLS origination (SIMPLE or MUTUAL) names no CA certificates to verify the server with",
    doc=DOC,
    local=check,
    kinds=("DestinationRule",),
    istio_codes=("IST0128", "IST0129"),
)
