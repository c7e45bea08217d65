"""The model's view of a ServiceEntry's endpoints (inline, WorkloadEntries): the labels each
carries, and whether the files show them all."""

from __future__ import annotations

from istio_lsp.index import summarize
from istio_lsp.model.resources import ServiceEntry, WorkloadEntry
from istio_lsp.settings import Settings

ENTRY = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: billing, namespace: shop}
spec:
  hosts: [billing.example.com]
  resolution: STATIC
  endpoints:
  - address: 10.0.0.10
    labels: {app: billing, version: v1}
  - address: 10.0.0.11
  - address: 10.0.0.12
    labels:
      version: {nested: map}
  - labels: ~
"""


def _entry(text: str) -> ServiceEntry:
    (entry,) = summarize("file:///se.yaml", text, Settings()).resources
    assert isinstance(entry, ServiceEntry)
    return entry


def test_each_endpoint_keeps_its_labels_and_item_span() -> None:
    entry = _entry(ENTRY)
    assert entry.endpoint_count == 4
    first, bare, odd, null = entry.endpoints
    assert (first.address, first.labels_complete) == ("10.0.0.10", True)
    assert first.labels == {"app": "billing", "version": "v1"}
    assert first.span.start_line == 7 and first.span.end_line == 8
    assert (bare.labels, bare.labels_complete) == ({}, True)
    assert (odd.labels, odd.labels_complete) == ({}, False)  # a value that is not a scalar: not known
    assert (null.address, null.labels, null.labels_complete) == (None, {}, True)


def test_an_entry_without_endpoints_has_none() -> None:
    entry = _entry(ENTRY.split("  endpoints:")[0])
    assert entry.endpoints == [] and entry.endpoint_count == 0


WORKLOAD_ENTRY = """\
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-1
  namespace: shop
  labels: {version: v2}
spec:
  address: 10.0.0.20
  labels: {app: billing, version: v1}
"""


def test_a_workload_entry_carries_its_spec_and_metadata_labels() -> None:
    (entry,) = summarize("file:///we.yaml", WORKLOAD_ENTRY, Settings()).resources
    assert isinstance(entry, WorkloadEntry)
    assert entry.address == "10.0.0.20" and entry.labels_complete
    assert entry.endpoint_labels == {"app": "billing", "version": "v2"}  # metadata labels win
    broken = WORKLOAD_ENTRY.replace("labels: {app: billing, version: v1}", "labels: [app]")
    (entry,) = summarize("file:///we.yaml", broken, Settings()).resources
    assert isinstance(entry, WorkloadEntry) and not entry.labels_complete
