"""The workspace: per-file summaries and the lookups checks and features make over them."""

from istio_lsp.index.summary import FileSummary, skipped_summary, summarize
from istio_lsp.index.workspace import WorkspaceIndex

__all__ = ["FileSummary", "WorkspaceIndex", "skipped_summary", "summarize"]
