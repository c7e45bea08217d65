"""retry-non-idempotent: retries on failures the upstream may already have acted on, on a route that takes POST."""

from __future__ import annotations

import re
from collections.abc import Iterator

from istio_lsp.checks.admission.common import as_int
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import absent, as_mapping, distinct_items, mapping_at, set_text
from istio_lsp.checks.local import DocumentContext, replace_scalar
from istio_lsp.checks.routes._shared import RouteRef, routes
from istio_lsp.findings import Finding, Fix, Severity
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.syntax import Node
from istio_lsp.syntax.nodes import get, scalar

try:  # Istio matches `method.regex` with RE2
    import re2 as _re2
except ImportError:  # pragma: no cover - google-re2 has no wheel for this platform
    _re2 = None

# Conditions under which Envoy sends the request again although the upstream may have received and acted
# on it: an answer from the application (500, 502, 504 and any 5xx), or a connection that broke after the
# request went out (reset, a per-try timeout).
REPLAYING = {
    "5xx": "any 5xx answer, a reset or a per-try timeout",
    "gateway-error": "a 502, 503 or 504 answer, including a per-try timeout",
    "reset": "a connection reset or a per-try timeout after the request was sent",
    "500": "a 500 answer",
    "502": "a 502 answer",
    "504": "a 504 answer (a timeout while the upstream was working)",
}
# what replaces them: failures where the request never reached the application
SAFE = ("connect-failure", "refused-stream")
NON_IDEMPOTENT = ("POST", "PATCH")

DOC = """\
An HTTP route retries on conditions under which the upstream may already have
processed the request (`retryOn` holds `5xx`, `gateway-error`, `reset`, or the
status codes `500`, `502`, `504`), and the route's matches let POST or PATCH
requests through: a request that is not idempotent can be applied twice.

## Why it matters

Envoy does not look at the method before retrying: with a retry policy in place it
re-sends whatever request failed, as long as it still holds its body. Whether a
retry is safe depends on the condition that triggered it:

- `connect-failure` fires when no connection to the upstream could be opened, and
  `refused-stream` when an HTTP/2 upstream refused the stream, which the protocol
  guarantees means it did nothing with it: the request never reached the
  application, so sending it again cannot repeat anything. Envoy's own
  documentation calls REFUSED_STREAM the reset that is safe to retry
  (<https://github.com/envoyproxy/envoy/issues/68>).
- `reset` fires when the upstream does not answer at all: the connection broke or a
  per-try timeout ran out, possibly after the application received the request and
  committed its effect. Envoy's maintainers discuss exactly this in
  <https://github.com/envoyproxy/envoy/issues/10007>, which led to the separate
  `reset-before-request` condition (passed through by Istio releases that ship an
  Envoy with it, <https://github.com/istio/istio/issues/51704>).
- `5xx` covers every 5xx answer plus everything `reset` covers; `gateway-error`
  covers 502, 503 and 504, a timed-out try included. A 500 or 504 tells nothing about
  whether the write happened; a 504 after a per-try timeout usually means the
  application is still working on the first copy while the second arrives.

POST and PATCH are not idempotent (RFC 9110 §9.2.2): sending one twice may create
two orders or two payments. Teams have hit this with Istio: a payment service paid
out twice because a POST was retried (<https://github.com/istio/istio/issues/50506>),
POSTs that had connected fine were retried transparently
(<https://github.com/istio/istio/issues/13851>), and there is no `retryOn` switch to
limit retries to idempotent methods: routes have to be split by method
(<https://github.com/istio/istio/issues/17145>).

The rule reads each HTTP route with `retries.attempts` above 0 (with `attempts` 0 or
unset there are no retries). A route is reported unless every one of its `match`
entries restricts `method` to values that are neither POST nor PATCH (an `exact`,
`prefix` or RE2 `regex` method match). A delegate VirtualService (one without
`hosts`) is not reported: the route that delegates to it may restrict the methods.
Istio's default policy, used when `retries` is not written, is not reported either.

It is information, not a warning: the files cannot tell whether the service behind the
route accepts POST or PATCH at all, or makes them idempotent itself (an idempotency
key); many routes that retry on `5xx` serve reads only.

## Wrong

```yaml
http:
- route:
  - destination: {host: orders}
  retries:
    attempts: 3
    retryOn: 5xx,reset
```

## Right

Retry only failures where the request never reached the application, or keep the
broad conditions on a route that takes idempotent methods alone:

```yaml
http:
- match:
  - method: {regex: "GET|HEAD"}
  route:
  - destination: {host: orders}
  retries: {attempts: 3, retryOn: "5xx,reset"}
- route:
  - destination: {host: orders}
  retries: {attempts: 3, retryOn: "connect-failure,refused-stream"}
```

## Fixes

**Retry only before the request reaches the application**: rewrites `retryOn`
without the conditions above, keeping the others and adding `connect-failure` and
`refused-stream`. Not applied automatically: it retries fewer failures.

No `istioctl analyze` or Kiali counterpart.
"""


def check(ctx: DocumentContext) -> Iterator[Finding]:
    if not any(scalar(h) for _, h in distinct_items(ctx.at("spec.hosts"))):
        return  # a delegate: the route that delegates to it may admit only some methods
    for route in routes(ctx, ("http",)):
        retries = mapping_at(route.node, "retries")
        attempts = as_int(scalar(get(retries, "attempts")))
        retry_on = get(retries, "retryOn")
        text = set_text(retries, "retryOn")
        if attempts is None or attempts <= 0 or text is None or retry_on is None or is_placeholder(text):
            continue
        tokens = [t.strip() for t in text.split(",") if t.strip()]
        replaying = [t for t in tokens if t.lower() in REPLAYING]
        if not replaying or not _admits_writes(route):
            continue
        yield _finding(ctx, route, retry_on, tokens, replaying)


def _finding(ctx: DocumentContext, route: RouteRef, node: Node, tokens: list[str], replaying: list[str]) -> Finding:
    what = "; ".join(f"`{t}` retries after {REPLAYING[t.lower()]}" for t in replaying)
    matches = (
        "this route has no `match`"
        if absent(get(route.node, "match"))
        else "a `match` of this route does not restrict `method` to idempotent ones"
    )
    message = (
        f"Retries may send a request again after the upstream already acted on it ({what}), and {matches}, "
        f"so POST and PATCH requests are retried too: an order or a payment can be made twice. Envoy does not "
        f"check the method before retrying. Retry only `connect-failure` and "
        f"`refused-stream` (the request never reached the application), or put the broad conditions on a route "
        f"that matches GET/HEAD alone."
    )
    kept = [t for t in tokens if t not in replaying]
    safe = list(dict.fromkeys([*kept, *(s for s in SAFE if s not in kept)]))
    fix: Fix = replace_scalar(
        ctx,
        node,
        ",".join(safe),
        f"Retry only before the request reaches the application: `{','.join(safe)}`",
        safe=False,
    )
    return ctx.finding(RULE.code, RULE.severity, node, message, fixes=[fix])


def _admits_writes(route: RouteRef) -> bool:
    """Whether some request with a non-idempotent method can take this route (a match that is not a
    mapping, or a method condition we cannot read, counts as restricting: the finding needs certainty)."""
    matches = get(route.node, "match")
    if absent(matches):
        return True
    entries = distinct_items(matches)
    if not entries:
        return True  # `match: []` accepts every request
    return any(_match_admits_writes(entry) for _, entry in entries)


def _match_admits_writes(entry: Node) -> bool:
    match = as_mapping(entry)
    if match is None:
        return False
    method = get(match, "method")
    if absent(method):
        return True
    condition = as_mapping(method)
    if condition is None or len(condition.value) != 1:
        return False
    kind = str(condition.value[0][0].value)
    value = scalar(condition.value[0][1])
    if value is None or is_placeholder(value):
        return False
    return any(_accepts(kind, value, m) for m in NON_IDEMPOTENT)


def _accepts(kind: str, value: str, method: str) -> bool:
    if kind == "exact":
        return value == method
    if kind == "prefix":
        return method.startswith(value)
    if kind == "regex":
        try:
            found = _re2.fullmatch(value, method) if _re2 is not None else re.fullmatch(value, method)
        except Exception:  # an invalid regex is invalid-regex's business; say nothing here
            return False
        return found is not None
    return False


RULE = Rule(
    code="retry-non-idempotent",
    severity=Severity.INFORMATION,
    summary="Retries on 5xx, gateway-error or reset on a route that admits POST or PATCH: a request can be "
    "applied twice.",
    doc=DOC,
    local=check,
    kinds=("VirtualService",),
)
