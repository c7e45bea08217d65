"""What a trace is made of: its steps, the destinations it reaches, and the outcome (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from istio_lsp.model.resources import Resource
from istio_lsp.routing.request import Request, Source
from istio_lsp.syntax import Span


@dataclass
class Step:
    """One line of the trace: what was decided, and where in the files."""

    kind: str  # source, server, virtualservice, skip, route, rewrite, redirect, ..., destination, rule, policy, pods
    text: str
    uri: str | None = None
    span: Span | None = None
    depth: int = 0  # 1: belongs to the destination above

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.uri is not None and self.span is not None:
            out["uri"] = self.uri
            out["line"] = self.span.start_line + 1
            out["range"] = self.span.to_json()
        return out


@dataclass
class Target:
    """A weighted destination of the matched route, and what happens to the requests sent there."""

    host: str  # as written
    fqdn: str
    subset: str | None
    port: int | None
    share: Fraction
    # "ok", one of TARGET_FAILURES, "unknown" (the files cannot tell: the host or its pods live elsewhere)
    status: str
    reason: str = ""
    workloads: list[str] = field(default_factory=list)
    rule: str | None = None  # code of the check that reports the failure, when one does

    @property
    def failing(self) -> bool:
        """Routed there, but nothing answers, or the pods refuse the request."""
        return self.status in TARGET_FAILURES

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "fqdn": self.fqdn,
            "subset": self.subset,
            "port": self.port,
            "share": float(self.share),
            "status": self.status,
            "reason": self.reason,
            "workloads": self.workloads,
            "rule": self.rule,
        }


# what a destination that gets traffic can answer instead of the request's response, the first the worst:
# no endpoints (503), a Gateway API backend Istio drops (500), an AuthorizationPolicy that refuses it (403)
TARGET_FAILURES = ("503", "500", "403")

# outcome statuses; ROUTED, REDIRECT, DIRECT and FAULT are answers the configuration means to give
ROUTED, REDIRECT, DIRECT, FAULT = "routed", "redirect", "direct-response", "fault"
NOT_FOUND, UNAVAILABLE, PARTLY_UNAVAILABLE, REFUSED, UNKNOWN = "404", "503", "partly-503", "refused", "unknown"
BLOCKED, PASSTHROUGH = "502", "passthrough"  # a host the source's Sidecar does not import
SERVER_ERROR, PARTLY_FAILED = "500", "partly-500"  # Gateway API: a rule without a usable backend
FORBIDDEN, PARTLY_FORBIDDEN = "403", "partly-403"  # an AuthorizationPolicy of the destination refuses it
FAILED = frozenset(
    {
        NOT_FOUND,
        UNAVAILABLE,
        PARTLY_UNAVAILABLE,
        REFUSED,
        BLOCKED,
        SERVER_ERROR,
        PARTLY_FAILED,
        FORBIDDEN,
        PARTLY_FORBIDDEN,
    }
)


@dataclass
class Trace:
    request: Request
    source: Source
    steps: list[Step] = field(default_factory=list)
    status: str = UNKNOWN
    code: int | None = None  # the HTTP status the client gets, when the files decide it
    summary: str = ""
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the trace could not model on this path
    # the matched route and what it does, as data (keys named as in a VirtualService: `rewrite`, `redirect`,
    # `fault`, `timeout`, `retries`, `headers`, `delegate`, ...): what routing tests compare
    route: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def add(
        self, kind: str, text: str, where: Resource | tuple[str, Span | None] | None = None, depth: int = 0
    ) -> None:
        uri, span = (where.uri, where.name_span) if isinstance(where, Resource) else (where or (None, None))
        self.steps.append(Step(kind, text, uri, span, depth))

    def end(self, status: str, summary: str, code: int | None = None) -> Trace:
        self.status, self.summary, self.code = status, summary, code
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "source": {
                "kind": self.source.kind,
                "namespace": self.source.namespace,
                "name": self.source.name,
                "labels": dict(self.source.labels),
                "api": self.source.api,
            },
            "steps": [s.to_json() for s in self.steps],
            "outcome": {
                "status": self.status,
                "code": self.code,
                "summary": self.summary,
                "destinations": [t.to_json() for t in self.targets],
            },
            "notes": self.notes,
            "route": self.route,
        }
