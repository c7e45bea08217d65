"""User settings, shared by the server (LSP configuration), the CLI (flags, `--config`) and the
project configuration files (`.istio-lsp.yaml`, read in `index.config`).

`Settings` is the validated result: a plain frozen dataclass, cheap to import, to copy per folder and
to send to worker processes. Validation, messages and the configuration file's JSON Schema come from
the pydantic model in `settings_model`, imported only when there are settings to validate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SEVERITY_NAMES = ("error", "warning", "information", "hint", "off")


@dataclass(frozen=True)
class Settings:
    """Validated settings (field names in snake_case; the keys users write are camelCase). A new
    setting goes here and in `settings_model.SettingsModel`, with its description; a test checks they agree."""

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
    """(field name → value, problems) of camelCase settings, validated by the pydantic model in
    `settings_model` (loaded here, on first use). A bad key, list item or severity entry is left out;
    the rest applies.

    Lenient (LSP configuration, shared with other tools' keys in some clients): unknown keys are
    ignored, and snake_case field names are read too. Strict (files the user writes for us): unknown
    keys are problems.
    """
    if not data:  # nothing to validate: no need to load pydantic
        return {}, []
    from istio_lsp.settings_model import validate

    if not strict:
        camel = {name: key for key, name in SETTING_KEYS.items()}
        data = {camel.get(str(key), str(key)): value for key, value in data.items()}
    values, problems = validate(data, strict=strict)
    return values, [f"setting {str(p.loc[0])!r}: {p.message}" for p in problems]


def unknown_key_message(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(SETTING_KEYS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown setting {key!r}{hint}; known settings: {', '.join(SETTING_KEYS)}"


def pattern_problem(pattern: str) -> str | None:
    """Why a gitignore-style pattern cannot be used (`!` alone, `[z-a]`), None when it can."""
    import pathspec  # here: settings without patterns should not pay for loading it

    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except Exception as exc:  # pathspec raises its own errors and re.error
        return str(exc) or type(exc).__name__
    return None
