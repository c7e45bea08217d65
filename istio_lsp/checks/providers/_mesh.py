"""The mesh configuration's extension providers as the workspace shows them, shared by the provider checks.

Istiod starts from built-in providers (`prometheus`, `stackdriver`, `envoy`) and merges the mesh
configuration's `extensionProviders` onto them by name. The configuration lives in Istio's `istio`
ConfigMap (`data.mesh`) or an IstioOperator's `spec.meshConfig`; Helm values, a cluster, or one of
several profiles may hold it instead, so a policy is judged only against the configurations deployed
with it (its file, its kustomize build, its folder: `checks/together.py`), and only when they can be
read as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from istio_lsp.checks.together import BUILD, FILE, together
from istio_lsp.index import WorkspaceIndex
from istio_lsp.index.patches import may_be_patched
from istio_lsp.model.hosts import ANY_NAMESPACE
from istio_lsp.model.resources import MeshConfigSource, Resource

BUILT_IN = {"prometheus": "prometheus", "stackdriver": "stackdriver", "envoy": "envoyfileaccesslog"}

# provider kind (normalised: lower case, no `_`) → the signals it serves
SIGNALS_OF = {
    "zipkin": ("tracing",),
    "lightstep": ("tracing",),
    "datadog": ("tracing",),
    "opencensus": ("tracing",),
    "skywalking": ("tracing",),
    "opentelemetry": ("tracing",),
    "stackdriver": ("tracing", "metrics", "accessLogging"),
    "prometheus": ("metrics",),
    "envoyfileaccesslog": ("accessLogging",),
    "envoyhttpals": ("accessLogging",),
    "envoytcpals": ("accessLogging",),
    "envoyotelals": ("accessLogging",),
    "envoyextauthzhttp": ("authorization",),
    "envoyextauthzgrpc": ("authorization",),
}
# provider kinds the mesh configuration API marks deprecated, and what replaces them
DEPRECATED_KINDS = {"lightstep": "opentelemetry", "opencensus": "opentelemetry"}


@dataclass(frozen=True)
class MeshProviders:
    """The extension providers a policy can name: the built-ins, and those of the mesh configurations
    deployed with it."""

    sources: tuple[MeshConfigSource, ...]  # the mesh configurations deployed with the policy
    certain: bool  # one of them is in the policy's file or kustomize build (not only its folder)
    kinds: dict[str, str]  # provider name → normalised kind, built-ins included
    declared_by: dict[str, MeshConfigSource]  # provider name → the configuration declaring it
    default_access_logging: bool  # some configuration sets `defaultProviders.accessLogging`


def normalised(kind: str) -> str:
    return kind.replace("_", "").lower()


def mesh_providers(index: WorkspaceIndex, policy: Resource) -> MeshProviders | None:
    """What the mesh configurations deployed with `policy` declare; None when the workspace shows none
    deployed with it, or one it cannot read (a template, a kustomize patch may change it): then
    nothing is judged missing."""
    sources: list[MeshConfigSource] = []
    evidence: list[str] = []
    for source in _mesh_configs(index):
        how = together(index, source, policy)
        if how is None:
            continue  # an alternative (a sample, a profile) or another cluster's
        if not source.readable or may_be_patched(index, source, "mesh"):
            return None
        sources.append(source)
        evidence.append(how)
    if not sources:
        return None
    kinds = dict(BUILT_IN)
    declared_by: dict[str, MeshConfigSource] = {}
    for source in sources:
        for name, kind in source.extension_providers.items():
            kinds[name] = normalised(kind)
            declared_by[name] = source
    return MeshProviders(
        tuple(sources),
        any(how in (FILE, BUILD) for how in evidence),
        kinds,
        declared_by,
        any(s.default_providers.get("accessLogging") for s in sources),
    )


def _mesh_configs(index: WorkspaceIndex) -> list[MeshConfigSource]:
    key = "mesh_configs"
    found = index.memo.get(key)
    if found is None:
        found = index.memo[key] = [
            r
            for kind in ("ConfigMap", "IstioOperator")
            for r in index.of_kind(ANY_NAMESPACE, kind)
            if isinstance(r, MeshConfigSource)
        ]
    return found
