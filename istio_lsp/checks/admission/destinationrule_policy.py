"""DestinationRule admission rules for the settings inside a traffic policy: outlier
detection, connection pool, load balancer (consistent hash, maglev, locality and zone-aware
settings) and warmup. Durations and integer percentages are `invalid-duration` and
`invalid-percentage`'s."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.checks.admission._drgw_helpers import (
    WEBHOOK_CODES,
    Policy,
    insert_key_fix,
    is_networking,
    listing,
    replace_scalar_fix,
    traffic_policies,
)
from istio_lsp.checks.admission.common import as_float, as_int
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import as_mapping, is_set, is_set_at, is_yaml_true, set_text, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Fix, Severity, TextEdit
from istio_lsp.syntax import MappingNode, Node, Span
from istio_lsp.syntax.nodes import PathSegment, get, items, key_node, pairs, scalar

REJECTED = "Istio's webhook rejects the DestinationRule"
WARNED = "Istio admits the DestinationRule with a warning"

# ---- invalid-outlier-detection --------------------------------------------------------

OUTLIER_DOC = """\
Outlier detection counts local-origin failures without splitting them from upstream
errors, or uses the deprecated `consecutiveErrors`.

Checklist rows (§2 DestinationRule), outlierDetection:

- `consecutiveLocalOriginFailures` > 0 without `splitExternalLocalOriginErrors: true`
  (error);
- `consecutiveErrors` is deprecated (warning).

(`baseEjectionTime`/`interval` are checked by `invalid-duration`;
`maxEjectionPercent`/`minHealthPercent` by `invalid-percentage`.)

## Why it matters

Envoy only counts local-origin failures (connect timeouts, resets) separately when it is
told to split them from the errors the upstream returns; a threshold for them alone has
no effect otherwise, so Istio rejects the DestinationRule. `consecutiveErrors` is an old
field kept for compatibility: Istio warns on every apply, and the replacement fields
say precisely which errors count.

## Wrong

```yaml
outlierDetection:
  consecutiveLocalOriginFailures: 5
  consecutiveErrors: 7
```

## Right

```yaml
outlierDetection:
  splitExternalLocalOriginErrors: true
  consecutiveLocalOriginFailures: 5
  consecutive5xxErrors: 7
```

## Fixes

- **Set `splitExternalLocalOriginErrors: true`** (adds the field).
- Replace `consecutiveErrors` by `consecutiveGatewayErrors` (502, 503 and 504) or
  `consecutive5xxErrors` (any 5xx), whichever matches the intent.

Related: `istioctl analyze` IST0106 (SchemaValidationError), IST0133 (SchemaWarning).
"""


def check_outlier(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    rule = OUTLIER_RULE
    for policy in traffic_policies(ctx):
        outlier = as_mapping(get(policy.node, "outlierDetection"))
        if outlier is None:
            continue
        path = [*policy.path, "outlierDetection"]
        failures = as_int(set_text(outlier, "consecutiveLocalOriginFailures"))
        if failures is not None and failures > 0 and not is_yaml_true(get(outlier, "splitExternalLocalOriginErrors")):
            fixes: list[Fix] = []
            if get(outlier, "splitExternalLocalOriginErrors") is None:
                fix = insert_key_fix(
                    ctx, outlier, "splitExternalLocalOriginErrors: true", "Set `splitExternalLocalOriginErrors: true`"
                )
                fixes = [fix] if fix else []
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "consecutiveLocalOriginFailures"],
                "`consecutiveLocalOriginFailures` only counts when `splitExternalLocalOriginErrors` is true: "
                f"{REJECTED}.",
                key=True,
                fixes=fixes,
            )
        errors = as_int(set_text(outlier, "consecutiveErrors"))
        if errors is not None and errors != 0:
            yield ctx.finding(
                rule.code,
                Severity.WARNING,
                [*path, "consecutiveErrors"],
                "`consecutiveErrors` is deprecated: use `consecutiveGatewayErrors` (502/503/504) or "
                f"`consecutive5xxErrors` (any 5xx) instead. {WARNED}.",
                key=True,
            )


OUTLIER_RULE = Rule(
    code="invalid-outlier-detection",
    severity=Severity.ERROR,
    summary="Outlier detection counts local-origin failures without splitting them, or uses consecutiveErrors.",
    doc=OUTLIER_DOC,
    local=check_outlier,
    kinds=("DestinationRule",),
    istio_codes=WEBHOOK_CODES,
)

# ---- invalid-connection-pool ----------------------------------------------------------

POOL_DOC = """\
A connection pool is empty, has a negative limit, upgrades to HTTP/2 while also keeping
the client's protocol, or has an incomplete `http2KeepAlive`.

Checklist rows (§2 DestinationRule), connectionPool:

- present but with neither `http` nor `tcp`;
- http: `http1MaxPendingRequests`, `http2MaxRequests`, `maxRequestsPerConnection`,
  `maxRetries` and `maxConcurrentStreams` are not negative;
- http: `h2UpgradePolicy: UPGRADE` together with `useClientProtocol: true`;
- http: `http2KeepAlive` needs both `interval` and `timeout`;
- tcp: `maxConnections` is not negative.

(The durations — `idleTimeout`, `connectTimeout`, `maxConnectionDuration`, keepalive
times — are checked by `invalid-duration`.)

## Why it matters

`kubectl apply` fails on each of these. `UPGRADE` forces HTTP/1.1 connections to be
upgraded to HTTP/2, while `useClientProtocol` keeps whatever the client spoke: the two
contradict each other.

## Wrong

```yaml
connectionPool:
  http:
    h2UpgradePolicy: UPGRADE
    useClientProtocol: true
    maxRetries: -1
```

## Right

```yaml
connectionPool:
  http:
    h2UpgradePolicy: UPGRADE
    maxRetries: 3
```

## Fixes

Remove the empty `connectionPool`, use non-negative limits, and choose either
`h2UpgradePolicy: UPGRADE` or `useClientProtocol: true`.

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""

_HTTP_LIMITS = (
    "http1MaxPendingRequests",
    "http2MaxRequests",
    "maxRequestsPerConnection",
    "maxRetries",
    "maxConcurrentStreams",
)


def check_pool(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    rule = POOL_RULE
    for policy in traffic_policies(ctx):
        pool = as_mapping(get(policy.node, "connectionPool"))
        if pool is None:
            continue
        path = [*policy.path, "connectionPool"]
        if not is_set(get(pool, "http")) and not is_set(get(pool, "tcp")):
            yield ctx.finding(
                rule.code,
                rule.severity,
                path,
                f"This connectionPool sets neither `http` nor `tcp`: {REJECTED}.",
                key=True,
            )
            continue
        http = as_mapping(get(pool, "http"))
        if http is not None:
            for name in _HTTP_LIMITS:
                yield from _negative(ctx, http, [*path, "http", name], name)
            if set_text(http, "h2UpgradePolicy") == "UPGRADE" and is_yaml_true(get(http, "useClientProtocol")):
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    [*path, "http", "useClientProtocol"],
                    "`useClientProtocol: true` contradicts `h2UpgradePolicy: UPGRADE` (keep the client's protocol "
                    f"vs. always upgrade to HTTP/2): {REJECTED}.",
                    key=True,
                )
            keepalive = get(http, "http2KeepAlive")
            if is_set(keepalive):
                missing = [k for k in ("interval", "timeout") if not is_set_at(keepalive, k)]
                if missing:
                    yield ctx.finding(
                        rule.code,
                        rule.severity,
                        [*path, "http", "http2KeepAlive"],
                        f"`http2KeepAlive` needs both `interval` and `timeout` (missing {listing(missing)}): "
                        f"{REJECTED}.",
                        key=True,
                    )
        tcp = as_mapping(get(pool, "tcp"))
        if tcp is not None:
            yield from _negative(ctx, tcp, [*path, "tcp", "maxConnections"], "maxConnections")


def _negative(ctx: DocumentContext, parent: MappingNode, path: list[PathSegment], name: str) -> Iterator[Finding]:
    value = as_int(set_text(parent, name))
    if value is not None and value < 0:
        yield ctx.finding(POOL_RULE.code, POOL_RULE.severity, path, f"`{name}` is negative ({value}): {REJECTED}.")


POOL_RULE = Rule(
    code="invalid-connection-pool",
    severity=Severity.ERROR,
    summary="A connection pool is empty, has a negative limit or contradictory HTTP/2 settings.",
    doc=POOL_DOC,
    local=check_pool,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)

# ---- invalid-load-balancer ------------------------------------------------------------

LB_DOC = """\
A load balancer setting the webhook rejects or warns about: consistent hashing
(`httpCookie`, `minimumRingSize`, `maglev`), locality load balancing (`distribute`,
`failover`, `failoverPriority`) or zone-aware load balancing.

Checklist rows (§2 DestinationRule), loadBalancer:

- consistentHash: `httpCookie.name` is required; cookie attribute names are non-empty and
  unique; `minimumRingSize` is deprecated (warning); `minimumRingSize` together with
  `ringHash` or `maglev`;
- maglev `tableSize`: set, below 5000011, and prime;
- `localityLbSetting` and `zoneAwareLbSetting` together;
- localityLbSetting: `distribute` and `failover` together; `failover` with a topology
  label (`topology.kubernetes.io/region`, `topology.kubernetes.io/zone`,
  `topology.istio.io/subzone`) in `failoverPriority`; distribute weights 1..100 adding up
  to 100; locality strings with at most one `*`, at the end, without overlaps or empty
  parts; failover `from` ≠ `to`, regions only (no `/`), no `*`;
- failover or failoverPriority without outlierDetection (warning);
- zoneAwareLbSetting: `failoverPriority` without topology labels; failover entries
  region-only, without `*`, `from` ≠ `to`; failover without outlierDetection (warning).

## Why it matters

Errors fail `kubectl apply`. The warnings are admitted but do not work as written:
Envoy only fails over to another locality once outlier detection ejects the unhealthy
endpoints, so failover without `outlierDetection` never triggers. Maglev needs a prime
table size to spread keys evenly; Envoy's default is 65537.

## Wrong

```yaml
loadBalancer:
  consistentHash:
    httpHeaderName: x-user
    maglev: {tableSize: 1000}
  localityLbSetting:
    distribute:
    - from: us-west/zone1/*
      to: {"us-west/zone1/*": 80, "us-west/zone2/*": 30}
```

## Right

```yaml
loadBalancer:
  consistentHash:
    httpHeaderName: x-user
    maglev: {tableSize: 1009}
  localityLbSetting:
    distribute:
    - from: us-west/zone1/*
      to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}
```

## Fixes

- **Use table size `n`**: the next prime Maglev accepts.
- **Move `minimumRingSize` under `ringHash`**: the replacement of the deprecated field.
- Add `outlierDetection` next to the load balancer for failover to take effect.

Related: `istioctl analyze` IST0106 (SchemaValidationError), IST0133 (SchemaWarning).
"""

MAGLEV_LIMIT = 5000011
TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")


def is_prime(number: int) -> bool:
    """Envoy's primality test for Maglev table sizes (1, 2 and 3 count as prime)."""
    if 0 < number < 4:
        return True
    if number % 2 == 0 or number < 0:
        return False
    factor = 3
    while factor * factor <= number:
        if number % factor == 0:
            return False
        factor += 2
    return True


def next_table_size(number: int) -> int:
    """The nearest prime at or above `number` that Maglev accepts, else the largest one below the limit."""
    candidate = max(number, 2)
    while candidate < MAGLEV_LIMIT:
        if is_prime(candidate):
            return candidate
        candidate += 1
    candidate = MAGLEV_LIMIT - 1
    while not is_prime(candidate):
        candidate -= 1
    return candidate


def check_load_balancer(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    for policy in traffic_policies(ctx):
        lb = as_mapping(get(policy.node, "loadBalancer"))
        if lb is None:
            continue
        path = [*policy.path, "loadBalancer"]
        hashing = as_mapping(get(lb, "consistentHash"))
        if hashing is not None:
            yield from _consistent_hash(ctx, [*path, "consistentHash"], hashing)
        if is_set(get(lb, "localityLbSetting")) and is_set(get(lb, "zoneAwareLbSetting")):
            yield ctx.finding(
                LB_RULE.code,
                LB_RULE.severity,
                [*path, "zoneAwareLbSetting"],
                f"`localityLbSetting` and `zoneAwareLbSetting` are mutually exclusive: {REJECTED}.",
                key=True,
            )
        locality = as_mapping(get(lb, "localityLbSetting"))
        if locality is not None:
            yield from _locality(ctx, policy, [*path, "localityLbSetting"], locality)
        zone_aware = as_mapping(get(lb, "zoneAwareLbSetting"))
        if zone_aware is not None:
            yield from _zone_aware(ctx, policy, [*path, "zoneAwareLbSetting"], zone_aware)


def _consistent_hash(ctx: DocumentContext, path: list[PathSegment], hashing: MappingNode) -> Iterator[Finding]:
    rule = LB_RULE
    cookie = get(hashing, "httpCookie")
    if isinstance(cookie, MappingNode):
        if set_text(cookie, "name") is None:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "httpCookie"],
                f"`httpCookie` needs a `name` (the cookie to hash on): {REJECTED}.",
                key=True,
            )
        seen: set[str] = set()
        for index, attribute in enumerate(items(get(cookie, "attributes"))):
            name = set_text(attribute, "name")
            where = [*path, "httpCookie", "attributes", index]
            if name is None:
                yield ctx.finding(rule.code, rule.severity, where, f"A cookie attribute has no name: {REJECTED}.")
            elif name in seen:
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    [*where, "name"],
                    f"Cookie attribute `{name}` is listed twice: {REJECTED}.",
                )
            else:
                seen.add(name)
    ring_size = as_int(set_text(hashing, "minimumRingSize"))
    if ring_size is not None and ring_size != 0:
        algorithms = [k for k in ("ringHash", "maglev") if is_set(get(hashing, k))]
        if algorithms:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "minimumRingSize"],
                f"`minimumRingSize` cannot be combined with {listing(algorithms)}: {REJECTED}.",
                key=True,
            )
        else:
            yield ctx.finding(
                rule.code,
                Severity.WARNING,
                [*path, "minimumRingSize"],
                f"`minimumRingSize` is deprecated: write `ringHash: {{minimumRingSize: {ring_size}}}`. {WARNED}.",
                key=True,
                fixes=_ring_hash_fix(ctx, hashing, ring_size),
            )
    maglev = get(hashing, "maglev")
    if isinstance(maglev, MappingNode):
        yield from _maglev(ctx, [*path, "maglev"], maglev)


def _ring_hash_fix(ctx: DocumentContext, hashing: MappingNode, ring_size: int) -> list[Fix]:
    key = key_node(hashing, "minimumRingSize")
    value = get(hashing, "minimumRingSize")
    if key is None or value is None:
        return []
    start, end = ctx.doc.span_of(key), ctx.doc.span_of(value)
    edit = TextEdit(
        ctx.uri,
        Span(start.start_line, start.start_char, end.end_line, end.end_char),
        f"ringHash: {{minimumRingSize: {ring_size}}}",
    )
    return [Fix("Move `minimumRingSize` under `ringHash`", (edit,), preferred=True)]


def _maglev(ctx: DocumentContext, path: list[PathSegment], maglev: MappingNode) -> Iterator[Finding]:
    rule = LB_RULE
    node = get(maglev, "tableSize")
    size = as_int(scalar(node))
    if size is None or size == 0:
        if node is None or scalar(node) is None or size == 0:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "tableSize"] if node is not None else path,
                f"Maglev needs a `tableSize` (a prime below {MAGLEV_LIMIT}; Envoy's default is 65537): {REJECTED}.",
                key=node is None,
            )
        return
    problems = []
    if size >= MAGLEV_LIMIT:
        problems.append(f"must be less than {MAGLEV_LIMIT}")
    if not is_prime(size):
        problems.append("must be a prime number")
    if not problems or node is None:
        return
    suggestion = 65537 if size >= MAGLEV_LIMIT else next_table_size(size)
    fix = replace_scalar_fix(ctx, node, str(suggestion), f"Use table size `{suggestion}`")
    yield ctx.finding(
        rule.code,
        rule.severity,
        node,
        f"Maglev tableSize {size} {' and '.join(problems)}: {REJECTED}.",
        fixes=[fix] if fix else [],
    )


def _locality_problem(localities: list[str]) -> str | None:
    """Istio's check of locality strings: `region[/zone[/subzone]]`, one trailing `*`, no overlaps."""
    seen: dict[str, dict[str, set[str]]] = {}
    for locality in localities:
        stars = locality.count("*")
        if stars and (stars > 1 or not locality.endswith("*")):
            return f"Locality `{locality}` may hold one `*`, and only at its end"
        if "*" in seen:
            return f"Locality `{locality}` overlaps with `*` listed before it"
        parts = locality.split("/", 2)
        if any(part == "" for part in parts):
            return f"Locality `{locality}` has an empty region, zone or subzone"
        region = parts[0]
        overlap = f"Locality `{locality}` overlaps with one listed before it"
        if len(parts) == 1:
            if region in seen:
                return overlap
            seen[region] = {"*": {"*"}}
        elif len(parts) == 2:
            zones = seen.setdefault(region, {})
            if "*" in zones or parts[1] in zones:
                return overlap
            zones[parts[1]] = {"*"}
        else:
            zones = seen.setdefault(region, {})
            if "*" in zones:
                return overlap
            subzones = zones.setdefault(parts[1], set())
            if "*" in subzones or parts[2] in subzones:
                return overlap
            subzones.add(parts[2])
    return None


def _inherits_outlier(ctx: DocumentContext, policy: Policy) -> bool:
    """Whether a policy enclosing this one sets outlierDetection (Istio merges it in at runtime)."""
    enclosing: list[list[PathSegment]] = []
    if policy.port_level:
        enclosing.append(policy.path[:-2])
    if "subsets" in policy.path:
        enclosing.append(["spec", "trafficPolicy"])
    return any(is_set(get(ctx.at(p), "outlierDetection")) for p in enclosing)


def _failover_warning(ctx: DocumentContext, policy: Policy, where: list[PathSegment]) -> Finding:
    note = (
        " An enclosing traffic policy sets outlierDetection, which Istio merges in at runtime, "
        "but the webhook judges each policy alone."
        if _inherits_outlier(ctx, policy)
        else " Without it unhealthy endpoints are never ejected, so traffic never fails over."
    )
    return ctx.finding(
        LB_RULE.code,
        Severity.WARNING,
        where,
        f"Failover needs `outlierDetection` in the same traffic policy: {WARNED}.{note}",
        key=True,
    )


def _locality(ctx: DocumentContext, policy: Policy, path: list[PathSegment], node: MappingNode) -> Iterator[Finding]:
    rule = LB_RULE
    distribute = items(get(node, "distribute"))
    failover = items(get(node, "failover"))
    priority = [p for p in (scalar(i) for i in items(get(node, "failoverPriority"))) if p is not None]
    if distribute and failover:
        yield ctx.finding(
            rule.code,
            rule.severity,
            [*path, "failover"],
            f"`distribute` and `failover` cannot both be set: {REJECTED}.",
            key=True,
        )
        return
    if failover:
        topology = [label for label in priority if label in TOPOLOGY_LABELS]
        if topology:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "failoverPriority"],
                f"`failover` cannot be combined with the topology label {listing(topology)} in "
                f"`failoverPriority`: {REJECTED}.",
                key=True,
            )
            return
    sources: list[str] = []
    for index, entry in enumerate(distribute):
        where = [*path, "distribute", index]
        source = scalar(get(entry, "from"))
        sources.append(source or "")
        targets: list[str] = []
        total = 0
        for key, value in pairs(get(entry, "to")):
            weight = as_int(scalar(value))
            targets.append(str(key.value))
            if weight is None:
                continue  # not a number: the schema check's
            if not 1 <= weight <= 100:
                yield ctx.finding(
                    rule.code,
                    rule.severity,
                    value,
                    f"Locality weight {weight} is not between 1 and 100: {REJECTED}.",
                )
                return
            total += weight
        if total != 100:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*where, "to"],
                f"The locality weights of this `distribute` entry add up to {total}, not 100: {REJECTED}.",
                key=True,
            )
            return
        problem = _locality_problem(targets)
        if problem is not None:
            yield ctx.finding(rule.code, rule.severity, [*where, "to"], f"{problem}: {REJECTED}.", key=True)
    problem = _locality_problem(sources)
    if problem is not None:
        yield ctx.finding(rule.code, rule.severity, [*path, "distribute"], f"{problem}: {REJECTED}.", key=True)
    if (failover or priority) and not is_set(get(policy.node, "outlierDetection")):
        yield _failover_warning(ctx, policy, [*path, "failover" if failover else "failoverPriority"])
    yield from _failover_entries(ctx, [*path, "failover"], failover)


def _failover_entries(ctx: DocumentContext, path: list[PathSegment], entries: list[Node]) -> Iterator[Finding]:
    rule = LB_RULE
    for index, entry in enumerate(entries):
        source = text_or_empty(entry, "from")
        target = text_or_empty(entry, "to")
        where = [*path, index]
        if source == target:
            yield ctx.finding(
                rule.code,
                rule.severity,
                where,
                f"A failover entry must go to a different region (`from` and `to` are both `{source}`): {REJECTED}.",
            )
        if "/" in source or "/" in target:
            yield ctx.finding(
                rule.code,
                rule.severity,
                where,
                f"Failover `from` and `to` are regions only, without zone or subzone (`/`): {REJECTED}.",
            )
        if "*" in source or "*" in target:
            yield ctx.finding(rule.code, rule.severity, where, f"Failover regions cannot contain `*`: {REJECTED}.")


def _zone_aware(ctx: DocumentContext, policy: Policy, path: list[PathSegment], node: MappingNode) -> Iterator[Finding]:
    priority = [p for p in (scalar(i) for i in items(get(node, "failoverPriority"))) if p is not None]
    topology = [label for label in priority if label in TOPOLOGY_LABELS]
    if topology:
        yield ctx.finding(
            LB_RULE.code,
            LB_RULE.severity,
            [*path, "failoverPriority"],
            f"zoneAwareLbSetting's `failoverPriority` cannot use the topology label {listing(topology)}: {REJECTED}.",
            key=True,
        )
    failover = items(get(node, "failover"))
    if failover and not is_set(get(policy.node, "outlierDetection")):
        yield _failover_warning(ctx, policy, [*path, "failover"])
    yield from _failover_entries(ctx, [*path, "failover"], failover)


LB_RULE = Rule(
    code="invalid-load-balancer",
    severity=Severity.ERROR,
    summary="A load balancer setting (consistent hash, maglev, locality, zone-aware) is invalid or ineffective.",
    doc=LB_DOC,
    local=check_load_balancer,
    kinds=("DestinationRule",),
    istio_codes=WEBHOOK_CODES,
)

# ---- invalid-warmup -------------------------------------------------------------------

WARMUP_DOC = """\
A load balancer `warmup` has no `duration`, or an `aggression` that is not positive.

Checklist rows (§2 DestinationRule), warmup: `duration` is required (its value is
checked by `invalid-duration`); `aggression` > 0. (`minimumPercent` ≤ 100 is
reported by `invalid-percentage`, with the other percentages.)

## Why it matters

`kubectl apply` fails. Warmup ramps the traffic of a new endpoint up over `duration`,
starting at `minimumPercent` of its share, along a curve shaped by `aggression`: without
a duration there is no ramp, a minimum over 100% is no ramp-up, and a non-positive
aggression has no meaning.

## Wrong

```yaml
loadBalancer:
  simple: ROUND_ROBIN
  warmup:
    minimumPercent: 150
```

## Right

```yaml
loadBalancer:
  simple: ROUND_ROBIN
  warmup:
    duration: 60s
    minimumPercent: 10
```

## Fixes

Add a `duration` (for example `60s`), keep `minimumPercent` within 0..100, and use an
`aggression` above 0 (1.0 is linear).

Related: `istioctl analyze` IST0106 (SchemaValidationError).
"""


def check_warmup(ctx: DocumentContext) -> Iterator[Finding]:
    if not is_networking(ctx):
        return
    rule = WARMUP_RULE
    for policy in traffic_policies(ctx):
        warmup = as_mapping(get(get(policy.node, "loadBalancer"), "warmup"))
        if warmup is None:
            continue
        path = [*policy.path, "loadBalancer", "warmup"]
        if not is_set_at(warmup, "duration"):
            yield ctx.finding(
                rule.code,
                rule.severity,
                path,
                f"`warmup` needs a `duration` (how long the ramp-up of a new endpoint lasts): {REJECTED}.",
                key=True,
            )
        # minimumPercent's range is invalid-percentage's, like every percentage
        aggression = as_float(set_text(warmup, "aggression"))
        if aggression is not None and aggression <= 0:
            yield ctx.finding(
                rule.code,
                rule.severity,
                [*path, "aggression"],
                f"`aggression` must be greater than 0 (1.0 ramps up linearly): {REJECTED}.",
            )


WARMUP_RULE = Rule(
    code="invalid-warmup",
    severity=Severity.ERROR,
    summary="A load balancer warmup has no duration, or a non-positive aggression.",
    doc=WARMUP_DOC,
    local=check_warmup,
    kinds=("DestinationRule",),
    istio_codes=("IST0106",),
)

RULES = (OUTLIER_RULE, POOL_RULE, LB_RULE, WARMUP_RULE)
