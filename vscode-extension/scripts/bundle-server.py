"""Build the server bundle of the VS Code extension: bundled/libs for one target platform.

The extension runs the server with the user's own Python (3.10 or newer), so the package ships every
library the server imports. They come from the wheels pinned in bundle-requirements.txt, downloaded
with pip into a build environment of this script's own (build/venv, build/wheels: nothing is read
from the Python running this script beyond the standard library, nor from the project's .venv).

Pure-Python wheels are unpacked once. Wheels with compiled modules (google-re2, PyYAML's libyaml
binding) are downloaded for every CPython in PYTHONS and unpacked into the same folder: CPython
only loads an extension module whose file name carries its own ABI tag
(`_re2.cpython-312-x86_64-linux-gnu.so`, `_re2.cp312-win_amd64.pyd`), so one folder serves every
version, and a Python the package has no build for fails `import re2` and runs without it (the
server says so). The build refuses files that would collide: an untagged extension module, or a
Python file that differs between the versions' wheels.

A Python or platform without google-re2 (Alpine: no build at all) runs the server without it, which
the server says in the output and the status bar. A required compiled library (pydantic-core) has no
such fallback: the Pythons it has builds for are the package's (`pythons:` in BUNDLED.txt), and
launch.py says so plainly elsewhere. The `universal` target holds no compiled module at all: it
runs the server only where the user's Python supplies the required ones.

Standard library only, so it runs in any Python >= 3.10 that has venv and pip (ensurepip).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path, PurePosixPath

# The CPython versions the platform packages carry compiled modules for (the server needs >= 3.10).
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
MIN_PYTHON = (3, 10)
# Compiled distributions the server runs without: re2 -> no RE2 check of regexes (said so),
# PyYAML -> its pure loader (same results, slower). Any other compiled dependency is required.
OPTIONAL_NATIVE = {
    "google-re2": "regexes are not checked against RE2 (no invalid-regex findings)",
    "pyyaml": "PyYAML's pure-Python loader is used (same results, slower)",
}
# Of those, the ones a package may lack altogether (no build for the platform at all: Alpine).
ABSENT_OK = {"google-re2"}
EXTENSION_SUFFIXES = (".so", ".pyd")
NATIVE_SUFFIXES = (*EXTENSION_SUFFIXES, ".dylib", ".dll")
PACKAGE_DATA_SUFFIXES = {".py", ".md", ".json", ".typed"}
PINS = "bundle-requirements.txt"
LICENSE_NAME = re.compile(r"^(licen[cs]e|copying|notice|authors)", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A `vsce package --target` platform: pip's platform tags and the PEP 508 marker values."""

    name: str
    platforms: tuple[str, ...]
    sys_platform: str
    platform_machine: str

    @property
    def os_name(self) -> str:
        return "nt" if self.sys_platform == "win32" else "posix"

    @property
    def platform_system(self) -> str:
        return {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[self.sys_platform]


MANYLINUX = ("manylinux_2_28", "manylinux_2_17", "manylinux2014")
# glibc 2.28 is what VS Code itself needs on Linux; macOS 13 is the oldest google-re2 builds for
# (pip also takes older macOS tags, PyYAML's among them).
TARGETS = {
    t.name: t
    for t in (
        Target("linux-x64", tuple(f"{m}_x86_64" for m in MANYLINUX), "linux", "x86_64"),
        Target("linux-arm64", tuple(f"{m}_aarch64" for m in MANYLINUX), "linux", "aarch64"),
        Target("alpine-x64", ("musllinux_1_2_x86_64", "musllinux_1_1_x86_64"), "linux", "x86_64"),
        Target("alpine-arm64", ("musllinux_1_2_aarch64", "musllinux_1_1_aarch64"), "linux", "aarch64"),
        Target("darwin-x64", ("macosx_13_0_x86_64",), "darwin", "x86_64"),
        Target("darwin-arm64", ("macosx_13_0_arm64",), "darwin", "arm64"),
        Target("win32-x64", ("win_amd64",), "win32", "AMD64"),
        Target("win32-arm64", ("win_arm64",), "win32", "ARM64"),
    )
}
UNIVERSAL = "universal"
# Where the pure part of the compiled distributions (PyYAML's Python files) comes from for `universal`.
UNIVERSAL_SOURCE = TARGETS["linux-x64"]


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


def marker_environments(target: Target | None) -> list[dict[str, str]]:
    """Marker variables for every supported Python on the target (on every target for `universal`)."""
    envs = []
    for t in [target] if target else list(TARGETS.values()):
        for version in PYTHONS:
            envs.append(
                {
                    "os_name": t.os_name,
                    "sys_platform": t.sys_platform,
                    "platform_machine": t.platform_machine,
                    "platform_python_implementation": "CPython",
                    "platform_release": "",
                    "platform_system": t.platform_system,
                    "platform_version": "",
                    "python_version": version,
                    "python_full_version": version + ".0",
                    "implementation_name": "cpython",
                    "implementation_version": version + ".0",
                }
            )
    return envs


# ---- the pins and the build environment ------------------------------------------------


def read_pins(path: Path) -> dict[str, str]:
    """bundle-requirements.txt: `name==version` per line, # comments."""
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!-]+)", text)
        if not match:
            raise BundleError(f"{path}:{number}: expected `name==version`, got {text!r}")
        pins[normalize(match[1])] = match[2]
    return pins


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


def build_python(cache: Path) -> Path:
    """The build environment's Python: a virtualenv of its own in `cache`, made on first use."""
    venv = cache / "venv"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if (venv / ".complete").is_file() and python.is_file():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    print(f"bundle-server: making the build environment {venv} with {sys.executable}")
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0 or not python.is_file():
        raise BundleError(
            f"`{sys.executable} -m venv` failed (on Debian and Ubuntu: apt-get install python3-venv):\n"
            + (made.stderr or made.stdout).strip()[-2000:]
        )
    (venv / ".complete").write_text("", encoding="utf-8")
    return python


def pip_download(python: Path, pins: dict[str, str], dest: Path, target: Target, version: str) -> str | None:
    """Download the pinned wheels for one Python on one target; None, or pip's complaint."""
    dest.mkdir(parents=True, exist_ok=True)
    abi = "cp" + version.replace(".", "")
    command = [str(python), "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps"]
    command += ["--only-binary=:all:", "--dest", str(dest), "--python-version", version]
    command += ["--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none"]
    for tag in target.platforms:
        command += ["--platform", tag]
    command += [f"{name}=={pinned}" for name, pinned in pins.items()]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    return "; ".join(lines) or result.stderr.strip()[-500:]


@dataclass
class Wheel:
    path: Path
    name: str  # normalized
    version: str
    pure: bool

    @classmethod
    def read(cls, path: Path) -> Wheel:
        parts = path.name[: -len(".whl")].split("-")
        return cls(path, normalize(parts[0]), parts[1], parts[-1] == "any")

    def metadata(self) -> dict[str, list[str]]:
        with zipfile.ZipFile(self.path) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
            message = Parser().parsestr(archive.read(name).decode("utf-8"))
        return {key: message.get_all(key) or [] for key in ("Name", "Requires-Dist", "Requires-Python")}


def download(python: Path, pins: dict[str, str], cache: Path, target: Target) -> dict[str, list[Wheel]]:
    """The wheels for each Python version: every pin, except an optional compiled one without a build there."""
    found: dict[str, list[Wheel]] = {}
    problems: list[str] = []
    needed = {name: pinned for name, pinned in pins.items() if name not in OPTIONAL_NATIVE}
    for version in PYTHONS:
        dest = cache / "wheels" / target.name / ("cp" + version.replace(".", ""))
        problem = pip_download(python, needed, dest, target, version)
        if problem is not None:
            # e.g. no Windows-on-ARM builds for 3.10: the package leaves that Python out (see `pythons:`)
            print(f"bundle-server: {target.name}: Python {version} left out: {problem}")
            problems.append(problem)
            found[version] = []
            continue
        for name in OPTIONAL_NATIVE:
            if name in pins:
                pip_download(python, {name: pins[name]}, dest, target, version)  # none for this Python: fine
        wheels = [Wheel.read(p) for p in sorted(dest.glob("*.whl"))]
        found[version] = [w for w in wheels if pins.get(w.name) == w.version]
    if len(problems) == len(PYTHONS):
        raise BundleError(f"pip download failed on {target.name}: {problems[0]}")
    return found


# ---- checking the pins against the project's requirements ------------------------------------


def check_pins(repo: Path, pins: dict[str, str], wheels: Iterable[Wheel], target: Target | None) -> None:
    """Every requirement the server has on a supported Python is pinned, at a version it accepts."""
    metadata = {w.name: w.metadata() for w in wheels}
    envs = marker_environments(target)
    reached: set[str] = set()
    roots = project_requirements(repo)
    queue: list[tuple[str, frozenset[str], list[str]]] = [(r, frozenset(), ["istio-lsp"]) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        text, parent_extras, chain = queue.pop(0)
        req = parse_requirement(text)
        key = normalize(req.name)
        if req.marker and not any(evaluate_marker(req.marker, env, parent_extras) for env in envs):
            continue
        path = " -> ".join([*chain, req.name])
        if key not in pins:
            raise BundleError(f"{path}: {req.name} is not pinned in {PINS}; add `{req.name}==<version>`")
        if req.specifier and not version_matches(pins[key], req.specifier):
            raise BundleError(f"{path} needs {req.name}{req.specifier}, but {PINS} pins {pins[key]}")
        reached.add(key)
        if (key, req.extras) in seen or key not in metadata:
            continue
        seen.add((key, req.extras))
        requires_python = (metadata[key]["Requires-Python"] or [""])[0].replace(" ", "")
        for version in PYTHONS:
            if requires_python and not version_matches(version, requires_python):
                raise BundleError(
                    f"{req.name} {pins[key]} needs Python {requires_python}; the bundle runs on {version}"
                )
        queue.extend((sub, req.extras, [*chain, req.name]) for sub in metadata[key]["Requires-Dist"])
    unused = sorted(set(pins) - reached)
    if unused:
        raise BundleError(f"{PINS} pins what the server does not need: {', '.join(unused)}")


# ---- unpacking ------------------------------------------------------------------------------


@dataclass
class Bundle:
    out: Path
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256, to refuse collisions
    natives: dict[str, list[str]] = field(default_factory=dict)  # distribution -> the Pythons it has a build for
    pythons: list[str] = field(default_factory=list)  # the Pythons every required compiled library is built for
    required: list[str] = field(default_factory=list)  # compiled libraries the server cannot run without
    versions: dict[str, str] = field(default_factory=dict)

    def place(self, rel: PurePosixPath, data: bytes, origin: str) -> None:
        digest = hashlib.sha256(data).hexdigest()
        key = str(rel)
        if key in self.files:
            if self.files[key] != digest:
                raise BundleError(f"{rel} differs between the wheels (last from {origin}): they cannot share a folder")
            return
        self.files[key] = digest
        target = self.out.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _extension_tag_ok(filename: str, version: str) -> bool:
    """An extension module's name must say which CPython loads it: cpython-312 / cp312, or abi3."""
    digits = version.replace(".", "")
    return f".cpython-{digits}-" in filename or f".cp{digits}-" in filename or ".abi3." in filename


def unpack(bundle: Bundle, wheel: Wheel, version: str | None, pure_only: bool = False) -> None:
    """Unpack a wheel; its compiled modules (only those for `version`) unless pure_only."""
    with zipfile.ZipFile(wheel.path) as archive:
        dist_info = next(n.split("/")[0] for n in archive.namelist() if n.split("/")[0].endswith(".dist-info"))
        licenses = 0
        for name in archive.namelist():
            rel = PurePosixPath(name)
            if name.endswith("/") or "__pycache__" in rel.parts or rel.suffix == ".pyc":
                continue
            if rel.parts[0] == dist_info:
                inside = rel.parts[1:]
                if inside == ("METADATA",) or inside[0] == "licenses" or LICENSE_NAME.match(inside[-1]):
                    licenses += inside != ("METADATA",)
                    bundle.place(rel, archive.read(name), wheel.path.name)
                continue
            if rel.parts[0].endswith(".data"):
                raise BundleError(f"{wheel.path.name} installs files outside site-packages ({rel}); cannot bundle it")
            if rel.name.endswith(NATIVE_SUFFIXES):
                if pure_only:
                    continue
                if rel.name.endswith(EXTENSION_SUFFIXES) and not (version and _extension_tag_ok(rel.name, version)):
                    raise BundleError(
                        f"{wheel.path.name}: the extension module {rel} does not name its CPython version, "
                        "so the builds for several Pythons cannot share a folder"
                    )
            bundle.place(rel, archive.read(name), wheel.path.name)
        if licenses == 0:
            raise BundleError(f"{wheel.path.name} ships no license file; refusing to redistribute it")
    bundle.versions[wheel.name] = wheel.version


def _package_files(source: Path) -> Iterable[Path]:
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in PACKAGE_DATA_SUFFIXES:
            yield path


def copy_istio_lsp(repo: Path, out: Path) -> str:
    source = repo / "istio_lsp"
    if not (source / "__init__.py").is_file():
        raise BundleError(f"{source} is not the istio_lsp package (run from vscode-extension/ in the repository)")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', (source / "__init__.py").read_text(encoding="utf-8"))
    version = match[1] if match else "0"
    for path in _package_files(source):
        target = out / "istio_lsp" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    # the rule pages, the CRD schemas, and the configuration's JSON Schema (package.json's yamlValidation)
    for required in ("docs/rules/index.md", "schemas", "docs/istio-lsp-config.schema.json"):
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
    return version


def host_target() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    name = f"{ {'linux': 'linux', 'darwin': 'darwin', 'win32': 'win32'}.get(sys.platform, sys.platform) }-{arch}"
    if sys.platform == "linux" and Path("/etc/alpine-release").exists():
        name = f"alpine-{arch}"
    return name if name in TARGETS else UNIVERSAL


def self_check(out: Path, target: str, natives: dict[str, list[str]]) -> None:
    """Import the server from the bundle alone in this Python, when the bundle is meant for it."""
    if target not in (UNIVERSAL, host_target()):
        return
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import istio_lsp.server, istio_lsp.cli, yaml, pathspec; "
        "mods = [istio_lsp.server, yaml]\n"
        "if sys.argv[2] == '1':\n import re2; mods.append(re2)\n"
        "bad = [m.__name__ for m in mods if not m.__file__.startswith(sys.argv[1])]\n"
        "sys.exit('imported from outside the bundle: ' + ', '.join(bad) if bad else 0)"
    )
    running = ".".join(platform.python_version_tuple()[:2])
    want_re2 = "1" if running in natives.get("google-re2", []) else "0"
    command = [sys.executable, "-I", "-B", "-c", code, str(out), want_re2]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"the bundle does not import cleanly:\n{result.stderr.strip() or result.stdout.strip()}")


def bundle(repo: Path, out: Path, target_name: str, cache: Path, pins_file: Path) -> Bundle:
    pins = read_pins(pins_file)
    python = build_python(cache)
    source = TARGETS.get(target_name, UNIVERSAL_SOURCE)
    wheels = download(python, pins, cache, source)
    all_wheels = [w for ws in wheels.values() for w in ws]
    check_pins(repo, pins, all_wheels, TARGETS.get(target_name))
    # Resolve what is what before touching `out`: a failed build leaves the previous bundle alone.
    pure = {w.name: w for w in all_wheels if w.pure}
    native_names = sorted({w.name for w in all_wheels if not w.pure})
    missing = sorted(n for n in pins if n not in pure and n not in native_names and n not in ABSENT_OK)
    if missing:
        raise BundleError(f"no wheel of {', '.join(missing)} for {source.name}")
    required = [n for n in native_names if n not in OPTIONAL_NATIVE]
    # The Pythons the package runs the server on: those every required compiled library has a build for.
    claimed = (
        []
        if target_name == UNIVERSAL
        else [v for v in PYTHONS if all(any(w.name == n for w in wheels[v]) for n in required)]
    )
    if target_name != UNIVERSAL and not claimed:
        raise BundleError(f"{', '.join(required)}: no build for any of Python {', '.join(PYTHONS)} on {target_name}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    result = Bundle(out, pythons=claimed, required=required)
    result.versions["istio-lsp"] = copy_istio_lsp(repo, out)
    for wheel in pure.values():
        unpack(result, wheel, None)
    for name in native_names:
        for version in PYTHONS:
            for wheel in (w for w in wheels[version] if w.name == name):
                if version in claimed:
                    unpack(result, wheel, version)
                    result.natives.setdefault(name, []).append(version)
                elif name == "pyyaml":  # its pure loader; a required library is left to the user's Python
                    unpack(result, wheel, version, pure_only=True)
    lines = [
        f"# Generated by scripts/bundle-server.py for {target_name}; do not edit.",
        f"target: {target_name}",
        f"pythons: {' '.join(claimed) or '-'}",
        *(f"native: {n} {' '.join(result.natives.get(n, [])) or '-'}" for n in sorted({*native_names, *ABSENT_OK})),
        *(f"# needs {name}: compiled, not in this package" for name in required if not result.natives.get(name)),
        *(f"# without {name}: {why}" for name, why in OPTIONAL_NATIVE.items() if not result.natives.get(name)),
        *(f"{name}=={version}" for name, version in sorted(result.versions.items())),
    ]
    (out / "BUNDLED.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    self_check(out, target_name, result.natives)
    return result


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repo", type=Path, default=here.parent.parent, help="repository root (has istio_lsp/)")
    parser.add_argument("--out", type=Path, default=here.parent / "bundled" / "libs", help="target folder (replaced)")
    parser.add_argument(
        "--target",
        default="host",
        choices=[*TARGETS, UNIVERSAL, "host"],
        help="the platform of the package (default: this machine's, or universal when there is none)",
    )
    parser.add_argument("--cache", type=Path, default=here.parent / "build", help="build environment and wheels")
    parser.add_argument("--pins", type=Path, default=here.parent / "bundle-requirements.txt")
    args = parser.parse_args(argv)
    if sys.version_info < MIN_PYTHON:
        print(f"bundle-server: needs Python >= 3.10, this is {platform.python_version()}", file=sys.stderr)
        return 2
    target = host_target() if args.target == "host" else args.target
    try:
        result = bundle(args.repo.resolve(), args.out.resolve(), target, args.cache.resolve(), args.pins.resolve())
    except BundleError as error:
        print(f"bundle-server: error: {error}", file=sys.stderr)
        return 1
    for name, version in sorted(result.versions.items()):
        built = result.natives.get(name)
        note = f" (compiled for Python {', '.join(built)})" if built else ""
        print(f"bundle-server: {name}=={version}{note}")
    for name, why in OPTIONAL_NATIVE.items():
        if name in read_pins(args.pins) and set(result.natives.get(name, [])) != set(PYTHONS):
            lacking = sorted(set(PYTHONS) - set(result.natives.get(name, [])))
            print(f"bundle-server: {target}: no {name} for Python {', '.join(lacking)}: there {why}")
    print(f"bundle-server: wrote {args.out} for {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
