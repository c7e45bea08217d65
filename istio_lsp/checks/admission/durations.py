"""invalid-duration: a duration field that Istio's webhook rejects (malformed, under 1ms, finer than 1ms)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission._generic import REJECTED, Pattern, is_istio, matching_scalars
from istio_lsp.checks.admission.common import duration_problem, parse_duration
from istio_lsp.checks.base import Rule, Severity
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.findings import Finding, Fix
from istio_lsp.syntax.nodes import scalar

DOC = """\
A duration field holds a value Istio does not accept.

Covers these rows of the webhook checklist (§0 "Duration" and every place it applies):

- every duration of every Istio kind must be a Go/protobuf duration (`250ms`, `10s`,
  `1m30s`), at least 1ms, with no precision finer than a millisecond:
  - VirtualService `http[].timeout`, `retries.perTryTimeout`, `retries.backoff`,
    `fault.delay.fixedDelay` (and the unsupported `exponentialDelay`);
  - VirtualService `corsPolicy.maxAge`, which must also be whole seconds;
  - DestinationRule (top level, subsets and `portLevelSettings`) `outlierDetection.interval`,
    `outlierDetection.baseEjectionTime`, `loadBalancer.warmup.duration`,
    `loadBalancer.warmupDurationSecs`, and the connection pool durations;
  - connection pools (DestinationRule `connectionPool`, Sidecar `inboundConnectionPool` and
    `ingress[].connectionPool`): `tcp.connectTimeout`, `tcp.maxConnectionDuration`,
    `tcp.tcpKeepalive.time`/`interval`, `http.idleTimeout`, `http.http2KeepAlive.interval`/`timeout`,
    and `tcp.idleTimeout`, where `0s` is also accepted (it turns the timeout off);
  - RequestAuthentication `jwtRules[].timeout`;
  - `consistentHash.httpCookie.ttl` only has to parse (`0s` makes a session cookie).

## Why it matters

The webhook rejects the whole resource, so `kubectl apply` fails and nothing of the
change reaches the proxies. A bare number (`timeout: 10`) is the usual slip: a duration
needs a unit.

## Wrong

```yaml
http:
- route:
  - destination: {host: reviews}
  timeout: 10        # no unit
  retries:
    attempts: 3
    perTryTimeout: 500us   # below 1ms
```

## Right

```yaml
  timeout: 10s
  retries:
    attempts: 3
    perTryTimeout: 500ms
```

## Fixes

- **Use `10s`**: adds the missing unit to a bare number (seconds), or rewrites a spelled-out
  unit (`10sec`, `2 min`, `100 millis`) the way Go writes it.

Related: `istioctl analyze` IST0106 (the webhook's error).
"""

# (field-name suffix, how it is judged); `strict` is Istio's ValidateDuration
_CONNECTION_POOL: tuple[tuple[Pattern, str], ...] = (
    (("tcp", "connectTimeout"), "strict"),
    (("tcp", "maxConnectionDuration"), "strict"),
    (("tcp", "idleTimeout"), "zero-ok"),
    (("tcpKeepalive", "time"), "strict"),
    (("tcpKeepalive", "interval"), "strict"),
    (("http", "idleTimeout"), "strict"),
    (("http2KeepAlive", "interval"), "strict"),
    (("http2KeepAlive", "timeout"), "strict"),
)
FIELDS: dict[str, tuple[tuple[Pattern, str], ...]] = {
    "VirtualService": (
        (("spec", "http", "timeout"), "strict"),
        (("http", "retries", "perTryTimeout"), "strict"),
        (("http", "retries", "backoff"), "strict"),
        (("fault", "delay", "fixedDelay"), "strict"),
        (("fault", "delay", "exponentialDelay"), "strict"),
        (("corsPolicy", "maxAge"), "seconds"),
    ),
    "DestinationRule": (
        *_CONNECTION_POOL,
        (("outlierDetection", "interval"), "strict"),
        (("outlierDetection", "baseEjectionTime"), "strict"),
        (("loadBalancer", "warmupDurationSecs"), "strict"),
        (("loadBalancer", "warmup", "duration"), "strict"),
        (("httpCookie", "ttl"), "format"),
    ),
    "Sidecar": _CONNECTION_POOL,
    "RequestAuthentication": ((("jwtRules", "timeout"), "strict"),),
}

_SPELLED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-zµμ]*)\s*$")
_UNITS = {
    "": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "S": "s",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "H": "h",
    "msec": "ms",
    "msecs": "ms",
    "millis": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "MS": "ms",
    "Ms": "ms",
}


def problem_for(text: str, mode: str) -> str | None:
    if mode == "format":
        return None if parse_duration(text) is not None else duration_problem(text)
    if mode == "zero-ok" and parse_duration(text) == 0:
        return None
    problem = duration_problem(text)
    if problem is None and mode == "seconds":
        seconds = parse_duration(text) or 0.0
        if abs(seconds - round(seconds)) > 1e-9:
            return f"`{text}` is not a whole number of seconds, and CORS max-age only has second precision"
    return problem


def suggestion(text: str, mode: str) -> str | None:
    """The duration the user most likely meant, when the unit is missing or spelled out."""
    match = _SPELLED.match(text)
    if match is None or match.group(2) not in _UNITS:
        return None
    candidate = match.group(1) + _UNITS[match.group(2)]
    return candidate if problem_for(candidate, mode) is None else None


def check(ctx: DocumentContext) -> Iterator[Finding]:
    patterns = FIELDS.get(ctx.resource.kind)
    if not patterns or not is_istio(ctx):
        return
    for path, node, mode in matching_scalars(ctx, patterns):
        text = scalar(node)
        if text is None:
            continue
        problem = problem_for(text, mode)
        if problem is None:
            continue
        field = str(path[-1])
        fixes: list[Fix] = []
        better = suggestion(text, mode)
        if better is not None and better != text:
            fixes.append(replace_scalar(ctx, node, better, f"Use `{better}`"))
        yield ctx.finding(RULE.code, RULE.severity, node, f"`{field}`: {problem}; {REJECTED}.", fixes=fixes)


RULE = Rule(
    code="invalid-duration",
    severity=Severity.ERROR,
    summary="A duration field is malformed, shorter than 1ms or finer than a millisecond.",
    doc=DOC,
    local=check,
    kinds=tuple(FIELDS),
    istio_codes=("IST0106",),
)
