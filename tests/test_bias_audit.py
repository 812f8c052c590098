"""bias_audit: term swapping (whole words, case, both directions), a planted shift on a scripted
classifier with known answers, exact probabilities on the tiny LLaMA, bad groups, narration, planner."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tools.builtin.bias_audit import (
    BiasAudit,
    BiasAuditOutput,
    GroupResult,
    LabelShift,
    TermGroup,
    default_groups,
    match_case,
)
from tools.errors import InputError, ToolUnavailable
from tools.registry import run_tool

MALE = ["he said the food was good", "his movie was great", "the man said the price was bad",
        "my husband liked the service", "Mr Smith found the battery bad", "the actor was great", "he was not good",
        "my brother hated the price"]
FEMALE = ["she said the food was good", "her movie was great", "the woman said the price was bad",
          "my wife liked the service", "Mrs Smith found the battery bad", "the actress was terrible",
          "she was not good", "my sister hated the price"]
NAMES = ["John said it was very good", "Mary said it was very bad"]
MIXED = ["he told her the food was bad"]
NONE = ["the food was good", "terrible service", "the price was not good", "the theme of the movie was great"]
ROWS = MALE + FEMALE + NAMES + MIXED + NONE  # ids 0.. in this order
FEMININE = re.compile(r"\b(?:she|her|woman|wife|mrs|actress|sister|mary)\b", re.I)


@pytest.fixture(scope="module")
def audit_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("bias-data") / "bias.jsonl"
    labels = ["positive" if re.search(r"good|great|liked", t) and "not" not in t else "negative" for t in ROWS]
    path.write_text("".join(json.dumps({"id": i, "text": t, "label": lab, "domain": "film" if i % 2 else "food"})
                            + "\n" for i, (t, lab) in enumerate(zip(ROWS, labels))))
    return path


def _context(tiny_models, data, task=None):
    from tools.context import ToolContext, Workspace
    from tools.settings import Settings

    workspace = Workspace(Settings.from_env(model=str(tiny_models["causal"]), data=str(data)), quiet=True)
    if task is not None:
        workspace._task = task  # a scripted classifier in place of the model's task
    return ToolContext(workspace)


class FeminineTask:
    """P(positive) is 0.8 when the text has a feminine word, else 0.3: every oriented swap moves
    P(positive) by exactly +0.5 (male -> female) and flips the prediction."""

    labels = ["negative", "positive"]
    is_classifier = True
    signature = "scripted-feminine"

    def __init__(self):
        self.calls: list[list[str]] = []

    def predict_proba(self, texts, batch_size=16, quiet=True, shared_prefix=False):
        self.calls.append(list(texts))
        pos = np.array([0.8 if FEMININE.search(t) else 0.3 for t in texts])
        return np.stack([1 - pos, pos], axis=1), np.ones(len(texts))


# -- swapping -----------------------------------------------------------------------------------
def test_swaps_whole_words_both_ways_and_keeps_case():
    gender = default_groups()[0]
    assert gender.swap("He said his wife was great")[0] == "She said her husband was great"
    assert gender.swap("she saw her brother")[0] == "he saw his sister"  # "her" -> "his" (documented)
    assert gender.swap("HE WAS GREAT. Mr Smith agreed")[0] == "SHE WAS GREAT. Mrs Smith agreed"
    assert gender.swap("he's the man")[0] == "she's the woman"
    assert gender.swap("himself, not him")[0] == "herself, not her"
    same = "the theme: mankind, a manager, sheds, Hershey, heat"
    assert gender.swap(same) == (same, [], 0, 0)  # never inside a word
    swapped, found, firsts, seconds = gender.swap("he told her")
    assert (swapped, found, firsts, seconds) == ("she told his", ["he", "her"], 1, 1)
    names = TermGroup("John/Mary", "John → Mary", [["John", "Mary"]])
    assert names.swap("John met Mary; john's dog")[0] == "Mary met John; mary's dog"
    phrase = TermGroup("x", "x", [["Mr Smith", "Mrs Jones"]])
    assert phrase.swap("mr  smith waved")[0] == "mrs jones waved"
    assert match_case("Mc", "McDonald") == "McDonald" and match_case("HI", "yo") == "YO"


# -- a planted shift, known answers ----------------------------------------------------------------
def test_planted_shift_is_found_with_exact_numbers(tiny_models, audit_data):
    task = FeminineTask()
    ctx = _context(tiny_models, audit_data, task)
    out = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"k": 50}).output)
    gender, names = out.groups
    assert (out.selected_rows, out.rows_with_terms, out.audited_rows, out.capped) == (len(ROWS), 19, 19, False)
    assert (gender.rows, gender.oriented_rows, gender.mixed_rows, gender.flips) == (17, 16, 1, 16)
    shift = {s.label: s for s in gender.shifts}
    assert (shift["positive"].mean, shift["positive"].low, shift["positive"].high) == (0.5, 0.5, 0.5)
    assert (shift["negative"].mean, shift["negative"].low, shift["negative"].high) == (-0.5, -0.5, -0.5)
    assert gender.shift_found
    assert gender.verdict == "a shift: P(positive) moves by +0.500 (95% CI +0.500 to +0.500) on 16 rows"
    assert (names.rows, names.oriented_rows, names.flips) == (2, 2, 2)
    assert not names.shift_found and names.verdict == "only 2 rows contain these terms: too few to say"
    o = out.overall
    assert (o.rows, o.oriented_rows, o.mixed_rows, o.flips, o.flip_rate) == (19, 18, 1, 18, round(18 / 19, 4))
    assert o.verdict == "a shift: P(positive) moves by +0.500 (95% CI +0.500 to +0.500) on 18 rows"
    assert {r.id for r in out.most_affected} == set(range(19))  # rows without any term are skipped
    row = next(r for r in out.most_affected if r.id == 1)
    assert (row.swapped, row.terms, row.flipped) == ("her movie was great", ["his"], True)
    assert row.probabilities == {"negative": 0.7, "positive": 0.3} and row.swapped_probabilities["positive"] == 0.8
    assert out.terms_found["he"] == 3 and out.terms_found["she"] == 2 and "the" not in out.terms_found
    originals = set(task.calls[0])  # the dataset's predictions, then one batch of swapped texts
    assert len(task.calls) == 2 and set(ROWS) == originals
    assert "SHE" not in " ".join(task.calls[1]) and "she told his the food was bad" in task.calls[1]
    text = BiasAudit().narrate(out, {})
    assert text.startswith(
        "Swapping gender terms and names in 19 of 23 rows (all rows): a shift: P(positive) moves by +0.500")
    assert "- names: only 2 rows contain these terms: too few to say." in text
    result = run_tool(ctx, "bias_audit", {})
    assert any("'her' becomes 'his'" in c for c in result.caveats)
    assert any("names: 2 rows" in c for c in result.caveats)
    assert any("equally (1) count for flips" in c for c in result.caveats)
    one = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"where": {"ids": [0]}}).output)
    assert one.overall.verdict == "only 1 row contains these terms: too few to say"


def test_user_groups_replace_the_defaults_and_where_and_max_rows_apply(tiny_models, audit_data):
    ctx = _context(tiny_models, audit_data, FeminineTask())
    out = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"groups": ["John", "Mary"]}).output)
    assert [g.name for g in out.groups] == ["John/Mary"] and not out.default_groups
    assert out.audited_rows == 2 and {r.id for r in out.most_affected} == {16, 17}
    assert out.overall.direction == "John → Mary" and out.groups[0].pairs == [["John", "Mary"]]
    some = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"where": {"ids": [0, 8, 19]}}).output)
    assert (some.selected_rows, some.audited_rows, some.selection) == (3, 2, "rows ids 0, 8, 19")
    film = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"where": {"match": {"domain": "film"}}}).output)
    assert (film.selected_rows, film.audited_rows) == (11, 9) and all(r.id % 2 for r in film.most_affected)
    capped = run_tool(ctx, "bias_audit", {"max_rows": 3})
    assert (capped.output["audited_rows"], capped.output["rows_with_terms"], capped.output["capped"]) == (3, 19, True)
    assert "Only the first 3 of 19 rows containing terms were audited." in BiasAudit().narrate(
        BiasAudit.typed_output(capped.output), {})
    with pytest.raises(InputError, match="No rows match"):
        run_tool(ctx, "bias_audit", {"where": {"includes": "zebra"}})


def test_no_row_with_the_terms_is_said_plainly(tiny_models, audit_data, tmp_path):
    ctx = _context(tiny_models, audit_data, FeminineTask())
    out = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"groups": [["zebra", "lion"]]}).output)
    assert (out.audited_rows, out.overall.rows, out.most_affected, out.overall.shifts) == (0, 0, [], [])
    assert out.overall.verdict == "no row contains these terms"
    assert BiasAudit().narrate(out, {}) == (
        "None of the 23 selected rows (all rows) contains any of the terms to swap (zebra/lion), so there is nothing "
        "to compare.")
    assert BiasAudit().figure(out, tmp_path / "none.png") is None


@pytest.mark.parametrize("groups, message", [
    ([["he", "he"]], "group 1 swaps 'he' with itself"),
    ([["John", "john"]], "swaps 'John' with itself"),
    ([["", "she"]], "group 1 has an empty term"),
    ([["he", "she"], ["  ", "x"]], "group 2 has an empty term"),
    ([["he"]], "group 1 has 1 terms; each group is a pair"),
    ([], "no pairs given"),
    ([["he", "she"], ["she", "they"]], "'she' is a first term in one pair and a second in another"),
    ([["he", "she"], ["she", "he"]], "group 2 repeats the pair"),
    ([["!", "?"]], "needs at least one letter"),
])
def test_bad_groups_are_clear_errors(tiny_assistant, groups, message):
    with pytest.raises(InputError, match=re.escape(message)):
        run_tool(tiny_assistant.context, "bias_audit", {"groups": groups})


# -- the tiny LLaMA: exact probabilities --------------------------------------------------------------
def test_probabilities_are_the_tasks_on_the_tiny_llama(tiny_models, audit_data, tmp_path):
    ctx = _context(tiny_models, audit_data)
    task = ctx.task
    out = BiasAudit.typed_output(run_tool(ctx, "bias_audit", {"groups": [["good", "bad"]], "k": 50}).output)
    rows = [(i, t) for i, t in enumerate(ROWS) if re.search(r"\b(?:good|bad)\b", t)]
    assert out.audited_rows == len(rows) and {r.id for r in out.most_affected} == {i for i, _ in rows}
    for r in out.most_affected:
        assert r.swapped == re.sub(r"\b(good|bad)\b", lambda m: {"good": "bad", "bad": "good"}[m.group(1)], r.text)
        (before, after), _ = task.predict_proba([r.text, r.swapped])
        np.testing.assert_allclose(list(r.probabilities.values()), before, atol=6e-5)
        np.testing.assert_allclose(list(r.swapped_probabilities.values()), after, atol=6e-5)
    texts = [t for _, t in rows]
    swapped = [r.swapped for r in sorted(out.most_affected, key=lambda r: ROWS.index(r.text))]
    before, _ = task.predict_proba(texts)
    after, _ = task.predict_proba(swapped)
    sign = np.array([1 if re.search(r"\bgood\b", t) else -1 for t in texts])  # good -> bad is the direction
    expected = ((after - before)[:, 1] * sign).mean()
    positive = next(s for s in out.groups[0].shifts if s.label == "positive")
    assert positive.mean == pytest.approx(expected, abs=1e-4)
    assert positive.low <= positive.mean <= positive.high
    flips = int((before.argmax(1) != after.argmax(1)).sum())
    assert out.groups[0].flips == flips
    assert BiasAudit().figure(out, tmp_path / "bias.png").stat().st_size > 1000


def test_words_the_model_cannot_see_do_not_move_it(tiny_models, audit_data):
    """The tiny tokenizer maps every gender word and name to <unk>: the swaps change nothing."""
    out = BiasAudit.typed_output(run_tool(_context(tiny_models, audit_data), "bias_audit", {}).output)
    gender = out.groups[0]
    assert gender.flips == 0 and gender.max_abs_change < 1e-5 and not gender.shift_found
    assert gender.verdict == "no evidence of a shift: CI includes 0 on 16 rows"


def test_generation_models_are_refused(tiny_models, audit_data):
    from tools.context import ToolContext, Workspace
    from tools.settings import Settings

    settings = Settings.from_env(model=str(tiny_models["causal"]), data=str(audit_data), task="generate")
    ws = Workspace(settings, quiet=True)
    with pytest.raises(ToolUnavailable, match="compares label probabilities"):
        run_tool(ToolContext(ws), "bias_audit", {})


# -- narration on a hand-built output ----------------------------------------------------------------
def _group(name, direction, rows, n, mean, low, high, flips, found, verdict):
    shifts = [LabelShift(label="negative", mean=-mean, low=-high, high=-low),
              LabelShift(label="positive", mean=mean, low=low, high=high)]
    return GroupResult(name=name, direction=direction, pairs=[["he", "she"]], rows=rows, oriented_rows=n,
                       mixed_rows=rows - n, shifts=shifts, mean_abs_change=0.02, max_abs_change=0.09, flips=flips,
                       flip_rate=round(flips / rows, 4), shift_found=found, verdict=verdict)


def test_narration_exact():
    overall = _group("all swaps", "male → female", 40, 40, 0.0042, -0.0101, 0.0183, 1, False,
                     "no evidence of a shift: CI includes 0 on 40 rows")
    gender = _group("gender terms", "male → female", 36, 36, 0.0051, -0.0096, 0.0199, 1, False,
                    "no evidence of a shift: CI includes 0 on 36 rows")
    names = _group("names", "male → female", 4, 4, -0.003, -0.012, 0.004, 0, False,
                   "only 4 rows contain these terms: too few to say")
    row = {"id": 7, "terms": ["he"], "text": "he loved the film", "swapped": "she loved the film",
           "probabilities": {"negative": 0.45, "positive": 0.55},
           "swapped_probabilities": {"negative": 0.54, "positive": 0.46}, "prediction": "positive",
           "swapped_prediction": "negative", "flipped": True, "change": 0.09}
    out = BiasAuditOutput(
        selection="all rows", selected_rows=218, rows_with_terms=40, audited_rows=40, max_rows=200, capped=False,
        default_groups=True, labels=["negative", "positive"], focus_label="positive", terms_found={"he": 20},
        groups=[gender, names], overall=overall, most_affected=[row], bootstrap=2000, confidence=0.95, seed=0,
        min_rows=10)
    assert BiasAudit().narrate(out, {}) == (
        "Swapping gender terms and names in 40 of 218 rows (all rows): no evidence of a shift: CI includes 0 on 40 "
        "rows. Mean shift of P(positive) (male → female): +0.004 (95% CI -0.010 to +0.018, 40 rows). 1 of 40 "
        "predictions flip (2.5%).\n"
        "- gender terms: no evidence of a shift: CI includes 0 on 36 rows. Mean shift of P(positive) "
        "(male → female): +0.005 (95% CI -0.010 to +0.020, 36 rows). 1 of 36 predictions flip (2.8%).\n"
        "- names: only 4 rows contain these terms: too few to say. Mean shift of P(positive) (male → female): "
        "-0.003 (95% CI -0.012 to +0.004, 4 rows). 0 of 4 predictions flip (0.0%).\n"
        "Most affected rows:\n"
        "- #7 \"he loved the film\" → \"she loved the film\": P(positive) 0.550 → 0.460, "
        "prediction positive → negative")
    empty = names.model_copy(update={"rows": 0, "oriented_rows": 0, "mixed_rows": 0, "shifts": [], "flips": 0,
                                     "flip_rate": 0.0, "verdict": "no row contains these terms"})
    one = out.model_copy(update={"groups": [gender, empty], "overall": gender})
    assert BiasAudit().narrate(one, {}).split("\n")[:2] == [
        "Swapping gender terms and names in 40 of 218 rows (all rows): no evidence of a shift: CI includes 0 on 36 "
        "rows. Mean shift of P(positive) (male → female): +0.005 (95% CI -0.010 to +0.020, 36 rows). 1 of 36 "
        "predictions flip (2.8%).",
        "- names: no row contains these terms."]  # the one group's line would repeat the overall one
    from agent.grounding import check

    narration = BiasAudit().narrate(out, {})
    assert check(narration, [out.model_dump(mode="json")]).ok


# -- planner ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, args", [
    ("is it biased by gender?", {}),
    ("does the model treat he and she differently?", {"groups": [["he", "she"]]}),
    ("check for gender bias", {}),
    ("run a bias audit on the positive reviews", {"where": {"label": "positive"}}),
    ("swap John and Mary and see if predictions change", {"groups": [["John", "Mary"]]}),
    ("swap 'John' and 'Mary' and see if predictions change", {"groups": [["John", "Mary"]]}),
    ("does swapping names change the predictions?", {}),
    ("are the predictions fair to women?", {}),
    ("gender bias on reviews longer than 10 words", {"where": {"min_words": 11}}),
    ("do the predictions change if I swap Emily and James?", {"groups": [["Emily", "James"]]}),
    ("does the model favour men over women?", {}),
])
def test_planner_plans_the_audit(question, args):
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert [(c.tool, c.args) for c in plan.calls] == [("bias_audit", args)], plan


def test_planner_bias_audit_on_film_reviews_picks_the_tool():
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan("bias audit on film reviews")
    assert [c.tool for c in plan.calls] == ["bias_audit"]


def test_an_odd_number_of_quoted_terms_asks():
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan("swap 'he' and 'she' and 'him' for bias")
    assert not plan.calls and "in pairs" in plan.message


def test_planner_swaps_the_named_pair():
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan("bias audit swapping John with Maria")
    assert [(c.tool, c.args) for c in plan.calls] == [("bias_audit", {"groups": [["John", "Maria"]]})]


@pytest.mark.parametrize("question", [
    "can u do rlhf on it so its less biased",
    "fine-tune the model so it is less biased",
    "retrain it to remove the gender bias",
])
def test_requests_to_change_the_model_are_declined_not_audited(question):
    """Training wording is out of scope (tools.md): no calls and a message, whatever the bias words."""
    from agent.planner import RulePlanner
    from agent.planner.rules import clause_intent

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert plan.calls == [] and "fixed model" in plan.message, plan
    assert clause_intent(question) != "bias_audit"  # the trigger itself does not fire on such wording
    assert BiasAudit.triggers[0].search("is the model biased against women?")  # it still fires on an audit


def test_the_hook_declines_a_debiasing_request_the_learned_model_sends_it():
    from tools.planning import NeedsClarification

    class Query:  # the slice of PlanQuery the hook reads
        text, texts = "debias the model please", []

        def search(self, pattern):
            return re.search(pattern, self.text, re.I)

    with pytest.raises(NeedsClarification, match="does not retrain, fine-tune or RLHF it"):
        BiasAudit.plan_args(Query(), {})
