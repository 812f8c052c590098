"""What goes into a report: run records, built from the conversation or by running the tools.

A report is a list of `RunRecord`s (the same records the chat produces, so a report of a
conversation and a report of a row read alike) plus, for a mistakes report, a summary of what the
errors share. Tools run through `run_tool`, so results come from (and go to) the result cache.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.narrator import narrate
from agent.plan import Call
from agent.records import RunRecord, Step, run_step
from agent.reports.rows import explained_rows
from tools.builtin.report import Report
from tools.context import ToolContext
from tools.errors import WhyboxError
from tools.registry import get_tool
from tools.where import Where

SELECTION_ROWS = 5  # rows explained one by one in a selection report unless k says otherwise
WORD = re.compile(r"[a-z][a-z']+")
STOPWORDS = frozenset("""a an and are as at be but by for from had has have i if in into is it its me my of on or so
than that the their them then there these they this to too us was we were what when which while who will with you your
just very really all any can could did do does not no""".split())


@dataclass
class ReportContent:
    title: str
    kind: str  # conversation | instance | selection | mistakes
    records: list[RunRecord]
    summary: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def _record(question: str, steps: list[Step]) -> RunRecord:
    return RunRecord(question=question, calls=[Call(tool=s.tool, args=s.args) for s in steps], steps=steps,
                     narration=narrate(steps, None), seconds=round(sum(s.seconds for s in steps), 4))


def instance_record(ctx: ToolContext, instance: dict[str, Any], method: str | None = None) -> RunRecord:
    """Prediction, attribution (with its faithfulness) and, when the tool exists, a counterfactual."""
    steps = []
    for name in Report.instance_steps:
        tool = get_tool(name)
        if tool.available:
            extra = {"method": method} if method and tool.takes("method") else {}
            steps.append(run_step(ctx, name, {**instance, **extra}))
    subject = f"row {instance['id']}" if "id" in instance else f"\"{instance['text']}\""
    return _record(f"Why does the model predict what it does for {subject}?", steps)


def instance_report(ctx: ToolContext, instance: dict[str, Any], method: str | None = None) -> ReportContent:
    if "id" in instance:
        ctx.dataset.get(instance["id"])  # an unknown id fails here with the valid range, not as a report of errors
    subject = f"row {instance['id']}" if "id" in instance else "a text"
    return ReportContent(f"Explanation of {subject}", "instance", [instance_record(ctx, instance, method)],
                         parameters={**instance, "method": method})


def _overview(ctx: ToolContext, where: dict[str, Any] | None) -> RunRecord:
    args = {"where": where} if where else {}
    recipe = Report.overview_steps + (Report.labelled_overview_steps if ctx.dataset.has_labels else ())
    steps = [run_step(ctx, name, {**args, **extra}) for name, extra in recipe]
    return _record(f"What is in {Where(**(where or {})).describe()} and how well does the model do there?", steps)


def selection_report(ctx: ToolContext, where: dict[str, Any] | None, k: int | None = None, method: str | None = None,
                     quiet: bool = False) -> ReportContent:
    """An overview of the rows, then the first k of them explained one by one."""
    from tools.common import selected_rows

    where_model = Where(**where) if where else None
    rows = list(selected_rows(ctx, where_model))
    if not rows:
        raise WhyboxError(f"No rows match {(where_model or Where()).describe()}, so there is nothing to report on.")
    records = [_overview(ctx, where)]
    chosen = rows[: k or SELECTION_ROWS]
    records += explained_rows(ctx, chosen, method, quiet)
    title = f"Report on {(where_model or Where()).describe()}"
    return ReportContent(title, "selection", records, parameters={"where": where, "k": len(chosen), "method": method})


def mistakes_report(ctx: ToolContext, where: dict[str, Any] | None, k: int | None = None, method: str | None = None,
                    quiet: bool = False) -> ReportContent:
    """Every misclassified row of the selection (or the k most confident ones), each explained,
    and a summary of what the errors share."""
    from tools.common import labelled_rows

    base = {key: v for key, v in (where or {}).items() if key != "correct"}
    rows = labelled_rows(ctx, Where(**base) if base else None)
    table = ctx.predictions()
    predicted, confidence = table.predicted, table.confidence()
    wrong = sorted((r for r in rows if predicted[r.id] != r.label), key=lambda r: (-confidence[r.id], r.id))
    if not wrong:
        raise WhyboxError(f"The model makes no mistakes on {Where(**base).describe() if base else 'all rows'}; "
                          "there is nothing to report.")
    chosen = wrong[:k] if k else wrong
    records = [_overview(ctx, base or None)]
    records += explained_rows(ctx, chosen, method, quiet)  # batched, resumable (tools/batch)
    summary = mistake_summary(rows, wrong, predicted, confidence, records[1:])
    title = "Report on the model's mistakes" + (f" ({Where(**base).describe()})" if base else "")
    return ReportContent(title, "mistakes", records, summary,
                         parameters={"where": {**base, "correct": False}, "k": len(chosen), "method": method})


def _words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def mistake_summary(rows: list, wrong: list, predicted: dict[int, str], confidence: dict[int, float],
                    explained: list[RunRecord]) -> dict[str, Any]:
    """What the errors share: confusions, confidence, length, over-represented words (smoothed
    document-frequency ratio against the correct rows, at least 3 mistakes) and the words the
    attribution most often ranks in its top 3 for the wrong prediction (content words)."""
    right = [r for r in rows if predicted[r.id] == r.label]
    confusions = Counter(f"{r.label} → {predicted[r.id]}" for r in wrong)
    in_wrong = Counter(w for r in wrong for w in _words(r.text))
    in_right = Counter(w for r in right for w in _words(r.text))
    over = []
    for word, n in in_wrong.items():
        share_wrong = n / len(wrong)
        share_right = (in_right[word] + 0.5) / (len(right) + 1)
        if n < 3 or share_wrong <= share_right:
            continue  # too rare to say, or not over-represented
        over.append({"word": word, "mistakes": n, "correct": in_right[word],
                     "ratio": round(share_wrong / share_right, 2)})
    over.sort(key=lambda d: (-d["ratio"], -d["mistakes"], d["word"]))
    top_words: Counter[str] = Counter()
    faithful = []
    for record in explained:
        for step in record.steps:
            # the attribution step: the one whose tool takes the report's `method`
            if step.status == "done" and step.output and get_tool(step.tool).takes("method"):
                top_words.update(word for w in step.output.get("top", [])[:3]
                                 if (word := w["word"].lower().strip(" .,!?;:\"'")) and word not in STOPWORDS)
                faith = step.output.get("faithfulness") or {}
                if "beats_random" in faith:
                    faithful.append(bool(faith["beats_random"]))

    def mean(values: list[float], digits: int = 4) -> float | None:
        return round(sum(values) / len(values), digits) if values else None

    return {
        "rows": len(rows), "mistakes": len(wrong), "error_rate": round(len(wrong) / len(rows), 4),
        "explained": len(explained),
        "confusions": [{"pair": pair, "count": n} for pair, n in confusions.most_common()],
        "mean_confidence_mistakes": mean([confidence[r.id] for r in wrong]),
        "mean_confidence_correct": mean([confidence[r.id] for r in right]),
        "mean_words_mistakes": mean([r.n_words for r in wrong], 1),  # words: one decimal is all it means
        "mean_words_correct": mean([r.n_words for r in right], 1),
        "overrepresented_words": over[:10],
        "top_attributed_words": [{"word": w, "count": n} for w, n in top_words.most_common(10)],
        "attributions_beating_random": mean([float(x) for x in faithful]),
    }


def conversation_report(history: list[RunRecord]) -> ReportContent:
    """Every turn so far, except turns that only asked for a report."""
    records = [r for r in history if (r.steps or r.message) and not all(s.tool == Report.name for s in r.steps)]
    if not records:
        raise WhyboxError("There is nothing to report yet: ask a question first, or name a row, a text or a selection "
                          "(e.g. \"a report on review 12\", \"a report on its mistakes\").")
    return ReportContent("Conversation report", "conversation", records, parameters={"turns": len(records)})


def content_for(ctx: ToolContext, params: Any, history: list[RunRecord], quiet: bool = False) -> ReportContent:
    """Choose the report from the `report` tool's arguments: an instance, the mistakes of a
    selection (where correct=false), a selection, or (no arguments) the conversation so far."""
    where = params.where.model_dump(exclude_none=True) if params.where is not None else None
    if params.id is not None or params.text is not None:
        instance = {"id": params.id} if params.id is not None else {"text": params.text}
        return instance_report(ctx, instance, params.method)
    if where is not None and where.get("correct") is False:
        return mistakes_report(ctx, where, params.k, params.method, quiet)
    if where:
        return selection_report(ctx, where, params.k, params.method, quiet)
    return conversation_report(history)
