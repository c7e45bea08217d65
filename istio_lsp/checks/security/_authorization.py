"""What the checks of an AuthorizationPolicy's rule values share: the policies they read, the values they judge,
and what an entry that matches no request makes the policy do."""

from __future__ import annotations

from collections.abc import Iterator

from istio_lsp.index import FileSummary
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.model.resources import RuleValue, SelectorPolicy

# what a rule that needs an entry matching nothing does, by the policy's action
# what a rule that can never match does, by the policy's action
NEVER_MATCHING_RULE = {
    "ALLOW": "allows nothing",
    "DENY": "denies nothing",
    "AUDIT": "audits nothing",
    "CUSTOM": "sends nothing to the external authorizer",
}


def never_matching(action: str | None) -> str:
    """What a rule of a policy with `action` does when it can never match."""
    return NEVER_MATCHING_RULE.get((action or "ALLOW").upper(), "never applies")


def authorization_policies(summary: FileSummary) -> Iterator[SelectorPolicy]:
    """Istio's AuthorizationPolicies of a file that list callers or hosts in their rules."""
    for resource in summary.resources:
        if (
            isinstance(resource, SelectorPolicy)
            and resource.kind == "AuthorizationPolicy"
            and resource.api_version.partition("/")[0] == "security.istio.io"
            and resource.rule_values
        ):
            yield resource


def judged_values(policy: SelectorPolicy, *keys: str) -> Iterator[RuleValue]:
    """The policy's values of the given fields that say something: not empty (admission's concern), not a
    placeholder a tool fills in, not a pattern Istio rejects (more than one `*`, or one inside)."""
    for item in policy.rule_values:
        value = item.value.value
        if item.key not in keys or not value.strip() or is_placeholder(value):
            continue
        if value.count("*") > 1 or ("*" in value and not (value.startswith("*") or value.endswith("*"))):
            continue
        yield item


def outcome(policy: SelectorPolicy, key: str) -> str:
    """What an entry of field `key` that matches no request makes the policy do."""
    if key.startswith("not"):
        return "excluding it excludes nothing, and the rule also applies to the requests meant to be left out"
    needed = f"a rule that needs it {never_matching(policy.action)}"
    if (policy.action or "ALLOW").upper() == "ALLOW":
        needed += ", so those requests are refused unless another rule allows them"
    return needed
