"""Copy the istio-lsp server and its pure-Python dependencies into bundled/libs, offline.

The VS Code extension runs the server with any Python >= 3.10 the user has, so it ships
everything the server imports. istio_lsp comes from the repository source; the dependencies
come from the distributions installed in the Python running this script (read through
importlib.metadata, no network, no pip). Compiled files are never shipped: a dependency
that needs one fails the build, except PyYAML, whose pure SafeLoader works without libyaml.

Standard library only, so it runs in any Python >= 3.10.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Dependencies left out on purpose, with the reason printed in the build log.
SKIPPED = {"google-re2": "compiled; the server falls back to Python's re module without it"}
# Distributions whose compiled parts are optional accelerators with a pure fallback.
COMPILED_OPTIONAL = {"pyyaml": "the C loader (_yaml); yaml falls back to the pure SafeLoader"}
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
PACKAGE_DATA_SUFFIXES = {".py", ".md", ".json", ".typed"}
LICENSE_NAME = re.compile(r"^(licen[cs]e|copying|notice|authors)", re.IGNORECASE)
# The oldest Python the bundle must work on: markers are evaluated for it and for the building Python.
MIN_PYTHON = (3, 10)


class BundleError(Exception):
    """A problem the person building the extension has to fix."""


# ---- requirement strings and environment markers (PEP 508 subset) ---------------------------


@dataclass(frozen=True)
class Requirement:
    name: str
    extras: frozenset[str]
    specifier: str
    marker: str | None


_REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?\s*"
    r"(?P<spec>\(?[^;()@]*\)?)\s*(?:;\s*(?P<marker>.+))?$"
)


def parse_requirement(text: str) -> Requirement:
    match = _REQUIREMENT.match(text)
    if not match:
        raise BundleError(f"cannot parse the requirement {text!r} (URL requirements cannot be bundled)")
    extras = frozenset(normalize(e) for e in (match["extras"] or "").split(",") if e.strip())
    spec = match["spec"].strip().strip("()").replace(" ", "")
    return Requirement(match["name"], extras, spec, match["marker"])


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def version_tuple(text: str) -> tuple[int, ...]:
    """The release part of a version (pre/post/dev tags ignored: enough for these checks)."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", text)
    if not match:
        raise BundleError(f"cannot read the version {text!r}")
    return tuple(int(part) for part in match[1].split("."))


def _compare(left: tuple[int, ...], right: tuple[int, ...]) -> int:
    width = max(len(left), len(right))
    a, b = left + (0,) * (width - len(left)), right + (0,) * (width - len(right))
    return (a > b) - (a < b)


def version_matches(version: str, specifier: str) -> bool:
    """True when `version` satisfies a comma-separated specifier such as `>=2.1,<3`."""
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = re.match(r"^(===|==|!=|<=|>=|~=|<|>)\s*(.+)$", clause)
        if not match:
            raise BundleError(f"cannot read the version specifier {clause!r}")
        op, wanted = match.groups()
        if op == "===":
            ok = version == wanted
        elif op in ("==", "!=") and wanted.endswith(".*"):
            prefix = version_tuple(wanted[:-2])
            ok = version_tuple(version)[: len(prefix)] == prefix
            ok = ok if op == "==" else not ok
        else:
            cmp = _compare(version_tuple(version), version_tuple(wanted))
            if op == "~=":
                stem = version_tuple(wanted)[:-1]
                ok = cmp >= 0 and version_tuple(version)[: len(stem)] == stem
            else:
                ok = {"==": cmp == 0, "!=": cmp != 0, "<=": cmp <= 0, ">=": cmp >= 0, "<": cmp < 0, ">": cmp > 0}[op]
        if not ok:
            return False
    return True


_MARKER_TOKEN = re.compile(
    r"\s*(\(|\)|'[^']*'|\"[^\"]*\"|===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b|and\b|or\b|[A-Za-z_.]+)"
)
_VERSION_VARIABLES = {"python_version", "python_full_version", "implementation_version"}


def _tokens(marker: str) -> list[str]:
    tokens, pos = [], 0
    marker = marker.strip()
    while pos < len(marker):
        match = _MARKER_TOKEN.match(marker, pos)
        if not match:
            raise BundleError(f"cannot parse the environment marker {marker!r}")
        tokens.append(re.sub(r"\s+", " ", match[1]))
        pos = match.end()
        while pos < len(marker) and marker[pos].isspace():
            pos += 1
    return tokens


def evaluate_marker(marker: str, env: dict[str, str], extras: frozenset[str]) -> bool:
    """Evaluate a PEP 508 marker; `extra` is true for any of `extras`."""
    tokens = _tokens(marker)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise BundleError(f"the environment marker {marker!r} ends early")
        pos += 1
        return tokens[pos - 1]

    def value() -> tuple[str, str | None]:
        token = take()
        if token[0] in "'\"":
            return token[1:-1], None
        if token != "extra" and token not in env:
            raise BundleError(f"unknown variable {token!r} in the environment marker {marker!r}")
        return env.get(token, ""), token

    def comparison() -> bool:
        if peek() == "(":
            take()
            result = disjunction()
            if take() != ")":
                raise BundleError(f"unbalanced parentheses in {marker!r}")
            return result
        left, left_var = value()
        op = take()
        right, right_var = value()
        if "extra" in (left_var, right_var):
            wanted = normalize(right if left_var == "extra" else left)
            if op not in ("==", "!="):
                raise BundleError(f"unsupported comparison with extra in {marker!r}")
            return (wanted in extras) == (op == "==")
        if op == "in":
            return left in right
        if op == "not in":
            return left not in right
        if {left_var, right_var} & _VERSION_VARIABLES:
            return version_matches(left, op + right)
        if op in ("==", "==="):
            return left == right
        if op == "!=":
            return left != right
        return version_matches(left, op + right)

    def conjunction() -> bool:
        result = comparison()
        while peek() == "and":
            take()
            result = comparison() and result
        return result

    def disjunction() -> bool:
        result = conjunction()
        while peek() == "or":
            take()
            result = conjunction() or result
        return result

    result = disjunction()
    if pos != len(tokens):
        raise BundleError(f"unexpected {tokens[pos]!r} in the environment marker {marker!r}")
    return result


def marker_environments() -> list[dict[str, str]]:
    """The building Python's marker variables, and the same for the oldest supported Python."""
    implementation = sys.implementation
    info = implementation.version
    impl_version = f"{info.major}.{info.minor}.{info.micro}"
    current = {
        "os_name": os.name,
        "sys_platform": sys.platform,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "python_full_version": platform.python_version(),
        "implementation_name": implementation.name,
        "implementation_version": impl_version,
    }
    oldest = dict(current)
    minimum = ".".join(map(str, MIN_PYTHON))
    oldest.update(python_version=minimum, python_full_version=minimum + ".0", implementation_version=minimum + ".0")
    return [current, oldest]


# ---- resolving and copying ------------------------------------------------------------


@dataclass
class Bundled:
    name: str
    version: str
    files: int = 0
    dropped: list[str] = field(default_factory=list)


def project_requirements(repo: Path) -> list[str]:
    """istio-lsp's own dependencies, from pyproject.toml."""
    pyproject = repo / "pyproject.toml"
    if not pyproject.is_file():
        raise BundleError(f"{pyproject} not found (run from vscode-extension/ in the repository, or pass --repo)")
    text = pyproject.read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib

        return list(tomllib.loads(text)["project"]["dependencies"])
    # Python 3.10 has no TOML parser: the [project] table's `dependencies` array of plain strings.
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[)", text + "\n[", re.MULTILINE | re.DOTALL)
    array = re.search(r"^dependencies\s*=\s*\[(.*?)\]", project[1] if project else "", re.MULTILINE | re.DOTALL)
    if array is None:
        raise BundleError(f"cannot find [project] dependencies in {pyproject}")
    return re.findall(r'"([^"]+)"', re.sub(r"#.*", "", array[1]))


def resolve(roots: Iterable[str]) -> list[tuple[metadata.Distribution, list[str]]]:
    """The installed distributions the requirements need (transitively), with how each was reached."""
    envs = marker_environments()
    found: dict[str, tuple[metadata.Distribution, list[str]]] = {}
    expanded: set[tuple[str, frozenset[str]]] = set()
    skipped: set[str] = set()
    missing: list[str] = []
    queue: list[tuple[str, frozenset[str], list[str]]] = [(r, frozenset(), ["istio-lsp"]) for r in roots]
    while queue:
        text, parent_extras, chain = queue.pop(0)
        req = parse_requirement(text)
        key = normalize(req.name)
        if req.marker and not any(evaluate_marker(req.marker, env, parent_extras) for env in envs):
            continue
        if key in SKIPPED:
            if key not in skipped:
                print(f"bundle-server: skipping {req.name}: {SKIPPED[key]}")
            skipped.add(key)
            continue
        path = [*chain, req.name]
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(f"  {text}  (needed by {' -> '.join(chain)})")
            continue
        if req.specifier and not version_matches(dist.version, req.specifier):
            raise BundleError(
                f"{' -> '.join(path)} needs {req.name}{req.specifier}, but {sys.executable} has {dist.version}"
            )
        requires_python = (dist.metadata.get_all("Requires-Python") or [None])[0]
        minimum = ".".join(map(str, MIN_PYTHON))
        if requires_python and not version_matches(minimum, requires_python.replace(" ", "")):
            raise BundleError(
                f"{req.name} {dist.version} needs Python {requires_python}; the bundle must run on {minimum}"
            )
        found.setdefault(key, (dist, path))
        if (key, req.extras) in expanded:
            continue
        expanded.add((key, req.extras))
        for sub in dist.requires or []:
            queue.append((sub, req.extras, path))
    if missing:
        raise BundleError(
            "these pure-Python dependencies of the server are not installed in "
            f"{sys.executable}:\n" + "\n".join(missing) + "\nInstall them there (for example `pip install -e ..` "
            "from vscode-extension/, plus `pip install exceptiongroup` when building with Python >= 3.11), "
            "or set ISTIO_LSP_BUNDLE_PYTHON to a Python that has them."
        )
    return list(found.values())


def _record(dist: metadata.Distribution) -> list[PurePosixPath]:
    files = dist.files
    if files is None:
        raise BundleError(f"{dist.metadata['Name']} has no RECORD file; cannot tell which files belong to it")
    return [PurePosixPath(str(f)) for f in files]


def copy_distribution(dist: metadata.Distribution, out: Path) -> Bundled:
    name = dist.metadata["Name"]
    info = Bundled(name, dist.version)
    compiled_ok = normalize(name) in COMPILED_OPTIONAL
    dist_info: str | None = None
    for rel in _record(dist):
        if rel.parts[0] == "..":
            continue  # console scripts and data outside site-packages
        if rel.parts[0].endswith(".dist-info"):
            dist_info = rel.parts[0]
            continue
        if "__pycache__" in rel.parts or rel.suffix in (".pyc", ".pth"):
            continue
        if rel.name.endswith(COMPILED_SUFFIXES):
            if not compiled_ok:
                raise BundleError(
                    f"{name} {dist.version} contains the compiled module {rel}; the extension ships pure Python only"
                )
            info.dropped.append(str(rel))
            continue
        source = Path(str(dist.locate_file(str(rel))))
        target = out.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        info.files += 1
    if info.files == 0:
        raise BundleError(f"{name} {dist.version} has no Python files to bundle")
    _write_dist_info(dist, dist_info or f"{name.replace('-', '_')}-{dist.version}.dist-info", out)
    return info


def _write_dist_info(dist: metadata.Distribution, folder: str, out: Path) -> None:
    """METADATA (so importlib.metadata.version works, attrs asks it) and the license files."""
    target = out / folder
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(dist.read_text("METADATA") or "", encoding="utf-8")
    licenses = 0
    for rel in _record(dist):
        inside = rel.parts[1:] if rel.parts[0] == folder else ()
        if not inside:
            continue
        if inside[0] == "licenses" or LICENSE_NAME.match(inside[-1]):
            destination = target.joinpath(*inside)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(dist.locate_file(str(rel)))), destination)
            licenses += 1
    if licenses == 0:
        raise BundleError(f"{dist.metadata['Name']} ships no license file; refusing to redistribute it")


def _package_files(source: Path) -> Iterator[Path]:
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in PACKAGE_DATA_SUFFIXES:
            yield path


def copy_istio_lsp(repo: Path, out: Path) -> Bundled:
    source = repo / "istio_lsp"
    if not (source / "__init__.py").is_file():
        raise BundleError(f"{source} is not the istio_lsp package (run from vscode-extension/ in the repository)")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', (source / "__init__.py").read_text(encoding="utf-8"))
    version = match[1] if match else "0"
    info = Bundled("istio-lsp", version)
    for path in _package_files(source):
        target = out / "istio_lsp" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        info.files += 1
    for required in ("docs/rules/index.md", "schemas"):
        if not (out / "istio_lsp" / required).exists():
            raise BundleError(f"istio_lsp/{required} is missing from the bundle")
    dist_info = out / f"istio_lsp-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: istio-lsp\nVersion: {version}\nLicense-Expression: Apache-2.0\n",
        encoding="utf-8",
    )
    # The repository's license, else the extension's copy of the same Apache-2.0 text.
    for license_file in (repo / "LICENSE", Path(__file__).resolve().parent.parent / "LICENSE"):
        if license_file.is_file():
            shutil.copyfile(license_file, dist_info / "LICENSE")
            break
    return info


def self_check(out: Path) -> None:
    """Import the server from the bundle alone, in an isolated interpreter without bytecode files."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import istio_lsp.server, istio_lsp.cli, yaml, pathspec; "
        "bad = [m.__name__ for m in (istio_lsp.server, yaml) if not m.__file__.startswith(sys.argv[1])]; "
        "sys.exit('imported from outside the bundle: ' + ', '.join(bad) if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-I", "-B", "-c", code, str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"the bundle does not import cleanly:\n{result.stderr.strip() or result.stdout.strip()}")


def bundle(repo: Path, out: Path) -> list[Bundled]:
    dists = resolve(project_requirements(repo))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    bundled = [copy_istio_lsp(repo, out)]
    bundled += [
        copy_distribution(dist, out) for dist, _ in sorted(dists, key=lambda d: normalize(d[0].metadata["Name"]))
    ]
    lines = [
        f"# Generated by scripts/bundle-server.py with Python {platform.python_version()}; do not edit.",
        *(f"# skipped {name}: {why}" for name, why in SKIPPED.items()),
        *(f"{b.name}=={b.version}" for b in bundled),
    ]
    (out / "BUNDLED.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    self_check(out)
    return bundled


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repo", type=Path, default=here.parent.parent, help="repository root (has istio_lsp/)")
    parser.add_argument("--out", type=Path, default=here.parent / "bundled" / "libs", help="target folder (replaced)")
    args = parser.parse_args(argv)
    if sys.version_info < MIN_PYTHON:
        print(f"bundle-server: needs Python >= 3.10, this is {platform.python_version()}", file=sys.stderr)
        return 2
    try:
        bundled = bundle(args.repo.resolve(), args.out.resolve())
    except BundleError as error:
        print(f"bundle-server: error: {error}", file=sys.stderr)
        return 1
    for b in bundled:
        note = f" (left out {', '.join(b.dropped)})" if b.dropped else ""
        print(f"bundle-server: {b.name}=={b.version}: {b.files} files{note}")
    print(f"bundle-server: wrote {args.out} with {sys.executable}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
