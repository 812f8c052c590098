"""Whole-dataset work (issue 20): per-row work in batches, written to a resumable result table,
in-process by default or sharded over Ray actors (`whybox batch`, the mistakes report)."""
from tools.batch.runner import BatchSummary, InProcess, run_batch, table_for
from tools.batch.table import ResultTable
from tools.batch.work import BatchWork, ToolWork, row_key

__all__ = ["BatchSummary", "BatchWork", "InProcess", "ResultTable", "ToolWork", "row_key", "run_batch", "table_for"]
