"""User settings, shared by the server (LSP configuration) and the CLI (flags, config file).

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
    default_namespace: str = "default"
    cluster_domain: str = "cluster.local"
    root_namespace: str = "istio-system"
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
        problems: list[str] = []
        if not isinstance(data, dict):
            return cls(), ([] if data is None else [f"settings must be an object, got {type(data).__name__}"])
        values: dict[str, Any] = {}
        by_camel = {_camel(f.name): f for f in dataclasses.fields(cls)}
        for key, raw in data.items():
            spec = by_camel.get(key) or by_camel.get(_camel(key))
            if spec is None:
                continue  # other tools' settings share the section in some clients
            default = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()  # type: ignore[operator]
            value = _coerce(raw, default)
            if value is None:
                problems.append(f"setting {key!r}: expected {type(default).__name__}, got {raw!r}")
                continue
            values[spec.name] = value
        severity = values.get("severity", {})
        for code, level in list(severity.items()):
            if level not in SEVERITY_NAMES:
                problems.append(f"setting severity.{code}: {level!r} is not one of {', '.join(SEVERITY_NAMES)}")
                del severity[code]
        return cls(**values), problems


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _coerce(raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else None
    if isinstance(default, int):
        return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None
    if isinstance(default, str):
        return raw if isinstance(raw, str) else None
    if isinstance(default, tuple):
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            return tuple(raw)
        return None
    if isinstance(default, dict):
        if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
            return {str(k): v for k, v in raw.items()}
        return None
    return None
