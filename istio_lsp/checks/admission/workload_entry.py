"""WorkloadEntry admission rule (`ValidateWorkloadEntry`): address, ports and labels."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._generic import ADMITTED, REJECTED
from istio_lsp.checks.admission._se_security import UNIX_PREFIX, unix_address_problem
from istio_lsp.checks.admission._workloads import is_group, label_map_findings, port_map_findings
from istio_lsp.checks.admission.common import fqdn_problem, is_ip
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import count, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import PathSegment, get

GROUP = "networking.istio.io"

DOC = """\
A WorkloadEntry has no usable address, a malformed one, a unix socket address with
ports, an invalid port name or number, or an invalid label.

What Istio's webhook checks (`ValidateWorkloadEntry`):

- `address` is required, unless `network` is set: then the entry is admitted with a
  warning (it can only be reached through that network's gateway);
- the address is an IP address, a domain name (FQDN), or `unix://` followed by an
  absolute path (or `@` and an abstract socket name); a unix socket entry maps no ports;
- each `ports` name is a DNS-1123 label and each number is from 1 to 65535;
- `labels` are valid Kubernetes label keys and values.

## Why it matters

`kubectl apply` fails. A WorkloadEntry describes a workload outside Kubernetes (a VM,
a host): without an address the mesh has nowhere to send its traffic, and a service
port is mapped to the entry's port by name, so a bad name maps nothing.

## Wrong

```yaml
kind: WorkloadEntry
spec:
  address: vm_1.example.com
  ports:
    HTTP: 8080
  labels:
    app: ratings
```

## Right

```yaml
spec:
  address: vm-1.example.com
  ports:
    http: 8080
  labels:
    app: ratings
```

## Fixes

Give the entry the IP address or host name of the machine, name ports in lowercase
(`http`, `grpc-api`), and keep port numbers between 1 and 65535.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    spec = ctx.spec
    if not is_group(ctx, GROUP) or not isinstance(spec, MappingNode):
        return
    yield from _address(ctx, spec)
    yield from port_map_findings(ctx, RULE.code, get(spec, "ports"))
    yield from label_map_findings(ctx, RULE.code, get(spec, "labels"))


def _address(ctx: DocumentContext, spec: MappingNode) -> Iterator[Finding]:
    address = text_or_empty(spec, "address")
    if not address:
        network = text_or_empty(spec, "network")
        where: list[PathSegment] = ["spec", "address"] if get(spec, "address") is not None else ["spec"]
        if not network:
            yield ctx.finding(
                RULE.code,
                Severity.ERROR,
                where,
                "The WorkloadEntry has no `address`, so the mesh has nowhere to send its traffic; set the "
                f"workload's IP address or host name; {REJECTED}.",
                key=True,
            )
        else:
            yield ctx.finding(
                RULE.code,
                Severity.WARNING,
                where,
                f"The WorkloadEntry has no `address`, only `network: {network}`: it can only be reached through "
                f"that network's gateway; {ADMITTED}.",
                key=True,
            )
        return
    if address.startswith(UNIX_PREFIX):
        problem = unix_address_problem(address[len(UNIX_PREFIX) :])
        if problem is not None:
            yield ctx.finding(
                RULE.code, Severity.ERROR, ["spec", "address"], f"Unix socket address: {problem}; {REJECTED}."
            )
        if count(get(spec, "ports")) > 0:
            yield ctx.finding(
                RULE.code,
                Severity.ERROR,
                ["spec", "ports"],
                f"A unix socket WorkloadEntry (`{address}`) cannot map ports (a socket has none); remove `ports`; "
                f"{REJECTED}.",
                key=True,
            )
    elif not is_ip(address) and fqdn_problem(address) is not None:
        yield ctx.finding(
            RULE.code,
            Severity.ERROR,
            ["spec", "address"],
            f"Address `{address}` is neither an IP address nor a valid domain name (lowercase letters, digits, "
            f"`-` and dots), nor `unix://` and a socket path; {REJECTED}.",
        )


RULE = Rule(
    code="invalid-workload-entry",
    severity=Severity.ERROR,
    summary="A WorkloadEntry lacks an address, has a malformed one, or has invalid ports or labels.",
    doc=DOC,
    local=check,
    kinds=("WorkloadEntry",),
    istio_codes=("IST0106",),
)
