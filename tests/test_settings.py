"""Settings as the editor sends them and as configuration files write them."""

from __future__ import annotations

import json
from pathlib import Path

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
    (problem,) = problems
    assert "'!'" in problem and "'[z-a]'" in problem
    settings, problems = Settings.from_dict({"exclude": "vendor/"})  # one string is one pattern
    assert settings.exclude == ("vendor/",) and not problems
