"""Routing test files (`kind: RoutingTest`) and `istio-lsp test`: every `expect` key passing and failing,
`expectNot`, the request forms, malformed files with their positions, output formats, exit codes, the
bundled example, and the JSON Schema."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from istio_lsp.cli import main
from istio_lsp.findings import Finding
from istio_lsp.routing.testfile import CODE, read_tests, run_case
from tests.routing.helpers import index_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

WORKSPACE = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public-gateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/shop.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/public-gateway]
  http:
  - name: canary
    match:
    - uri: {prefix: /api/}
      headers: {x-canary: {exact: "true"}}
    rewrite: {uri: /v2/, authority: web.internal}
    timeout: 3s
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,reset"}
    headers:
      request:
        set: {x-route: canary}
        remove: [x-debug]
    route:
    - destination: {host: web, subset: v2, port: {number: 8080}}
  - name: old
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: shop2.example.com, redirectCode: 302}
  - name: teapot
    match: [{uri: {exact: /teapot}}]
    directResponse: {status: 418, body: {string: short and stout}}
  - name: flaky
    match: [{uri: {prefix: /flaky}}]
    fault:
      abort: {httpStatus: 500, percentage: {value: 100}}
      delay: {fixedDelay: 2s, percentage: {value: 50}}
    route:
    - destination: {host: web, subset: v1}
  - name: reviews
    match: [{uri: {prefix: /reviews}}]
    delegate: {name: reviews-routes, namespace: shop}
  - name: split
    match: [{uri: {prefix: /split}}]
    route:
    - destination: {host: web, subset: v1}
      weight: 75
    - destination: {host: web, subset: v2}
      weight: 25
  - name: nowhere
    match: [{uri: {prefix: /nowhere}}]
    route:
    - destination: {host: web, subset: v3}
  - name: api
    match: [{uri: {prefix: /api/}}]
    route:
    - destination: {host: web.shop.svc.cluster.local, subset: v1, port: {number: 8080}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-routes, namespace: shop}
spec:
  http:
  - route:
    - destination: {host: reviews}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: web, version: v1}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-v2, namespace: shop}
spec:
  selector: {matchLabels: {app: web, version: v2}}
  template:
    metadata: {labels: {app: web, version: v2}}
    spec: {containers: [{name: web, image: web:2}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  template:
    metadata: {labels: {app: reviews}}
    spec: {containers: [{name: reviews, image: reviews:1}]}
"""

HEADER = """\
apiVersion: istio-lsp.dev/v1
kind: RoutingTest
via: istio-system/public-gateway
cases:
"""


def run(cases: str) -> list[Finding | None]:
    """The outcome of each case of a test file holding `cases` (YAML, the items of `cases:`)."""
    text = HEADER + textwrap.dedent(cases)
    index = index_of({"ws.yaml": WORKSPACE, "t.yaml": text})
    texts = {"file:///ws/ws.yaml": WORKSPACE, "file:///ws/t.yaml": text}
    found, problems = read_tests("file:///ws/t.yaml", text)
    assert not problems, problems
    return [run_case(index, texts.get, case) for case in found]


def one(request: str, expect: str, key: str = "expect") -> Finding | None:
    [result] = run(f"- name: the case\n  request: {request}\n  {key}: {expect}\n")
    return result


CANARY = "{url: http://shop.example.com/api/items, headers: {x-canary: 'true'}}"

# (request, expectation that holds, the same key expecting what does not happen)
CASES = {
    "status-outcome": ("{url: http://shop.example.com/api/items}", "{status: routed}", "{status: 404}"),
    "status-404": ("{url: http://shop.example.com/x}", "{status: 404}", "{status: routed}"),
    "status-503": ("{url: http://shop.example.com/nowhere}", "{status: 503}", "{status: 200}"),
    "destination-fqdn": (
        CANARY,
        "{destination: {host: web.shop.svc.cluster.local, subset: v2, port: 8080}}",
        "{destination: {host: web.shop.svc.cluster.local, subset: v1}}",
    ),
    "destination-short-host": (CANARY, "{destination: {host: web.shop}}", "{destination: {host: web.other}}"),
    "destination-port": (CANARY, "{destination: {host: web, port: 8080}}", "{destination: {port: 9080}}"),
    "destination-503": (
        "{url: http://shop.example.com/nowhere}",
        "{status: 503}",
        "{destination: {host: web, subset: v3}}",  # routed there, but it has no such subset
    ),
    "destination-weights": (
        "{url: http://shop.example.com/split}",
        "{destination: [{subset: v2, weight: 25}, {host: web, subset: v1, weight: 75}]}",
        "{destination: [{subset: v1, weight: 50}, {subset: v2, weight: 50}]}",
    ),
    "destination-not-all": (
        "{url: http://shop.example.com/split}",
        "{destination: [{subset: v1}, {subset: v2}]}",
        "{destination: {subset: v1}}",  # one destination: all the traffic goes there
    ),
    "route": (CANARY, "{route: {virtualService: shop/web, name: canary}}", "{route: {name: api}}"),
    "rewrite": (
        CANARY,
        "{rewrite: {uri: /v2/items, authority: web.internal}}",
        "{rewrite: {uri: /v2/api/items}}",
    ),
    "rewrite-none": ("{url: http://shop.example.com/api/items}", "{status: routed}", "{rewrite: {uri: /v2/items}}"),
    "redirect": (
        "{url: http://shop.example.com/old/x}",
        "{status: 302, redirect: {uri: /new, authority: shop2.example.com, redirectCode: 302, scheme: http}}",
        "{redirect: {redirectCode: 301}}",
    ),
    "direct-response": (
        "{url: http://shop.example.com/teapot}",
        "{status: direct-response, directResponse: {status: 418, body: short and stout}}",
        "{directResponse: {body: tall}}",
    ),
    "fault": (
        "{url: http://shop.example.com/flaky}",
        "{status: 500, fault: {abort: {httpStatus: 500, percentage: {value: 100}}, "
        "delay: {fixedDelay: 2000ms, percentage: 50}}}",
        "{fault: {delay: {fixedDelay: 1s}}}",
    ),
    "headers": (
        CANARY,
        "{headers: {request: {set: {x-route: canary}, remove: [x-debug]}}}",
        "{headers: {request: {set: {x-route: stable}}}}",
    ),
    "delegate": (
        "{url: http://shop.example.com/reviews/1}",
        "{delegate: {name: reviews-routes, namespace: shop}, destination: {host: reviews, port: 9080}}",
        "{delegate: {name: other-routes}}",
    ),
    "timeout": (CANARY, "{timeout: 3000ms}", "{timeout: 5s}"),
    "retries": (
        CANARY,
        "{retries: {attempts: 3, perTryTimeout: 1s, retryOn: 'reset,5xx'}}",
        "{retries: {retryOn: gateway-error}}",
    ),
}


@pytest.mark.parametrize(("request_", "holds", "fails"), CASES.values(), ids=list(CASES))
def test_each_expect_key_passes_and_fails(request_: str, holds: str, fails: str) -> None:
    assert one(request_, holds) is None
    finding = one(request_, fails)
    assert finding is not None and finding.code == CODE
    assert finding.message.startswith('routing test "the case" fails for GET http://shop.example.com/')
    assert "expected " in finding.message and ", got " in finding.message


@pytest.mark.parametrize(("request_", "holds", "fails"), CASES.values(), ids=list(CASES))
def test_expect_not_is_the_reverse(request_: str, holds: str, fails: str) -> None:
    assert one(request_, fails, key="expectNot") is None
    finding = one(request_, holds, key="expectNot")
    assert finding is not None and "and it is" in finding.message


def test_the_finding_is_on_the_first_failing_expectation() -> None:
    text = (
        HEADER
        + "- name: split\n  request: {url: http://shop.example.com/split}\n  expect:\n"
        + ("    status: routed\n    destination: {subset: v1}\n    timeout: 1s\n")
    )
    index = index_of({"ws.yaml": WORKSPACE})
    [case], _ = read_tests("file:///ws/t.yaml", text)
    finding = run_case(index, {"file:///ws/ws.yaml": WORKSPACE}.get, case)
    assert finding is not None
    assert (finding.span.start_line, finding.span.start_char) == (8, 17)  # the `destination` value
    assert "expected destination" in finding.message and "expected timeout" in finding.message
    assert "expected status" not in finding.message


def test_every_combination_of_the_request_lists_is_run() -> None:
    results = run(
        """\
        - name: both hosts, both methods
          request: {authority: [shop.example.com, shop.example.com:80], method: [GET, POST], uri: [/api/a, /api/b?x=1]}
          expect: {route: {name: api}}
        - name: one URL of two fails
          request: {url: [http://shop.example.com/api/a, http://shop.example.com/x], method: [GET, HEAD]}
          expect: {status: routed}
        """
    )
    assert results[0] is None
    assert results[1] is not None
    assert "fails for GET http://shop.example.com/x (and 1 more of its 4 requests)" in results[1].message


def test_a_case_may_start_from_a_workload() -> None:
    [result] = run(
        """\
        - name: mesh
          from: shop/web-v1
          request: {url: http://reviews:9080/}
          expect: {destination: {host: reviews.shop.svc.cluster.local}}
        """
    )
    assert result is None


# (the case, the line of the problem counted from 1, words of the message)
MALFORMED = [
    ("- name: a\n  request: {url: http://x/}\n  expect: {staus: 404}\n", 7, "expect.staus: unknown key"),
    ("- name: a\n  request: {url: http://x/}\n  expect: {status: 999}\n", 7, "expected an HTTP status code"),
    ("- name: a\n  request: {url: http://x/}\n", 5, "needs `expect` or `expectNot`"),
    ("- name: a\n  request: {url: http://x/}\n  expect: {}\n", 7, "expects nothing"),
    ("- name: a\n  request: {method: GET}\n  expect: {status: 404}\n", 6, "either `url` or `authority`"),
    ("- name: a\n  request: {url: 'ftp://x/'}\n  expect: {status: 404}\n", 6, "only http and https"),
    ("- name: a\n  request: {url: http://x/}\n  expect: {destination: {port: x}}\n", 7, "destination[0].port"),
    ("- name: a\n  request: {url: http://x/, headers: {x-on: true}}\n  expect: {status: 404}\n", 6, "headers.x-on"),
    ("- name: a\n  via: nope\n  request: {url: http://x/}\n  expect: {status: 404}\n", 6, "NAMESPACE/NAME"),
    ("- name: a\n  request: {url: http://x/}\n  expect: {timeout: }\n", 7, "a value is needed"),
]


@pytest.mark.parametrize(("case", "line", "words"), MALFORMED)
def test_malformed_cases_are_reported_where_they_are_written(case: str, line: int, words: str) -> None:
    cases, problems = read_tests("file:///ws/t.yaml", HEADER + case)
    assert not cases
    [problem] = problems
    assert words in problem.message
    assert problem.span.start_line + 1 == line, problem


def test_malformed_documents() -> None:
    _, [problem] = read_tests("file:///t.yaml", "apiVersion: istio-lsp.dev/v2\nkind: RoutingTest\ncases: []\n")
    assert problem.span.start_line == 0 and "istio-lsp.dev/v1" in problem.message
    _, [problem] = read_tests("file:///t.yaml", "apiVersion: istio-lsp.dev/v1\nkind: RoutingTest\ncases: [\n")
    assert "cannot read the routing test" in problem.message
    _, [problem] = read_tests("file:///t.yaml", "apiVersion: istio-lsp.dev/v1\nkind: RoutingTest\ncases: []\n")
    assert "cases" in problem.message
    no_source = "apiVersion: istio-lsp.dev/v1\nkind: RoutingTest\ncases:\n- name: a\n  request: {url: http://x/}\n"
    _, [problem] = read_tests("file:///t.yaml", no_source + "  expect: {status: 404}\n")
    assert problem.span.start_line == 3 and "`via` or `from`" in problem.message


def test_manifests_beside_tests_are_left_alone() -> None:
    text = WORKSPACE + "---\n" + HEADER + "- name: a\n  request: {url: http://x/}\n  expect: {status: 404}\n"
    cases, problems = read_tests("file:///t.yaml", text)
    assert len(cases) == 1 and not problems
    assert read_tests("file:///t.yaml", WORKSPACE) == ([], [])


# ---- the command ------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "ws.yaml").write_text(WORKSPACE, encoding="utf-8")
    (tmp_path / "shop.routing.yaml").write_text(
        HEADER
        + "- name: passes\n  request: {url: http://shop.example.com/api/x}\n  expect: {route: {name: api}}\n"
        + "- name: fails\n  request: {url: http://shop.example.com/old}\n  expect: {status: 301}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_cli_text_output_summary_and_exit_1(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--no-cache"]) == 1
    out, err = capsys.readouterr()
    assert out == (
        'shop.routing.yaml:10:20: error [routing-test-failed] routing test "fails" fails for GET '
        'http://shop.example.com/old: expected status "301", got redirect (302) (the trace: redirect: 302 redirect '
        "to http://shop2.example.com/new; `istio-lsp trace` shows each step)\n"
    )
    assert err == "2 case(s), 1 failed\n"


def test_cli_exit_0_when_all_pass(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "shop.routing.yaml").write_text(
        HEADER + "- name: passes\n  request: {url: http://shop.example.com/x}\n  expect: {status: 404}\n"
    )
    assert main(["test", ".", "--no-cache"]) == 0
    assert capsys.readouterr() == ("", "1 case(s), 0 failed\n")


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_cli_formats_are_checks(workspace: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    assert main(["test", "--no-cache", "--format", fmt]) == 1
    out, err = capsys.readouterr()
    assert err == ""  # the summary line goes with the text format, as for `check`
    if fmt == "json":
        [finding] = json.loads(out)["diagnostics"]
        assert finding["code"] == CODE and finding["file"] == "shop.routing.yaml"
        assert finding["range"]["start"] == {"line": 9, "character": 19}
        assert finding["resource"] == "RoutingTest case 'fails'"
    elif fmt == "sarif":
        run_ = json.loads(out)["runs"][0]
        [result] = run_["results"]
        rules = run_["tool"]["driver"]["rules"]
        assert rules[result["ruleIndex"]]["id"] == CODE == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 10
    else:
        assert out.startswith("::error file=shop.routing.yaml,line=10,col=20,")
        assert "title=routing-test-failed::" in out


def test_cli_malformed_file_exits_2_with_its_position(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "bad.yaml").write_text(HEADER + "- name: a\n  request: {url: http://x/}\n  expect: {staus: 1}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "--no-cache"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "bad.yaml:7: error: cases[0].expect.staus: unknown key\n" in err
    assert err.endswith("istio-lsp: a routing test file has errors; nothing was tested\n")


def test_cli_without_tests_exits_3(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "ws.yaml", "--no-cache"]) == 3
    assert "no routing test (kind: RoutingTest) in ws.yaml" in capsys.readouterr().err


def test_check_does_not_report_test_files(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "shop.routing.yaml", "--no-cache", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["diagnostics"] == []


def test_the_example_passes_on_fixed_and_fails_on_broken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["test", "fixed", "routing-tests.yaml", "--no-cache"]) == 0
    assert capsys.readouterr() == ("", "7 case(s), 0 failed\n")
    assert main(["test", "broken", "routing-tests.yaml", "--no-cache", "--format", "json"]) == 1
    failing = [d["message"].split('"')[1] for d in json.loads(capsys.readouterr().out)["diagnostics"]]
    assert failing == [
        "/direct reaches deployment-1's Service",
        "the book pages go through the bookstore gateway",
        "payments go to v1",
        "reviews split 80/20 between v1 and v2",
        "ratings never answer 503",
        "the storefront's /api reaches the catalog, a tenth on the canary (Gateway API)",
    ]


def test_the_schema_is_current_and_accepts_the_example() -> None:
    from istio_lsp.checks.docs import ROUTING_TEST_SCHEMA
    from istio_lsp.routing_test_model import json_schema_text

    assert ROUTING_TEST_SCHEMA.read_text(encoding="utf-8") == json_schema_text(), (
        "run `python -m istio_lsp.checks.docs` to regenerate " + ROUTING_TEST_SCHEMA.name
    )
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    schema = json.loads(ROUTING_TEST_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert not list(validator.iter_errors(yaml.safe_load((EXAMPLES / "routing-tests.yaml").read_text())))
    bad = yaml.safe_load(HEADER + "- name: a\n  request: {url: http://x/}\n  expect: {staus: 404}\n")
    assert list(validator.iter_errors(bad))
