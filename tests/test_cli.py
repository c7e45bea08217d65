"""`istio-lsp check` as CI runs it: the installed console script, in a scratch workspace.

Each test runs the real executable in a child process, from the workspace folder, so
paths in the output are relative to it. The summary cache is turned off
(`ISTIO_LSP_CACHE_DIR=""`) except where a test is about it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import istio_lsp
from istio_lsp.checks import RULES, RULES_BY_CODE

SCRIPT = Path(sys.executable).parent / ("istio-lsp.exe" if os.name == "nt" else "istio-lsp")
if SCRIPT.exists():
    COMMAND = [str(SCRIPT)]
else:  # not installed as a console script: the same entry point
    COMMAND = [sys.executable, "-c", "from istio_lsp.cli import main; raise SystemExit(main())"]

REVIEWS = """\
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: shop
spec:
  selector:
    app: reviews
  ports:
  - name: http
    port: 9080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
  namespace: shop
spec:
  selector:
    matchLabels:
      app: reviews
      version: v1
  template:
    metadata:
      labels:
        app: reviews
        version: v1
    spec:
      containers:
      - name: reviews
        image: example/reviews:1.0
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: shop
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
---
apiVersion: v1
kind: Service
metadata:
  name: rating
  namespace: shop
spec:
  selector:
    app: rating
  ports:
  - name: http
    port: 9080
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gw
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
"""

# two warnings: a Gateway the workspace does not declare, a host nothing provides (each with a
# close name in the workspace: the evidence of a typo that makes them warnings)
ROUTES = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts:
  - reviews
  gateways:
  - shop-gateway
  - mesh
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
    mirror:
      host: ratings
"""

BROKEN = """\
apiVersion: v1
kind: Service
metadata:
  name: [broken
"""

WARNINGS = {"gateway-not-found", "destination-host-not-found"}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "mesh").mkdir(parents=True)
    (root / "broken").mkdir()
    (root / "mesh" / "reviews.yaml").write_text(REVIEWS, encoding="utf-8")
    (root / "mesh" / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    (root / "broken" / "bad.yaml").write_text(BROKEN, encoding="utf-8")
    (root / "README.md").write_text("not a manifest: {{ ignored }}\n", encoding="utf-8")
    return root


def run(cwd: Path, *args: str, cache: Path | None = None, command: list[str] | None = None) -> Run:
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": "" if cache is None else str(cache)}
    result = subprocess.run(
        [*(command or COMMAND), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return Run(result.returncode, result.stdout, result.stderr)


def check_json(cwd: Path, *args: str) -> tuple[int, list[dict]]:
    result = run(cwd, "check", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)["diagnostics"]


def codes(diagnostics: list[dict]) -> set[str]:
    return {d["code"] for d in diagnostics}


def position(text: str, needle: str) -> tuple[int, int]:
    """0-based (line, UTF-16 column) of `needle` in `text`."""
    start = text.index(needle)
    line_start = text.rfind("\n", 0, start) + 1
    return text.count("\n", 0, start), len(text[line_start:start].encode("utf-16-le")) // 2


# ---- output formats ------------------------------------------------------------------

TEXT_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|information|hint) "
    r"\[(?P<code>[a-z0-9-]+)\] (?P<message>.+)$"
)


def test_text_format(workspace: Path) -> None:
    result = run(workspace, "check", ".")
    assert result.returncode == 1  # the syntax error
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    parsed = [TEXT_LINE.match(line) for line in lines]
    assert all(parsed), lines
    by_code = {m["code"]: m for m in parsed if m}
    assert {"yaml-syntax-error", *WARNINGS} <= set(by_code)
    # paths relative to the current directory, positions 1-based
    error = by_code["yaml-syntax-error"]
    assert error["path"] == os.path.join("broken", "bad.yaml")
    assert (error["line"], error["severity"]) == ("4", "error")
    host = by_code["destination-host-not-found"]
    line, col = position(ROUTES, "ratings")
    assert (host["path"], host["line"], host["col"]) == (
        os.path.join("mesh", "routes.yaml"),
        str(line + 1),
        str(col + 1),
    )
    assert host["severity"] == "warning"
    assert "ratings" in host["message"]
    # a count on stderr, nothing else on stdout
    assert re.search(r"\d+ finding\(s\)", result.stderr)


def test_paths_are_relative_to_the_current_directory(workspace: Path) -> None:
    result = run(workspace / "mesh", "check", "routes.yaml", "reviews.yaml")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"routes.yaml"}
    result = run(workspace.parent, "check", "ws/mesh")
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {os.path.join("ws", "mesh", "routes.yaml")}


def test_json_format(workspace: Path) -> None:
    result = run(workspace, "check", "--format", "json", ".")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert list(payload) == ["diagnostics"]
    diagnostics = payload["diagnostics"]
    assert diagnostics
    for d in diagnostics:
        assert set(d) == {"file", "range", "severity", "code", "message", "resource"}
        assert set(d["range"]) == {"start", "end"}
        for end in ("start", "end"):
            assert set(d["range"][end]) == {"line", "character"}
            assert all(isinstance(v, int) and v >= 0 for v in d["range"][end].values())
        assert d["severity"] in ("error", "warning", "information", "hint")
        assert isinstance(d["message"], str) and d["message"]
        assert d["resource"] is None or isinstance(d["resource"], str)
    (host,) = [d for d in diagnostics if d["code"] == "destination-host-not-found"]
    line, col = position(ROUTES, "ratings")
    # 0-based LSP range
    assert host["range"] == {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 7}}
    assert host["file"] == os.path.join("mesh", "routes.yaml")
    assert host["resource"] == "VirtualService shop/reviews"
    (error,) = [d for d in diagnostics if d["code"] == "yaml-syntax-error"]
    assert error["resource"] is None
    assert error["range"]["start"]["line"] == 3


def test_text_and_json_report_the_same_findings(workspace: Path) -> None:
    text = run(workspace, "check", ".").stdout.splitlines()
    _, diagnostics = check_json(workspace, ".")
    assert len(text) == len(diagnostics)
    for line, d in zip(text, diagnostics, strict=True):
        m = TEXT_LINE.match(line)
        assert m is not None
        assert m["path"] == d["file"]
        assert (int(m["line"]), int(m["col"])) == (
            d["range"]["start"]["line"] + 1,
            d["range"]["start"]["character"] + 1,
        )
        assert (m["severity"], m["code"], m["message"]) == (d["severity"], d["code"], d["message"])


def test_sarif_format(workspace: Path) -> None:
    result = run(workspace, "check", "--format", "sarif", ".")
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    assert "sarif" in sarif["$schema"]
    (run_,) = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "istio-lsp"
    assert driver["version"] == istio_lsp.__version__
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert set(rule_ids) == {rule.code for rule in RULES}
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note", "none")
    _, diagnostics = check_json(workspace, ".")
    results = run_["results"]
    assert len(results) == len(diagnostics)
    levels = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}
    for result_, d in zip(results, diagnostics, strict=True):
        assert result_["ruleId"] == d["code"]
        assert rule_ids[result_["ruleIndex"]] == d["code"]
        assert result_["level"] == levels[d["severity"]]
        assert result_["message"]["text"] == d["message"]
        (location,) = result_["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": d["file"].replace(os.sep, "/"), "uriBaseId": "%SRCROOT%"}
        region = physical["region"]  # 1-based, end column exclusive
        assert region == {
            "startLine": d["range"]["start"]["line"] + 1,
            "startColumn": d["range"]["start"]["character"] + 1,
            "endLine": d["range"]["end"]["line"] + 1,
            "endColumn": d["range"]["end"]["character"] + 1,
        }
        if d["resource"]:
            assert location["logicalLocations"] == [{"fullyQualifiedName": d["resource"]}]
    assert {r["ruleId"] for r in results} >= {"yaml-syntax-error", *WARNINGS}


# The parts of the SARIF 2.1.0 schema that GitHub code scanning relies on.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "helpUri": {"type": "string"},
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {"enum": ["none", "note", "warning", "error"]}
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {"uri": {"type": "string"}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                            "endLine": {"type": "integer", "minimum": 1},
                                                            "endColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            },
                                            "logicalLocations": {"type": "array"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_validates_against_the_schema_subset(workspace: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    sarif = json.loads(run(workspace, "check", "--format", "sarif", ".").stdout)
    jsonschema.validate(sarif, SARIF_SUBSET)


GITHUB_LINE = re.compile(
    r"^::(?P<level>error|warning|notice) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+),title=(?P<title>[a-z0-9-]+)::(?P<message>.+)$"
)


def test_github_format(workspace: Path) -> None:
    result = run(workspace, "check", "--format", "github", ".")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    matches = [GITHUB_LINE.match(line) for line in lines]
    assert lines and all(matches), lines
    _, diagnostics = check_json(workspace, ".")
    assert len(matches) == len(diagnostics)
    levels = {"error": "error", "warning": "warning", "information": "notice", "hint": "notice"}
    for m, d in zip(matches, diagnostics, strict=True):
        assert m is not None
        assert (m["level"], m["file"], m["title"]) == (levels[d["severity"]], d["file"], d["code"])
        assert (int(m["line"]), int(m["col"])) == (
            d["range"]["start"]["line"] + 1,
            d["range"]["start"]["character"] + 1,
        )
        assert (int(m["end_line"]), int(m["end_col"])) == (
            d["range"]["end"]["line"] + 1,
            d["range"]["end"]["character"] + 1,
        )


def test_github_format_escapes_messages(workspace: Path) -> None:
    # a workflow command is one line: `%`, CR and LF in a message are escaped
    routes = ROUTES.replace("host: ratings", 'host: "rat%ings\\r\\nv2"')
    (workspace / "mesh" / "routes.yaml").write_text(routes, encoding="utf-8")
    lines = run(workspace, "check", "--format", "github", "mesh").stdout.splitlines()
    (line,) = [line for line in lines if "title=destination-host-not-found" in line]
    assert "rat%25ings%0D%0Av2" in line
    assert GITHUB_LINE.match(line)


# A file name that, written raw, would end a workflow command and start a forged one, or forge its line.
FORGING_NAMES = ["x\n::error file=README.md,line=1::forged.yaml", "c,line=99,title=x.yaml", "a:b%0A.yaml"]


@pytest.mark.skipif(sys.platform == "win32", reason="these names are not valid on Windows")
def test_file_names_cannot_forge_output(workspace: Path) -> None:
    folder = workspace / "names"
    folder.mkdir()
    for name in FORGING_NAMES:
        (folder / name).write_text(ROUTES, encoding="utf-8")
    github = run(workspace, "check", "--format", "github", "names").stdout.splitlines()
    assert github and all(GITHUB_LINE.match(line) for line in github), github
    files = {m["file"] for line in github if (m := GITHUB_LINE.match(line))}
    assert files == {
        "names/x%0A%3A%3Aerror file=README.md%2Cline=1%3A%3Aforged.yaml",
        "names/c%2Cline=99%2Ctitle=x.yaml",
        "names/a%3Ab%250A.yaml",
    }
    # text: one finding per line, whatever the name
    text = run(workspace, "check", "names").stdout.splitlines()
    assert text and all(line.startswith("names/") for line in text), text
    assert any(line.startswith("names/x\\n::error file=README.md,line=1::forged.yaml:") for line in text)
    # SARIF: a URI reference, percent-encoded
    sarif = json.loads(run(workspace, "check", "--format", "sarif", "names").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {
        "names/x%0A%3A%3Aerror%20file%3DREADME.md%2Cline%3D1%3A%3Aforged.yaml",
        "names/c%2Cline%3D99%2Ctitle%3Dx.yaml",
        "names/a%3Ab%250A.yaml",
    }


def test_sarif_rules_carry_their_page_not_a_local_path(workspace: Path) -> None:
    sarif = json.loads(run(workspace, "check", "--format", "sarif", ".").stdout)
    rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "file://" not in json.dumps(rules) and str(Path.home()) not in json.dumps(rules)
    for code, rule in rules.items():
        assert rule["help"]["markdown"] == RULES_BY_CODE[code].doc
        assert "helpUri" not in rule


# ---- exit codes ----------------------------------------------------------------------


def test_exit_code_one_when_an_error_is_found(workspace: Path) -> None:
    result = run(workspace, "check", ".")
    assert result.returncode == 1
    assert "yaml-syntax-error" in result.stdout


def test_exit_code_zero_with_only_warnings(workspace: Path) -> None:
    code, diagnostics = check_json(workspace, "mesh")
    assert codes(diagnostics) >= WARNINGS
    assert {d["severity"] for d in diagnostics} <= {"warning", "information", "hint"}
    assert code == 0


def test_fail_on_warning(workspace: Path) -> None:
    assert run(workspace, "check", "--fail-on", "warning", "mesh").returncode == 1
    assert run(workspace, "check", "--fail-on", "never", ".").returncode == 0
    assert run(workspace, "check", "--fail-on", "error", "mesh").returncode == 0


def test_exit_code_zero_when_clean(workspace: Path) -> None:
    result = run(workspace, "check", "mesh/reviews.yaml")
    assert (result.returncode, result.stdout) == (0, "")


def test_nonexistent_path(workspace: Path) -> None:
    result = run(workspace, "check", "mesh", "no/such/dir")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no such file or directory" in result.stderr
    assert "no/such/dir" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--no-such-flag", "."],
        ["check", "--format", "xml", "."],
        ["check", "--fail-on", "sometimes", "."],
        ["check"],
        ["frobnicate"],
    ],
    ids=["unknown-flag", "unknown-format", "unknown-fail-level", "no-path", "unknown-command"],
)
def test_bad_usage(workspace: Path, args: list[str]) -> None:
    result = run(workspace, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage:" in result.stderr


def test_no_command_prints_help(workspace: Path) -> None:
    result = run(workspace)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_version(workspace: Path) -> None:
    result = run(workspace, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"istio-lsp {istio_lsp.__version__}"


def test_python_dash_m(workspace: Path) -> None:
    # with arguments, `python -m istio_lsp` is the CLI (without, it would serve LSP on stdio)
    module = [sys.executable, "-m", "istio_lsp"]
    result = run(workspace, "--version", command=module)
    assert (result.returncode, result.stdout.strip()) == (0, f"istio-lsp {istio_lsp.__version__}")
    result = run(workspace, "check", "--format", "json", "mesh", command=module)
    assert result.returncode == 0
    assert codes(json.loads(result.stdout)["diagnostics"]) >= WARNINGS


# ---- settings from flags and from a file -----------------------------------------------


def test_exclude(workspace: Path) -> None:
    code, diagnostics = check_json(workspace, "--exclude", "broken/", ".")
    assert "yaml-syntax-error" not in codes(diagnostics)
    assert codes(diagnostics) >= WARNINGS
    assert code == 0
    everything = run(workspace, "check", "--exclude", "*.yaml", ".")  # nothing left to check: said, its own status
    assert everything.returncode == 3 and "nothing was checked" in everything.stderr
    # gitignore-style: a pattern with a slash is anchored at the checked folder
    _, diagnostics = check_json(workspace, "--exclude", "mesh/routes.yaml", ".")
    assert not codes(diagnostics) & WARNINGS


def test_external_host(workspace: Path) -> None:
    _, diagnostics = check_json(workspace, "mesh")
    assert "destination-host-not-found" in codes(diagnostics)
    for pattern in ("ratings.shop.svc.cluster.local", "*.shop.svc.cluster.local", "ratings"):
        _, diagnostics = check_json(workspace, "--external-host", pattern, "mesh")
        assert "destination-host-not-found" not in codes(diagnostics), pattern
        assert "gateway-not-found" in codes(diagnostics)
    _, diagnostics = check_json(workspace, "--external-host", "*.other.svc.cluster.local", "mesh")
    assert "destination-host-not-found" in codes(diagnostics)


def test_external_gateway(workspace: Path) -> None:
    _, diagnostics = check_json(workspace, "--external-gateway", "shop/*", "mesh")
    assert "gateway-not-found" not in codes(diagnostics)


def test_disable(workspace: Path) -> None:
    code, diagnostics = check_json(
        workspace, "--disable", "yaml-syntax-error", "--disable", "gateway-not-found", "--fail-on", "warning", "."
    )
    assert not codes(diagnostics) & {"yaml-syntax-error", "gateway-not-found"}
    assert "destination-host-not-found" in codes(diagnostics)
    assert code == 1  # the remaining warning
    result = run(workspace, "check", "--disable", "no-such-rule", ".")
    assert result.returncode == 2
    assert "no-such-rule" in result.stderr


def test_default_namespace(workspace: Path) -> None:
    (workspace / "mesh" / "routes.yaml").write_text(ROUTES.replace("  namespace: shop\n", ""), encoding="utf-8")
    # without a namespace, the VirtualService is in whichever namespace it is applied to:
    # `reviews` may be the Service reviews of `shop`; `ratings` is nowhere
    _, diagnostics = check_json(workspace, "mesh")
    (host,) = [d for d in diagnostics if d["code"] == "destination-host-not-found"]
    assert host["resource"] == "VirtualService reviews"
    assert "ratings" in host["message"]
    _, diagnostics = check_json(workspace, "--default-namespace", "shop", "mesh")
    (host,) = [d for d in diagnostics if d["code"] == "destination-host-not-found"]
    assert host["resource"] == "VirtualService shop/reviews"
    assert "ratings" in host["message"]
    # in `default`, `reviews` means reviews.default: neither host is provided there
    _, diagnostics = check_json(workspace, "--default-namespace", "default", "mesh")
    missing = [d for d in diagnostics if d["code"] == "destination-host-not-found"]
    assert {d["resource"] for d in missing} == {"VirtualService default/reviews"}
    assert len(missing) == 2


def test_config_file_with_camel_case_keys(workspace: Path) -> None:
    config = workspace / "istio-lsp.yaml"
    config.write_text(
        "severity:\n  gateway-not-found: error\n  destination-host-not-found: 'off'\n"
        "externalGateways: []\nexclude: [broken/]\n",
        encoding="utf-8",
    )
    code, diagnostics = check_json(workspace, "--config", str(config), ".")
    assert "destination-host-not-found" not in codes(diagnostics)
    assert "yaml-syntax-error" not in codes(diagnostics)
    (gateway,) = [d for d in diagnostics if d["code"] == "gateway-not-found"]
    assert gateway["severity"] == "error"
    assert code == 1  # the raised severity counts for the exit code
    # flags add to the file
    code, diagnostics = check_json(workspace, "--config", str(config), "--disable", "gateway-not-found", ".")
    assert "gateway-not-found" not in codes(diagnostics)
    assert code == 0


def test_config_file_in_json_with_external_hosts(workspace: Path) -> None:
    config = workspace / "settings.json"
    config.write_text(json.dumps({"externalHosts": ["ratings*"], "disabledRules": ["gateway-not-found"]}))
    _, diagnostics = check_json(workspace, "--config", str(config), "mesh")
    assert not codes(diagnostics) & WARNINGS


@pytest.mark.parametrize(
    ("content", "message"),
    [("- just\n- a list\n", "must be a mapping"), ("key: [unclosed\n", "cannot read the configuration")],
    ids=["not-a-mapping", "not-yaml"],
)
def test_bad_config_file(workspace: Path, content: str, message: str) -> None:
    config = workspace / "bad-settings.yaml"
    config.write_text(content, encoding="utf-8")
    result = run(workspace, "check", "--config", str(config), "mesh")
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_config_file(workspace: Path) -> None:
    result = run(workspace, "check", "--config", "nope.yaml", "mesh")
    assert result.returncode == 2
    assert "cannot read settings file" in result.stderr


def test_bad_setting_values_are_errors(workspace: Path) -> None:
    """A half-applied configuration reports or hides the wrong things: nothing is checked."""
    config = workspace / "settings.yaml"
    config.write_text("severity: {gateway-not-found: loud}\nmaxFileSize: -1\nexternalHost: [a]\n", encoding="utf-8")
    result = run(workspace, "check", "--config", str(config), "mesh")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert any(
        line.endswith(
            "settings.yaml:1: error: `severity`: gateway-not-found: 'loud' is not one of "
            "error, warning, information, hint, off."
        )
        for line in lines
    ), lines
    assert any(":2: error: `maxFileSize`" in line for line in lines), lines
    assert any(":3: error: unknown setting 'externalHost' (did you mean 'externalHosts'?)" in line for line in lines)


# ---- the summary cache does not change results ------------------------------------------


def test_cached_runs_report_the_same(workspace: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = run(workspace, "check", "--format", "json", ".", cache=cache)
    warm = run(workspace, "check", "--format", "json", ".", cache=cache)
    uncached = run(workspace, "check", "--format", "json", ".")
    assert cold.returncode == warm.returncode == uncached.returncode == 1
    assert cold.stdout == warm.stdout == uncached.stdout
    # an edit is seen through the cache
    (workspace / "mesh" / "routes.yaml").write_text(ROUTES.replace("host: ratings", "host: reviews"), encoding="utf-8")
    edited = json.loads(run(workspace, "check", "--format", "json", ".", cache=cache).stdout)["diagnostics"]
    assert "destination-host-not-found" not in codes(edited)


# ---- suppressions --------------------------------------------------------------------


def test_suppression_comments(workspace: Path) -> None:
    routes = workspace / "mesh" / "routes.yaml"
    routes.write_text(
        ROUTES.replace("    mirror:\n", "    mirror:\n      # istio-lsp: disable-next-line IST0101\n"),
        encoding="utf-8",
    )
    _, diagnostics = check_json(workspace, "mesh")
    assert "destination-host-not-found" not in codes(diagnostics)
    assert "unused-suppression" not in codes(diagnostics)
    # a comment for a code its line does not have silences nothing, and says so
    routes.write_text(ROUTES.replace("host: ratings", "host: ratings  # istio-lsp: disable subset-not-found"))
    _, diagnostics = check_json(workspace, "mesh")
    assert "destination-host-not-found" in codes(diagnostics)
    (unused,) = [d for d in diagnostics if d["code"] == "unused-suppression"]
    assert unused["severity"] == "hint" and "`subset-not-found`" in unused["message"]


# ---- rough edges -----------------------------------------------------------------------------


def test_check_reads_stdin(workspace: Path) -> None:
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": ""}
    result = subprocess.run(
        [*COMMAND, "check", "-"], input=ROUTES, cwd=workspace, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("-:") and "[subset-without-destinationrule]" in result.stdout
    mixed = run(workspace, "check", "-", "mesh")
    assert mixed.returncode == 2 and "checked alone" in mixed.stderr
    # as a file of the workspace: its name in the findings, its folder's settings
    (workspace / "mesh" / ".istio-lsp.yaml").write_text("disabledRules: [destination-host-not-found]\n")
    named = subprocess.run(
        [*COMMAND, "check", "--stdin-filename", "mesh/unsaved.yaml", "-"],
        input=ROUTES,
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert named.stdout.startswith("mesh/unsaved.yaml:"), named.stdout + named.stderr
    assert "[subset-without-destinationrule]" in named.stdout
    assert "destination-host-not-found" not in named.stdout


def test_nothing_to_check_is_said_and_fails(workspace: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a manifest\n", encoding="utf-8")
    result = run(workspace, "check", str(empty))
    assert result.returncode == 3  # not 0 (nothing passed), not 2 (a usage error): nothing was checked
    assert "nothing was checked" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--jobs", "0"], "at least 1"),
        (["--jobs", "-1"], "at least 1"),
        (["--jobs", "many"], "not a whole number"),
        (["--external-gateway", "nogateway"], "expected NAMESPACE/NAME"),
        (["--external-gateway", "a/b/c"], "expected NAMESPACE/NAME"),
    ],
)
def test_bad_option_values_are_refused(workspace: Path, args: list[str], complaint: str) -> None:
    result = run(workspace, "check", *args, ".")
    assert result.returncode == 2 and complaint in result.stderr


def test_jobs_are_capped_at_the_cores() -> None:
    from istio_lsp.cli import _jobs

    assert _jobs("2000") == (os.cpu_count() or 1)
    assert _jobs("1") == 1


def test_help_marks_repeatable_options() -> None:
    result = subprocess.run([*COMMAND, "check", "--help"], capture_output=True, text=True, timeout=60, check=False)
    for option in ("--exclude", "--external-host", "--external-gateway", "--disable"):
        block = result.stdout.split("\n  " + option, 1)[1].split("\n  --", 1)[0]
        assert "repeatable" in block, option


def test_a_closed_pipe_ends_quietly(workspace: Path) -> None:
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": ""}
    process = subprocess.Popen(
        [*COMMAND, "check", "."], cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) in (0, 1)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_on_a_cold_run_stops_at_once(tmp_path: Path) -> None:
    import signal
    import time

    from benchmarks.generate import generate

    generate(tmp_path / "big", 600)
    env = {**os.environ, "ISTIO_LSP_CACHE_DIR": ""}
    process = subprocess.Popen(
        [*COMMAND, "check", str(tmp_path / "big")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    time.sleep(1.5)  # into the parsing, on every core
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole process group
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 5
    assert process.returncode == 130
    assert stderr.decode().strip().endswith("istio-lsp: interrupted")
    assert "Traceback" not in stderr.decode()


def test_explain_prints_a_rules_page() -> None:
    result = subprocess.run([*COMMAND, "explain", "subset-not-found"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("# `subset-not-found`")
    by_istio_code = subprocess.run([*COMMAND, "explain", "IST0132"], capture_output=True, text=True, timeout=60)
    assert "# `virtualservice-host-not-in-gateway`" in by_istio_code.stdout
    unknown = subprocess.run([*COMMAND, "explain", "no-such-rule"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "no rule" in unknown.stderr


def test_text_output_ends_with_where_to_read_and_quiet_drops_it(workspace: Path) -> None:
    result = run(workspace, "check", ".")
    assert "About a rule: istio-lsp explain CODE (" in result.stderr.splitlines()[-1]
    quiet = run(workspace, "check", "--quiet", ".")
    assert quiet.stderr == "" and quiet.stdout == result.stdout


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    from benchmarks.generate import generate

    generate(tmp_path / "ws", 120)
    result = run(tmp_path, "check", "ws")
    assert "istio-lsp: read" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices and FIFOs")
def test_a_configuration_that_is_no_file_is_refused_not_read(workspace: Path, tmp_path: Path) -> None:
    for config in ("/dev/zero", str(tmp_path / "fifo.yaml")):
        if config.endswith("fifo.yaml"):
            os.mkfifo(config)
        result = run(workspace, "check", "--config", config, ".")
        assert result.returncode == 2 and "cannot read settings file" in result.stderr, result.stderr


def test_a_configuration_alias_bomb_is_a_problem_not_a_hang(workspace: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    (workspace / ".istio-lsp.yaml").write_text(bomb.replace("j: &j", "exclude: &j"), encoding="utf-8")
    result = run(workspace, "check", ".")
    assert result.returncode == 2 and "too large" in result.stdout + result.stderr
