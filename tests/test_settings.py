"""Settings as the editor sends them and as configuration files write them."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest

from istio_lsp.index.config import read_config
from istio_lsp.settings import SETTING_KEYS, WORKSPACE_KEYS, Settings


def test_auto_mtls_is_on_unless_turned_off() -> None:
    assert Settings().enable_auto_mtls is True  # Istio's default
    settings, problems = Settings.from_dict({"enableAutoMtls": False})
    assert settings.enable_auto_mtls is False and problems == []


def test_auto_mtls_takes_a_boolean() -> None:
    settings, problems = Settings.from_dict({"enableAutoMtls": "false"})
    assert settings.enable_auto_mtls is True
    assert problems == ["setting 'enableAutoMtls': expected true or false, got 'false'"]


def test_auto_mtls_describes_the_mesh() -> None:
    """One value for the whole workspace, like the root namespace: only the top configuration sets it."""
    assert SETTING_KEYS["enableAutoMtls"] == "enable_auto_mtls"
    assert "enableAutoMtls" in WORKSPACE_KEYS
    top = read_config("file:///ws/.istio-lsp.yaml", "/ws/.istio-lsp.yaml", "enableAutoMtls: false\n", top=True)
    assert top.values == {"enable_auto_mtls": False} and top.problems == []
    below = read_config("file:///ws/a/.istio-lsp.yaml", "/ws/a/.istio-lsp.yaml", "enableAutoMtls: false\n", top=False)
    assert below.values == {}
    assert [p.key for p in below.problems] == ["enable_auto_mtls"]
    bad = read_config("file:///ws/.istio-lsp.yaml", "/ws/.istio-lsp.yaml", "enableAutoMtls: maybe\n", top=True)
    assert bad.values == {} and "expected true or false" in bad.problems[0].message


def test_the_vscode_extension_declares_every_analysis_setting() -> None:
    """The extension passes its `istioLsp` section to the server: each setting is declared there (with
    Istio's defaults) and in the extension's README. `debounceMs` is the editor's own, not declared."""
    extension = Path(__file__).resolve().parent.parent / "vscode-extension"
    declared = json.loads((extension / "package.json").read_text(encoding="utf-8"))["contributes"]["configuration"]
    readme = (extension / "README.md").read_text(encoding="utf-8")
    defaults = Settings()
    for key, name in SETTING_KEYS.items():
        if key == "debounceMs":
            continue
        entry = declared["properties"][f"istioLsp.{key}"]
        default = getattr(defaults, name)
        if isinstance(default, (bool, int, str)):
            assert entry["default"] == default, key
        assert f"`istioLsp.{key}`" in readme, key


def test_the_vscode_extension_declares_the_types_the_model_accepts() -> None:
    """VS Code checks its settings editor against these declarations: they must not refuse (or offer)
    other values than the server takes."""
    from istio_lsp.settings_model import json_schema

    extension = Path(__file__).resolve().parent.parent / "vscode-extension"
    declared = json.loads((extension / "package.json").read_text(encoding="utf-8"))["contributes"]["configuration"]
    for key, model in json_schema()["properties"].items():
        if key == "debounceMs":
            continue
        entry = declared["properties"][f"istioLsp.{key}"]
        assert entry["type"] == model.get("type", "array"), key  # a list of strings also takes one string
        assert entry.get("minimum") == model.get("minimum"), key


def test_a_bare_off_in_yaml_turns_a_rule_off() -> None:
    # YAML 1.1 reads `off` unquoted as false: the map is kept, and false means "off"
    config = read_config(
        "file:///ws/.istio-lsp.yaml", "/ws/.istio-lsp.yaml", "severity:\n  unused-subset: off\n", top=True
    )
    assert config.values["severity"] == {"unused-subset": "off"}
    assert not config.problems


def test_a_bad_severity_keeps_the_good_ones() -> None:
    settings, problems = Settings.from_dict({"severity": {"unused-subset": "hint", "weights-not-100": 3}})
    assert settings.severity == {"unused-subset": "hint"}
    assert problems and "weights-not-100: 3" in problems[0]


def test_exclude_patterns_that_cannot_be_used_are_reported_and_left_out() -> None:
    settings, problems = Settings.from_dict({"exclude": ["!", "vendor/", "[z-a]"]})
    assert settings.exclude == ("vendor/",)
    bang, range_ = problems  # one problem per pattern, each naming it
    assert "'!' is not a gitignore-style pattern" in bang and "'[z-a]' is not a gitignore-style pattern" in range_
    settings, problems = Settings.from_dict({"exclude": "vendor/"})  # one string is one pattern
    assert settings.exclude == ("vendor/",) and not problems


def test_one_bad_setting_leaves_the_others_applied() -> None:
    settings, problems = Settings.from_dict(
        {"maxFileSize": -1, "externalHosts": ["a.example.com", 5], "defaultNamespace": "shop", "server": {"x": 1}}
    )
    assert settings.default_namespace == "shop" and settings.max_file_size == Settings().max_file_size
    assert settings.external_hosts == ("a.example.com",)
    assert problems == [
        "setting 'maxFileSize': expected a whole number ≥ 0, got -1",
        "setting 'externalHosts': item 2: expected a string, got 5",
    ]  # `server` belongs to the VS Code extension: not ours, not a problem in the editor's settings


def test_configuration_problems_name_the_key_and_sit_on_the_node_at_fault() -> None:
    text = (
        "defaultNamespace: shop\n"
        "exclude:\n  - vendor/\n  - '[z-a]'\n"
        "severity:\n  unused-subset: hint\n  weights-not-100: loud\n"
        "maxFileSize: many\n"
        "externalHost: [a]\n"
    )
    config = read_config("file:///ws/.istio-lsp.yaml", "/ws/.istio-lsp.yaml", text, top=True)
    found = {(p.span.start_line, p.span.start_char): p.message for p in config.problems}
    assert found == {
        (3, 4): "`exclude`: '[z-a]' is not a gitignore-style pattern (" + found[(3, 4)].split("(", 1)[1],
        (6, 19): "`severity`: weights-not-100: 'loud' is not one of error, warning, information, hint, off",
        (7, 13): "`maxFileSize`: expected a whole number ≥ 0, got 'many'",
        (8, 0): found[(8, 0)],
    }
    assert found[(8, 0)].startswith("unknown setting 'externalHost' (did you mean 'externalHosts'?)")
    # everything else applies
    assert config.values == {
        "default_namespace": "shop",
        "exclude": ("vendor/",),
        "severity": {"unused-subset": "hint"},
    }
    assert set(config.key_spans) == set(config.values)


def test_the_model_declares_every_setting_with_its_default() -> None:
    from istio_lsp.settings import SEVERITY_NAMES
    from istio_lsp.settings_model import SettingsModel, SeverityName

    assert typing.get_args(SeverityName) == SEVERITY_NAMES
    fields = SettingsModel.model_fields
    assert list(fields) == [f.name for f in dataclasses.fields(Settings)]
    assert {name: field.alias for name, field in fields.items()} == {n: k for k, n in SETTING_KEYS.items()}
    assert Settings(**SettingsModel().model_dump()) == Settings()


def test_the_shipped_configuration_schema_is_generated_from_the_model() -> None:
    from istio_lsp.checks import RULES
    from istio_lsp.checks.docs import CONFIG_SCHEMA
    from istio_lsp.settings_model import json_schema_text

    expected = json_schema_text([rule.code for rule in RULES])
    assert CONFIG_SCHEMA.read_text(encoding="utf-8") == expected, (
        "run `python -m istio_lsp.checks.docs` to regenerate " + CONFIG_SCHEMA.name
    )


def test_the_configuration_schema_accepts_what_the_server_accepts() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from istio_lsp.checks.docs import CONFIG_SCHEMA

    schema = json.loads(CONFIG_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    good = {
        "defaultNamespace": "shop",
        "exclude": "charts/",
        "externalGateways": ["istio-system/*"],
        "severity": {"weights-not-100": "off"},
        "disabledRules": ["unused-subset"],
        "maxFileSize": 1000,
    }
    assert not list(validator.iter_errors(good))
    for bad in ({"defaultNamespce": "shop"}, {"severity": {"no-such-rule": "off"}}, {"maxFileSize": -1}):
        assert list(validator.iter_errors(bad)), bad
