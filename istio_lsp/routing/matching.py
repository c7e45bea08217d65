"""Whether one `http[].match[]` entry takes a request, and if not, why: Envoy's reading of Istio's
HTTPMatchRequest. The conditions are parsed by the route checks' reader (`checks/routes/_shared.py`);
this module only evaluates them against one concrete request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from istio_lsp.checks.routes._shared import HttpMatch, StringCond, http_match
from istio_lsp.model.hosts import gateway_key, host_matches, namespaces_match
from istio_lsp.routing.request import Request
from istio_lsp.syntax import Node
from istio_lsp.syntax.nodes import get, items, pairs, scalar

try:
    import re2 as _re2
except ImportError:  # pragma: no cover - google-re2 has no wheel for this platform
    _re2 = None


@dataclass(frozen=True)
class Where:
    """Who sends the request, as a match's source conditions read it."""

    gateway: str | None  # `namespace/name` of the Istio Gateway that took it; None: a sidecar (`mesh`)
    namespace: str  # the namespace of the gateway or of the client workload
    labels: dict[str, str]  # the client's pod labels (the gateway's selector for a gateway)


def full_match(pattern: str, value: str) -> bool | None:
    """Envoy's `safe_regex`: RE2, the whole value. None when the pattern does not compile."""
    try:
        if _re2 is not None:
            options = _re2.Options()
            options.log_errors = False
            return _re2.compile(pattern, options).fullmatch(value) is not None
        return re.fullmatch(pattern, value) is not None  # pragma: no cover - without google-re2
    except Exception:
        return None


def regex_substitute(pattern: str, replacement: str, value: str) -> str | None:
    """`uriRegexRewrite`: every match of the RE2 pattern replaced (`\\1` names a group); None when invalid."""
    try:
        compiled = _re2.compile(pattern) if _re2 is not None else re.compile(pattern)
        return str(compiled.sub(replacement, value))
    except Exception:
        return None


def string_accepts(cond: StringCond, value: str | None, *, fold: bool = False) -> tuple[bool, str]:
    """Whether a StringMatch accepts a value (None: the header or parameter is missing), and how to say so."""
    if value is None:
        return False, cond.describe()
    if cond.kind == "present":
        return True, "present"
    if cond.kind == "other":
        return False, f"a condition the trace does not read ({cond.value})"
    if cond.kind == "regex":
        found = full_match(cond.value, value)
        if found is None:
            return False, f"regex `{cond.value}` is not valid RE2"
        return found, f"regex `{cond.value}`"
    mine, theirs = (cond.value.lower(), value.lower()) if fold else (cond.value, value)
    if cond.kind == "exact":
        return mine == theirs, f"exact `{cond.value}`"
    return theirs.startswith(mine), f"prefix `{cond.value}`"


@dataclass
class Verdict:
    matched: bool
    reason: str  # what matched, or the first condition that did not
    uri: StringCond | None = None  # the match's uri condition (a rewrite replaces the prefix it matched)


def evaluate(node: Node, request: Request, where: Where, vs_namespace: str) -> Verdict:
    """Whether one match entry takes the request. All conditions of an entry must hold (AND)."""
    match = http_match(node)
    failed = _first_miss(match, node, request, where, vs_namespace)
    if failed is not None:
        return Verdict(False, failed, match.strings["uri"])
    return Verdict(True, _describe(match) or "no condition", match.strings["uri"])


def _first_miss(match: HttpMatch, node: Node, request: Request, where: Where, vs_namespace: str) -> str | None:
    if match.other:
        return f"it uses {', '.join(sorted(match.other))}, which the trace does not model (counted as no match)"
    if match.gateways is not None:
        names = {_gateway_ref(g, vs_namespace) for g in match.gateways}
        if not any(_same_gateway(name, where.gateway) for name in names):
            return f"gateways {sorted(match.gateways)} do not include {where.gateway or 'mesh'}"
    values = {
        "uri": request.path,
        "scheme": request.scheme,
        "method": request.method,
        "authority": request.authority,
    }
    for name, value in values.items():
        cond = match.strings[name]
        if cond is None:
            continue
        fold = name == "uri" and match.ignore_case and cond.kind in ("exact", "prefix")
        ok, how = string_accepts(cond, value, fold=fold)
        if not ok:
            case = " (case ignored)" if fold else ""
            return f"{name} {how}{case} does not match `{value}`"
    for header, cond in match.headers.items():
        ok, how = string_accepts(cond, request.headers.get(header))
        if not ok:
            got = request.headers.get(header)
            shown = "it is absent" if got is None else f"it is `{got}`"
            return f"header `{header}` {how} required, {shown}"
    for header, cond in match.without.items():
        got = request.headers.get(header)
        ok, how = string_accepts(cond, got)
        if got is not None and ok:
            return f"withoutHeaders `{header}` {how} excludes it (it is `{got}`)"
    for param, cond in match.query.items():
        if cond.kind == "exact" and cond.value == "":
            cond = StringCond("present", "")  # Istio reads `exact: ""` as "the parameter is present"
        ok, how = string_accepts(cond, request.query.get(param))
        if not ok:
            got = request.query.get(param)
            shown = "it is absent" if got is None else f"it is `{got}`"
            return f"query parameter `{param}` {how} required, {shown}"
    port = scalar(get(node, "port"))
    if port is not None and port.strip() != str(request.effective_port):
        return f"port {port} is not {request.effective_port}"
    if match.source_namespace is not None and not namespaces_match(match.source_namespace, where.namespace):
        return f"sourceNamespace `{match.source_namespace}` is not `{where.namespace}`"
    for key, value in match.source_labels.items():
        if where.labels.get(key) != value:
            return f"sourceLabels {key}={value} not carried by the client ({where.labels.get(key) or 'absent'})"
    return None


def _describe(match: HttpMatch) -> str:
    parts = [f"{name} {cond.describe()}" for name, cond in match.strings.items() if cond is not None]
    if match.ignore_case:
        parts.append("ignoreUriCase")
    parts += [f"header `{k}` {c.describe()}" for k, c in match.headers.items()]
    parts += [f"without header `{k}` {c.describe()}" for k, c in match.without.items()]
    parts += [f"query `{k}` {c.describe()}" for k, c in match.query.items()]
    if match.port is not None:
        parts.append(f"port {match.port.strip(chr(39))}")
    if match.gateways is not None:
        parts.append(f"gateways {', '.join(sorted(match.gateways))}")
    if match.source_namespace is not None:
        parts.append(f"sourceNamespace {match.source_namespace}")
    parts += [f"sourceLabels {k}={v}" for k, v in match.source_labels.items()]
    return ", ".join(parts)


def _gateway_ref(reference: str, vs_namespace: str) -> str:
    if reference.strip() == "mesh":
        return "mesh"
    namespace, name = gateway_key(reference, vs_namespace)
    return f"{namespace}/{name}"


def _same_gateway(name: str, gateway: str | None) -> bool:
    if gateway is None:
        return name == "mesh"
    if name == "mesh":
        return False
    ns, _, gw = name.partition("/")
    want_ns, _, want = gateway.partition("/")
    return gw == want and namespaces_match(ns, want_ns)


def gateway_binds(references: list[str], vs_namespace: str, gateway: str | None) -> bool:
    """Whether a VirtualService's `gateways` (empty: `mesh`) bind it where the request is."""
    names = [_gateway_ref(r, vs_namespace) for r in references] or ["mesh"]
    return any(_same_gateway(name, gateway) for name in names)


def connection_miss(node: Node, request: Request, where: Where, vs_namespace: str, *, sni: bool) -> str | None:
    """Why a `tcp` or `tls` match entry (L4MatchAttributes, TLSMatchAttributes) does not take the connection
    to the request's host and port (None: it does). The SNI is the request's host."""
    if sni:
        hosts = [h for h in (scalar(i) for i in items(get(node, "sniHosts"))) if h]
        if hosts and not any(host_matches(h.strip().lower(), request.host) for h in hosts):
            return f"sniHosts {', '.join(f'`{h}`' for h in hosts)} do not include `{request.host}`"
    port = scalar(get(node, "port"))
    if port is not None and port.strip() != str(request.effective_port):
        return f"port {port} is not {request.effective_port}"
    if get(node, "destinationSubnets") is not None:
        return "destinationSubnets: the trace does not know the destination address (counted as no match)"
    gateways = [g for g in (scalar(i) for i in items(get(node, "gateways"))) if g]
    if gateways and not any(_same_gateway(_gateway_ref(g, vs_namespace), where.gateway) for g in gateways):
        return f"gateways {sorted(gateways)} do not include {where.gateway or 'mesh'}"
    source_namespace = scalar(get(node, "sourceNamespace"))
    if source_namespace is not None and not namespaces_match(source_namespace, where.namespace):
        return f"sourceNamespace `{source_namespace}` is not `{where.namespace}`"
    for key, value in pairs(get(node, "sourceLabels")):
        wanted = scalar(value)
        if where.labels.get(str(key.value)) != wanted:
            carried = where.labels.get(str(key.value)) or "absent"
            return f"sourceLabels {key.value}={wanted} not carried by the client ({carried})"
    return None


def describe_connection(node: Node) -> str:
    """A `tcp` or `tls` match entry, short: `sniHosts a.example.com, port 443`."""
    parts = []
    hosts = [h for h in (scalar(i) for i in items(get(node, "sniHosts"))) if h]
    if hosts:
        parts.append("sniHosts " + ", ".join(f"`{h}`" for h in hosts))
    for key in ("port", "sourceNamespace"):
        value = scalar(get(node, key))
        if value is not None:
            parts.append(f"{key} {value}")
    parts += [f"sourceLabels {k.value}={scalar(v)}" for k, v in pairs(get(node, "sourceLabels"))]
    gateways = [g for g in (scalar(i) for i in items(get(node, "gateways"))) if g]
    if gateways:
        parts.append(f"gateways {', '.join(sorted(gateways))}")
    return ", ".join(parts) or "no condition"
