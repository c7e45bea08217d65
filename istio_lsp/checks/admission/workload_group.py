"""WorkloadGroup admission rule (`ValidateWorkloadGroup`): metadata labels and the readiness probe."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED
from istio_lsp.checks.admission._workloads import is_group, label_map_findings, whole_number
from istio_lsp.checks.admission.common import port_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import distinct_items, is_empty_list, present, text_or_empty
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import PathSegment, get

GROUP = "networking.istio.io"
THRESHOLDS = ("periodSeconds", "initialDelaySeconds", "timeoutSeconds", "successThreshold", "failureThreshold")
METHODS = ("httpGet", "tcpSocket", "exec")
_PROBE_HEADER = re.compile(r"^[-A-Za-z0-9]+$")

DOC = """\
A WorkloadGroup's metadata labels are invalid, or its readiness probe is one Istio's
webhook rejects.

What Istio's webhook checks (`ValidateWorkloadGroup`), beyond the schema:

- `metadata.labels` are valid Kubernetes label keys and values;
- the probe's period, delay, timeout and thresholds are not negative;
- a probe uses `httpGet`, `tcpSocket` or `exec`: a probe with none of them, or with
  `grpc` (which the webhook does not accept), is rejected;
- `httpGet` and `tcpSocket` ports are from 1 to 65535, an `httpGet.scheme` is HTTP or
  HTTPS, `httpHeaders` names are letters, digits and `-`;
- `exec.command` is not empty.

The template is not checked like a WorkloadEntry: its address is filled in when a
workload joins the group.

## Why it matters

`kubectl apply` fails. The group's labels are copied to every WorkloadEntry that joins
it (and its services select on them), and the probe decides whether those VMs get
traffic: a probe the proxy cannot run would mark every workload unready.

## Wrong

```yaml
kind: WorkloadGroup
spec:
  metadata:
    labels:
      app: ratings
  template:
    serviceAccount: ratings
  probe:
    periodSeconds: 5
    httpGet:
      port: 8080
      scheme: http
```

## Right

```yaml
  probe:
    periodSeconds: 5
    httpGet:
      port: 8080
      scheme: HTTP
```

## Fixes

Write the scheme in capitals, use a port from 1 to 65535, give `exec` a command, and
use an HTTP or TCP probe instead of `grpc`.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    spec = ctx.spec
    if not is_group(ctx, GROUP) or not isinstance(spec, MappingNode):
        return
    yield from label_map_findings(ctx, RULE.code, get(get(spec, "metadata"), "labels"))
    probe = get(spec, "probe")
    if isinstance(probe, MappingNode):
        yield from _probe(ctx, ["spec", "probe"], probe)


def _probe(ctx: DocumentContext, path: list[PathSegment], probe: MappingNode) -> Iterator[Finding]:
    for name in THRESHOLDS:
        number = whole_number(get(probe, name))
        if number is not None and number < 0:
            yield _error(ctx, [*path, name], f"`{name}` is {number}; it must not be negative")
    methods = [name for name in (*METHODS, "grpc") if present(get(probe, name))]
    if not methods:
        yield _error(
            ctx,
            path,
            "the probe has no check to run: give it `httpGet`, `tcpSocket` or `exec`",
            key=True,
        )
        return
    method = methods[0]  # several at once are the schema's oneOf
    node = get(probe, method)
    where: list[PathSegment] = [*path, method]
    if method == "grpc":
        yield _error(
            ctx,
            where,
            "Istio's webhook does not accept `grpc` probes on a WorkloadGroup (only `httpGet`, `tcpSocket` "
            "or `exec`); use a `tcpSocket` probe on the same port",
            key=True,
        )
    elif method in ("httpGet", "tcpSocket"):
        number = whole_number(get(node, "port"))
        if number is not None and port_problem(str(number)) is not None:
            yield _error(ctx, [*where, "port"], f"`{method}`: {port_problem(str(number))}")
        if method == "httpGet":
            yield from _http_get(ctx, where, node)
    elif is_empty_list(get(node, "command")):
        yield _error(ctx, [*where, "command"], "`exec.command` is empty: the probe has nothing to run", key=True)


def _http_get(ctx: DocumentContext, where: list[PathSegment], node: Node | None) -> Iterator[Finding]:
    scheme = text_or_empty(node, "scheme")
    if scheme and scheme not in ("HTTP", "HTTPS"):
        fixes: list[Fix] = []
        scheme_node = get(node, "scheme")
        if scheme.upper() in ("HTTP", "HTTPS") and scheme_node is not None:
            fixes.append(replace_scalar(ctx, scheme_node, scheme.upper(), f"Change the scheme to {scheme.upper()}"))
        yield _error(ctx, [*where, "scheme"], f"`httpGet.scheme` is `{scheme}`; it must be HTTP or HTTPS", fixes)
    for i, header in distinct_items(get(node, "httpHeaders")):
        if not present(header):
            yield _error(ctx, [*where, "httpHeaders", i], "an `httpHeaders` entry is null")
            continue
        name = text_or_empty(header, "name")
        if not _PROBE_HEADER.match(name):
            shown = f"`{name}` is not a valid header name" if name else "a header has no name"
            yield _error(
                ctx, [*where, "httpHeaders", i, "name"], f"{shown} (letters, digits and `-` only)", key=not name
            )


def _error(
    ctx: DocumentContext, where: list[PathSegment], problem: str, fixes: list[Fix] | None = None, key: bool = False
) -> Finding:
    return ctx.finding(
        RULE.code,
        Severity.ERROR,
        where,
        f"Readiness probe: {problem}; {REJECTED}.",
        key=key,
        fixes=fixes or (),
    )


RULE = Rule(
    code="invalid-workload-group",
    severity=Severity.ERROR,
    summary="A WorkloadGroup has invalid metadata labels or a readiness probe Istio's webhook rejects.",
    doc=DOC,
    local=check,
    kinds=("WorkloadGroup",),
    istio_codes=("IST0106",),
)
