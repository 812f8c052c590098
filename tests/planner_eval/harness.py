"""Scores the offline planner on the held-out sets and on CoXQL (mapped onto the whybox catalogue).

Used by tests/test_planner_eval.py (floors) and benchmarks/planner_eval.py (prints the figures).
A plan is exactly right when its calls equal the gold calls in order, with one relaxation:
`explain_concept.topic` is free text, so it must contain the gold keyword (any non-empty topic
for CoXQL, whose parses carry no topic). A gold plan without calls needs no calls and a message.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
COXQL = HERE.parents[2] / "shared" / "data" / "coxql" / "coxql_train.json"
LABELS = ["negative", "positive"]
HELDOUT_SPLIT = {3, 7, 9}  # idx % 10 of the CoXQL items held out from tuning

Calls = list[dict[str, Any]]


@dataclass
class Score:
    right: int = 0
    total: int = 0
    wrong_calls: int = 0  # plans that run calls other than the gold ones (the silent failures), not asks
    failures: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 0.0

    def add(self, ok: bool, question: str, got: Any, gold: Any) -> None:
        self.total += 1
        self.right += ok
        if not ok:
            self.failures.append((question, got, gold))
            self.wrong_calls += bool(got[0] if isinstance(got, tuple) else got)


def calls_match(got: Calls, gold: Calls, got_message: str | None, gold_message: str | None) -> bool:
    if not gold:
        return not got and bool(got_message)
    if len(got) != len(gold):
        return False
    for g, e in zip(got, gold):
        if g["tool"] != e["tool"]:
            return False
        if e["tool"] == "explain_concept":
            topic = str(g["args"].get("topic") or "").lower()
            keyword = str(e["args"].get("topic") or "").lower()
            if not topic or keyword not in topic or set(g["args"]) - {"topic"}:
                return False
        elif g["args"] != e["args"]:
            return False
    return True


def _plain(plan) -> tuple[Calls, str | None]:
    return [{"tool": c.tool, "args": c.args} for c in plan.calls], plan.message


def make_planner(intent_model: Any = "shared") -> Any:
    """The planner `whybox plan` builds on the defaults: the demo data (labels, median length,
    its `domain` column, ids 0..217) and the default model's shape (30 layers, 1536 neurons)."""
    from agent.planner import planner_for
    from tools.data import load_dataset
    from tools.model_shape import shape_for_spec

    dataset = load_dataset("demo")
    planner = planner_for(dataset, dataset.labels, shape_for_spec("smollm2"))
    if intent_model != "shared":
        planner.intent_model, planner.speller = intent_model, None
    return planner


def plan_turns(planner: Any, *questions: str) -> Any:
    """The plan of the last question, after the earlier ones in one conversation."""
    from agent.plan import ConversationState

    state, plan = ConversationState(), None
    for question in questions:
        plan = planner.plan(question, state)
        state.remember(plan)
    return plan


def last_calls(planner: Any, *questions: str) -> list[tuple[str, dict[str, Any]]]:
    """(tool, args) of each call planned for the last question of the conversation."""
    return [(c.tool, c.args) for c in plan_turns(planner, *questions).calls]


def load_jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (HERE / name).read_text().splitlines() if line.strip()]


def score_single(make_planner: Callable[[], Any], items: list[dict[str, Any]]) -> Score:
    from agent.plan import ConversationState

    score, planner = Score(), make_planner()
    for item in items:
        got, message = _plain(planner.plan(item["q"], ConversationState()))
        score.add(calls_match(got, item["calls"], message, item.get("message")), item["q"], (got, message),
                  item["calls"])
    return score


def score_conversations(make_planner: Callable[[], Any], conversations: list[dict[str, Any]]) -> Score:
    from agent.plan import ConversationState

    score, planner = Score(), make_planner()
    for conversation in conversations:
        state = ConversationState()
        for turn in conversation["turns"]:
            plan = planner.plan(turn["q"], state)
            state.remember(plan)
            got, message = _plain(plan)
            score.add(calls_match(got, turn["calls"], message, turn.get("message")), turn["q"], (got, message),
                      turn["calls"])
    return score


# ---------------- CoXQL ----------------
METHOD = {"default": None, "input_x_gradient": "gradient_x_input", "integrated_gradient": "integrated_gradients",
          "integrated_gradients": "integrated_gradients", "lime": "lime", "attention": "attention"}
METRIC = {"accuracy": "accuracy", "f1": "f1", "precision": "precision", "recall": "recall", "roc": "roc_auc"}
SIMPLE = {"label": "label_distribution", "countdata": "count", "data": "describe_data", "model": "describe_model",
          "function": "capabilities"}
INSTANCE = {"show": "show", "rationalize": "rationalize", "likelihood": "predict", "predict": "predict",
            "adversarial": "adversarial", "augment": "augment", "cfe": "counterfactual"}


def coxql_gold(text: str, sql: str) -> Calls:
    """CoXQL's parse as whybox calls (tools.md maps the operations); [] means a message is due."""
    s = re.sub(r"\[E\]|^User:", " ", sql)
    s = re.sub(r"(\d)([a-z])", r"\1 \2", s).split()
    op = s[0]
    if op in SIMPLE:
        return [{"tool": SIMPLE[op], "args": {}}]
    if op in {"domain", "qatutorial"}:
        return [{"tool": "explain_concept", "args": {"topic": ""}}]
    if op == "score":
        metric = "f1" if s[1].startswith("f") else METRIC[s[1]]
        return [{"tool": "score", "args": {"metric": metric}}]
    if op == "mistake":
        return [{"tool": "mistakes", "args": {"mode": s[1]}}]
    if op == "keywords":
        return [{"tool": "keywords", "args": {} if s[1] == "all" else {"k": int(s[1])}}]
    assert op == "filter", sql
    ids = [int(x) for x in re.findall(r"filter id (\d+)", " ".join(s))]
    rest = " ".join(s).split(" and ", 1)[1].split()
    calls: Calls = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in {"learn", "unlearn"}:
            return []
        if word in INSTANCE:
            tool = INSTANCE[word]
            calls += [{"tool": tool, "args": {"id": n}} for n in ids]
        elif word == "editlabel":
            label = next((name for name in LABELS if re.search(rf"\b{name}\b", text, re.I)), None)
            calls += [{"tool": "edit_label", "args": {"id": n, **({"label": label} if label else {})}} for n in ids]
        elif word == "similar":
            calls += [{"tool": "similar", "args": {"id": n, "k": int(rest[i + 1])}} for n in ids]
            i += 1
        elif word == "influence":
            calls += [{"tool": "influence", "args": {"id": n, "k": int(rest[i + 2])}} for n in ids]
            i += 2
        elif word == "nlpattribute":
            args: dict[str, Any] = {}
            if i + 1 < len(rest) and rest[i + 1] == "topk":
                args["k"] = int(rest[i + 2])
                i += 2
            elif i + 1 < len(rest) and rest[i + 1] == "all":
                i += 1
            if i + 1 < len(rest) and rest[i + 1] in METHOD:
                if METHOD[rest[i + 1]]:
                    args["method"] = METHOD[rest[i + 1]]
                i += 1
            calls += [{"tool": "attribute", "args": {"id": n, **args}} for n in ids]
        i += 1
    return calls


def coxql_items(part: str) -> list[dict[str, Any]]:
    """part: 'dev' (tuning) or 'heldout'. Empty when the shared data is absent."""
    if not COXQL.exists():
        return []
    items = []
    for item in json.loads(COXQL.read_text()):
        held = item["idx"] % 10 in HELDOUT_SPLIT
        if (part == "heldout") != held:
            continue
        text = item["text"].replace("{class_names}", "the labels")
        gold = coxql_gold(text, item["sql"])
        items.append({"q": text, "calls": gold, **({} if gold else {"message": "decline"})})
    return items
