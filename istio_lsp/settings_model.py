"""The settings' pydantic model: it validates the editor's settings and the project configuration
files, and is the source of the configuration file's JSON Schema
(`istio_lsp/docs/istio-lsp-config.schema.json`, written by `python -m istio_lsp.checks.docs`).

Imported only when there are settings to validate: `istio-lsp check` without a configuration does not
pay for loading pydantic. The validated values become a `Settings` (a plain dataclass, cheap to copy per
folder and to send to worker processes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from istio_lsp.settings import SEVERITY_NAMES, WORKSPACE_KEYS, Settings, pattern_problem, unknown_key_message

_DEFAULTS = Settings()

SeverityName = Literal["error", "warning", "information", "hint", "off"]


def _one_is_a_list(value: Any) -> Any:
    """One string is a list of one."""
    return [value] if isinstance(value, str) else value


def _off_is_off(value: Any) -> Any:
    """YAML 1.1 reads a bare `off` (or `no`) as false: the user meant "off"."""
    return "off" if value is False else value


def _usable_pattern(value: Any) -> Any:
    if isinstance(value, str) and (problem := pattern_problem(value)) is not None:
        raise PydanticCustomError(
            "pattern",
            "{pattern} is not a gitignore-style pattern ({problem})",
            {"pattern": repr(value), "problem": problem},
        )
    return value


Strings = Annotated[tuple[StrictStr, ...], BeforeValidator(_one_is_a_list, json_schema_input_type=str | list[str])]
Pattern = Annotated[StrictStr, BeforeValidator(_usable_pattern)]
Patterns = Annotated[tuple[Pattern, ...], BeforeValidator(_one_is_a_list, json_schema_input_type=str | list[str])]
Count = Annotated[StrictInt, Field(ge=0)]
SeverityLevel = Annotated[SeverityName, BeforeValidator(_off_is_off)]

_WORKSPACE = " Workspace-wide: only in the configuration file at the workspace's top folder."


class SettingsModel(BaseModel):
    """istio-lsp's settings, as the editor sends them (its `istioLsp` section) and as a project
    configuration file (`.istio-lsp.yaml`) writes them: camelCase keys."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        title="istio-lsp project configuration (.istio-lsp.yaml)",
        field_title_generator=lambda name, _: to_camel(name),
    )

    default_namespace: StrictStr = Field(
        _DEFAULTS.default_namespace,
        description="Namespace of manifests without `metadata.namespace` that no kustomization places, like "
        "`kubectl apply -n`. Empty: not known, so such a manifest may be in any namespace.",
    )
    cluster_domain: StrictStr = Field(
        _DEFAULTS.cluster_domain,
        description="The cluster's DNS suffix, used to read hosts such as `reviews.shop.svc.cluster.local`."
        + _WORKSPACE,
    )
    root_namespace: StrictStr = Field(
        _DEFAULTS.root_namespace,
        description="Istio's root namespace: configuration there applies to the whole mesh." + _WORKSPACE,
    )
    enable_auto_mtls: StrictBool = Field(
        _DEFAULTS.enable_auto_mtls,
        description="Whether the mesh has automatic mutual TLS on (MeshConfig `enableAutoMtls`, Istio's default): "
        "client sidecars pick mTLS for sidecar-injected servers unless a DestinationRule sets `tls`." + _WORKSPACE,
    )
    max_file_size: Count = Field(
        _DEFAULTS.max_file_size,
        description="Files larger than this many bytes are not analysed (a `file-skipped` note says so).",
    )
    exclude: Patterns = Field(
        _DEFAULTS.exclude,
        description="Paths not to index, as `.gitignore` patterns relative to the folder of the file that sets "
        "them, for example `charts/` or `**/testdata/**`. Patterns of nested files add up.",
    )
    external_hosts: Strings = Field(
        _DEFAULTS.external_hosts,
        description="Hosts that exist although no manifest declares them (another repository, a cluster add-on), "
        "as globs such as `*.partner.example.com`: routes to them are never reported as missing.",
    )
    external_gateways: Strings = Field(
        _DEFAULTS.external_gateways,
        description="Gateways installed outside the workspace, as `namespace/name` globs such as `istio-system/*`.",
    )
    severity: dict[str, SeverityLevel] = Field(
        default_factory=dict,
        description="The severity of single rules, by rule code, for example "
        '`{"gateway-not-found": "error", "deprecated-api-version": "off"}`.',
    )
    disabled_rules: Strings = Field(
        _DEFAULTS.disabled_rules, description="Rule codes not to report at all (the same as severity `off`)."
    )
    debounce_ms: Count = Field(
        _DEFAULTS.debounce_ms,
        description="Milliseconds the editor waits after a keystroke before checking again." + _WORKSPACE,
    )


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """A key or value that cannot be used: `loc` is the key (camelCase), then list indexes or map keys."""

    loc: tuple[str | int, ...]
    message: str  # what is wrong, without the key unless it is unknown
    unknown_key: bool = False


def validate(data: Mapping[str, Any], *, strict: bool) -> tuple[dict[str, Any], list[SettingProblem]]:
    """(field name → value of each valid setting, problems) of camelCase settings.

    One bad key, list item or severity entry is left out and reported; everything else applies.
    Strict (files the user writes for us): unknown keys are problems. Lenient (the editor's settings,
    which some clients share with other tools): unknown keys are ignored."""
    data = {str(key): _copy(value) for key, value in data.items()}
    problems: list[SettingProblem] = []
    for _ in range(3):  # the second round only sees what is left: it passes
        try:
            model = SettingsModel.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                if error["type"] != "extra_forbidden" or strict:
                    problems.append(SettingProblem(loc, _message(error), error["type"] == "extra_forbidden"))
                _drop(data, loc)
            data = {k: [i for i in v if i is not _DROPPED] if isinstance(v, list) else v for k, v in data.items()}
            continue
        return {name: getattr(model, name) for name in model.model_fields_set}, problems
    return {}, problems


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def _drop(data: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    """Leave out what `loc` names: a list item or a map entry when it is one, else the whole key."""
    if not loc:  # about the whole input, which is always a mapping here: nothing can apply
        data.clear()
        return
    key, inner = str(loc[0]), loc[1:]
    value = data.get(key)
    if inner and isinstance(value, list) and isinstance(inner[0], int) and inner[0] < len(value):
        value[inner[0]] = _DROPPED  # indexes of the other problems stay right until the list is compacted
    elif inner and isinstance(value, dict) and inner[0] in value:
        del value[inner[0]]
    else:
        data.pop(key, None)


_DROPPED = object()

_EXPECTED = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number ≥ 0",
    "greater_than_equal": "expected a whole number ≥ 0",
    "string_type": "expected a string",
    "tuple_type": "expected a list of strings",
    "dict_type": f"expected a mapping of rule codes to {', '.join(SEVERITY_NAMES)}",
}


def _message(error: Any) -> str:
    """What is wrong, in the words of a setting: pydantic's wording where ours is no clearer."""
    loc, kind, value = error["loc"], error["type"], _shown(error.get("input"))
    if kind == "extra_forbidden":
        return unknown_key_message(str(loc[0]))
    if kind == "literal_error":  # a severity entry
        return f"{loc[-1]}: {value} is not one of {', '.join(SEVERITY_NAMES)}"
    if kind == "pattern":
        return str(error["msg"])
    expected = _EXPECTED.get(kind, str(error["msg"]))
    where = f"item {loc[1] + 1}: " if len(loc) > 1 and isinstance(loc[1], int) else ""
    return f"{where}{expected}, got {value}"


def _shown(value: Any) -> str:
    """A value as the message quotes it: short (a value made of aliases can be huge)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def json_schema(rule_codes: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON Schema of a project configuration file; `rule_codes`, when given, are offered for
    `severity` and `disabledRules` (editors complete them)."""
    schema = SettingsModel.model_json_schema(by_alias=True, mode="validation")
    if rule_codes:
        codes = {"enum": sorted(rule_codes)}
        properties = schema["properties"]
        properties["severity"]["propertyNames"] = codes
        for branch in properties["disabledRules"]["anyOf"]:
            (branch["items"] if branch["type"] == "array" else branch).update(codes)
    workspace = ", ".join(f"`{key}`" for key in WORKSPACE_KEYS)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",  # draft-07: what every YAML language server reads
        **schema,
        "description": "Settings for the files in this folder and below it; the nearest file that sets a key "
        f"wins, `exclude` patterns add up. {workspace} only in the workspace's top folder.",
    }


def json_schema_text(rule_codes: Sequence[str] = ()) -> str:
    return json.dumps(json_schema(rule_codes), indent=2, ensure_ascii=False) + "\n"
