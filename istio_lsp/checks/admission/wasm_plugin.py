"""WasmPlugin admission rule (`ValidateWasmPlugin`): targets, url, sha256, VM env and match ports."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED
from istio_lsp.checks.admission._se_security import target_selection_findings
from istio_lsp.checks.admission._workloads import is_group, selector_findings, whole_number
from istio_lsp.checks.admission.common import port_problem
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import distinct_items, present, text, text_or_empty
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import PathSegment, get

GROUP = "extensions.istio.io"
SCHEMES = ("", "file", "http", "https", "oci")
_SHA256 = re.compile(r"^[a-f0-9]{64}$")
_SCHEME_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]+/")

DOC = """\
A WasmPlugin's targets, module URL, checksum, VM environment or traffic match is one
Istio's webhook rejects (or, for a selector without labels, warns about).

What Istio's webhook checks (`ValidateWasmPlugin`), beyond the schema:

- only one of `selector`, `targetRef` or `targetRefs`; a target reference names a
  Service, ServiceEntry, Gateway API Gateway or GatewayClass, has a `name` and no
  `namespace`;
- `selector.matchLabels` has no empty key and no `*`; a selector without labels is
  admitted with a warning;
- `url` is not empty, and its scheme is `oci`, `https`, `http` or `file`
  (a URL without a scheme is read as an OCI image reference);
- `sha256` is 64 lowercase hexadecimal characters;
- `imagePullSecret` has at most 253 characters and `pluginName` at most 256;
- `vmConfig.env`: each entry has a name (at most 256 characters), names are unique, and
  a `value` is only given with `valueFrom: INLINE`;
- `match`: no null entries or ports, and port numbers from 1 to 65535.

## Why it matters

`kubectl apply` fails. The proxy would otherwise fetch the module from a place it cannot
read, refuse a module whose checksum it cannot compare, or attach the filter to the
wrong workloads.

## Wrong

```yaml
kind: WasmPlugin
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: bookinfo-gateway
  url: s3://plugins/basic-auth.wasm
  sha256: 9F4C...
```

## Right

```yaml
spec:
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: bookinfo-gateway
  url: oci://ghcr.io/example/basic-auth:1.0
```

## Fixes

Keep one way of choosing workloads, serve the module over OCI, HTTPS or a local file,
and write the checksum in lowercase hex (`sha256sum` prints it that way).

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    spec = ctx.spec
    if not is_group(ctx, GROUP) or not isinstance(spec, MappingNode):
        return
    yield from target_selection_findings(ctx, RULE.code, "WasmPlugin: ", REJECTED, schema_requires=True)
    yield from selector_findings(ctx, RULE.code, "WasmPlugin")
    yield from _url(ctx, spec)
    yield from _sha256(ctx, spec)
    for name, limit in (("imagePullSecret", 253), ("pluginName", 256)):
        value = text(spec, name) or ""
        if len(value) > limit:
            yield ctx.finding(
                RULE.code,
                Severity.ERROR,
                ["spec", name],
                f"`{name}` has {len(value)} characters; at most {limit} are allowed; {REJECTED}.",
            )
    yield from _env(ctx, get(get(spec, "vmConfig"), "env"))
    yield from _match(ctx, get(spec, "match"))


def url_scheme(url: str) -> str:
    """The scheme Istio reads in a plugin URL (Go's url.ParseRequestURI, then with `http://` in front)."""
    match = _SCHEME_START.match(url)
    if match is None:
        return "" if url.startswith("/") else "http"
    return match.group(0)[:-1].lower()


def _url(ctx: DocumentContext, spec: MappingNode) -> Iterator[Finding]:
    node = get(spec, "url")
    if not present(node):
        return  # a missing url is the schema's required field
    url = text_or_empty(spec, "url").strip() if text(spec, "url") is not None else None
    if url is None:
        return  # not a string: the schema's type error
    if not url:
        yield ctx.finding(
            RULE.code,
            Severity.ERROR,
            ["spec", "url"],
            f"`url` is empty: the proxy has no module to load; give an OCI image reference or an `https` or `file` "
            f"URL; {REJECTED}.",
        )
        return
    scheme = url_scheme(url)
    if scheme in SCHEMES:
        return
    if _HOST_PORT.match(url) and node is not None:
        yield ctx.finding(
            RULE.code,
            Severity.ERROR,
            node,
            f"`url` starts with `host:port/` and no scheme, so Istio reads `{scheme}` as its scheme and rejects "
            f"it; write `oci://{url}`; {REJECTED}.",
            fixes=[replace_scalar(ctx, node, f"oci://{url}", "Prefix the URL with oci://")],
        )
        return
    yield ctx.finding(
        RULE.code,
        Severity.ERROR,
        ["spec", "url"],
        f"`url` uses the scheme `{scheme}`, which Istio cannot fetch a module from (only `oci`, `https`, "
        f"`http` and `file`; a URL without a scheme is an OCI image); {REJECTED}.",
    )


def _sha256(ctx: DocumentContext, spec: MappingNode) -> Iterator[Finding]:
    node = get(spec, "sha256")
    value = text(spec, "sha256")
    if node is None or not value or _SHA256.match(value):
        return
    fixes = []
    if _SHA256.match(value.lower()):
        fixes.append(replace_scalar(ctx, node, value.lower(), "Write the checksum in lowercase"))
        problem = "is written in uppercase; Istio only accepts lowercase hex digits"
    elif len(value) != 64:
        problem = f"has {len(value)} characters, not the 64 hex digits of a SHA-256 checksum"
    else:
        problem = "holds characters other than the hex digits `0-9a-f`"
    yield ctx.finding(RULE.code, Severity.ERROR, node, f"`sha256` {problem}; {REJECTED}.", fixes=fixes)


def _env(ctx: DocumentContext, env: Node | None) -> Iterator[Finding]:
    seen: set[str] = set()
    base: list[PathSegment] = ["spec", "vmConfig", "env"]
    for i, entry in distinct_items(env):
        if not isinstance(entry, MappingNode):
            continue  # null entries are skipped by Istio; other shapes are the schema's
        where: list[PathSegment] = [*base, i]
        name_node = get(entry, "name")
        name = text(entry, "name")
        if name_node is not None and name == "":
            yield _error(ctx, [*where, "name"], "a `vmConfig.env` entry has an empty `name`")
            continue
        if name is None:
            continue  # missing: the schema's required field
        if len(name) > 256:
            yield _error(ctx, [*where, "name"], f"env name has {len(name)} characters; at most 256 are allowed")
        if name in seen:
            yield _error(ctx, [*where, "name"], f"env `{name}` is listed twice")
        seen.add(name)
        value_from = text_or_empty(entry, "valueFrom") or "INLINE"
        if value_from != "INLINE" and text_or_empty(entry, "value"):
            yield _error(
                ctx,
                [*where, "value"],
                f"env `{name}` takes its value from the host (`valueFrom: {value_from}`), so it cannot also set "
                f"`value`",
                key=True,
            )


def _match(ctx: DocumentContext, match: Node | None) -> Iterator[Finding]:
    for i, selector in distinct_items(match):
        where: list[PathSegment] = ["spec", "match", i]
        if not present(selector):
            yield _error(ctx, where, "a `match` entry is null")
            continue
        for j, port in distinct_items(get(selector, "ports")):
            if not present(port):
                yield _error(ctx, [*where, "ports", j], "a `match` port is null")
                continue
            number = whole_number(get(port, "number"))
            if number is not None and port_problem(str(number)) is not None:
                yield _error(ctx, [*where, "ports", j, "number"], f"match {port_problem(str(number))}")


def _error(ctx: DocumentContext, where: list[PathSegment], problem: str, key: bool = False) -> Finding:
    return ctx.finding(RULE.code, Severity.ERROR, where, f"{problem[0].upper()}{problem[1:]}; {REJECTED}.", key=key)


RULE = Rule(
    code="invalid-wasm-plugin",
    severity=Severity.ERROR,
    summary="A WasmPlugin's targets, url, sha256, VM env or match ports are rejected by Istio's webhook.",
    doc=DOC,
    local=check,
    kinds=("WasmPlugin",),
    istio_codes=("IST0106",),
)
