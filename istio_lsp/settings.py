"""User settings, shared by the server (LSP configuration), the CLI (flags, `--config`) and the
project configuration files (`.istio-lsp.yaml`, read in `index.config`).

Plain dataclasses rather than pydantic: the VS Code extension ships the server's
dependencies as pure-Python wheels, and pydantic's core is compiled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SEVERITY_NAMES = ("error", "warning", "information", "hint", "off")


@dataclass(frozen=True)
class Settings:
    # namespace of namespace-less resources no kustomization places; "": not known (any namespace)
    default_namespace: str = ""
    cluster_domain: str = "cluster.local"
    root_namespace: str = "istio-system"
    # MeshConfig `enableAutoMtls`: client sidecars pick mTLS for sidecar-injected servers by themselves
    # unless a DestinationRule sets `tls`; Istio's default is on
    enable_auto_mtls: bool = True
    max_file_size: int = 5 * 1024 * 1024
    # gitignore-style patterns of workspace paths not to index
    exclude: tuple[str, ...] = ()
    # glob patterns of hosts provided outside the workspace (another repo, a cluster add-on):
    # routes to them are never reported as missing
    external_hosts: tuple[str, ...] = ()
    # `ns/name` patterns of Gateways installed outside the workspace
    external_gateways: tuple[str, ...] = ()
    # code → error|warning|information|hint|off
    severity: dict[str, str] = field(default_factory=dict)
    disabled_rules: tuple[str, ...] = ()
    debounce_ms: int = 40

    @classmethod
    def from_dict(cls, data: Any) -> tuple[Settings, list[str]]:
        """Build settings from camelCase JSON (LSP config); unknown or bad values are reported, not fatal."""
        if not isinstance(data, dict):
            return cls(), ([] if data is None else [f"settings must be an object, got {type(data).__name__}"])
        values, problems = parse_settings(data, strict=False)
        return cls(**values), problems

    def with_values(self, values: dict[str, Any]) -> Settings:
        """These settings with some fields (by field name) replaced."""
        return dataclasses.replace(self, **values) if values else self


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
# camelCase key → field name
SETTING_KEYS = {"".join([n.split("_")[0], *(p.title() for p in n.split("_")[1:])]): n for n in _FIELDS}
# Settings that describe the cluster or the editor, not a folder of manifests: one value per workspace.
WORKSPACE_KEYS = ("clusterDomain", "rootNamespace", "enableAutoMtls", "debounceMs")


def parse_settings(data: dict[Any, Any], *, strict: bool) -> tuple[dict[str, Any], list[str]]:
    """(field name → value, problems) of camelCase settings.

    Lenient (LSP configuration, shared with other tools' keys in some clients): unknown keys are
    ignored. Strict (files the user writes for us): unknown keys are problems too.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, raw in data.items():
        name = SETTING_KEYS.get(str(key)) or (str(key) if str(key) in _FIELDS else None)
        if name is None:
            if strict:
                problems.append(unknown_key_message(str(key)))
            continue
        value, problem = parse_value(name, raw)
        if problem is not None:
            problems.append(f"setting {key!r}: {problem}")
        if value is not None:
            values[name] = value
    return values, problems


def unknown_key_message(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(SETTING_KEYS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown setting {key!r}{hint}; known settings: {', '.join(SETTING_KEYS)}"


def parse_value(name: str, raw: Any) -> tuple[Any, str | None]:
    """A setting's value checked against its type, and what is wrong with it (None when nothing).

    A severity map keeps its good entries beside the problem with the others."""
    spec = _FIELDS[name]
    default = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()  # type: ignore[operator]
    if isinstance(default, bool):
        return (raw, None) if isinstance(raw, bool) else (None, f"expected true or false, got {raw!r}")
    if isinstance(default, int):
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw, None
        return None, f"expected a whole number ≥ 0, got {raw!r}"
    if isinstance(default, str):
        return (raw, None) if isinstance(raw, str) else (None, f"expected a string, got {raw!r}")
    if isinstance(default, tuple):
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            if name == "exclude":
                problems = [(item, pattern_problem(item)) for item in raw]
                bad = [f"{item!r} ({problem})" for item, problem in problems if problem is not None]
                usable = tuple(item for item, problem in problems if problem is None)
                return usable, (f"not gitignore-style patterns, ignored: {', '.join(bad)}" if bad else None)
            return tuple(raw), None
        return None, f"expected a list of strings, got {raw!r}"
    if isinstance(default, dict):
        if isinstance(raw, dict):  # YAML 1.1 reads a bare `off` (or `no`) as false: the user meant "off"
            raw = {k: "off" if v is False else v for k, v in raw.items()}
        if not isinstance(raw, dict):
            return None, f"expected a mapping of rule codes to {', '.join(SEVERITY_NAMES)}, got {raw!r}"
        good = {str(k): v for k, v in raw.items() if v in SEVERITY_NAMES}
        bad = [f"{code}: {level!r}" for code, level in raw.items() if level not in SEVERITY_NAMES]
        if bad:
            return good, f"{', '.join(bad)} is not one of {', '.join(SEVERITY_NAMES)}"
        return good, None
    return None, f"cannot read {raw!r}"


def pattern_problem(pattern: str) -> str | None:
    """Why a gitignore-style pattern cannot be used (`!` alone, `[z-a]`), None when it can."""
    import pathspec  # here: settings without patterns should not pay for loading it

    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except Exception as exc:  # pathspec raises its own errors and re.error
        return str(exc) or type(exc).__name__
    return None
