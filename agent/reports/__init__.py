"""Explanation reports (HTML and PDF) from run records: `build_report` chooses what to run."""
from agent.reports.builder import ReportFiles, safe_path, write_report
from agent.reports.content import ReportContent, instance_report, mistakes_report, selection_report

__all__ = ["ReportContent", "ReportFiles", "instance_report", "mistakes_report", "safe_path", "selection_report",
           "write_report"]
