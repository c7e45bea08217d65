"""`istio-lsp serve` and `istio-lsp check`: the two front ends over the same analysis core."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, unquote, urlparse

from istio_lsp import __version__
from istio_lsp.findings import Finding, Severity
from istio_lsp.index.bulk import file_uri, read_regular_text, read_text, summarize_paths
from istio_lsp.index.cache import FileState, Snapshot, SummaryCache, cache_dir, snapshot_key
from istio_lsp.index.config import CONFIG_FILES, ProjectConfig, ProjectConfigs, read_config
from istio_lsp.index.discovery import discover, load_config
from istio_lsp.index.summary import uri_path
from istio_lsp.native import re2_unavailable_note
from istio_lsp.settings import Settings, pattern_problem
from istio_lsp.syntax import decode

if TYPE_CHECKING:
    from istio_lsp.index import WorkspaceIndex

# istio_lsp.checks (every rule) is imported only when something must be checked: a warm
# run answered from the snapshot should not pay for loading seventy rules.

FORMATS = ("text", "json", "sarif", "github")
FAIL_LEVELS = ("error", "warning", "information", "hint", "never")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # `trace METHOD URL --via NS/GW PATH…`: argparse leaves paths written after the options
        if args.command != "trace" or any(e.startswith("-") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.paths = [*args.paths, *extra]
    if args.version:
        print(f"istio-lsp {__version__}")
        return 0
    if args.command == "serve":
        from istio_lsp.server import serve  # imported here: `check` must not pay for pygls

        serve()
        return 0
    if args.command == "explain":
        return _explain(args.code)
    if args.command == "trace":
        try:
            return _trace(args, parser)
        except BrokenPipeError:  # `trace … | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    if args.command == "test":
        try:
            return _test(args, parser)
        except BrokenPipeError:  # `test … | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    if args.command == "check":
        try:
            return _check(args, parser)
        except KeyboardInterrupt:
            print("istio-lsp: interrupted", file=sys.stderr)
            sys.stderr.flush()
            # now: at a normal exit, the pool's helper thread would write to the pipes of the workers just
            # stopped, and print that it failed (the cache's database stands an abrupt end)
            os._exit(130)
        except BrokenPipeError:  # `check … | head`: the reader has all it wanted
            # Python flushes stdout at exit, which would fail again: point it at nothing
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    parser.print_help(sys.stderr)
    return 2


def _jobs(text: str) -> int:
    """`--jobs`: at least one process; more than the machine has cores only adds start-up time."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, got {value}")
    return min(value, os.cpu_count() or 1)


def _gateway_pattern(text: str) -> str:
    """`--external-gateway`: `namespace/name`, either part may be a glob."""
    namespace, slash, name = text.partition("/")
    if not slash or not namespace or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"expected NAMESPACE/NAME (globs allowed, e.g. istio-system/*), got {text!r}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="istio-lsp", description="Language server and CI checker for Istio and Kubernetes manifests."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the language server over stdio")
    explain = commands.add_parser("explain", help="print a rule's page: what it reports, why, examples, fixes")
    explain.add_argument(
        "code", metavar="CODE", help="a rule code (e.g. subset-not-found) or an istioctl code (IST0101)"
    )
    check = commands.add_parser("check", help="check manifests and print findings")
    check.add_argument(
        "paths", nargs="+", metavar="PATH", help="files or folders to check; - reads one file from stdin"
    )
    check.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    check.add_argument(
        "--fail-on",
        choices=FAIL_LEVELS,
        default="error",
        help="lowest severity that makes the exit code 1 (default: error)",
    )
    check.add_argument(
        "--config",
        type=Path,
        help="settings for every file (YAML or JSON, the keys of .istio-lsp.yaml); project files still apply",
    )
    check.add_argument(
        "--default-namespace",
        help="namespace of resources without metadata.namespace that no kustomization places (default: any)",
    )
    check.add_argument("--cluster-domain", help="cluster DNS domain (default: cluster.local)")
    check.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="gitignore-style pattern to skip (repeatable)"
    )
    check.add_argument(
        "--external-host",
        action="append",
        default=[],
        metavar="GLOB",
        help="host provided outside these files (repeatable)",
    )
    check.add_argument(
        "--external-gateway",
        action="append",
        default=[],
        type=_gateway_pattern,
        metavar="NS/NAME",
        help="Gateway installed outside these files, globs allowed (repeatable)",
    )
    check.add_argument(
        "--disable", action="append", default=[], metavar="CODE", help="rule code to turn off (repeatable)"
    )
    check.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="with -: the path the text on stdin has (shown in findings; its folder's settings apply)",
    )
    check.add_argument("--quiet", action="store_true", help="no progress and no summary line on stderr")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the summary cache")
    check.add_argument(
        "--jobs", type=_jobs, metavar="N", help="processes for parsing (default and at most: one per core)"
    )
    _trace_parser(commands)
    _test_parser(commands)
    return parser


def _trace_parser(commands: Any) -> None:
    """`istio-lsp trace METHOD URL [-H 'name: value'] (--via NS/GATEWAY | --from NS/WORKLOAD) [PATH…]`."""
    trace = commands.add_parser(
        "trace",
        help="show where Istio sends a request, from the files: gateway, route, destinations, pods",
        description="Trace a request through the Istio configuration of PATHs (default: .). Exit status: 0 when "
        "the request is routed (or redirected, answered directly, aborted by fault injection, passed through), 1 "
        "when it ends in 403, 404, 500, 502 or 503 (also when only some of its weighted destinations give 503, 500 "
        "or 403) or the connection is refused, 2 on a usage error or when the trace cannot start (an unknown "
        "gateway or workload).",
    )
    trace.add_argument("method", metavar="METHOD", help="HTTP method, e.g. GET")
    trace.add_argument("url", metavar="URL", help="e.g. http://shop.example.com/api/v2/items?page=2")
    trace.add_argument("paths", nargs="*", default=[], metavar="PATH", help="files or folders (default: .)")
    trace.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="request header (repeatable)"
    )
    where = trace.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--via",
        metavar="NS/GATEWAY",
        help="the request enters through this Gateway (an Istio Gateway, else a Gateway API Gateway; "
        "gateway-api:NS/NAME or istio:NS/NAME when both share the name)",
    )
    where.add_argument(
        "--from",
        dest="source",
        metavar="NS/WORKLOAD",
        help="the request leaves this workload's sidecar: NS/NAME, NS/key=value,key=value, or NS",
    )
    trace.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    trace.add_argument("--config", type=Path, help="settings for every file, as for `check`")
    trace.add_argument("--default-namespace", help="namespace of resources without one (default: any)")
    trace.add_argument("--cluster-domain", help="cluster DNS domain (default: cluster.local)")
    trace.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="pattern to skip (repeatable)")
    trace.add_argument("--external-host", action="append", default=[], metavar="GLOB", help=argparse.SUPPRESS)
    trace.add_argument("--external-gateway", action="append", default=[], metavar="NS/NAME", help=argparse.SUPPRESS)
    trace.add_argument("--disable", action="append", default=[], metavar="CODE", help=argparse.SUPPRESS)
    trace.add_argument("--no-cache", action="store_true", help="do not read or write the summary cache")


def _test_parser(commands: Any) -> None:
    """`istio-lsp test [PATH…]`: the routing test files (kind: RoutingTest) among the paths, run against them."""
    test = commands.add_parser(
        "test",
        help="run the routing tests (kind: RoutingTest) among the files and report the failing cases",
        description="Run every routing test case (documents of kind RoutingTest, see docs/routing.md) found in "
        "PATHs (default: .) against the Istio configuration of PATHs. Exit status: 0 when every case passes, 1 when "
        "one fails, 2 on a usage error or a malformed test file, 3 when PATHs hold no routing test.",
    )
    test.add_argument(
        "paths", nargs="*", default=[], metavar="PATH", help="files or folders: configuration and tests (default: .)"
    )
    test.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    test.add_argument("--config", type=Path, help="settings for every file, as for `check`")
    test.add_argument("--default-namespace", help="namespace of resources without one (default: any)")
    test.add_argument("--cluster-domain", help="cluster DNS domain (default: cluster.local)")
    test.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="pattern to skip (repeatable)")
    test.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    test.add_argument("--no-cache", action="store_true", help="do not read or write the summary cache")
    test.set_defaults(fail_on="error", external_host=[], external_gateway=[], disable=[])


def _test(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the routing tests of the paths; report each failing case as a finding, as `check` reports."""
    from istio_lsp.routing.testfile import RoutingCase, is_test_text, read_tests, run_case

    index, read, paths = _workspace(args, parser)
    cases: list[RoutingCase] = []
    problems: list[tuple[str, int, str]] = []
    for path in paths:
        uri = file_uri(path)
        text = read(uri)
        if text is None or not is_test_text(text):
            continue
        found, bad = read_tests(uri, text)
        cases += found
        problems += [(uri, p.span.start_line, p.message) for p in bad]
    _exit_on_problems(parser, problems, "a routing test file has errors; nothing was tested")
    if not cases:
        print(f"istio-lsp: no routing test (kind: RoutingTest) in {', '.join(args.paths)}", file=sys.stderr)
        return NOTHING_CHECKED
    findings = [f for case in cases if (f := run_case(index, read, case)) is not None]
    return _report(args, findings, f"{len(cases)} case(s), {len(findings)} failed")


def _workspace(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[WorkspaceIndex, Callable[[str], str | None], list[Path]]:
    """The index of the paths (as `check` builds it), a reader of their texts, and the files."""
    from istio_lsp.checks import analyze_document
    from istio_lsp.index import WorkspaceIndex

    args.paths = args.paths or ["."]
    missing = [p for p in args.paths if not _exists(p)]
    if missing:
        parser.exit(2, f"istio-lsp: no such file or directory, or not readable: {', '.join(missing)}\n")
    configs = _configs(args, parser)
    found = (p for root in args.paths for p in discover(Path(root), configs.base.exclude, configs, lambda _: None))
    paths = list(dict.fromkeys(found))
    cache = SummaryCache(None if args.no_cache else cache_dir())
    index = WorkspaceIndex(configs=configs)
    for batch in summarize_paths(paths, configs, analyze_document, cache):
        index.update_many(batch)
    cache.close()

    def read(uri: str) -> str | None:
        try:
            return read_text(Path(uri_path(uri)), index.settings_for(uri))
        except (OSError, UnicodeDecodeError):
            return None

    return index, read, paths


def _trace(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Index the paths as `check` does, trace one request, print it; 1 when it ends in 403, 404, 500 or 503."""
    from istio_lsp.routing import parse_request, parse_source, trace
    from istio_lsp.routing.render import as_text

    try:
        request = parse_request(args.method, args.url, args.header)
        source = parse_source(args.via, "gateway") if args.via else parse_source(args.source, "mesh")
    except ValueError as error:
        parser.exit(2, f"istio-lsp trace: {error}\n")
    index, read, _ = _workspace(args, parser)
    result = trace(index, read, request, source)
    if args.format == "json":
        payload = result.to_json() | {"exitCode": _trace_exit(result)}
        for step in payload["steps"]:  # paths as `check` prints them, not this machine's URIs
            if "uri" in step:
                step["file"] = display_path(step.pop("uri"))
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(as_text(result, display_path))
    return _trace_exit(result)


def _trace_exit(result: Any) -> int:
    if result.status == "unknown" and not result.steps:
        return 2  # the trace could not start: no such gateway or workload
    return 1 if result.failed else 0


def _configs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ProjectConfigs:
    """The settings every file starts from (`--config`), and the flags that override project files."""
    base = Settings()
    if args.config is not None:
        text = _read_config_text(args, parser)
        config = read_config(args.config.resolve().as_uri(), str(args.config), text, top=True)
        _exit_on_problems(parser, [(args.config, f.span.start_line, f.message) for f in _problems(config)])
        base = base.with_values(config.values)
    if args.exclude:
        bad = [f"{p!r} ({problem})" for p in args.exclude if (problem := pattern_problem(p)) is not None]
        if bad:
            parser.exit(2, f"istio-lsp: --exclude: not a gitignore-style pattern: {', '.join(bad)}\n")
        base = base.with_values({"exclude": (*base.exclude, *args.exclude)})
    forced: dict[str, Any] = {}
    for name, value in (("default_namespace", args.default_namespace), ("cluster_domain", args.cluster_domain)):
        if value is not None:
            forced[name] = value
    for name, extra in (
        ("external_hosts", args.external_host),
        ("external_gateways", args.external_gateway),
        ("disabled_rules", args.disable),
    ):
        if extra:
            forced[name] = tuple(extra)
    # the single-valued flags are the workspace's settings too (the cluster domain keys the index)
    return ProjectConfigs(base.with_values({k: v for k, v in forced.items() if not isinstance(v, tuple)}), forced)


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except OSError:  # inside a folder that cannot be read
        return False


def _read_config_text(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    try:
        return read_regular_text(args.config)
    except (OSError, UnicodeDecodeError) as exc:
        parser.exit(2, f"istio-lsp: cannot read settings file {args.config}: {exc}\n")


def _exit_on_problems(
    parser: argparse.ArgumentParser,
    problems: Sequence[tuple[Path | str, int, str]],
    outcome: str = "the configuration has errors; nothing was checked",
) -> None:
    if problems:
        ordered = sorted(problems, key=lambda p: (str(p[0]), p[1]))
        lines = "".join(f"{_shown(where)}:{line + 1}: error: {message}\n" for where, line, message in ordered)
        parser.exit(2, f"{lines}istio-lsp: {outcome}\n")


def _shown(where: Path | str) -> str:
    return display_path(where) if isinstance(where, str) else str(where)


def _problems(config: ProjectConfig) -> list[Finding]:
    """What is wrong in a configuration file, unknown rule codes included."""
    from istio_lsp.checks import RULES_BY_CODE
    from istio_lsp.checks.files.invalid_config import config_findings

    return list(config_findings(config, RULES_BY_CODE))


def _check_configuration(configs: ProjectConfigs, parser: argparse.ArgumentParser) -> None:
    """Stop with exit status 2 when a configuration file or a flag is wrong: half-applied
    settings would report or hide the wrong things."""
    from istio_lsp.checks import RULES_BY_CODE

    unknown = [code for code in configs.forced.get("disabled_rules", ()) if code not in RULES_BY_CODE]
    if unknown:
        parser.exit(2, f"istio-lsp: unknown rule code(s): {', '.join(unknown)}\n")
    _exit_on_problems(
        parser, [(f.uri, f.span.start_line, f.message) for c in configs.by_folder.values() for f in _problems(c)]
    )


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    configs = _configs(args, parser)
    settings = configs.base
    if (note := re2_unavailable_note()) is not None:  # never a silent gap: the findings lack invalid-regex
        print(f"istio-lsp: warning: {note}", file=sys.stderr)
    if "-" in args.paths:
        if len(args.paths) > 1:
            parser.exit(2, "istio-lsp: - (stdin) is checked alone, not with other paths\n")
        return _report(args, _check_stdin(configs, args.stdin_filename))
    if args.stdin_filename is not None:
        parser.exit(2, "istio-lsp: --stdin-filename goes with - (stdin) as the path\n")
    missing = [p for p in args.paths if not _exists(p)]
    if missing:
        parser.exit(2, f"istio-lsp: no such file or directory, or not readable: {', '.join(missing)}\n")
    started_ns = time.time_ns()

    def unreadable(error: OSError) -> None:
        where = os.path.relpath(error.filename) if error.filename else "a folder"
        print(f"istio-lsp: warning: cannot read {where} ({error.strerror or error}): not checked", file=sys.stderr)

    found = (path for root in args.paths for path in discover(Path(root), settings.exclude, configs, unreadable))
    paths = list(dict.fromkeys(found))
    _check_configuration(configs, parser)
    if not paths:
        print(
            f"istio-lsp: no YAML or kustomization file in {', '.join(args.paths)}: nothing was checked", file=sys.stderr
        )
        return NOTHING_CHECKED
    cache = SummaryCache(None if args.no_cache else cache_dir())
    key = snapshot_key(sorted({Path(root).resolve() for root in args.paths}), configs.base, configs.forced)
    snapshot = cache.get_snapshot(key)
    if snapshot is not None and snapshot.unchanged(paths, lambda path: read_text(path, settings)):
        by_uri = snapshot.findings
    else:
        snapshot = _analyse(paths, configs, cache, args.jobs, started_ns, snapshot, args.quiet)
        cache.put_snapshot(key, snapshot)
        by_uri = snapshot.findings
    cache.close()
    return _report(args, [f for uri in sorted(by_uri) for f in by_uri[uri]])


NOTHING_CHECKED = 3  # the exit status of a run whose paths hold no manifest


def _report(args: argparse.Namespace, findings: list[Finding], summary: str | None = None) -> int:
    """Print the findings; the exit status `--fail-on` asks for. `summary`: the line for stderr, when not
    the counts of findings."""
    _REPORTERS[args.format](findings, sys.stdout)
    sys.stdout.flush()  # a closed pipe fails here, inside main's handler
    if args.format == "text" and not args.quiet:
        if summary is not None:
            print(summary, file=sys.stderr)
        else:
            _summary(findings)
    if args.fail_on == "never":
        return 0
    threshold = Severity.parse(args.fail_on)
    return 1 if any(f.severity <= threshold for f in findings) else 0


STDIN_URI = "file:///dev/stdin"


def _check_stdin(configs: ProjectConfigs, filename: str | None) -> list[Finding]:
    """The findings of one manifest read from standard input, checked on its own (as `filename` when
    given: its folder's project settings apply, and findings name it)."""
    from istio_lsp.checks import analyze_text, check_file
    from istio_lsp.index import WorkspaceIndex

    path = Path(filename).absolute() if filename else None
    if path is not None:  # the project files of its folder and above, as `check` meets them
        for folder in reversed([path.parent, *path.parent.parents]):
            for name in CONFIG_FILES:
                if (folder / name).is_file():
                    load_config(configs, folder / name, top=False)
    data = sys.stdin.buffer.read(configs.base.max_file_size + 1)
    text = decode(data) if len(data) <= configs.base.max_file_size else None
    if text is None:
        sys.exit("istio-lsp: stdin is not UTF-8 text within maxFileSize: nothing was checked")
    uri = path.as_uri() if path is not None else STDIN_URI
    index = WorkspaceIndex(configs=configs)
    index.update(analyze_text(uri, text, configs.settings_for(uri_path(uri))))
    return check_file(index, uri)


def _explain(code: str) -> int:
    """Print the page of a rule, or of the rules an istioctl code corresponds to."""
    from istio_lsp.checks import ISTIO_ALIASES, RULES_BY_CODE

    codes = [code] if code in RULES_BY_CODE else sorted(ISTIO_ALIASES.get(code.upper(), ()))
    if not codes:
        print(f"istio-lsp: no rule {code!r}; the rules are listed in the README and in docs/rules/", file=sys.stderr)
        return 2
    print("\n\n".join(RULES_BY_CODE[c].doc_path.read_text(encoding="utf-8").strip() for c in codes))
    return 0


def _summary(findings: list[Finding]) -> None:
    """The counts by severity, and where to read about each rule found, on stderr."""
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    summary = ", ".join(f"{n} {s.label}" for s, n in counts.items() if n)
    print(f"{len(findings)} finding(s)" + (f": {summary}" if summary else ""), file=sys.stderr)
    codes = sorted({f.code for f in findings})
    if codes:
        shown = ", ".join(codes[:8]) + (f" and {len(codes) - 8} more" if len(codes) > 8 else "")
        print(f"About a rule: istio-lsp explain CODE ({shown})", file=sys.stderr)


def _analyse(
    paths: list[Path],
    configs: ProjectConfigs,
    cache: SummaryCache,
    jobs: int | None,
    started_ns: int,
    previous: Snapshot | None,
    quiet: bool = False,
) -> Snapshot:
    """Index and check the files: summaries from the cache where they are, the rest parsed;
    findings of the `previous` run kept for the files no change can have reached."""
    from istio_lsp.checks import RULES, analyze_document, check_file
    from istio_lsp.checks.reuse import stale_files
    from istio_lsp.index import WorkspaceIndex

    index = WorkspaceIndex(configs=configs)
    states: dict[str, FileState] = {}
    progress = _Progress(len(paths), quiet)
    for batch in summarize_paths(paths, configs, analyze_document, cache, workers=jobs, states=states):
        index.update_many(batch)
        progress.advance(len(batch))
    progress.done()
    stale = None if previous is None else stale_files(index, states, previous, cache, RULES)
    before = previous.findings if previous is not None else {}
    findings: dict[str, list[Finding]] = {}
    for uri in sorted(index.files):
        found = check_file(index, uri) if stale is None or uri in stale else before.get(uri, [])
        if found:
            findings[uri] = found
    lines = {uri: s.nonascii_lines for uri, s in index.files.items() if s.nonascii_lines}
    return Snapshot(started_ns, states, findings, lines)


class _Progress:
    """`read 1,200/5,000 files` on a terminal's stderr, rewritten in place, while a long run reads files
    (nothing when stderr is a file or a pipe, or the run is short)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.count = 0
        self.shown = False
        self.started = time.monotonic()
        self.on = not quiet and sys.stderr.isatty() and total >= 200

    def advance(self, count: int) -> None:
        self.count += count
        if self.on and time.monotonic() - self.started > 1.0:
            print(f"\ristio-lsp: read {self.count:,}/{self.total:,} files", end="", file=sys.stderr, flush=True)
            self.shown = True

    def done(self) -> None:
        if self.shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def display_path(uri: str) -> str:
    """A file URI as a path relative to the current directory when it lies below it."""
    if uri == STDIN_URI:
        return "-"
    path = unquote(urlparse(uri).path)
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path


def _printable(text: str) -> str:
    """A file name for a line of text output: control characters (a newline in a name) escaped, so one
    finding stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode() for c in text)


def _text(findings: list[Finding], out: TextIO) -> None:
    for f in findings:
        out.write(
            f"{_printable(display_path(f.uri))}:{f.span.start_line + 1}:{f.span.start_char + 1}: "
            f"{f.severity.label} [{f.code}] {f.message}\n"
        )


def _json(findings: list[Finding], out: TextIO) -> None:
    payload = {
        "diagnostics": [
            {
                "file": display_path(f.uri),
                "range": f.span.to_json(),
                "severity": f.severity.label,
                "code": f.code,
                "message": f.message,
                "resource": f.resource,
            }
            for f in findings
        ]
    }
    json.dump(payload, out, indent=2)
    out.write("\n")


_SARIF_LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}


def _sarif(findings: list[Finding], out: TextIO) -> None:
    from istio_lsp.checks import RULES

    known = list(RULES)  # `routing-test-failed` (of `test`) among them
    rules = [
        {
            "id": rule.code,
            "name": rule.code,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc.split("\n\n")[0].replace("\n", " ")},
            # code scanning shows `help` beside each result: the rule's whole page (a file URI would
            # be dead there, and would tell the runner's paths)
            "help": {"text": rule.doc, "markdown": rule.doc},
            "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity]},
        }
        for rule in known
    ]
    rule_index = {rule.code: i for i, rule in enumerate(known)}
    results = []
    for f in findings:
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": rule_index[f.code],
                "level": _SARIF_LEVELS[f.severity],
                "message": {"text": f.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": quote(display_path(f.uri).replace(os.sep, "/")),
                                "uriBaseId": "%SRCROOT%",  # relative to the checkout: no path of this machine
                            },
                            "region": {
                                "startLine": f.span.start_line + 1,
                                "startColumn": f.span.start_char + 1,
                                "endLine": f.span.end_line + 1,
                                "endColumn": f.span.end_char + 1,
                            },
                        },
                        **({"logicalLocations": [{"fullyQualifiedName": f.resource}]} if f.resource else {}),
                    }
                ],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "istio-lsp",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "utf16CodeUnits",
                "results": results,
            }
        ],
    }
    json.dump(sarif, out, indent=2)
    out.write("\n")


def _github(findings: list[Finding], out: TextIO) -> None:
    """GitHub Actions workflow commands: annotations on the pull request's files."""
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning"}
    for f in findings:
        level = levels.get(f.severity, "notice")
        out.write(
            f"::{level} file={_github_property(display_path(f.uri))},line={f.span.start_line + 1},"
            f"col={f.span.start_char + 1},endLine={f.span.end_line + 1},endColumn={f.span.end_char + 1},"
            f"title={_github_property(f.code)}::{_github_data(f.message)}\n"
        )


def _github_data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it: a newline cannot end the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """A workflow command's property value: besides the message's escapes, `:` and `,` would end it (a file
    named `c,line=99` would forge the line)."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


_REPORTERS = {"text": _text, "json": _json, "sarif": _sarif, "github": _github}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
