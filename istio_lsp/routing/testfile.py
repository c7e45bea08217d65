"""Routing tests: files of `kind: RoutingTest` that state requests and what Istio should do with them.

`read_tests` reads the cases of one file (with the span of each part, for findings) or the problems
that keep it from running; `run_case` traces each request of a case and returns a finding on the case
when an expectation does not hold. The format is `istio_lsp.routing_test_model`'s, documented in
docs/routing.md; `istio-lsp test` is the front end.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from istio_lsp.checks.admission.common import parse_duration
from istio_lsp.checks.files.routing_test_failed import RULE
from istio_lsp.findings import Finding, Severity
from istio_lsp.index.config import yaml_value
from istio_lsp.index.workspace import WorkspaceIndex
from istio_lsp.routing.engine import Reader, trace
from istio_lsp.routing.outcome import Target, Trace
from istio_lsp.routing.request import Request, Source, parse_request, parse_source
from istio_lsp.routing_test_model import API_VERSION, KIND, CaseModel, ExpectModel, validate
from istio_lsp.syntax import MappingNode, Node, Span, YamlDocument, parse_document, split_documents
from istio_lsp.syntax.nodes import get, scalar

CODE = RULE.code

_MAX_VALUE_NODES = 100_000  # a test file holds many cases, but aliases must not make it endless


@dataclass
class RoutingCase:
    """One case, ready to run: its requests, source and expectations with where each is written."""

    uri: str
    name: str
    span: Span  # the case's `name` value
    source: Source
    requests: list[Request]
    expect: dict[str, Any] = field(default_factory=dict)  # only the keys written, by their YAML names
    expect_not: dict[str, Any] = field(default_factory=dict)
    spans: dict[tuple[str, str], Span] = field(default_factory=dict)  # ("expect" | "expectNot", key) → value


@dataclass(frozen=True)
class Problem:
    """What keeps a test file from running, where it is written."""

    span: Span
    message: str


def is_test_text(text: str) -> bool:
    """Whether a file may hold routing tests (a cheap look before parsing)."""
    return KIND in text and "istio-lsp.dev" in text


def test_files(index: WorkspaceIndex) -> list[str]:
    """The files of the index that hold routing tests (their documents are indexed, and give no findings)."""
    return sorted(uri for uri, summary in index.files.items() if any(r.kind == KIND for r in summary.resources))


def read_tests(uri: str, text: str) -> tuple[list[RoutingCase], list[Problem]]:
    """The cases of the RoutingTest documents of a file, or the problems of the malformed ones. Other
    documents (manifests) are left alone. Never raises."""
    cases: list[RoutingCase] = []
    problems: list[Problem] = []
    if not is_test_text(text):
        return cases, problems
    for number, (line, piece) in enumerate(split_documents(text)):
        if KIND not in piece:
            continue
        doc = parse_document(piece, number, line)
        if doc.error is not None:
            problems.append(Problem(doc.error.span, f"cannot read the routing test: {doc.error.message}"))
            continue
        root = doc.root
        if not isinstance(root, MappingNode) or scalar(get(root, "kind")) != KIND:
            continue
        if scalar(get(root, "apiVersion")) != API_VERSION:
            at = get(root, "apiVersion") or root
            problems.append(Problem(doc.span_of(at), f"a {KIND} has `apiVersion: {API_VERSION}`"))
            continue
        nodes: dict[tuple[str | int, ...], Node] = {}
        data, problem = yaml_value(root, (), nodes, [_MAX_VALUE_NODES])
        if problem is not None:
            problems.append(Problem(doc.span_of(next(reversed(nodes.values()))), problem))
            continue

        span = _Spans(doc, nodes)
        model, invalid = validate(data)
        for where, message in invalid:
            problems.append(Problem(span(*where), message))
        if model is None:
            continue
        for i, case in enumerate(model.cases):
            built = _case(uri, case, model.via, model.from_, i, span)
            if isinstance(built, Problem):
                problems.append(built)
            else:
                cases.append(built)
    return cases, problems


class _Spans:
    """Where a part of a test document is written: the deepest node written on the way to it."""

    def __init__(self, doc: YamlDocument, nodes: dict[tuple[str | int, ...], Node]) -> None:
        self.doc, self.nodes = doc, nodes

    def __call__(self, *path: str | int) -> Span:
        found = next(self.nodes[path[:n]] for n in range(len(path), -1, -1) if path[:n] in self.nodes)
        return self.doc.span_of(found)


def _case(
    uri: str, case: CaseModel, via: str | None, origin: str | None, i: int, span: _Spans
) -> RoutingCase | Problem:
    at = ("cases", i)
    if case.via is not None or case.from_ is not None:
        via, origin = case.via, case.from_
    try:
        if via is not None:
            source = parse_source(via, "gateway")
        elif origin is not None:
            source = parse_source(origin, "mesh")
        else:
            return Problem(span(*at), "where does the request start? Give `via` or `from`, in the case or for all")
    except ValueError as error:
        where = "via" if via is not None else "from"
        shown = (*at, where) if (case.via or case.from_) else (where,)
        return Problem(span(*shown), str(error))
    r = case.request
    urls = r.url or tuple(f"{r.scheme}://{a}{u if u.startswith('/') else '/' + u}" for a in r.authority for u in r.uri)
    headers = [f"{k}: {v}" for k, v in r.headers.items()]
    try:
        requests = [parse_request(m, u, headers) for u, m in itertools.product(urls, r.method)]
    except ValueError as error:
        return Problem(span(*at, "request"), str(error))
    built = RoutingCase(uri, case.name, span(*at, "name"), source, requests)
    for key, model in (("expect", case.expect), ("expectNot", case.expect_not)):
        if model is None:
            continue
        given = _given(model)
        (built.expect if key == "expect" else built.expect_not).update(given)
        for name in given:
            built.spans[(key, name)] = span(*at, key, name)
    return built


def _given(model: ExpectModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_unset=True)


# ---- running -----------------------------------------------------------------------------------


def run_case(index: WorkspaceIndex, read: Reader, case: RoutingCase) -> Finding | None:
    """A finding on the case when one of its requests does not get what it expects; None when all do."""
    domain = index.settings.cluster_domain
    failing: list[tuple[Request, list[tuple[tuple[str, str], str]], Trace]] = []
    for request in case.requests:
        result = trace(index, read, request, case.source)
        misses: list[tuple[tuple[str, str], str]] = []
        for key, value in case.expect.items():
            holds, got = _holds(key, value, result, domain)
            if not holds:
                misses.append((("expect", key), f"expected {key} {_shown(value)}, got {got}"))
        for key, value in case.expect_not.items():
            if _holds(key, value, result, domain)[0]:
                misses.append((("expectNot", key), f"expected {key} not {_shown(value)}, and it is"))
        if misses:
            failing.append((request, misses, result))
    if not failing:
        return None
    request, misses, result = failing[0]
    span = case.spans.get(misses[0][0], case.span)
    more = f" (and {len(failing) - 1} more of its {len(case.requests)} requests)" if len(failing) > 1 else ""
    outcome = f"{result.status}: {result.summary}" if result.summary else result.status
    message = (
        f'routing test "{case.name}" fails for {request.method} {request.url}{more}: '
        + "; ".join(m for _, m in misses)
        + f" (the trace: {outcome}; `istio-lsp trace` shows each step)"
    )
    return Finding(CODE, Severity.ERROR, message, case.uri, span, resource=f"{KIND} case {case.name!r}")


def _holds(key: str, expected: Any, result: Trace, domain: str) -> tuple[bool, str]:
    """Whether the trace gives what `expected` says for `key`, and what it gives, as text."""
    if key == "status":
        code = result.code is not None and str(result.code) != result.status
        got_text = f"{result.status} ({result.code})" if code else result.status
        holds = expected == result.status or (expected.isdigit() and result.code == int(expected))
        return holds, got_text
    if key == "destination":
        live = [t for t in result.targets if t.share > 0]
        got_text = "; ".join(_target(t) for t in live) or f"no destination ({result.status})"
        return _assigned(list(expected), live, domain), got_text
    # `route`: the matched route itself (`virtualService`, `name`); the others: what it does
    got_value = (result.route or None) if key == "route" else result.route.get(key)
    return _contains(key, expected, got_value), "none" if got_value is None else _shown(got_value)


def _assigned(expected: list[dict[str, Any]], live: list[Target], domain: str) -> bool:
    """Whether the destinations with traffic are exactly the expected ones, in some order."""
    if len(expected) != len(live):
        return False
    if len(live) > 6:  # 720 orders: enough for any route; beyond, in the written order
        return all(_destination(e, t, domain) for e, t in zip(expected, live, strict=True))
    return any(
        all(_destination(e, t, domain) for e, t in zip(expected, order, strict=True))
        for order in itertools.permutations(live)
    )


def _destination(expected: dict[str, Any], target: Target, domain: str) -> bool:
    if target.failing:  # routed there, but refused or nothing answers: not where it is meant to go
        return False
    host = expected.get("host")
    if host is not None:
        names = {target.host.lower(), target.fqdn}
        name, _, rest = target.fqdn.partition(".")
        if rest.endswith(f".svc.{domain}"):  # a Service: its short names too
            namespace = rest.removesuffix(f".svc.{domain}")
            names |= {name, f"{name}.{namespace}", f"{name}.{namespace}.svc"}
        if host.lower() not in names:
            return False
    if "subset" in expected and expected["subset"] != target.subset:
        return False
    if "port" in expected and expected["port"] != target.port:
        return False
    return "weight" not in expected or abs(float(target.share) * 100 - expected["weight"]) < 0.05


_DURATIONS = frozenset({"timeout", "fixedDelay", "perTryTimeout"})


def _contains(key: str, expected: Any, got: Any) -> bool:
    """Whether `got` has what `expected` says: the keys given, compared as their kind of value is."""
    if got is None:
        return expected is None
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(_contains(k, v, got.get(k)) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return isinstance(got, list) and sorted(map(_text, expected)) == sorted(map(_text, got))
    if key in _DURATIONS:
        wanted = parse_duration(str(expected))
        return wanted is not None and wanted == parse_duration(str(got))
    if key == "retryOn":
        return _conditions(str(expected)) == _conditions(str(got))
    if key in ("virtualService", "httpRoute", "grpcRoute", "tlsRoute", "tcpRoute"):
        return expected == got or ("/" not in str(expected) and str(got).endswith(f"/{expected}"))
    try:
        return float(_text(expected)) == float(_text(got))
    except ValueError:
        return _text(expected) == _text(got)


def _conditions(text: str) -> set[str]:
    return {c.strip() for c in text.split(",") if c.strip()}


def _text(value: Any) -> str:
    """YAML's `true` and the text `true` are the same header value."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _target(target: Target) -> str:
    port = f":{target.port}" if target.port else ""
    subset = f" subset {target.subset}" if target.subset else ""
    failing = f", {target.status}" if target.failing else ""
    return f"{target.fqdn}{port}{subset} ({float(target.share) * 100:g}%{failing})"


def _shown(value: Any) -> str:
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= 200 else text[:197] + "…"
