"""Notes the answer adds to the tools' own narrations: a method comparison for "compare X and Y on
review 3" (agent/comparisons.py) and the label premise of "why did it call review 12 negative?" when
the model predicts positive (agent/premises.py)."""
from __future__ import annotations

from agent.comparisons import method_comparison
from agent.premises import label_premise_note
from agent.records import Step

WORDS = ["the", "soup", "was", "cold", "sadly"]


def attribution(method: str, scores: list[float], comprehensiveness: float | None = None, **target) -> Step:
    words = [{"word": w, "score": s, "start": 0, "end": 0} for w, s in zip(WORDS, scores)]
    top = sorted(({"word": w, "score": s, "index": i} for i, (w, s) in enumerate(zip(WORDS, scores))),
                 key=lambda t: -t["score"])
    output = {"text": " ".join(WORDS), "id": 3, "method": method, "words": words, "top": top,
              "target": {"kind": "label", "label": "negative", "predicted": "negative",
                         "probabilities": {"negative": 0.8, "positive": 0.2}, **target}}
    if comprehensiveness is not None:
        output["faithfulness"] = {"comprehensiveness": comprehensiveness}
    return Step(tool="attribute", args={"id": 3, "method": method}, status="done", output=output)


def test_two_methods_that_rank_alike_are_said_to_agree():
    note = method_comparison([attribution("lime", [0.0, 0.5, 0.1, 0.9, 0.3], 0.20),
                              attribution("occlusion", [0.1, 0.4, 0.0, 0.8, 0.2], 0.35)])
    assert note.startswith("Comparison. Lime vs occlusion: rank agreement (Spearman) 0.90 over 5 words")
    assert "largely agree" in note and "share 3 of their top 3 words" in note
    assert "lime 0.200, occlusion 0.350, so occlusion's ranking is the more faithful one" in note


def test_opposite_rankings_are_said_to_disagree():
    note = method_comparison([attribution("lime", [1, 2, 3, 4, 5]),
                              attribution("integrated_gradients", [5, 4, 3, 2, 1])])
    assert "rank agreement (Spearman) -1.00" in note and "they disagree" in note and "Comprehensiveness" not in note


def test_no_comparison_for_one_method_or_different_targets():
    assert method_comparison([attribution("lime", [1, 2, 3, 4, 5])]) is None
    assert method_comparison([attribution("lime", [1, 2, 3, 4, 5]),
                              attribution("occlusion", [1, 2, 3, 4, 5], label="positive")]) is None


def test_a_label_the_model_did_not_predict_is_said_first():
    step = attribution("occlusion", [1, 2, 3, 4, 5], predicted="positive",
                       probabilities={"negative": 0.275, "positive": 0.725})
    step.output["gold_label"] = "positive"
    assert label_premise_note("why did it call review 3 negative?", [step]) == (
        "The model does not call review 3 negative: it predicts positive (0.72); its gold label is positive. "
        "What follows explains the positive prediction.")
    assert label_premise_note("why did it call review 3 positive?", [step]) is None  # the premise holds
    assert label_premise_note("show review 3, is it negative?", [step]) is None  # no "why" question
    assert label_premise_note("why is it negative or positive?", [step]) is None  # two labels: no premise


def test_the_premise_is_read_from_a_prediction_too():
    step = Step(tool="predict", args={"id": 9}, status="done",
                output={"id": 9, "label": "negative", "probability": 0.66, "gold_label": "negative",
                        "probabilities": {"negative": 0.66, "positive": 0.34}})
    assert label_premise_note("so why does the model think review 9 is positive", [step]).startswith(
        "The model does not call review 9 positive: it predicts negative (0.66)")


def test_the_answers_on_a_real_tiny_model(tiny_assistant):
    """The notes on real outputs: a what-if says both predictions, a comparison compares, a premise is checked."""
    swapped = tiny_assistant.ask("what if I swap 'good' for 'bad' in 'the food was good'")
    assert [s.args for s in swapped.steps] == [{"text": "the food was bad"}]  # the plan is unchanged
    before = tiny_assistant.run_tool("predict", {"text": "the food was good"}).output
    assert f"Before the edit, the model predicted {before['label']} ({before['probability']:.3f})" in swapped.narration
    compared = tiny_assistant.ask("compare lime and occlusion on review 101")
    assert [s.args.get("method") for s in compared.steps] == ["lime", "occlusion"]
    assert "Comparison. Lime vs occlusion: " in compared.narration
    predicted = tiny_assistant.run_tool("predict", {"id": 103}).output["label"]
    other = next(x for x in ("negative", "positive") if x != predicted)
    asked = tiny_assistant.ask(f"why did it call review 103 {other}?")
    assert asked.narration.startswith(f"The model does not call review 103 {other}: it predicts {predicted}")


def score_step(groups: list[tuple[str, float, tuple[float, float]]]) -> Step:
    rows = [{"value": v, "score": s, "ci95": ci, "rows": 50, "correct": int(s * 50)} for v, s, ci in groups]
    return Step(tool="score", args={"by": "domain"}, status="done",
                output={"metric": "accuracy", "by": "domain", "groups": rows})


def test_is_it_worse_on_a_group_is_answered_yes_no_or_not_clearly():
    from agent.comparisons import group_comparison

    close = score_step([("service", 0.9, (0.8, 0.97)), ("film", 0.824, (0.71, 0.92)),
                        ("restaurant", 0.821, (0.7, 0.9))])
    assert group_comparison("is it worse on film reviews than restaurant ones?", [close]) == (
        "Not clearly: accuracy on film 0.824 against restaurant 0.821, and their 95% intervals overlap, so these "
        "rows cannot tell the two apart.")
    apart = score_step([("film", 0.6, (0.5, 0.7)), ("restaurant", 0.9, (0.85, 0.95))])
    assert group_comparison("is it worse on film than on restaurant?", [apart]).startswith(
        "Yes: accuracy on film 0.600")
    assert group_comparison("is it better on film than restaurant?", [apart]).startswith("No: ")
    assert group_comparison("is it worse on restaurant reviews or film reviews?", [apart]).startswith("No: ")
    assert group_comparison("accuracy per domain", [apart]) is None  # no comparison asked


def test_a_line_after_a_bullet_list_starts_its_own_paragraph():
    from tools.narration import ended_lists

    assert ended_lists("Edits:\n- a\n- b\nDiversity: 0.4\nCaveat: x") == (
        "Edits:\n- a\n- b\n\nDiversity: 0.4\nCaveat: x")
    assert ended_lists("no list\nhere") == "no list\nhere"


def test_the_mistakes_summary_rounds_lengths_to_what_they_mean():
    from types import SimpleNamespace

    from agent.reports.content import mistake_summary

    rows = [SimpleNamespace(id=i, label="negative", text=t, n_words=n)
            for i, (t, n) in enumerate([("a b c", 3), ("a b c d", 4), ("a b c d e f g h", 8), ("x y", 2)])]
    predicted = {0: "positive", 1: "positive", 2: "positive", 3: "negative"}
    summary = mistake_summary(rows, rows[:3], predicted, {i: 0.6 for i in range(4)}, [])
    assert summary["mean_words_mistakes"] == 5.0 and summary["mean_words_correct"] == 2.0
    rows[2].n_words = 9
    assert mistake_summary(rows, rows[:3], predicted, {i: 0.6 for i in range(4)}, [])["mean_words_mistakes"] == 5.3
