"""The trace of HTTPRoutes against the Gateway API project's own conformance expectations.

Each conformance test applies `base/manifests.yaml` and its own manifest, then sends requests to a
Gateway and asserts where they go: the `http.ExpectedResponse` tables of its Go file
(`conformance/tests/<name>.go`). Those tables are transcribed here, one `Case` per entry, in the
Go file's order (test id `<test>-<n>`, n from 0 as in the Go subtest names), and each is traced
in a workspace of the two files:

- `Backend` (with `Namespace`): the trace routes the request, and the destinations that get
  traffic are exactly that Service;
- `Response.StatusCode` 404 or 500 without a Backend: the trace's status is that code;
- `RedirectRequest`: a redirect with that code (302 when the Go file gives none) to that scheme,
  host, port and path; as the Go framework reads them, an empty scheme or path is the request's,
  an empty host is any host, an empty port the redirect scheme's default port;
- `ExpectedRequest` (what the backend receives after a `URLRewrite`): its path and host.

Left out: what the trace cannot show — the request and response headers the backend sees
(`X-Header-*` of httproute-rewrite-path and httproute-rewrite-host: only the path, host and
backend of those cases are checked) and the TLS certificate of the HTTPS listener (the
httproute-redirect-port-and-scheme requests on port 443 are traced as plain `https://` URLs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from istio_lsp.routing import Trace
from tests.routing.helpers import run, text

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "gateway-api-conformance"
BASE_TEXT = (SUITE / "base" / "manifests.yaml").read_text()

INFRA = "gateway-conformance-infra"  # confsuite.InfrastructureNamespace
WEB = "gateway-conformance-web-backend"  # confsuite.WebBackendNamespace
V1, V2, V3 = "infra-backend-v1", "infra-backend-v2", "infra-backend-v3"  # confsuite.InfraBackendServiceNameV*


@dataclass(frozen=True)
class Redirect:
    """`roundtripper.RedirectRequest`: "" is what the Go framework defaults (see the module's doc)."""

    scheme: str = ""
    host: str = ""
    port: str = ""
    path: str = ""


@dataclass(frozen=True)
class Case:
    path: str = "/"  # Request.Path, with its query string
    host: str = ""  # Request.Host ("": the Gateway's address, any host; example.com is sent), maybe `:port`
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    backend: str = ""  # Backend: the pods that answer, of the Service of that name in `namespace`
    namespace: str = INFRA
    status: int = 200  # Response.StatusCode
    redirect: Redirect | None = None  # RedirectRequest
    rewritten_path: str = ""  # ExpectedRequest.Path
    rewritten_host: str = ""  # ExpectedRequest.Host
    gateway: str = "same-namespace"  # gwNN (in gateway-conformance-infra): the Gateway the request is sent to
    scheme: str = "http"
    service: str = ""  # httproute-service-types: the Service the route names, whose pods are `backend`'s
    without: str = ""  # a kind of resource the Go test deletes from its manifest before these requests


def to(backend: str, path: str = "/", **kw: Any) -> Case:
    return Case(path=path, backend=backend, **kw)


def status(code: int, path: str = "/", **kw: Any) -> Case:
    return Case(path=path, status=code, **kw)


def redirect(request_path: str, code: int, /, method: str = "GET", **kw: str) -> Case:
    """A request (`UnfollowRedirect`) to `request_path` answered by a `code` redirect; `kw` is the RedirectRequest."""
    return Case(path=request_path, method=method, status=code, redirect=Redirect(**kw))


def skip(case: Case, reason: str) -> Any:
    return pytest.param(case, marks=pytest.mark.skip(reason=reason))


CASES: dict[str, list[Any]] = {
    # conformance/tests/httproute-matching.go
    "httproute-matching": [
        to(V1, "/"),
        to(V1, "/example"),
        to(V1, "/", headers={"Version": "one"}),
        to(V2, "/v2"),
        to(V2, "/v2/example"),
        to(V2, "/", headers={"Version": "two"}),
        to(V2, "/v2/"),
        to(V1, "/v2example"),  # not a path segment prefix so should not match /v2
        to(V1, "/foo/v2/example"),
    ],
    # conformance/tests/httproute-path-match-order.go
    "httproute-path-match-order": [
        to(V3, "/match/exact/one"),
        to(V2, "/match/exact"),
        to(V1, "/match"),
        to(V2, "/match/prefix/one/any"),
        to(V1, "/match/prefix/any"),
        to(V3, "/match/any"),
    ],
    # conformance/tests/httproute-matching-across-routes.go
    "httproute-matching-across-routes": [
        to(V1, "/", host="example.com"),
        to(V1, "/example", host="example.com"),
        to(V1, "/example", host="example.net"),
        to(V1, "/example", host="example.com", headers={"Version": "one"}),
        to(V2, "/v2", host="example.com"),
        to(V1, "/v2", host="example.net"),  # v2 matches are limited to example.com
        to(V2, "/v2/example", host="example.com"),
        to(V2, "/", host="example.com", headers={"Version": "two"}),
    ],
    # conformance/tests/httproute-header-matching.go
    "httproute-header-matching": [
        to(V1, headers={"Version": "one"}),
        to(V2, headers={"Version": "two"}),
        to(V1, headers={"Version": "two", "Color": "orange"}),
        to(V2, headers={"Version": "two", "Color": "blue"}),
        status(404, headers={"Color": "orange"}),
        status(404, headers={"Some-Other-Header": "one"}),
        to(V1, headers={"Color": "blue"}),
        to(V1, headers={"Color": "green"}),
        to(V2, headers={"Color": "red"}),
        to(V2, headers={"Color": "yellow"}),
        status(404, headers={"Color": "purple"}),
    ],
    # conformance/tests/httproute-query-param-matching.go
    "httproute-query-param-matching": [
        to(V1, "/?animal=whale"),
        to(V2, "/?animal=dolphin"),
        to(V3, "/?animal=dolphin&color=blue"),
        to(V3, "/?ANIMAL=Whale"),
        to(V1, "/?animal=whale&otherparam=irrelevant"),
        to(V2, "/?animal=dolphin&color=yellow"),
        status(404, "/?color=blue"),
        status(404, "/?animal=dog"),
        status(404, "/?animal=whaledolphin"),
        status(404, "/"),
        # precedence across rules and matches
        to(V1, "/path1?animal=whale"),
        to(V2, "/?animal=whale", headers={"version": "one"}),
        to(V3, "/path2?animal=whale", headers={"version": "two"}),
        # precedence: the same specificity, the rule first in order
        to(V1, "/path3?animal=shark"),
        to(V1, "/path4?animal=kraken", headers={"version": "three"}),
        status(404, "/?animal=shark"),
        status(404, "/path4?animal=kraken"),
        to(V1, "/path5?animal=hydra"),
        to(V3, "/?animal=hydra", headers={"version": "four"}),
    ],
    # conformance/tests/httproute-method-matching.go
    "httproute-method-matching": [
        to(V1, "/", method="POST"),
        to(V2, "/", method="GET"),
        status(404, "/", method="HEAD"),
        to(V1, "/path1", method="GET"),
        to(V2, "/", method="PUT", headers={"version": "one"}),
        to(V3, "/path2", method="POST", headers={"version": "two"}),
        to(V1, "/path3", method="PATCH"),
        to(V1, "/path4", method="DELETE", headers={"version": "three"}),
        status(404, "/", method="PUT"),
        status(404, "/path4", method="DELETE"),
        to(V1, "/path5", method="PATCH"),
        to(V2, "/", method="PATCH", headers={"version": "four"}),
    ],
    # conformance/tests/httproute-exact-path-matching.go
    "httproute-exact-path-matching": [
        to(V1, "/one"),
        to(V2, "/two"),
        status(404, "/"),
        status(404, "/one/example"),
        status(404, "/two/"),
        status(404, "/Two"),
    ],
    # conformance/tests/httproute-hostname-intersection.go
    "httproute-hostname-intersection": [
        # "HTTPRoutes that do intersect with listener hostnames": Gateway httproute-hostname-intersection
        to(V1, "/s1", host="very.specific.com", gateway="httproute-hostname-intersection"),
        skip(
            to(V1, "/s1", host="very.specific.com:1234", gateway="httproute-hostname-intersection"),
            "sent to the listener on port 80 with `Host: very.specific.com:1234`; the trace takes the "
            "connection's port from the URL's, so it cannot send a Host header whose port differs",
        ),
        status(404, "/s1", host="non.matching.com", gateway="httproute-hostname-intersection"),
        status(404, "/s1", host="foo.nonmatchingwildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/s1", host="foo.wildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/non-matching-prefix", host="very.specific.com", gateway="httproute-hostname-intersection"),
        to(V2, "/s2", host="foo.wildcard.io", gateway="httproute-hostname-intersection"),
        to(V2, "/s2", host="bar.wildcard.io", gateway="httproute-hostname-intersection"),
        to(V2, "/s2", host="foo.bar.wildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/s2", host="non.matching.com", gateway="httproute-hostname-intersection"),
        status(404, "/s2", host="wildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/s2", host="very.specific.com", gateway="httproute-hostname-intersection"),
        status(404, "/non-matching-prefix", host="foo.wildcard.io", gateway="httproute-hostname-intersection"),
        to(V3, "/s3", host="very.specific.com", gateway="httproute-hostname-intersection"),
        status(404, "/s3", host="non.matching.com", gateway="httproute-hostname-intersection"),
        status(404, "/s3", host="foo.specific.com", gateway="httproute-hostname-intersection"),
        status(404, "/s3", host="foo.wildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/non-matching-prefix", host="very.specific.com", gateway="httproute-hostname-intersection"),
        to(V1, "/s4", host="foo.anotherwildcard.io", gateway="httproute-hostname-intersection"),
        to(V1, "/s4", host="bar.anotherwildcard.io", gateway="httproute-hostname-intersection"),
        to(V1, "/s4", host="foo.bar.anotherwildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/s4", host="anotherwildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/s4", host="foo.wildcard.io", gateway="httproute-hostname-intersection"),
        status(404, "/s4", host="very.specific.com", gateway="httproute-hostname-intersection"),
        status(404, "/non-matching-prefix", host="foo.anotherwildcard.io", gateway="httproute-hostname-intersection"),
        # "HTTPRoutes that do not intersect with listener hostnames"
        status(404, "/s5", host="specific.but.wrong.com", gateway="httproute-hostname-intersection"),
        status(404, "/s5", host="wildcard.io", gateway="httproute-hostname-intersection"),
        # "HTTPRoute with hostnames intersecting all listener hostnames": Gateway httproute-hostname-intersection-all
        to(V2, "/", host="first.com", gateway="httproute-hostname-intersection-all"),
        to(V2, "/", host="sub.first.com", gateway="httproute-hostname-intersection-all"),
        to(V2, "/", host="second.com", gateway="httproute-hostname-intersection-all"),
        to(V2, "/", host="sub.second.com", gateway="httproute-hostname-intersection-all"),
        status(404, "/", host="third.com", gateway="httproute-hostname-intersection-all"),
        status(404, "/", host="sub.third.com", gateway="httproute-hostname-intersection-all"),
    ],
    # conformance/tests/httproute-listener-hostname-matching.go
    "httproute-listener-hostname-matching": [
        to(V1, host="bar.com", gateway="httproute-listener-hostname-matching"),
        to(V2, host="foo.bar.com", gateway="httproute-listener-hostname-matching"),
        to(V3, host="baz.bar.com", gateway="httproute-listener-hostname-matching"),
        to(V3, host="boo.bar.com", gateway="httproute-listener-hostname-matching"),
        to(V3, host="multiple.prefixes.bar.com", gateway="httproute-listener-hostname-matching"),
        to(V3, host="multiple.prefixes.foo.com", gateway="httproute-listener-hostname-matching"),
        status(404, host="foo.com", gateway="httproute-listener-hostname-matching"),
        status(404, host="no.matching.host", gateway="httproute-listener-hostname-matching"),
    ],
    # conformance/tests/httproute-simple-same-namespace.go
    "httproute-simple-same-namespace": [
        to(V1, "/"),
    ],
    # conformance/tests/httproute-cross-namespace.go
    "httproute-cross-namespace": [
        to("web-backend", "/", namespace=WEB, gateway="backend-namespaces"),
    ],
    # conformance/tests/httproute-reference-grant.go
    "httproute-reference-grant": [
        to("web-backend", "/", namespace=WEB),
        # after the test deletes ReferenceGrant gateway-conformance-web-backend/reference-grant
        status(500, "/", without="ReferenceGrant"),
    ],
    # conformance/tests/httproute-rewrite-path.go (the X-Header-* expectations are not checked)
    "httproute-rewrite-path": [
        to(V1, "/prefix/one/two", rewritten_path="/one/two"),
        to(V1, "/strip-prefix/three", rewritten_path="/three"),
        to(V1, "/strip-prefix", rewritten_path="/"),
        to(V1, "/full/one/two", rewritten_path="/one"),
        to(
            V1,
            "/full/rewrite-path-and-modify-headers/test",
            headers={"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1", "X-Header-Set": "set-val"},
            rewritten_path="/test",
        ),
        to(
            V1,
            "/prefix/rewrite-path-and-modify-headers/one",
            headers={"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1", "X-Header-Set": "set-val"},
            rewritten_path="/prefix/one",
        ),
    ],
    # conformance/tests/httproute-rewrite-host.go (the X-Header-* expectations are not checked)
    "httproute-rewrite-host": [
        to(V1, "/one", host="rewrite.example", rewritten_path="/one", rewritten_host="one.example.org"),
        to(V2, "/two", host="rewrite.example", rewritten_path="/two", rewritten_host="example.org"),
        to(
            V2,
            "/rewrite-host-and-modify-headers",
            host="rewrite.example",
            headers={"X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1"},
            rewritten_path="/rewrite-host-and-modify-headers",
            rewritten_host="test.example.org",
        ),
    ],
    # conformance/tests/httproute-redirect-path.go
    "httproute-redirect-path": [
        redirect("/original-prefix/lemon", 302, path="/replacement-prefix/lemon"),
        redirect("/full/path/original", 302, path="/full-path-replacement"),
        redirect("/path-and-host", 302, host="example.org", path="/replacement-prefix"),
        redirect("/path-and-status", 301, path="/replacement-prefix"),
        redirect("/full-path-and-host", 302, host="example.org", path="/replacement-full"),
        redirect("/full-path-and-status", 301, path="/replacement-full"),
    ],
    # conformance/tests/httproute-redirect-port.go
    "httproute-redirect-port": [
        redirect("/port", 302, port="8083"),
        redirect("/port-and-host", 302, host="example.org", port="8083"),
        redirect("/port-and-status", 301, port="8083"),
        redirect("/port-and-host-and-status", 302, port="8083", host="example.org"),
    ],
    # conformance/tests/httproute-redirect-scheme.go
    "httproute-redirect-scheme": [
        redirect("/scheme", 302, scheme="https"),
        redirect("/scheme-and-host", 302, host="example.org", scheme="https"),
        redirect("/scheme-and-status", 301, scheme="https"),
        redirect("/scheme-and-host-and-status", 302, scheme="https", host="example.org"),
    ],
    # conformance/tests/httproute-redirect-host-and-status.go
    "httproute-redirect-host-and-status": [
        redirect("/hostname-redirect", 302, host="example.org"),
        redirect("/host-and-status", 301, host="example.org"),
    ],
    # conformance/tests/httproute-redirect-port-and-scheme.go
    "httproute-redirect-port-and-scheme": [
        # http-route-for-listener-on-port-80 (Gateway same-namespace)
        redirect("/scheme-nil-and-port-nil", 302, scheme="http", host="example.org"),
        redirect("/scheme-nil-and-port-80", 302, scheme="http", host="example.org"),
        redirect("/scheme-nil-and-port-8080", 302, scheme="http", port="8080", host="example.org"),
        redirect("/scheme-https-and-port-nil", 302, scheme="https", host="example.org"),
        redirect("/scheme-https-and-port-443", 302, scheme="https", host="example.org"),
        redirect("/scheme-https-and-port-8443", 302, scheme="https", port="8443", host="example.org"),
        # http-route-for-listener-on-port-8080 (Gateway same-namespace-with-http-listener-on-8080; the request's
        # Host is the Gateway's address, with the port 8080)
        Case(
            "/scheme-nil-and-port-nil",
            host="example.com:8080",
            gateway="same-namespace-with-http-listener-on-8080",
            status=302,
            redirect=Redirect(scheme="http", port="8080", host="example.org"),
        ),
        Case(
            "/scheme-nil-and-port-80",
            host="example.com:8080",
            gateway="same-namespace-with-http-listener-on-8080",
            status=302,
            redirect=Redirect(scheme="http", host="example.org"),
        ),
        Case(
            "/scheme-https-and-port-nil",
            host="example.com:8080",
            gateway="same-namespace-with-http-listener-on-8080",
            status=302,
            redirect=Redirect(scheme="https", host="example.org"),
        ),
        # http-route-for-listener-on-port-443 (Gateway same-namespace-with-https-listener; TLS, SNI example.org)
        *(
            Case(
                path,
                host="example.org",
                scheme="https",
                gateway="same-namespace-with-https-listener",
                status=302,
                redirect=Redirect(scheme=scheme, port=port, host="example.org"),
            )
            for path, scheme, port in [
                ("/scheme-nil-and-port-nil", "https", ""),
                ("/scheme-nil-and-port-443", "https", ""),
                ("/scheme-nil-and-port-8443", "https", "8443"),
                ("/scheme-http-and-port-nil", "http", ""),
                ("/scheme-http-and-port-80", "http", ""),
                ("/scheme-http-and-port-8080", "http", "8080"),
            ]
        ),
    ],
    # conformance/tests/httproute-303-redirect.go
    "httproute-303-redirect": [
        redirect("/see-other", 303, method="POST", path="/see-other"),
    ],
    # conformance/tests/httproute-307-redirect.go
    "httproute-307-redirect": [
        redirect("/temporary", 307, path="/temporary"),
    ],
    # conformance/tests/httproute-308-redirect.go
    "httproute-308-redirect": [
        redirect("/permanent", 308, path="/permanent"),
    ],
    # conformance/tests/httproute-listener-port-matching.go (a Host with :8080 or :8090 is sent to that listener)
    "httproute-listener-port-matching": [
        to(V1, host="foo.com", gateway="httproute-listener-port-matching"),
        to(V2, host="foo.com:8080", gateway="httproute-listener-port-matching"),
        to(V2, host="bar.com:8080", gateway="httproute-listener-port-matching"),
        to(V3, host="foo.com:8090", gateway="httproute-listener-port-matching"),
        status(404, host="bar.com:8090", gateway="httproute-listener-port-matching"),
    ],
    # conformance/tests/httproute-service-types.go: each path reaches a Service of another type whose
    # endpoints are infra-backend-v1's pods
    "httproute-service-types": [
        skip(
            to(V1, "/manual-endpointslices", service="manual-endpointslices"),
            "the Service has no selector: the Go test fills its EndpointSlices with infra-backend-v1's pod IPs "
            "at run time (setupEndpointSlices), which the files cannot show",
        ),
        skip(
            to(V1, "/headless-manual-endpointslices", service="headless-manual-endpointslices"),
            "the headless Service has no selector: the Go test fills its EndpointSlices with infra-backend-v1's "
            "pod IPs at run time (setupEndpointSlices), which the files cannot show",
        ),
        to(V1, "/headless", service="headless"),
    ],
}


def _param(test: str, n: int, entry: Any) -> Any:
    """`<test>-<n>`, with the marks of an entry that `skip` or `xfail` wraps."""
    if isinstance(entry, Case):
        return pytest.param(test, entry, id=f"{test}-{n}")
    (case,) = entry.values
    return pytest.param(test, case, id=f"{test}-{n}", marks=entry.marks)


PARAMS = [_param(test, n, entry) for test, entries in CASES.items() for n, entry in enumerate(entries)]


def _workspace(test: str, case: Case) -> dict[str, str]:
    test_text = (SUITE / "tests" / f"{test}.yaml").read_text()
    if case.without:
        docs = test_text.split("\n---\n")
        test_text = "\n---\n".join(d for d in docs if f"kind: {case.without}\n" not in d + "\n")
    return {"base.yaml": BASE_TEXT, "test.yaml": test_text}


def _trace(test: str, case: Case) -> Trace:
    url = f"{case.scheme}://{case.host or 'example.com'}{case.path}"
    headers = [f"{k}: {v}" for k, v in case.headers.items()]
    return run(_workspace(test, case), case.method, url, via=f"{INFRA}/{case.gateway}", headers=headers)


def _fqdn(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


@pytest.mark.parametrize(("test", "case"), PARAMS)
def test_conformance_expectation(test: str, case: Case) -> None:
    result = _trace(test, case)
    shown = f"{result.status} {result.code}: {result.route}\n{text(result)}"
    if case.redirect is not None:
        assert (result.status, result.code) == ("redirect", case.status), shown
        got = result.route["redirect"]
        request_path = case.path.split("?")[0]
        scheme = case.redirect.scheme or case.scheme
        assert got["scheme"] == scheme, shown
        if case.redirect.host:
            assert got["authority"] == case.redirect.host, shown
        port = int(case.redirect.port) if case.redirect.port else {"http": 80, "https": 443}[scheme]
        assert got["port"] == port, shown
        assert got["uri"] == (case.redirect.path or request_path), shown
    elif case.backend:
        assert result.status == "routed", shown
        reached = sorted(t.fqdn for t in result.targets if t.share > 0)
        if case.service:  # the Service's pods are the backend's
            assert reached == [_fqdn(case.service, case.namespace)], shown
            (target,) = [t for t in result.targets if t.share > 0]
            assert f"Deployment {case.namespace}/{case.backend}" in target.workloads, shown
        else:
            assert reached == [_fqdn(case.backend, case.namespace)], shown
        rewrite = result.route.get("rewrite", {})
        if case.rewritten_path:
            assert rewrite.get("uri", case.path) == case.rewritten_path, shown
        if case.rewritten_host:
            assert rewrite.get("authority", case.host) == case.rewritten_host, shown
    else:
        assert case.status in (404, 500), case
        assert (result.status, result.code) == (str(case.status), case.status), shown
