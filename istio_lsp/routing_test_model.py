"""The routing test file's pydantic model (`kind: RoutingTest`): it validates the files `istio-lsp test`
runs and is the source of their JSON Schema (`istio_lsp/docs/istio-lsp-routing-test.schema.json`, written
by `python -m istio_lsp.checks.docs`).

A file states requests and what Istio should do with them; `istio_lsp.routing.testfile` runs them
through the routing engine. Only the keys a case gives under `expect` are compared.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

API_VERSION = "istio-lsp.dev/v1"
KIND = "RoutingTest"
# the outcomes of a trace (`istio-lsp trace --format json`, outcome.status)
OUTCOMES = (
    "routed",
    "redirect",
    "direct-response",
    "fault",
    "passthrough",
    "404",
    "503",
    "partly-503",
    "502",
    "refused",
    "unknown",
)


def _one_is_a_list(value: Any) -> Any:
    """One value is a list of one."""
    return [value] if isinstance(value, str | dict) else value


def _status(value: Any) -> Any:
    """An HTTP status code (a number) or an outcome's name, as text."""
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return str(value)
    if isinstance(value, str) and (value in OUTCOMES or (value.isdigit() and 100 <= int(value) <= 599)):
        return value
    raise PydanticCustomError(
        "status",
        "expected an HTTP status code (100-599) or one of {outcomes}, got {value}",
        {"outcomes": ", ".join(OUTCOMES), "value": repr(value)},
    )


def _percentage(value: Any) -> Any:
    """Istio writes `percentage: {value: 50}`; `50` says the same."""
    if isinstance(value, dict) and set(value) == {"value"}:
        return value["value"]
    return value


Strings = Annotated[tuple[StrictStr, ...], BeforeValidator(_one_is_a_list, json_schema_input_type=str | list[str])]
Status = Annotated[
    str, BeforeValidator(_status, json_schema_input_type=Annotated[int, Field(ge=100, le=599)] | Literal[OUTCOMES])
]
Percent = Annotated[
    float, Field(ge=0, le=100), BeforeValidator(_percentage, json_schema_input_type=float | dict[str, float])
]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        field_title_generator=lambda name, _: to_camel(name),
    )


class RequestModel(_Model):
    """The request, or requests: every combination of the methods and URLs (or authorities and URIs)."""

    method: Strings = Field(("GET",), description="HTTP method(s); default GET.")
    url: Strings = Field(
        (),
        description="URL(s) such as `http://shop.example.com/api/items?page=2`; without a scheme `http://`. "
        "Either `url` or `authority`.",
    )
    authority: Strings = Field(
        (), description="Host(s), with a port when not the scheme's default (istio-config-validator's form)."
    )
    uri: Strings = Field(("/",), description="With `authority`: path(s) with an optional query string; default `/`.")
    scheme: Literal["http", "https"] = Field("http", description="With `authority`: the scheme; default http.")
    headers: dict[StrictStr, StrictStr] = Field(
        {}, description='Request headers, sent with every request (quote values such as "true").'
    )

    @model_validator(mode="after")
    def _url_or_authority(self) -> RequestModel:
        if bool(self.url) == bool(self.authority):
            raise PydanticCustomError("request", "give either `url` or `authority` (with `uri`)")
        if self.url and "uri" in self.model_fields_set:
            raise PydanticCustomError("request", "`uri` goes with `authority`; a `url` holds its own path")
        return self


class DestinationModel(_Model):
    """A destination the request is sent to."""

    host: StrictStr | None = Field(
        None,
        description="As written in the route, the FQDN (`web.shop.svc.cluster.local`), or `name.namespace`.",
    )
    subset: StrictStr | None = Field(None, description="The DestinationRule subset.")
    port: Port | None = Field(None, description="The destination port.")
    weight: Percent | None = Field(
        None, description="The percentage of the requests it gets (the route's weights as shares of 100)."
    )


Destinations = Annotated[
    tuple[DestinationModel, ...],
    BeforeValidator(_one_is_a_list, json_schema_input_type=DestinationModel | list[DestinationModel]),
]


class RewriteModel(_Model):
    uri: StrictStr | None = Field(None, description="The path the destination receives (after `rewrite`).")
    authority: StrictStr | None = Field(None, description="The authority (Host) the destination receives.")


class RedirectModel(_Model):
    uri: StrictStr | None = Field(None, description="The path of the redirect's location.")
    authority: StrictStr | None = Field(None, description="The host of the redirect's location.")
    scheme: StrictStr | None = Field(None, description="The scheme of the redirect's location.")
    port: Port | None = Field(None, description="The port of the redirect's location, when the route sets one.")
    redirect_code: StrictInt | None = Field(None, description="The redirect status (Istio's default: 301).")


class AbortModel(_Model):
    http_status: StrictInt | None = Field(None, description="The status the injected abort answers with.")
    percentage: Percent | None = Field(None, description="The percentage of requests aborted.")


class DelayModel(_Model):
    fixed_delay: StrictStr | None = Field(None, description="The injected delay, a duration such as `5s`.")
    percentage: Percent | None = Field(None, description="The percentage of requests delayed.")


class FaultModel(_Model):
    abort: AbortModel | None = None
    delay: DelayModel | None = None


class RetriesModel(_Model):
    attempts: StrictInt | None = Field(None, description="Retry attempts (Istio's default: 2).")
    per_try_timeout: StrictStr | None = Field(None, description="A duration such as `2s`.")
    retry_on: StrictStr | None = Field(None, description="The retry conditions, comma-separated (order ignored).")


class DelegateModel(_Model):
    name: StrictStr | None = Field(None, description="The delegate VirtualService the request went through.")
    namespace: StrictStr | None = None


class RouteModel(_Model):
    virtual_service: StrictStr | None = Field(
        None, description="The VirtualService of the matched route: `namespace/name` or `name`."
    )
    http_route: StrictStr | None = Field(
        None, description="The HTTPRoute of the matched rule (Gateway API): `namespace/name` or `name`."
    )
    grpc_route: StrictStr | None = Field(
        None, description="The GRPCRoute of the matched rule (Gateway API): `namespace/name` or `name`."
    )
    tls_route: StrictStr | None = Field(
        None, description="The TLSRoute that takes the connection (Gateway API): `namespace/name` or `name`."
    )
    tcp_route: StrictStr | None = Field(
        None, description="The TCPRoute that takes the connection (Gateway API): `namespace/name` or `name`."
    )
    name: StrictStr | None = Field(None, description="The matched route's (or HTTPRoute rule's) `name`.")


class DirectResponseModel(_Model):
    status: StrictInt | None = None
    body: StrictStr | None = Field(None, description="The body's `string`.")


class ExpectModel(_Model):
    """What should happen; only the keys given are compared."""

    status: Status | None = Field(
        None,
        description="The HTTP status the files decide (404, 503, 301, a fault's or a direct response's status) "
        "or the trace's outcome (`routed`, `redirect`, `partly-503`, ...).",
    )
    destination: Destinations | None = Field(
        None,
        description="Where the requests go: one destination, or the list of every destination with a weight "
        "above 0 (in any order).",
    )
    route: RouteModel | None = Field(None, description="The route that matches.")
    rewrite: RewriteModel | None = None
    redirect: RedirectModel | None = None
    direct_response: DirectResponseModel | None = None
    fault: FaultModel | None = None
    headers: dict[StrictStr, Any] | None = Field(
        None,
        description="The matched route's `headers` (request/response set/add/remove); the keys given must be there.",
    )
    delegate: DelegateModel | None = None
    timeout: StrictStr | None = Field(None, description="The route's timeout, a duration such as `3s`.")
    retries: RetriesModel | None = None

    @model_validator(mode="after")
    def _something(self) -> ExpectModel:
        if not self.model_fields_set:
            raise PydanticCustomError("expect", "expects nothing: give at least one key")
        return self


class CaseModel(_Model):
    """One test case: a request (or several) and what must, or must not, happen to it."""

    name: StrictStr = Field(description="What the case is about; failures name it.")
    via: StrictStr | None = Field(
        None,
        description=(
            "The Gateway the request enters through (an Istio Gateway, else a Gateway API Gateway), `namespace/name`; "
            "`gateway-api:namespace/name` or `istio:namespace/name` when both kinds share the name."
        ),
    )
    from_: StrictStr | None = Field(
        None,
        alias="from",
        description="The workload the request leaves: `namespace/workload`, `namespace/key=value,...` or `namespace`.",
    )
    request: RequestModel
    expect: ExpectModel | None = Field(None, description="Every key given must hold.")
    expect_not: ExpectModel | None = Field(
        None, description="No key given may hold (istio-config-validator's `wantMatch: false`)."
    )

    @model_validator(mode="after")
    def _checks_something(self) -> CaseModel:
        if self.expect is None and self.expect_not is None:
            raise PydanticCustomError("case", "the case needs `expect` or `expectNot`")
        if self.via is not None and self.from_ is not None:
            raise PydanticCustomError("case", "give `via` or `from`, not both")
        return self


class RoutingTestModel(_Model):
    """Routing tests: requests and the outcome Istio should give them, run by `istio-lsp test`."""

    model_config = ConfigDict(title="istio-lsp routing tests (kind: RoutingTest)")

    api_version: Literal["istio-lsp.dev/v1"]
    kind: Literal["RoutingTest"]
    via: StrictStr | None = Field(
        None,
        description=(
            "Default for every case: the Gateway the requests enter through (Istio or Gateway API), `namespace/name`."
        ),
    )
    from_: StrictStr | None = Field(
        None, alias="from", description="Default for every case: the workload the requests leave."
    )
    cases: Annotated[list[CaseModel], Field(min_length=1)]

    @model_validator(mode="after")
    def _sources(self) -> RoutingTestModel:
        if self.via is not None and self.from_ is not None:
            raise PydanticCustomError("source", "give `via` or `from`, not both")
        return self


def validate(data: Any) -> tuple[RoutingTestModel | None, list[tuple[tuple[str | int, ...], str]]]:
    """The model of a routing test document, or the problems: (where, message) each."""
    try:
        return RoutingTestModel.model_validate(data), []
    except ValidationError as exc:
        return None, [(tuple(e["loc"]), _message(e)) for e in exc.errors()]


def _message(error: Any) -> str:
    kind, loc = error["type"], [p for p in error["loc"] if isinstance(p, int) or not p[:1].isupper()]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind == "missing":
        return f"{where}: required"
    text = str(error["msg"]).removeprefix("Value error, ")
    value = repr(error.get("input"))
    if kind in ("status", "request", "case", "source", "expect"):
        return f"{where}: {text}" if where else text
    return f"{where}: {text}, got {value if len(value) <= 60 else value[:57] + '…'}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a routing test file (draft-07, what YAML language servers read)."""
    schema = _without_null(RoutingTestModel.model_json_schema(by_alias=True, mode="validation"))
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema}


def _without_null(schema: Any) -> Any:
    """An optional key is left out, never null (the reader rejects a null value): no `null` branch."""
    if isinstance(schema, list):
        return [_without_null(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _without_null(v) for k, v in schema.items() if not (k == "default" and v is None)}
    branches = [b for b in out.get("anyOf", []) if b != {"type": "null"}]
    if "anyOf" in out and len(branches) == 1:
        del out["anyOf"]
        out = {**branches[0], **out}
    elif "anyOf" in out:
        out["anyOf"] = branches
    return out


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
