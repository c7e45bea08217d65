"""Loading table-driven check cases and applying fixes, shared by the check tests.

A case is `tests/cases/<name>.yaml` or a folder `tests/cases/<name>/` of YAML files.
Its files declare what they test in comments:

- `# covers: code, code` (once per case, any file): the rules the case is about. For
  each covered rule the case is a positive case when it expects at least one finding
  of that rule, a negative case otherwise.
- `# settings: {"externalHosts": ["*.corp.example.com"]}`: JSON, as the editor settings.
- `... # expect: code[@severity] [fix "title prefix"]...[, code...]` at the end of the
  line where a finding must start. `fix "…"` names a quick fix of that finding that
  must make it disappear when applied.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import istio_lsp.checks
from istio_lsp.checks import RULES, Finding, Fix, Severity, TextEdit, check_file
from istio_lsp.index import WorkspaceIndex, summarize
from istio_lsp.index.config import ProjectConfigs, is_config_path, read_config
from istio_lsp.index.summary import uri_path
from istio_lsp.settings import Settings

CASES_DIR = Path(__file__).resolve().parent / "cases"
# what the front ends index: the summary plus per-document findings, where the checks have those
summarize_text = getattr(istio_lsp.checks, "analyze_text", summarize)
URI_ROOT = "file:///cases"

_EXPECT = re.compile(r"#\s*expect:\s*(?P<body>.*)$")
_ITEM = re.compile(r'\s*(?P<code>[a-z0-9-]+)(?:@(?P<severity>[a-z]+))?(?P<fixes>(?:\s+fix\s+"[^"]*")*)\s*(?:,|$)')
_FIX = re.compile(r'fix\s+"(?P<title>[^"]*)"')
_COVERS = re.compile(r"^\s*#\s*covers:\s*(?P<body>.+?)\s*$", re.MULTILINE)
_SETTINGS = re.compile(r"^\s*#\s*settings:\s*(?P<body>\{.*\})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Expectation:
    file: str
    line: int  # 0-based, as in findings
    code: str
    severity: Severity | None = None
    fixes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.file, self.code, self.line)

    def __str__(self) -> str:
        sev = f"@{self.severity.label}" if self.severity else ""
        return f"{self.file}:{self.line + 1}: {self.code}{sev}"


@dataclass
class Case:
    name: str
    files: dict[str, str]  # relative path → text
    covers: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)
    expectations: list[Expectation] = field(default_factory=list)
    editor_settings: dict = field(default_factory=dict)  # the `# settings:` comments, as an editor sends them

    def uri(self, rel: str) -> str:
        return f"{URI_ROOT}/{self.name}/{rel}"

    def rel(self, uri: str) -> str:
        return uri.removeprefix(f"{URI_ROOT}/{self.name}/")


def case_names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in CASES_DIR.iterdir() if p.is_dir() or p.suffix == ".yaml")


def load_case(name: str) -> Case:
    single = CASES_DIR / f"{name}.yaml"
    if single.is_file():
        files = {single.name: single.read_text(encoding="utf-8")}
    else:
        folder = CASES_DIR / name
        files = {
            p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*"))
            if p.is_file() and (p.suffix in (".yaml", ".yml") or p.name == "Kustomization")
        }
    case = Case(name, files)
    covers: list[str] = []
    settings: dict = {}
    for rel, text in files.items():
        for match in _COVERS.finditer(text):
            covers += [c.strip() for c in match.group("body").split(",") if c.strip()]
        for match in _SETTINGS.finditer(text):
            settings.update(json.loads(match.group("body")))
        for number, line in enumerate(text.split("\n")):
            found = _EXPECT.search(line)
            if found is not None:
                case.expectations += parse_expectations(rel, number, found.group("body"))
    case.covers = tuple(covers)
    case.editor_settings = settings
    case.settings, problems = Settings.from_dict(settings)
    assert not problems, f"{name}: bad settings: {problems}"
    return case


def parse_expectations(rel: str, line: int, body: str) -> list[Expectation]:
    out: list[Expectation] = []
    position = 0
    body = body.rstrip()
    while position < len(body):
        item = _ITEM.match(body, position)
        if item is None or item.end() == position:
            raise ValueError(f"{rel}:{line + 1}: cannot read expectation {body[position:]!r}")
        severity = Severity.parse(item.group("severity")) if item.group("severity") else None
        fixes = tuple(m.group("title") for m in _FIX.finditer(item.group("fixes")))
        out.append(Expectation(rel, line, item.group("code"), severity, fixes))
        position = item.end()
    return out


def build_index(case: Case, files: dict[str, str] | None = None) -> WorkspaceIndex:
    """The case's files indexed as the CLI does: project configuration files first (they give
    each file its settings), then every file in one batch."""
    files = files if files is not None else case.files
    configs = ProjectConfigs(case.settings)
    for rel, text in sorted(files.items(), key=lambda item: item[0].count("/")):
        if is_config_path(rel):
            uri = case.uri(rel)
            configs.add(read_config(uri, uri_path(uri), text, top="/" not in rel))
    index = WorkspaceIndex(configs=configs)
    index.update_many(
        summarize_text(case.uri(rel), text, index.settings_for(case.uri(rel))) for rel, text in files.items()
    )
    return index


def run_checks(case: Case, files: dict[str, str] | None = None) -> list[Finding]:
    index = build_index(case, files)
    return [f for uri in sorted(index.files) for f in check_file(index, uri)]


def compare(case: Case, findings: Iterable[Finding]) -> list[str]:
    """Differences between what a case expects and what the checks found; empty when they agree."""
    expected = list(case.expectations)
    keep_skipped = any(e.code == "file-skipped" for e in expected)
    # The cases are about the cross-file reference checks; per-document rules (schema,
    # admission webhook, route semantics) have their own tests and count here only when
    # a case covers or expects them.
    relevant = {r.code for r in RULES if r.run is not None} | set(case.covers) | {e.code for e in expected}
    actual = [f for f in findings if (keep_skipped or f.code != "file-skipped") and f.code in relevant]
    actual_keys = Counter((case.rel(f.uri), f.code, f.span.start_line) for f in actual)
    expected_keys = Counter(e.key for e in expected)
    problems = []
    for key, count in (expected_keys - actual_keys).items():
        problems.append(f"missing: {key[0]}:{key[2] + 1}: {key[1]}" + (f" (x{count})" if count > 1 else ""))
    for f in actual:
        key = (case.rel(f.uri), f.code, f.span.start_line)
        if (actual_keys - expected_keys)[key]:
            problems.append(f"unexpected: {key[0]}:{key[2] + 1}: {f.code}@{f.severity.label}: {f.message}")
    with_severity = Counter((case.rel(f.uri), f.code, f.span.start_line, f.severity) for f in actual)
    pinned = Counter((*e.key, e.severity) for e in expected if e.severity is not None)
    for key, count in pinned.items():
        if with_severity[key] < count:
            found = sorted(
                {f.severity.label for f in actual if (case.rel(f.uri), f.code, f.span.start_line) == key[:3]}
            )
            problems.append(f"severity: {key[0]}:{key[2] + 1}: {key[1]} expected {key[3].label}, got {found}")
    return problems


# ---- applying fixes ---------------------------------------------------------


def offset_of(text: str, line: int, char: int) -> int:
    """The string index of a 0-based (line, UTF-16 character) position."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        raise AssertionError(f"line {line} is outside the text ({len(lines)} lines)")
    start = sum(len(x) + 1 for x in lines[:line])
    units = 0
    for index, ch in enumerate(lines[line]):
        if units == char:
            return start + index
        if units > char:
            raise AssertionError(f"character {char} of line {line} falls inside a surrogate pair")
        units += 2 if ord(ch) > 0xFFFF else 1
    if units == char:
        return start + len(lines[line])
    raise AssertionError(f"character {char} is past the end of line {line} ({units} UTF-16 units)")


def apply_edits(files: dict[str, str], edits: Iterable[TextEdit], uri_to_rel) -> dict[str, str]:
    """Apply LSP-style text edits (possibly across files) to a copy of `files`."""
    by_file: dict[str, list[TextEdit]] = {}
    for edit in edits:
        by_file.setdefault(uri_to_rel(edit.uri), []).append(edit)
    out = dict(files)
    for rel, file_edits in by_file.items():
        text = out[rel]
        ranges = sorted(
            (
                offset_of(text, e.span.start_line, e.span.start_char),
                offset_of(text, e.span.end_line, e.span.end_char),
                e.new_text,
            )
            for e in file_edits
        )
        for (_, end, _), (start, _, _) in itertools.pairwise(ranges):
            assert end <= start, f"overlapping edits in {rel}"
        for start, end, new_text in reversed(ranges):
            assert start <= end, f"edit ends before it starts in {rel}"
            text = text[:start] + new_text + text[end:]
        out[rel] = text
    return out


def apply_fix(case: Case, fix: Fix) -> dict[str, str]:
    return apply_edits(case.files, fix.edits, case.rel)
