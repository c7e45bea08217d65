"""Rule documentation pages, generated from the rules' own metadata and docs.

`python -m istio_lsp.checks.docs` rewrites `istio_lsp/docs/rules/`; a test fails
when the committed pages differ from what the code says.
"""

from __future__ import annotations

import sys

from istio_lsp.checks import RULES
from istio_lsp.checks.base import DOCS_DIR, Rule


def render(rule: Rule) -> str:
    facts = [f"**Default severity:** {rule.severity.label}"]
    if rule.istio_codes:
        facts.append("**istioctl analyze:** " + ", ".join(rule.istio_codes))
    if rule.kiali_codes:
        facts.append("**Kiali:** " + ", ".join(rule.kiali_codes))
    return f"# `{rule.code}`\n\n{rule.summary}\n\n{' · '.join(facts)}\n\n{rule.doc.rstrip()}\n"


def render_index() -> str:
    rows = "\n".join(f"| [`{r.code}`]({r.code}.md) | {r.severity.label} | {r.summary} |" for r in RULES)
    return (
        "# istio-lsp rules\n\n"
        "Every diagnostic's `code` is one of these names; use them in `disabledRules`, `severity` "
        "settings and `--disable`.\n\n| code | default severity | reports |\n|---|---|---|\n" + rows + "\n"
    )


def pages() -> dict[str, str]:
    out = {f"{rule.code}.md": render(rule) for rule in RULES}
    out["index.md"] = render_index()
    return out


def main() -> int:
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    expected = pages()
    for stale in DOCS_DIR.glob("*.md"):
        if stale.name not in expected:
            stale.unlink()
    for name, text in expected.items():
        (DOCS_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} pages to {DOCS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
