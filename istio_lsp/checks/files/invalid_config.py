"""invalid-config: a project configuration file (`.istio-lsp.yaml`) that cannot be applied as written."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from istio_lsp.checks.base import Context, Finding, Rule, Severity
from istio_lsp.index import FileSummary
from istio_lsp.index.config import ConfigProblem, ProjectConfig

DOC = """\
A project configuration file (`.istio-lsp.yaml` or `.istio-lsp.yml`) holds a key istio-lsp
does not know, a value of the wrong type, a severity that is not one of `error`, `warning`,
`information`, `hint` and `off`, or a rule code that no rule has.

## Why it matters

A configuration that is silently half applied is worse than none: a misspelt
`externalHost` would leave every external host reported, a misspelt rule code in
`disabledRules` would turn nothing off. `istio-lsp check` therefore stops with exit
status 2 on such a file, and the editor shows this error on the line at fault until it is
fixed. The rest of the file still applies in the editor meanwhile.

Settings that describe the whole cluster (`clusterDomain`, `rootNamespace`, `enableAutoMtls`) and the editor
(`debounceMs`) belong in the configuration file at the workspace's top folder; in a
subfolder they are reported here.

## Wrong

```yaml
# .istio-lsp.yaml
defaultNamespce: shop          # unknown key
severity:
  gateway-not-found: fatal     # not a severity
disabledRules: [no-such-rule]  # no rule has this code
```

## Right

```yaml
defaultNamespace: shop
severity:
  gateway-not-found: error
disabledRules: [weights-not-100]
```
"""


def run(ctx: Context, summary: FileSummary) -> Iterator[Finding]:
    config = ctx.index.configs.for_uri(summary.uri)
    if config is not None:
        from istio_lsp.checks import RULES_BY_CODE  # the registry imports this module

        yield from config_findings(config, RULES_BY_CODE)


def config_findings(config: ProjectConfig, known_codes: Iterable[str]) -> Iterator[Finding]:
    """The problems of one configuration file, unknown rule codes included."""
    for problem in [*config.problems, *_unknown_codes(config, set(known_codes))]:
        yield Finding(RULE.code, RULE.severity, f"{problem.message}.", config.uri, problem.span)


def _unknown_codes(config: ProjectConfig, known: set[str]) -> Iterator[ConfigProblem]:
    for name, written in (("severity", "severity"), ("disabled_rules", "disabledRules")):
        codes = config.values.get(name) or ()
        unknown = [code for code in codes if code not in known]
        if unknown:
            span = config.key_spans[name]
            listed = ", ".join(f"`{code}`" for code in unknown)
            yield ConfigProblem(f"`{written}` names no rule: {listed}", span, name)


RULE = Rule(
    code="invalid-config",
    severity=Severity.ERROR,
    summary="A project configuration file with an unknown key, a bad value or an unknown rule code.",
    doc=DOC,
    run=run,
)
