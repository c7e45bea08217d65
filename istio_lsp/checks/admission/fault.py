"""invalid-fault: fault injection settings Istio rejects or ignores."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, rename_key_fix, spec_routes
from istio_lsp.checks.admission.common import as_float, as_int
from istio_lsp.checks.base import Rule, close_matches
from istio_lsp.checks.fields import mapping_at, value_at
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode, Node
from istio_lsp.syntax.nodes import key_node, scalar

DOC = """\
A `fault` block that Istio's webhook rejects, or one that cannot work as written.

Covers these rows of the webhook checklist (HTTP route, fault):

- neither `abort` nor `delay` is set (error);
- `abort.httpStatus` below 200 or above 600 (error; Istio's message says 200-599 but
  600 passes);
- `abort.grpcStatus` that is not a gRPC status name such as `UNAVAILABLE` or
  `NOT_FOUND` (error);
- `abort.http2Error` (error: not supported);
- an `abort` with no error type at all (warning: the object is admitted, the abort
  has nothing to return);
- `delay.exponentialDelay` (error: not supported);
- the deprecated `delay.percent` (warning, as istioctl's deprecation analyzer
  reports it): use `percentage.value`.

Percentages and `fixedDelay` values are checked by `invalid-percentage` and
`invalid-duration`.

## Why it matters

A rejected fault block blocks the whole VirtualService from being applied; a
warning-level problem means the fault does not inject what you expect during a test.

## Wrong

```yaml
fault:
  abort:
    grpcStatus: "14"
    percentage: {value: 50}
  delay:
    exponentialDelay: 2s
```

## Right

```yaml
fault:
  abort:
    grpcStatus: UNAVAILABLE
    percentage: {value: 50}
  delay:
    fixedDelay: 2s
    percentage: {value: 10}
```

## Fixes

- **Did you mean `UNAVAILABLE`?** for a gRPC status given by number, in lowercase or
  misspelled.
- **Use `fixedDelay`** instead of `exponentialDelay`.
- **Use `percentage: {value: N}`** instead of the deprecated `percent: N`.

Related: `istioctl analyze` IST0106 (schema validation error), IST0133 (schema
warning), IST0002 (deprecated field).
"""

# Istio's pkg/util/grpc SupportedGRPCStatus, by code number
GRPC_STATUS = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        fault = mapping_at(rule, "fault")
        if fault is None:
            continue
        abort, delay = mapping_at(fault, "abort"), mapping_at(fault, "delay")
        if abort is None and delay is None:
            yield _finding(
                ctx,
                key_node(rule, "fault") or fault,
                f"`fault` has neither `abort` nor `delay`, so it injects nothing. {REJECTED}.",
            )
        if abort is not None:
            yield from _check_abort(ctx, fault, abort)
        if delay is not None:
            yield from _check_delay(ctx, delay)


def _finding(
    ctx: DocumentContext,
    where: Node,
    message: str,
    fixes: list[Fix] | None = None,
    severity: Severity = Severity.ERROR,
) -> Finding:
    return ctx.finding(RULE.code, severity, where, message, fixes=fixes or [])


def _check_abort(ctx: DocumentContext, fault: MappingNode, abort: MappingNode) -> Iterator[Finding]:
    http_status, grpc_status, http2_error = (value_at(abort, k) for k in ("httpStatus", "grpcStatus", "http2Error"))
    if http_status is not None:
        status = as_int(scalar(http_status))
        if status is not None and not 200 <= status <= 600:
            yield _finding(
                ctx,
                http_status,
                f"abort `httpStatus: {status}` is not an HTTP status Istio accepts (200 to 599). {REJECTED}.",
            )
    elif grpc_status is not None:
        name = scalar(grpc_status)
        if name is not None and name not in GRPC_STATUS:
            suggestions = _grpc_suggestions(name)
            yield _finding(
                ctx,
                grpc_status,
                f"abort `grpcStatus: {name}` is not a gRPC status name; write the name, e.g. `UNAVAILABLE` "
                f"or `NOT_FOUND`. {REJECTED}.",
                [
                    replace_scalar(ctx, grpc_status, s, f"Did you mean `{s}`?", preferred=i == 0)
                    for i, s in enumerate(suggestions)
                ],
            )
    elif http2_error is not None:
        yield _finding(
            ctx,
            key_node(abort, "http2Error") or http2_error,
            f"abort `http2Error` is not supported by Istio; use `httpStatus` or `grpcStatus`. {REJECTED}.",
        )
    else:
        yield _finding(
            ctx,
            key_node(fault, "abort") or abort,
            "`abort` sets no error to return (`httpStatus` or `grpcStatus`): kubectl apply warns and no request "
            "is aborted as intended.",
            severity=Severity.WARNING,
        )


def _grpc_suggestions(name: str) -> list[str]:
    number = as_int(name)
    if number is not None:
        return [GRPC_STATUS[number]] if 0 <= number < len(GRPC_STATUS) else []
    normal = name.strip().upper().replace("-", "_").replace(" ", "_")
    if normal == "CANCELED":
        normal = "CANCELLED"
    if normal in GRPC_STATUS:
        return [normal]
    return close_matches(normal, GRPC_STATUS)


def _check_delay(ctx: DocumentContext, delay: MappingNode) -> Iterator[Finding]:
    exponential_key = key_node(delay, "exponentialDelay")
    if exponential_key is not None and value_at(delay, "exponentialDelay") is not None:
        fixes = []
        if value_at(delay, "fixedDelay") is None:
            fixes.append(rename_key_fix(ctx, exponential_key, "fixedDelay", None, None, "Use `fixedDelay`"))
        yield _finding(
            ctx,
            exponential_key,
            f"`exponentialDelay` is not supported by Istio; use `fixedDelay`. {REJECTED}.",
            fixes,
        )
    percent_key, percent = key_node(delay, "percent"), value_at(delay, "percent")
    if percent_key is not None and percent is not None:
        number = scalar(percent)
        fixes = []
        if value_at(delay, "percentage") is None and number is not None and as_float(number) is not None:
            fixes.append(
                rename_key_fix(
                    ctx,
                    percent_key,
                    "percentage",
                    percent,
                    f"{{value: {number}}}",
                    f"Use `percentage: {{value: {number}}}`",
                )
            )
        yield _finding(
            ctx,
            percent_key,
            "`percent` is deprecated; write `percentage: {value: N}` (which also allows fractions of a percent).",
            fixes,
            Severity.WARNING,
        )


RULE = Rule(
    code="invalid-fault",
    severity=Severity.ERROR,
    summary="A fault injection block Istio rejects: no abort/delay, a bad httpStatus or grpcStatus, http2Error, "
    "exponentialDelay (and warnings for an abort without error type or the deprecated percent).",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106", "IST0133", "IST0002"),
)
