"""Datasets: loading (CSV, JSON, JSONL), stable ids, the bundled demo reviews, row selection."""
from tools.data.dataset import Dataset, Row, demo_path, load_dataset

__all__ = ["Dataset", "Row", "demo_path", "load_dataset"]
