"""RequestAuthentication admission rules (`ValidateRequestAuthentication`): targets and JWT rules.

The selector's labels and the JWT `timeout` are the generic rules'
(`invalid-selector`, `empty-selector`, `invalid-duration`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from istio_lsp.checks.admission._se_security import Path, target_selection_findings
from istio_lsp.checks.base import Rule
from istio_lsp.checks.fields import distinct_items, present, scalar_items_or_empty, text_or_empty
from istio_lsp.checks.local import DocumentContext
from istio_lsp.findings import Finding, Severity
from istio_lsp.syntax import MappingNode, SequenceNode
from istio_lsp.syntax.nodes import get

REJECTED = "kubectl apply is rejected by Istio's webhook"
_HEADER = re.compile(r"^[-_A-Za-z0-9]+$")

# ---- invalid-request-authentication --------------------------------------------

TARGET_DOC = """\
A RequestAuthentication sets more than one of `selector`, `targetRef` and
`targetRefs`, or a target reference is not valid.

Checklist row (§8 RequestAuthentication): selector, targetRef and targetRefs rules
as for AuthorizationPolicy: only one of the three; a target reference has a
`name`, no `namespace`, and a kind of Service, networking.istio.io ServiceEntry,
gateway.networking.k8s.io Gateway or GatewayClass. (The selector's labels are
`invalid-selector`'s.)

## Why it matters

Istio's webhook rejects these. Only one way of choosing the workloads can apply,
and a policy only applies in its own namespace, so a target in another namespace
is refused rather than silently ignored.

## Wrong

```yaml
kind: RequestAuthentication
spec:
  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: ingress, namespace: istio-ingress}
```

## Right

Create the RequestAuthentication in the Gateway's namespace:

```yaml
kind: RequestAuthentication
metadata: {namespace: istio-ingress}
spec:
  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: ingress}
```
"""


def check_targets(ctx: DocumentContext) -> Iterator[Finding]:
    yield from target_selection_findings(ctx, TARGET_RULE.code, "", f"{REJECTED}")


TARGET_RULE = Rule(
    code="invalid-request-authentication",
    severity=Severity.ERROR,
    summary="A RequestAuthentication mixes selector and targetRef(s), or has a bad target reference.",
    doc=TARGET_DOC,
    local=check_targets,
    kinds=("RequestAuthentication",),
    istio_codes=("IST0106",),
)


# ---- invalid-jwt-rule --------------------------------------------------------------

JWT_DOC = """\
A `jwtRules` entry of a RequestAuthentication is not valid.

Checklist rows (§8 RequestAuthentication): audiences are non-empty strings;
`issuer` or `jwksUri` is required; `jwksUri` is an http(s) URL; `jwks` parses as a
JSON Web Key Set; `fromHeaders` names, `fromParams` and `fromCookies` are
non-empty; `outputClaimToHeaders` needs a claim and a header, and the header
matches `^[-_A-Za-z0-9]+$`; `jwks` holding private key material (warning). Also
the CRD's rule that `jwks` and `jwksUri` are not both set (the API server rejects
it). (The `timeout` is `invalid-duration`'s.)

## Why it matters

Istio rejects these, and the token checks they configure would otherwise fail at
runtime: a malformed inline `jwks` leaves Envoy without keys, so every request
carrying a token is answered 401. Inline keys are meant to be **public**; a
private key in a RequestAuthentication is readable by anyone who can read Istio
configuration, and lets them mint valid tokens.

## Wrong

```yaml
jwtRules:
- jwksUri: ftp://auth.example.com/keys
  fromHeaders:
  - name: ""
  outputClaimToHeaders:
  - {claim: sub, header: "x user"}
```

## Right

```yaml
jwtRules:
- issuer: https://auth.example.com
  jwksUri: https://auth.example.com/.well-known/jwks.json
  fromHeaders:
  - {name: authorization, prefix: "Bearer "}
  outputClaimToHeaders:
  - {claim: sub, header: x-user}
```
"""


def check_jwt_rules(ctx: DocumentContext) -> Iterator[Finding]:
    rules = get(ctx.spec, "jwtRules")
    for i, rule in distinct_items(rules):
        if isinstance(rule, MappingNode):
            yield from _jwt_rule(ctx, ["spec", "jwtRules", i], rule)


def _jwt_rule(ctx: DocumentContext, where: Path, rule: MappingNode) -> Iterator[Finding]:
    code = JWT_RULE.code

    def error(at: Path, message: str, key: bool = False) -> Finding:
        return ctx.finding(code, Severity.ERROR, at, f"{message}; {REJECTED}.", key=key)

    uri_key = "jwksUri" if get(rule, "jwksUri") is not None else "jwks_uri"
    uri = text_or_empty(rule, uri_key)
    if not text_or_empty(rule, "issuer") and not uri:
        yield error(where, "A JWT rule needs an `issuer` (or at least a `jwksUri`)")
    for k, _, audience in scalar_items_or_empty(get(rule, "audiences")):
        if not audience:
            yield error([*where, "audiences", k], "An audience is an empty string")
    if uri:
        problem = _jwks_uri_problem(uri)
        if problem is not None:
            yield error([*where, uri_key], problem)
    jwks = text_or_empty(rule, "jwks")
    if jwks and uri:
        yield ctx.finding(
            code,
            Severity.ERROR,
            [*where, "jwks"],
            f"Only one of `jwks` and `{uri_key}` can be set; the API server rejects the RequestAuthentication.",
            key=True,
        )
    if jwks:
        problem, private = _jwks_problem(jwks)
        if problem is not None:
            yield error([*where, "jwks"], f"`jwks` is not a valid JSON Web Key Set: {problem}")
        elif private:
            yield ctx.finding(
                code,
                Severity.WARNING,
                [*where, "jwks"],
                "`jwks` holds private key material; only public keys belong here (anyone who can read this "
                "configuration could sign tokens).",
            )
    headers = get(rule, "fromHeaders")
    for k, header in enumerate(headers.value if isinstance(headers, SequenceNode) else []):
        if not present(header):
            yield error([*where, "fromHeaders", k], "A `fromHeaders` entry is null")
        elif not text_or_empty(header, "name"):
            yield error([*where, "fromHeaders", k, "name"], "A `fromHeaders` entry needs a header `name`")
    for field in ("fromParams", "fromCookies"):
        for k, _, value in scalar_items_or_empty(get(rule, field)):
            if not value:
                yield error([*where, field, k], f"`{field}` holds an empty name")
    outputs = get(rule, "outputClaimToHeaders")
    for k, output in enumerate(outputs.value if isinstance(outputs, SequenceNode) else []):
        at: Path = [*where, "outputClaimToHeaders", k]
        if not present(output):
            yield error(at, "An `outputClaimToHeaders` entry is null")
            continue
        claim, header = text_or_empty(output, "claim"), text_or_empty(output, "header")
        if not claim or not header:
            missing = "claim" if not claim else "header"
            yield error(at, f"An `outputClaimToHeaders` entry needs both a `claim` and a `header` (no `{missing}`)")
        elif not _HEADER.match(header):
            yield error([*at, "header"], f"`{header}` is not a valid header name (letters, digits, `-` and `_`)")


def _jwks_uri_problem(uri: str) -> str | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"`{uri}` is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"`jwksUri` `{uri}` must be an http:// or https:// URL"
    return None


_REQUIRED_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x"), "oct": ("k",)}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _jwks_problem(text: str) -> tuple[str | None, bool]:
    """(why `text` is not a JWK or JWK set, whether a key holds private material)."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", False
    if not isinstance(data, dict):
        return "not a JSON object", False
    keys: Any = data.get("keys") if "keys" in data else [data]
    if not isinstance(keys, list):
        return "`keys` is not a list", False
    private = False
    for n, key in enumerate(keys):
        if not isinstance(key, dict):
            return f"key {n} is not a JSON object", False
        kty = key.get("kty")
        if kty not in _REQUIRED_MEMBERS:
            return f"key {n} has no known `kty` (RSA, EC, OKP or oct)", False
        missing = [m for m in _REQUIRED_MEMBERS[kty] if m not in key]
        if missing:
            return f"{kty} key {n} lacks `{missing[0]}`", False
        private = private or (kty != "oct" and any(m in key for m in _PRIVATE_MEMBERS))
    return None, private


JWT_RULE = Rule(
    code="invalid-jwt-rule",
    severity=Severity.ERROR,
    summary="A RequestAuthentication JWT rule is missing its issuer, or has a bad jwksUri, jwks or header.",
    doc=JWT_DOC,
    local=check_jwt_rules,
    kinds=("RequestAuthentication",),
    istio_codes=("IST0106", "IST0133"),
)


RULES = (TARGET_RULE, JWT_RULE)
