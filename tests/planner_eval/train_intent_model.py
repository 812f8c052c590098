"""Trains the planner's learned intent model (agent/planner/intent_model.py) from each tool's
`intent_examples`, the planner's decline examples, our development sets and CoXQL's train split
(read from ../shared, never copied). Development time only: `make intent-model`. It writes the
weights and the typo-repair vocabulary into agent/planner/data/ and prints a held-out check.
"""
from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from agent.planner.intent_model import (  # noqa: E402
    DECLINE_EXAMPLES,
    PLANNER_WORDS,
    WEIGHTS,
    normalise,
    vectors,
)
from agent.planner.slots import QUOTED  # noqa: E402
from tests.planner_eval.harness import coxql_items  # noqa: E402
from tools.atomic import write_bytes_atomic  # noqa: E402
from tools.registry import all_tools  # noqa: E402

DEV_SETS = Path(__file__).resolve().parent


def _first_tool(calls: list[dict], message: str | None) -> str | None:
    if calls:
        return calls[0]["tool"]
    return "decline" if message == "decline" else None


def training_examples(include_coxql: bool = True, coxql_part: str = "all") -> list[tuple[str, str]]:
    """(question, tool) pairs: our examples, our development sets and, when present, CoXQL."""
    pairs: list[tuple[str, str]] = [(q, name) for name, tool in all_tools().items() for q in tool.intent_examples]
    for line in DECLINE_EXAMPLES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            tool, question = line.split("\t", 1)
            pairs.append((question, tool))
    # The first and second held-out sets became development sets in session 6 (tests/planner_eval/README.md).
    for name in ("heldout_single.jsonl", "heldout_single_v2.jsonl"):
        for line in (DEV_SETS / name).read_text().splitlines():
            item = json.loads(line)
            tool = _first_tool(item["calls"], item.get("message"))
            if tool and len(item["calls"]) <= 1:
                pairs.append((item["q"], tool))
    for name in ("dev_conversations.jsonl", "heldout_conversations.jsonl", "heldout_conversations_v2.jsonl"):
        for line in (DEV_SETS / name).read_text().splitlines():
            for turn in json.loads(line)["turns"]:
                tool = _first_tool(turn["calls"], turn.get("message"))
                if tool and len(turn["calls"]) <= 1 and len(turn["q"].split()) >= 4:
                    pairs.append((turn["q"], tool))
    if include_coxql:
        for part in ["dev", "heldout"] if coxql_part == "all" else [coxql_part]:
            pairs += _coxql_pairs(part)
    return pairs


def fit(pairs: list[tuple[str, str]], c: float = 16.0) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = vectors([normalise(q) for q, _ in pairs])
    y = [tool for _, tool in pairs]
    clf = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    return {"classes": np.array(clf.classes_, dtype=str), "coef": clf.coef_.astype(np.float32),
            "intercept": clf.intercept_.astype(np.float32)}


def concept_pairs(skip: tuple[str, ...] = ()) -> list[tuple[str, bool]]:
    """(question, asks about a concept) from every development set (single questions and turns),
    CoXQL's train split and the synthetic pairs of concept_templates.py. `skip`: set files left out
    (the generalisation check)."""
    from tests.planner_eval.concept_templates import concept_examples

    pairs: list[tuple[str, bool]] = []
    for path in sorted(DEV_SETS.glob("*.jsonl")):
        if path.name in skip:
            continue
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            for turn in item.get("turns", [item]):
                if turn["calls"]:
                    pairs.append((turn["q"], all(c["tool"] == "explain_concept" for c in turn["calls"])))
    for part in ("dev", "heldout"):
        pairs += [(item["q"], bool(item["calls"]) and all(c["tool"] == "explain_concept" for c in item["calls"]))
                  for item in coxql_items(part) if item["calls"]]
    return pairs + concept_examples()


def fit_concept(pairs: list[tuple[str, bool]], c: float = 4.0) -> dict[str, np.ndarray]:
    """The concept head: P(the question asks about a concept rather than for a run)."""
    from sklearn.linear_model import LogisticRegression

    x = vectors([normalise(q) for q, _ in pairs])
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, [y for _, y in pairs])
    return {"concept_coef": clf.coef_.astype(np.float32), "concept_intercept": clf.intercept_.astype(np.float32)}


def check_concept(skip: str = "heldout_single_v6.jsonl") -> None:
    """Generalisation of the concept head: trained without one set, scored on that set's questions."""
    head = fit_concept(concept_pairs(skip=(skip,)))
    items = [json.loads(line) for line in (DEV_SETS / skip).read_text().splitlines() if line.strip()]
    items = [(i["q"], all(c["tool"] == "explain_concept" for c in i["calls"])) for i in items if i["calls"]]
    x = vectors([normalise(q) for q, _ in items])
    p = 1 / (1 + np.exp(-(x @ head["concept_coef"].T + head["concept_intercept"]).ravel()))
    for threshold in (0.5, 0.7, 0.8, 0.9):
        hits = sum(1 for (_, y), pi in zip(items, p) if y and pi >= threshold)
        false = sum(1 for (_, y), pi in zip(items, p) if not y and pi >= threshold)
        print(f"concept head trained without {skip}, at p >= {threshold}: {hits}/{sum(y for _, y in items)} concept "
              f"questions found, {false}/{sum(not y for _, y in items)} run requests taken for concepts")


def save(weights: dict[str, np.ndarray], path: Path = WEIGHTS) -> None:
    """Atomic: a half-written weights file would break every planner."""
    buffer = io.BytesIO()
    np.savez(buffer, **weights)
    write_bytes_atomic(path, buffer.getvalue())


def main() -> None:
    """Checks generalisation (train without CoXQL's 30% split, test on it), then trains on all."""
    check = fit(training_examples(coxql_part="dev"))
    held = _coxql_pairs("heldout")
    if held:
        x = vectors([normalise(q) for q, _ in held])
        predicted = check["classes"][(x @ check["coef"].T + check["intercept"]).argmax(1)]
        right = sum(p == t for p, (_, t) in zip(predicted, held))
        print(f"intent accuracy on CoXQL's 30% split, trained without it: "
              f"{right}/{len(held)} = {right / len(held):.1%}")
    check_concept()
    pairs = training_examples()
    save({**fit(pairs), **fit_concept(concept_pairs())})
    print(f"trained on {len(pairs)} examples -> {WEIGHTS}")
    words = write_planner_words([q for q, _ in pairs])
    print(f"{words} planner words -> {PLANNER_WORDS} (agent/spelling.py)")


def write_planner_words(questions: list[str], min_count: int = 2) -> int:
    """The planner's vocabulary for typo repair: words of the training questions outside quotes,
    seen at least twice (one-off words are often typos themselves)."""
    from collections import Counter

    counts = Counter(w for q in questions for w in re.findall(r"[a-z]{4,}", QUOTED.sub(" ", q).lower()))
    lines = [f"{w}\t{n}" for w, n in sorted(counts.items()) if n >= min_count]
    write_bytes_atomic(PLANNER_WORDS, ("\n".join(lines) + "\n").encode("utf-8"))
    return len(lines)


def _coxql_pairs(part: str) -> list[tuple[str, str]]:
    out = []
    for item in coxql_items(part):
        tool = _first_tool(item["calls"], item.get("message"))
        if tool and len(item["calls"]) <= 1:
            out.append((item["q"], tool))
    return out


if __name__ == "__main__":
    main()
