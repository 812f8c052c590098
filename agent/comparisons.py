"""'Compare lime and occlusion on review 3': the planner runs one attribution per method (tools.md), and
this note compares them, so the answer is a comparison and not two answers side by side: how far the
rankings agree (Spearman over the words, shared top words) and which one the faithfulness check
favours on this input. Numbers only from the steps' outputs."""
from __future__ import annotations

import math
import re
from itertools import combinations
from typing import Any

from agent.records import Step

TOP = 3


def _attributions(steps: list[Step]) -> list[dict[str, Any]]:
    # an attribution's output is known by its fields (the words, each with its score, and the method)
    return [s.output for s in steps
            if s.status == "done" and s.output and s.output.get("words") and s.output.get("method")]


def _same_input(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a.get("text") == b.get("text") and (a.get("target") or {}).get("label") == (b.get("target") or {}).get(
        "label") and [w["word"] for w in a["words"]] == [w["word"] for w in b["words"]])


def _top(out: dict[str, Any]) -> list[str]:
    return [t["word"] for t in (out.get("top") or [])[:TOP]]


def _name(method: str) -> str:
    return method.replace("_", " ")


def method_comparison(steps: list[Step]) -> str | None:
    """A paragraph comparing two or more attributions of one input by different methods, or None."""
    from scipy.stats import spearmanr

    outs = _attributions(steps)
    pairs = [(a, b) for a, b in combinations(outs, 2) if a["method"] != b["method"] and _same_input(a, b)]
    if not pairs:
        return None
    lines = []
    for a, b in pairs[:3]:
        x, y = [w["score"] for w in a["words"]], [w["score"] for w in b["words"]]
        rho = spearmanr(x, y).statistic if len(x) >= 3 and len(set(x)) > 1 and len(set(y)) > 1 else float("nan")
        shared = [w for w in _top(a) if w in _top(b)]
        agreement = (f"rank agreement (Spearman) {rho:.2f} over {len(x)} words" if not math.isnan(rho)
                     else "too few distinct scores for a rank agreement")
        verdict = ("they largely agree" if not math.isnan(rho) and rho >= 0.6
                   else "they partly agree" if not math.isnan(rho) and rho >= 0.3 else "they disagree")
        top_part = (f"they share {len(shared)} of their top {TOP} words"
                    + (f" ({', '.join(repr(w) for w in shared)})" if shared else ""))
        line = f"{_name(a['method']).capitalize()} vs {_name(b['method'])}: {agreement}, so {verdict}; {top_part}."
        fa, fb = a.get("faithfulness") or {}, b.get("faithfulness") or {}
        if fa.get("comprehensiveness") is not None and fb.get("comprehensiveness") is not None:
            ca, cb = float(fa["comprehensiveness"]), float(fb["comprehensiveness"])
            better = _name(a["method"]) if ca > cb else _name(b["method"])
            line += (f" Comprehensiveness (the drop in probability when the top words are removed; higher is more "
                     f"faithful): {_name(a['method'])} {ca:.3f}, {_name(b['method'])} {cb:.3f}"
                     + (f", so {better}'s ranking is the more faithful one on this input." if abs(ca - cb) >= 0.01
                        else ", about the same."))
        lines.append(line)
    return "Comparison. " + " ".join(lines)


WORSE = re.compile(r"\b(worse|weaker|less accurate|lower|poorer|struggle\w*|mess(?:es)? up more|fails? more)\b", re.I)
BETTER = re.compile(r"\b(better|stronger|more accurate|higher|best)\b", re.I)


def group_comparison(question: str, steps: list[Step]) -> str | None:
    """'is it worse on film reviews than restaurant ones?': the answer's first words say yes, no or not clearly,
    from the two named groups' figures and their 95% intervals."""
    worse, better = WORSE.search(question or ""), BETTER.search(question or "")
    if not (worse or better):
        return None
    for step in steps:
        out = step.output or {}
        groups = {str(g["value"]).lower(): g for g in out.get("groups") or [] if g.get("score") is not None}
        if step.status != "done" or len(groups) < 2:
            continue
        named = sorted((m.start(), value) for value in groups
                       if (m := re.search(rf"\b{re.escape(value)}s?\b", question, re.I)))
        if len(named) != 2:
            continue
        (_, first), (_, second) = named
        a, b = groups[first], groups[second]
        metric = out.get("metric", "the figure")
        asked_lower = bool(worse) and not (better and better.start() < worse.start())
        lower_first = a["score"] < b["score"]
        ca, cb = a.get("ci95"), b.get("ci95")
        overlap = bool(ca and cb) and ca[0] <= cb[1] and cb[0] <= ca[1]
        figures = f"{metric} on {first} {a['score']:.3f} against {second} {b['score']:.3f}"
        if overlap:
            return (f"Not clearly: {figures}, and their 95% intervals overlap, so these rows cannot tell the two "
                    "apart.")
        return f"{'Yes' if lower_first == asked_lower else 'No'}: {figures} (the 95% intervals do not overlap)."
    return None
