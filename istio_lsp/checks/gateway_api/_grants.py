"""ReferenceGrants: whether a cross-namespace reference is permitted, and the quick fix that creates a grant."""

from __future__ import annotations

from istio_lsp.checks.base import Context
from istio_lsp.findings import Fix, TextEdit
from istio_lsp.model.hosts import ANY_NAMESPACE, namespaces_match
from istio_lsp.model.resources import ReferenceGrant, Resource
from istio_lsp.syntax import Span

GATEWAY_GROUP = "gateway.networking.k8s.io"


def grants_in(ctx: Context, namespace: str) -> list[ReferenceGrant]:
    return [r for r in ctx.index.of_kind(namespace, "ReferenceGrant") if isinstance(r, ReferenceGrant)]


def permitted(
    ctx: Context, from_kind: str, from_namespace: str, to_group: str, to_kind: str, to_namespace: str, to_name: str
) -> bool | None:
    """Whether a ReferenceGrant in `to_namespace` lets `from_kind`s of `from_namespace` refer to the object
    (None: the files cannot say: a namespace known only at deploy time, or nothing of the target namespace
    in the workspace, where its grants would be)."""
    group = "" if to_group == "core" else to_group
    for grant in grants_in(ctx, to_namespace):
        froms = any(
            g == GATEWAY_GROUP and k == from_kind and namespaces_match(ns, from_namespace)
            for g, k, ns in grant.grants_from
        )
        tos = any(
            ("" if g == "core" else g) == group and k == to_kind and (name is None or name == to_name)
            for g, k, name in grant.grants_to
        )
        if froms and tos:
            return True
    if ANY_NAMESPACE in (from_namespace, to_namespace):
        return None
    if not ctx.index.in_namespace(to_namespace):
        return None  # the target namespace (and its grants) is managed elsewhere
    return False


def create_grant_fix(
    referrer: Resource, from_kind: str, to_group: str, to_kind: str, to_namespace: str, to_name: str
) -> Fix:
    """A new ReferenceGrant document after the referrer's, in the target namespace."""
    end = referrer.span
    text = (
        "\n---\n"
        "apiVersion: gateway.networking.k8s.io/v1beta1\n"
        "kind: ReferenceGrant\n"
        "metadata:\n"
        f"  name: allow-{referrer.namespace}-{from_kind.lower()}s-to-{to_name}\n"
        f"  namespace: {to_namespace}\n"
        "spec:\n"
        "  from:\n"
        f"  - group: {GATEWAY_GROUP}\n"
        f"    kind: {from_kind}\n"
        f"    namespace: {referrer.namespace}\n"
        "  to:\n"
        f'  - group: "{to_group}"\n'
        f"    kind: {to_kind}\n"
        f"    name: {to_name}\n"
    ).rstrip("\n")
    at = Span(end.end_line, end.end_char, end.end_line, end.end_char)
    return Fix(
        f"Create a ReferenceGrant in `{to_namespace}` allowing this {from_kind}",
        (TextEdit(referrer.uri, at, text),),
        preferred=True,
        safe=False,  # it widens what the target namespace lets others read: the owner of that namespace decides
    )
