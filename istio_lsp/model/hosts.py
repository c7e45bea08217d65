"""Host names as Istio reads them: short names, `name.ns`, FQDNs, wildcards, exportTo."""

from __future__ import annotations

import fnmatch
import ipaddress

_IP_CHARACTERS = frozenset("0123456789abcdefABCDEF.:")

# The namespace of a resource that says none and that no kustomization places: whichever
# namespace it is applied to (`kubectl apply -n`). Lookups treat it as any namespace.
ANY_NAMESPACE = "*"


def is_ip(host: str) -> bool:
    if not _IP_CHARACTERS.issuperset(host.partition("%")[0]):
        return False  # a name (an IPv6 zone after `%` may hold any character): skip the slow parse
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_candidates(host: str, namespace: str, domain: str) -> list[str]:
    """The FQDNs a host written in a resource of `namespace` can mean; the first is Istio's reading.

    Istio expands only dot-less names (`reviews` in `shop` → `reviews.shop.svc.<domain>`).
    `name.ns` and `name.ns.svc` are kept literally by Istio, but Kubernetes DNS and
    people read them as the Service: we accept both readings so that a valid but
    unusual spelling is never reported as missing.
    """
    host = host.strip().lower()
    if not host or host == "*" or host.startswith("*") or is_ip(host):
        return [host]
    if "." not in host:
        return [f"{host}.{namespace}.svc.{domain}"]
    labels = host.split(".")
    if len(labels) == 2:
        return [host, f"{host}.svc.{domain}"]
    if len(labels) == 3 and labels[2] == "svc":
        return [host, f"{host}.{domain}"]
    return [host]


def service_fqdn(name: str, namespace: str, domain: str) -> str:
    return f"{name}.{namespace}.svc.{domain}".lower()


def cluster_namespace(fqdn: str, domain: str) -> str | None:
    """The namespace of a cluster-local service FQDN (`name.ns.svc.<domain>`), else None."""
    suffix = f".svc.{domain}"
    if not fqdn.endswith(suffix):
        return None
    labels = fqdn[: -len(suffix)].split(".")
    return labels[1] if len(labels) == 2 else None


def in_namespace(fqdn: str, namespace: str, domain: str) -> str:
    """A cluster-local FQDN with its namespace label replaced (`a.b.svc.<domain>` → `a.<ns>.svc.<domain>`)."""
    name = fqdn.partition(".")[0]
    return f"{name}.{namespace}.svc.{domain}"


def namespaces_match(a: str, b: str) -> bool:
    """Whether two namespaces can be the same one: equal, or either is not known."""
    return a in (b, ANY_NAMESPACE) or b == ANY_NAMESPACE


def wildcard_keys(host: str) -> list[str]:
    """Wildcard patterns that would cover `host`, most specific first (`a.b.c` → `*.b.c`, `*.c`, `*`)."""
    labels = host.split(".")
    keys = ["*." + ".".join(labels[i:]) for i in range(1, len(labels))]
    keys.append("*")
    return keys


def host_matches(pattern: str, host: str) -> bool:
    """Istio's host matching: `*.example.com` covers `a.example.com` and `a.b.example.com`, not `example.com`."""
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return False


def visible(export_to: list[str], owner_namespace: str, consumer_namespace: str) -> bool:
    """Whether config with this exportTo, living in `owner_namespace`, is visible to `consumer_namespace`.

    Empty exportTo means exported everywhere (Istio's default, absent mesh-wide overrides).
    A namespace that is not known may be any: visible when some namespace would see it.
    """
    if not export_to:
        return True
    for entry in export_to:
        entry = entry.strip()
        if entry == "*":
            return True
        if entry == "." and namespaces_match(consumer_namespace, owner_namespace):
            return True
        if entry not in (".", "~") and namespaces_match(entry, consumer_namespace):
            return True
    return False


def consumer_namespaces(export_to: list[str], namespace: str) -> list[str]:
    """Namespaces whose proxies use a VirtualService with this exportTo (as far as files can tell)."""
    named = [e for e in (x.strip() for x in export_to) if e not in ("", "*", ".", "~")]
    if not export_to or any(e.strip() in ("*", ".") for e in export_to):
        return [namespace, *[n for n in named if n != namespace]]
    return named


def glob_match(patterns: tuple[str, ...] | list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def gateway_key(reference: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a VirtualService `gateways` entry: `ns/name`, `name`, or the old `name.ns.svc…` form."""
    reference = reference.strip()
    if "/" in reference:
        ns, _, name = reference.partition("/")
        return ns, name
    if "." in reference:
        name, ns, *_ = reference.split(".")
        return ns, name
    return namespace, reference


# istiod names the Istio Gateways it generates for a Gateway API Gateway `<name>~…~<listener>`
GENERATED_GATEWAY_MARK = "istio-autogenerated-k8s-gateway"


def is_generated_gateway(reference: str) -> bool:
    """A `gateways` entry naming a Gateway istiod generates internally (not a resource anyone declares)."""
    return GENERATED_GATEWAY_MARK in reference
