"""invalid-retries: retry policies Istio rejects."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._vs_routes import REJECTED, insert_first_field_fix, spec_routes
from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.base import Rule, close_matches
from istio_lsp.checks.fields import has_text, mapping_at, value_at
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.syntax import MappingNode
from istio_lsp.syntax.nodes import get, key_node, scalar

DOC = """\
A `retries` policy that Istio's webhook rejects.

Covers these rows of the webhook checklist (HTTP route, retries):

- `attempts` is negative;
- `attempts` is 0, or not set (which means 0), while `perTryTimeout`, `retryOn` or
  `retryRemoteLocalities` is set: the policy configures retries that are disabled;
- a `retryOn` entry that is neither an HTTP status code (`503`) nor one of Envoy's
  retry conditions: `5xx`, `gateway-error`, `reset`, `reset-before-request`,
  `connect-failure`, `retriable-4xx`, `refused-stream`, `retriable-status-codes`,
  `retriable-headers`, `envoy-ratelimited`, `http3-post-connect-failure`, and the
  gRPC ones `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`,
  `unavailable`. Entries are separated by commas **without spaces**: `5xx, reset`
  has the invalid entry ` reset`.

`perTryTimeout` and `backoff` values are checked by `invalid-duration`.

## Why it matters

The webhook rejects the whole VirtualService, so the intended retry policy (and
every other change in the same apply) never reaches the proxies.

## Wrong

```yaml
retries:
  perTryTimeout: 2s
  retryOn: 5xx, connect-failure, gateway_error
```

## Right

```yaml
retries:
  attempts: 3
  perTryTimeout: 2s
  retryOn: 5xx,connect-failure,gateway-error
```

## Fixes

- **Change to `5xx,connect-failure,gateway-error`**: removes spaces and empty
  entries and corrects misspelt conditions.
- **Set `attempts: 2`** (Istio's default number of attempts) when `attempts` is
  missing.

Related: `istioctl analyze` IST0106 (schema validation error).
"""

RETRY_ON = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "envoy-ratelimited",
        "http3-post-connect-failure",
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)

# the codes Go's net/http StatusText knows (Istio accepts a retryOn number when it has a name there)
HTTP_STATUS_CODES = frozenset(
    {
        *(100, 101, 102, 103),
        *(200, 201, 202, 203, 204, 205, 206, 207, 208, 226),
        *(300, 301, 302, 303, 304, 305, 307, 308),
        *range(400, 419),
        *(421, 422, 423, 424, 425, 426, 428, 429, 431, 451),
        *(500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511),
    }
)
_GO_ATOI = re.compile(r"[+-]?[0-9]+")


def check(ctx: DocumentContext) -> Iterator[Finding]:
    for _, rule in spec_routes(ctx, "http"):
        retries = mapping_at(rule, "retries")
        if retries is not None:
            yield from _check_retries(ctx, rule, retries)


def _check_retries(ctx: DocumentContext, rule: MappingNode, retries: MappingNode) -> Iterator[Finding]:
    attempts_node = value_at(retries, "attempts")
    attempts = 0 if attempts_node is None else as_int(scalar(attempts_node))
    if attempts is not None and attempts_node is not None and attempts < 0:
        yield ctx.finding(
            RULE.code, RULE.severity, attempts_node, f"`attempts: {attempts}` cannot be negative. {REJECTED}."
        )
    if attempts == 0:
        configured = [k for k in ("perTryTimeout", "retryRemoteLocalities") if value_at(retries, k) is not None] + (
            ["retryOn"] if has_text(retries, "retryOn") else []
        )
        if configured:
            fields = ", ".join(f"`{k}`" for k in configured)
            if attempts_node is None:
                fix = insert_first_field_fix(ctx, retries, "attempts: 2", "Set `attempts: 2`", safe=False)
                yield ctx.finding(
                    RULE.code,
                    RULE.severity,
                    key_node(rule, "retries") or retries,
                    f"`attempts` is not set, which means 0 (no retries), yet {fields} configure retries. "
                    f"{REJECTED} (retry policy configured when attempts are set to 0).",
                    fixes=[fix] if fix is not None else [],
                )
            else:
                yield ctx.finding(
                    RULE.code,
                    RULE.severity,
                    attempts_node,
                    f"`attempts: 0` disables retries, yet {fields} configure them: raise `attempts` or remove "
                    f"those fields. {REJECTED}.",
                )
    yield from _check_retry_on(ctx, retries)


def _valid_token(token: str) -> bool:
    if token in RETRY_ON:
        return True
    return bool(_GO_ATOI.fullmatch(token)) and int(token) in HTTP_STATUS_CODES


def _check_retry_on(ctx: DocumentContext, retries: MappingNode) -> Iterator[Finding]:
    node = get(retries, "retryOn")
    text = scalar(node)
    if node is None or not text:
        return
    tokens = text.split(",")
    bad = [t for t in tokens if not _valid_token(t)]
    if not bad:
        return
    corrected: list[str] = []
    for token in tokens:
        stripped = token.strip()
        if not stripped:
            continue
        if _valid_token(stripped):
            corrected.append(stripped)
            continue
        guess = _guess(stripped)
        if guess is None:
            corrected = []
            break
        corrected.append(guess)
    fixes: list[Fix] = []
    if corrected:
        new = ",".join(dict.fromkeys(corrected))
        fixes.append(replace_scalar(ctx, node, new, f"Change to `{new}`"))
    listing = ", ".join(f"`{t}`" for t in bad)
    spaces = " (entries are separated by commas without spaces)" if any(t != t.strip() for t in bad) else ""
    yield ctx.finding(
        RULE.code,
        RULE.severity,
        node,
        f"`retryOn` has entries that are neither an HTTP status nor a retry condition Envoy knows: {listing}"
        f"{spaces}. {REJECTED}.",
        fixes=fixes,
    )


def _guess(token: str) -> str | None:
    normal = token.lower().replace("_", "-").replace(" ", "-")
    if normal in RETRY_ON:
        return normal
    matches = close_matches(normal, RETRY_ON, limit=1)
    return matches[0] if matches else None


RULE = Rule(
    code="invalid-retries",
    severity=Severity.ERROR,
    summary="A retry policy Istio rejects: negative attempts, retry settings with attempts 0 or unset, unknown "
    "retryOn conditions.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
    istio_codes=("IST0106",),
)
