"""How sure a missing host is missing: the evidence the host-not-found checks share.

A workspace rarely holds the whole mesh, so a host nothing provides is a warning only with
evidence that it should be in the workspace (a build renaming the Service, a namesake in
another namespace, a close name among the Services of its namespace), and information
otherwise, saying what was not seen.
"""

from __future__ import annotations

from istio_lsp.checks.base import Context, Related, Severity, likely_typo, related_to
from istio_lsp.index.resolve import HostResolution
from istio_lsp.model.hosts import ANY_NAMESPACE, cluster_namespace, namespaces_match, service_fqdn
from istio_lsp.model.resources import Resource, Service


def host_namespace(ctx: Context, res: HostResolution) -> str | None:
    """The namespace a cluster-local host names, None for a host outside the cluster.

    `api.example` may also read as Service `api` in namespace `example`: that reading is
    believed only when the workspace has something in that namespace."""
    domain = ctx.settings.cluster_domain
    return cluster_namespace(res.candidates[0], domain) or next(
        (ns for c in res.candidates[1:] if (ns := cluster_namespace(c, domain)) and ctx.index.in_namespace(ns)),
        None,
    )


def not_provided(host: str, res: HostResolution, namespace: str | None, outcome: str) -> tuple[str, list[Related]]:
    """The message that no Service or ServiceEntry provides a host, ending in what follows from it
    (`outcome`), and the VirtualServices that declare the host instead."""
    message = f"No Service or ServiceEntry in the workspace provides `{host}`"
    if res.fqdn != host and namespace != ANY_NAMESPACE:
        message += f" ({res.fqdn})"
    message += f"; {outcome}."
    if not res.declaring:
        return message, []
    message += f" {res.declaring[0].display} declares it, but a VirtualService is not a service."
    return message, [related_to(v, "declares the host") for v in res.declaring]


def same_name_elsewhere(ctx: Context, host: str, namespace: str | None) -> list[str]:
    """`name.ns` of the Services named like a short host in other namespaces (a short name means
    the referrer's own namespace: the usual mistake)."""
    if "." in host or namespace in (None, ANY_NAMESPACE):
        return []
    found = ctx.index.named(host.strip().lower())
    return sorted(
        {
            f"{s.name}.{s.namespace}"
            for s in found
            if isinstance(s, Service) and s.namespace not in (namespace, ANY_NAMESPACE)
        }
    )


def renamed_service(ctx: Context, res: HostResolution, namespace: str | None) -> str | None:
    """The name the build deploying the referrer gives the host's Service, when a Service of that
    name is in the host's namespace (kustomize renames Services, not the hosts naming them)."""
    renamed = ctx.renamed(res.fqdn.partition(".")[0])
    domain = ctx.settings.cluster_domain
    if renamed is not None and namespace and ctx.index.services_for([service_fqdn(renamed, namespace, domain)]):
        return renamed
    return None


def how_sure(
    ctx: Context,
    res: HostResolution,
    namespace: str | None,
    suggestions: list[str],
    elsewhere: list[str],
    referrer: str = "VirtualService",
) -> tuple[Severity, str]:
    """The severity of a host nothing provides, and the sentence saying why.

    A warning needs evidence that the host should be in the workspace: a build that renamed it,
    a Service of that name in another namespace, or a close name among the Services the workspace
    places in its namespace (a typo). Otherwise the Service may come from anywhere the files do
    not show (a chart, an operator, another repository): information, saying what was not seen.
    `referrer` is the kind of the resource that names the host, for the messages."""
    name = res.fqdn.partition(".")[0]
    renamed = renamed_service(ctx, res, namespace)
    if renamed is not None:
        return Severity.WARNING, (
            f" The build {ctx.build_label()} renames Service `{name}` to `{renamed}` (namePrefix/nameSuffix), "
            f"and kustomize does not rewrite hosts in Istio resources: write `{renamed}`, or add a "
            f"nameReference configuration for this field."
        )
    if namespace == ANY_NAMESPACE:
        return Severity.INFORMATION, (
            f" The {referrer} says no namespace and no kustomization or defaultNamespace setting gives it one, "
            "and no Service of that name is in the workspace in any namespace: it may come from elsewhere "
            "(see the externalHosts setting)."
        )
    if elsewhere:
        listed = ", ".join(f"`{e}`" for e in elsewhere)
        return Severity.WARNING, (f" A short name means the {referrer}'s own namespace; the workspace has {listed}.")
    if namespace is None:
        return Severity.INFORMATION, " It may be an external host declared elsewhere (see the externalHosts setting)."
    if not ctx.index.namespace_provides_services(namespace):
        return Severity.INFORMATION, (
            f" The workspace places no Services in `{namespace}`, so it may live elsewhere "
            f"(see the externalHosts setting)."
        )
    if any(likely_typo(res.written, s) for s in suggestions):
        return Severity.WARNING, ""
    return Severity.INFORMATION, (
        f" The workspace places other Services in `{namespace}` but none of a close name: it may be created "
        f"elsewhere (a chart, an operator, another repository; see the externalHosts setting)."
    )


def known_hosts(ctx: Context, referrer: Resource, host: str) -> list[str]:
    """Host spellings to suggest, in the same form as the one written (short names stay short)."""
    domain = ctx.settings.cluster_domain
    keys = list(ctx.index.services.keys())
    if "." not in host:
        return [
            f.split(".")[0] for f in keys if namespaces_match(cluster_namespace(f, domain) or "", referrer.namespace)
        ]
    fqdns = [fqdn for fqdn in keys if cluster_namespace(fqdn, domain) != ANY_NAMESPACE]
    table = ctx.index.service_entries
    entries = {ref.value for key in table.keys() for e in table.get(key) for ref in e.hosts}  # noqa: SIM118
    return fqdns + [h for h in entries if not h.startswith("*")]
