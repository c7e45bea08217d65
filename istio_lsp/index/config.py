"""Project configuration files: `.istio-lsp.yaml` in a folder sets what applies to the files below it.

Found in the workspace and in its subfolders. For each setting, the nearest file that sets it
wins for the files below it, as with EditorConfig; `exclude` patterns add up instead (each
relative to its own file's folder, as `.gitignore` files do). A file's values take precedence
over the editor's settings, so the editor and `istio-lsp check` in CI see the same thing; flags
given on the command line take precedence over files.

A configuration is read strictly, by the settings' pydantic model (`settings_model`, whose JSON Schema
is `istio_lsp/docs/istio-lsp-config.schema.json`): an unknown key or a value of the wrong type is a problem,
placed on the key, value, list item or map entry at fault, that the front ends report (an error
diagnostic on the file in the editor, exit status 2 in the CLI). Everything else in the file applies.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from istio_lsp.settings import SETTING_KEYS, WORKSPACE_KEYS, Settings
from istio_lsp.syntax import MappingNode, Node, ScalarNode, SequenceNode, Span, parse_document
from istio_lsp.syntax.nodes import is_plain, pairs

CONFIG_FILES = (".istio-lsp.yaml", ".istio-lsp.yml")

_INT = re.compile(r"[-+]?[0-9]+")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}


def is_config_path(path: str) -> bool:
    return posixpath.basename(path) in CONFIG_FILES


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    message: str
    span: Span
    key: str | None = None  # the setting it is about


@dataclass(slots=True)
class ProjectConfig:
    """One configuration file: the settings it sets (field name → value) and what is wrong in it."""

    uri: str
    folder: str  # the path of the folder it applies to
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)
    key_spans: dict[str, Span] = field(default_factory=dict)  # field name → span of its key


def read_config(uri: str, path: str, text: str, *, top: bool) -> ProjectConfig:
    """Read one configuration file. `top`: it sits at a workspace root, where the settings that
    describe the whole cluster (clusterDomain, rootNamespace, enableAutoMtls) may be set. Never raises."""
    config = ProjectConfig(uri, posixpath.dirname(path))
    doc = parse_document(text)
    if doc.error is not None:
        config.problems.append(ConfigProblem(f"cannot read the configuration: {doc.error.message}", doc.error.span))
        return config
    root = doc.root
    if root is None or (isinstance(root, ScalarNode) and root.value in _NULLS and is_plain(root)):
        return config  # an empty file sets nothing
    if not isinstance(root, MappingNode):
        config.problems.append(
            ConfigProblem("the configuration must be a mapping of setting names to values", doc.span_of(root))
        )
        return config
    raw: dict[str, Any] = {}
    nodes: dict[tuple[str | int, ...], Node] = {}  # where each value and item was written
    key_spans: dict[str, Span] = {}
    budget = [_MAX_VALUE_NODES]
    for key, node in pairs(root):
        written = str(key.value)
        span = doc.span_of(key)
        name = SETTING_KEYS.get(written)
        key_spans[written] = span
        if name is None:  # the model reports it, with the key it may have meant
            raw[written] = None
            continue
        if written in WORKSPACE_KEYS and not top:
            config.problems.append(
                ConfigProblem(
                    f"`{written}` applies to the whole workspace: set it in the configuration file at the "
                    f"workspace's top folder, not in a subfolder",
                    span,
                    name,
                )
            )
            continue
        value, problem = yaml_value(node, (written,), nodes, budget)
        if problem is not None:
            where = doc.span_of(node) if node is not None else span
            config.problems.append(ConfigProblem(f"`{written}`: {problem}", where, name))
            continue
        raw[written] = value
    from istio_lsp.settings_model import validate  # pydantic: loaded when a configuration is read

    values, invalid = validate(raw, strict=True)
    for bad in invalid:
        written = str(bad.loc[0])
        if bad.unknown_key:
            config.problems.append(ConfigProblem(bad.message, key_spans[written]))
            continue
        # the deepest node written: the list item or map entry at fault, else the key's value
        at = next((nodes[bad.loc[:n]] for n in range(len(bad.loc), 0, -1) if bad.loc[:n] in nodes), None)
        where = doc.span_of(at) if at is not None else key_spans[written]
        config.problems.append(ConfigProblem(f"`{written}`: {bad.message}", where, SETTING_KEYS.get(written)))
    config.values = values
    config.key_spans = {name: key_spans[key] for key, name in SETTING_KEYS.items() if name in values}
    return config


_MAX_VALUE_NODES = 10_000  # a setting's value is a few strings; aliases can make a small file a huge value


def yaml_value(
    node: Node, path: tuple[str | int, ...], nodes: dict[tuple[str | int, ...], Node], budget: list[int]
) -> tuple[Any, str | None]:
    """A YAML node as JSON-like data, with YAML 1.2's plain scalars: `off` and `no` stay text
    (a severity `off` must not turn into false), `5` is a number, `true`/`false` are booleans.
    `path`: where the node is (the key, then indexes and keys), recorded in `nodes` for messages.
    `budget`: how many more nodes may be read (aliases repeating aliases would never end)."""
    nodes[path] = node
    budget[0] -= 1
    if budget[0] < 0:
        return None, "the value is too large (aliases that repeat aliases?)"
    if isinstance(node, ScalarNode):
        text = str(node.value)
        if not is_plain(node):
            return text, None
        if text in _NULLS:
            return None, "a value is needed"
        if text in _BOOLS:
            return _BOOLS[text], None
        if _INT.fullmatch(text):
            return int(text), None
        return text, None
    if isinstance(node, SequenceNode):
        out = []
        for index, item in enumerate(node.value):
            value, problem = yaml_value(item, (*path, index), nodes, budget)
            if problem is not None:
                return None, problem
            out.append(value)
        return out, None
    if isinstance(node, MappingNode):
        mapping: dict[str, Any] = {}
        for key, item in pairs(node):
            value, problem = yaml_value(item, (*path, str(key.value)), nodes, budget)
            if problem is not None:
                return None, problem
            mapping[str(key.value)] = value
        return mapping, None
    return None, "cannot read this value"


@dataclass
class ProjectConfigs:
    """Every configuration file of a workspace, and the settings they give each folder."""

    base: Settings = field(default_factory=Settings)  # the editor's settings or the CLI's `--config`
    # command-line flags, above every file: single values replace, lists add to what applies
    forced: dict[str, Any] = field(default_factory=dict)
    by_folder: dict[str, ProjectConfig] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # uri → text of a file open in an editor (read instead of disk)
    _cache: dict[str, Settings] = field(default_factory=dict, repr=False)

    def add(self, config: ProjectConfig) -> None:
        self.by_folder[config.folder] = config
        # `read_config` keeps workspace settings only in a top folder's file: they apply everywhere
        names = (SETTING_KEYS[key] for key in WORKSPACE_KEYS)
        workspace = {n: config.values[n] for n in names if n in config.values and n not in self.forced}
        self.base = self.base.with_values(workspace)
        self._cache.clear()

    def for_uri(self, uri: str) -> ProjectConfig | None:
        return next((c for c in self.by_folder.values() if c.uri == uri), None)

    def settings_for(self, path: str) -> Settings:
        """The settings of the file at `path`: the base, then each configuration from the top folder
        down to the file's (the nearest wins per setting), then the flags."""
        folder = posixpath.dirname(path)
        found = self._cache.get(folder)
        if found is None:
            found = self._cache[folder] = self._compute(folder)
        return found

    def _compute(self, folder: str) -> Settings:
        values: dict[str, Any] = {}
        for config in self._chain(folder):
            # each file's exclude patterns stay its own (discovery reads them relative to its folder)
            values.update((k, v) for k, v in config.values.items() if k != "exclude")
        for name, value in self.forced.items():
            if name == "exclude":
                continue
            if isinstance(value, tuple):
                before = values.get(name, getattr(self.base, name))
                value = tuple(dict.fromkeys((*before, *value)))
            values[name] = value
        return self.base.with_values(values)

    def exclusions(self) -> list[tuple[str, tuple[str, ...]]]:
        """(folder, patterns) of each configuration that excludes paths."""
        return [(c.folder, c.values["exclude"]) for c in self.by_folder.values() if c.values.get("exclude")]

    def _chain(self, folder: str) -> list[ProjectConfig]:
        """The configurations that apply to `folder`, outermost first."""
        chain = []
        while True:
            config = self.by_folder.get(folder)
            if config is not None:
                chain.append(config)
            parent = posixpath.dirname(folder)
            if parent == folder:
                break
            folder = parent
        return chain[::-1]
