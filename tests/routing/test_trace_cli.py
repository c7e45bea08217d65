"""`istio-lsp trace` on the bundled examples: text, JSON, exit codes, and agreement with `check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from istio_lsp.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

HELLO_DIRECT = """\
request        GET http://hello.example.com/direct
source         Gateway hello-world-app/hello-gateway takes GET http://hello.example.com/direct  [broken/hello-world/gateway.yaml:12]
server         server http port 80 HTTP accepts host `hello.example.com`  [broken/hello-world/gateway.yaml:18]
virtualservice VirtualService hello-world-app/hello-world-vs host `hello.example.com` (exact)  [broken/hello-world/routes.yaml:10]
route          hello-world-vs http[0] (match #0: uri prefix `/direct`)  [broken/hello-world/routes.yaml:18]
destination    100.0% → deployment-1.hello-world-app.svc.cluster.local:8080  [broken/hello-world/routes.yaml:22]
  ✗ 503          `deployment-1.hello-world-app.svc.cluster.local` is only a VirtualService host (VirtualService hello-world-app/deployment-1-vs): a sidecar does not route twice; no Service or ServiceEntry with endpoints provides it, so Envoy answers 503  [broken/hello-world/routes.yaml:36]
=> 503: `deployment-1.hello-world-app.svc.cluster.local` is only a VirtualService host (VirtualService hello-world-app/deployment-1-vs): a sidecar does not route twice; no Service or ServiceEntry with endpoints provides it, so Envoy answers 503
"""  # noqa: E501


@pytest.fixture(autouse=True)
def in_examples(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def trace(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["trace", *args, "--no-cache"])
    return code, capsys.readouterr().out


def test_text_output_names_each_step_and_the_503(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = trace(
        capsys, "GET", "http://hello.example.com/direct", "--via", "hello-world-app/hello-gateway", "broken/hello-world"
    )
    assert code == 1
    assert out == HELLO_DIRECT


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = trace(
        capsys,
        "GET",
        "http://books.example.com/api/details",
        "--via",
        "bookstore/bookstore-gateway",
        "fixed/bookstore",
        "--format",
        "json",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["exitCode"] == 0
    assert payload["request"]["path"] == "/api/details"
    assert [s["kind"] for s in payload["steps"]][:4] == ["source", "server", "virtualservice", "route"]
    route = payload["steps"][3]
    assert route["file"] == "fixed/bookstore/gateway.yaml" and route["line"] == 28
    outcome = payload["outcome"]
    assert outcome["status"] == "routed" and outcome["code"] is None
    [destination] = outcome["destinations"]
    assert destination == {
        "host": "details",
        "fqdn": "details.bookstore.svc.cluster.local",
        "subset": None,
        "port": 9080,
        "share": 1.0,
        "status": "ok",
        "reason": "",
        "workloads": ["Deployment bookstore/details"],
        "rule": None,
    }


def test_mesh_trace_with_weights_exits_1_when_part_gets_503(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = trace(capsys, "GET", "http://ratings.bookstore:9080/", "--from", "bookstore/ratings-stable", "broken")
    assert code == 1
    assert "=> PARTLY-503: 90.0% of requests get 503" in out
    code, out = trace(capsys, "GET", "http://ratings.bookstore:9080/", "--from", "bookstore/ratings-stable", "fixed")
    assert code == 0 and out.splitlines()[-1].startswith("=> ROUTED: 90.0% → ratings")


def test_no_route_is_404(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = trace(capsys, "GET", "http://nowhere.example.com/", "--via", "bookstore/bookstore-gateway", "fixed")
    assert code == 1 and "=> 404: no server on port 80 accepts host `nowhere.example.com`" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert trace(capsys, "GET", "http://x/", "--via", "nope/nope", "fixed")[0] == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["trace", "GET", "ftp://x/", "--via", "a/b", "fixed"])
    assert exit_info.value.code == 2


# (where the trace starts, request) → the check whose finding is the 503 the trace ends in
SEEDS = [
    (
        ["--via", "hello-world-app/hello-gateway"],
        "http://hello.example.com/direct",
        "destination-host-is-virtualservice",
    ),
    (["--from", "shop/payments-v1"], "http://payments:50051/", "subset-without-destinationrule"),
    (["--from", "bookstore"], "http://reviews:9080/", "subset-matches-no-workload"),
    (["--from", "bookstore"], "http://ratings:9080/", "subset-not-found"),
]


@pytest.mark.parametrize(("where", "url", "rule"), SEEDS, ids=[s[2] for s in SEEDS])
def test_trace_and_check_agree_on_the_examples(
    capsys: pytest.CaptureFixture[str], where: list[str], url: str, rule: str
) -> None:
    code, out = trace(capsys, "GET", url, *where, "broken", "--format", "json")
    payload = json.loads(out)
    failing = [d for d in payload["outcome"]["destinations"] if d["status"] == "503"]
    assert code == 1 and failing and {d["rule"] for d in failing} == {rule}
    cited = {(s["file"], s["line"]) for s in payload["steps"] if s["kind"] == "503" and "file" in s}
    main(["check", "broken", "--format", "json", "--no-cache", "--quiet"])
    reported = {
        (d["file"], d["range"]["start"]["line"] + 1)
        for d in json.loads(capsys.readouterr().out)["diagnostics"]
        if d["code"] == rule
    }
    assert reported, rule
    # the 503 step points at a place the check reports, or at the destination the check reports
    destinations = {(s["file"], s["line"]) for s in payload["steps"] if s["kind"] == "destination"}
    assert (cited | destinations) & reported or any(
        f == rf and abs(line - rl) <= 2 for f, line in destinations for rf, rl in reported
    ), (cited, destinations, reported)
