"""What the annotation checks share: where a resource's Istio annotations are written, and what
Istio's registry (`_registry.py`, generated from istio/api) says of each. This module defines no rule.

Istio annotations are the keys of `metadata.annotations` whose domain (the part before `/`) is
`istio.io` or a subdomain of it, plus `kubernetes.io/ingress.class`, the one Kubernetes annotation
Istio documents. Every resource's own `metadata.annotations` is read; so is the pod template of a
workload (`spec.template.metadata.annotations` of a Deployment…), whose annotations land on Pods.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from istio_lsp.checks.fields import mapping_at
from istio_lsp.checks.istio_annotations._registry import ANNOTATIONS, LABELS, Annotation
from istio_lsp.checks.local import DocumentContext
from istio_lsp.model.placeholders import is_placeholder
from istio_lsp.syntax import MappingNode, Node, ScalarNode
from istio_lsp.syntax.nodes import PathSegment, entries, get, is_null, items, path, scalar

INGRESS_CLASS = "kubernetes.io/ingress.class"
POD = "Pod"
ANY = "Any"

# Set by Istio itself, never by hand: istioctl skips them in both analyzers, and so do we.
SET_BY_ISTIO = frozenset({"sidecar.istio.io/status", "gateway.istio.io/controller-version", "istio.io/rev"})

# Read by Istio although its registry does not list them (istioctl reports them as unknown):
# a Service's DNS connect strategy, a Gateway API Gateway's address type, the port the injector
# records for secure metrics scraping, the health-check flag istiod sets on WorkloadEntries.
NOT_IN_REGISTRY = frozenset(
    {
        "istio.io/connect-strategy",
        "networking.istio.io/address-type",
        "prometheus.istio.io/secure-port",
        "proxy.istio.io/health-checks-enabled",
    }
)
# what istiod writes on the objects it generates (the webhook refuses some of them on Istio kinds)
GENERATED_DOMAIN = "internal.istio.io"

# workload kinds → where their pod template is: (API group, kind) → path of the template
_POD_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("", "ReplicationController"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("", "PodTemplate"): ("template",),
    ("argoproj.io", "Rollout"): ("spec", "template"),
}
# kinds whose annotations a controller copies onto objects it makes: Istio's gateway deployment
# controller gives a Gateway API Gateway's annotations to the Deployment's pods and the Service
_COPIED_TO: dict[tuple[str, str], tuple[str, ...]] = {("gateway.networking.k8s.io", "Gateway"): (POD, "Service")}
# Kubernetes' own API groups besides those ending in `.k8s.io`
_KUBERNETES_GROUPS = frozenset({"", "apps", "batch", "extensions", "policy", "autoscaling"})


@dataclass(frozen=True)
class Written:
    """One Istio annotation as a resource writes it."""

    name: str
    key: ScalarNode
    value: Node
    target: str  # the kind of object that carries it: the resource's kind, or Pod in a pod template
    lands_on: tuple[str, ...]  # the kinds of object it takes effect on: the target, and where it is copied
    template: bool  # written in a workload's pod template
    path: tuple[PathSegment, ...]  # of the annotations mapping: ("metadata", "annotations")
    metadata: MappingNode  # the metadata mapping that holds it (its labels are beside it)
    pod_spec: Node | None  # the spec of the pod that gets it, for a Pod or a pod template
    definition: Annotation | None  # what Istio's registry says of it; None: not in the registry

    @property
    def text(self) -> str | None:
        """The value's text; None for a null, a mapping or a list (the schema's business)."""
        return scalar(self.value)

    @property
    def where(self) -> str:
        return ".".join(str(segment) for segment in self.path)


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def domain_of(name: str) -> str | None:
    """The prefix of an annotation key (`sidecar.istio.io` of `sidecar.istio.io/inject`), None without one."""
    domain, slash, rest = name.partition("/")
    return domain if slash and rest else None


def is_istio_annotation(name: str) -> bool:
    """An annotation in one of Istio's domains, or the Kubernetes one Istio documents."""
    if name == INGRESS_CLASS:
        return True
    domain = domain_of(name)
    return domain is not None and (domain == "istio.io" or domain.endswith(".istio.io"))


def written(ctx: DocumentContext) -> list[Written]:
    """The Istio annotations of a resource and of its pod template, each key once (the last one
    wins, as in Kubernetes). Keys holding a placeholder and those Istio sets itself are left out."""
    found = ctx.memo.get("istio-annotations")
    if found is None:
        found = ctx.memo["istio-annotations"] = list(_written(ctx))
    return found


def _written(ctx: DocumentContext) -> Iterator[Written]:
    resource = ctx.resource
    group = group_of(resource.api_version)
    metadata = mapping_at(ctx.node, "metadata")
    if metadata is not None:
        pod_spec = get(ctx.node, "spec") if (group, resource.kind) == ("", POD) else None
        lands_on = (resource.kind, *_COPIED_TO.get((group, resource.kind), ()))
        yield from _in(metadata, lands_on, ("metadata", "annotations"), False, pod_spec)
    template_path = _POD_TEMPLATES.get((group, resource.kind))
    if template_path is not None:
        template = path(ctx.node, *template_path)
        template_metadata = mapping_at(template, "metadata")
        if template_metadata is not None:
            where = (*template_path, "metadata", "annotations")
            yield from _in(template_metadata, (POD,), where, True, get(template, "spec"))


def _in(
    metadata: MappingNode, lands_on: tuple[str, ...], where: tuple[str, ...], template: bool, pod_spec: Node | None
) -> Iterator[Written]:
    annotations = mapping_at(metadata, "annotations")
    if annotations is None:
        return
    for name, (key, value) in entries(annotations).items():
        if not is_istio_annotation(name) or name in SET_BY_ISTIO or is_placeholder(name):
            continue
        definition = ANNOTATIONS.get(name)
        yield Written(name, key, value, lands_on[0], lands_on, template, where, metadata, pod_spec, definition)


def read_by_istio(name: str) -> bool:
    """Istio reads it: its registry lists it, it is one Istio reads without listing, or istiod writes it."""
    return name in ANNOTATIONS or name in NOT_IN_REGISTRY or domain_of(name) == GENERATED_DOMAIN


def is_label(name: str) -> bool:
    """One of Istio's labels (some, like `sidecar.istio.io/inject`, are also annotations)."""
    return name in LABELS


def applies_to(definition: Annotation, entry: Written) -> bool:
    """Whether the annotation takes effect where it is written (or where it is copied to)."""
    return ANY in definition.resources or any(kind in definition.resources for kind in entry.lands_on)


def placement_is_known(ctx: DocumentContext) -> bool:
    """Whether the resource is of a kind Istio's registry can speak of: Kubernetes' own, Istio's, the
    Gateway API's. A third party's controller may copy annotations onto the Pods or Services it makes
    (Knative does), so an annotation on its resources is not judged misplaced."""
    group = group_of(ctx.resource.api_version)
    return group in _KUBERNETES_GROUPS or group.endswith((".k8s.io", ".istio.io"))


def has_template(ctx: DocumentContext) -> bool:
    """The resource is a workload whose pod template Istio's annotations can go in."""
    return (group_of(ctx.resource.api_version), ctx.resource.kind) in _POD_TEMPLATES


def template_metadata(ctx: DocumentContext) -> MappingNode | None:
    """The metadata mapping of the workload's pod template, when it is written as one."""
    template_path = _POD_TEMPLATES.get((group_of(ctx.resource.api_version), ctx.resource.kind))
    return mapping_at(path(ctx.node, *template_path), "metadata") if template_path is not None else None


def template_where(ctx: DocumentContext) -> str:
    """The field path of the pod template's annotations, for messages."""
    template_path = _POD_TEMPLATES.get((group_of(ctx.resource.api_version), ctx.resource.kind), ("spec", "template"))
    return ".".join((*template_path, "metadata", "annotations"))


def judged_text(entry: Written) -> str | None:
    """The value to judge: its text, unless it is null, not a scalar, or holds a placeholder."""
    text = entry.text
    if text is None or is_placeholder(text) or (isinstance(entry.value, ScalarNode) and is_null(entry.value)):
        return None
    return text


def string_scalar(node: ScalarNode, text: str) -> str | None:
    """How to write `text` in place of `node`'s value so that it stays a string (an annotation value
    must be one): as it is inside the node's quotes, double-quoted where plain YAML would read a
    number or a boolean; None for a block scalar."""
    if node.style in ("'", '"'):
        return text if node.style not in text and "\\" not in text else None
    if node.style:
        return None
    try:
        plain = yaml.safe_load(text)
    except yaml.YAMLError:
        plain = None
    return text if isinstance(plain, str) and plain == text else json.dumps(text)


def init_container_names(pod_spec: Node | None) -> list[str]:
    return [name for name in (scalar(get(c, "name")) for c in items(get(pod_spec, "initContainers"))) if name]
