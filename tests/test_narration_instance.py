"""Narration of the instance tools (predict, attribute, counterfactual, adversarial, augment,
rationalize, similar, influence) on typed outputs built by hand (no model, no dataset): the exact
wording, so a refactor cannot change it silently; and attribute's heatmap (PNG + HTML side file,
drawn once per result) and its terminal heatmap."""
from __future__ import annotations

import re

import pytest

from tools.builtin.adversarial import Adversarial, AdversarialOutput
from tools.builtin.attribute import Attribute, AttributeOutput
from tools.builtin.augment import Augment, AugmentOutput
from tools.builtin.counterfactual import Counterfactual, CounterfactualOutput
from tools.builtin.influence import Influence, InfluenceOutput
from tools.builtin.predict import Predict, PredictOutput
from tools.builtin.rationalize import Rationalize, RationalizeOutput
from tools.builtin.similar import Similar, SimilarOutput

ROW = {"id": 7, "text": "the  staff were\nrude", "label": "negative", "prediction": "negative", "confidence": 0.875,
       "domain": "restaurant"}
UNLABELLED = {"id": 9, "text": "it came on time", "label": None}


def _attribution(**changes) -> AttributeOutput:
    base = {
        "text": "the food was not good", "id": 12, "gold_label": "negative", "method": "integrated_gradients",
        "diagnostic_only": False,
        "target": {"kind": "label", "label": "negative", "contrast": None, "predicted": "negative",
                   "probabilities": {"negative": 0.8123, "positive": 0.1877}},
        "words": [{"word": w, "score": s, "start": 0, "end": 1}
                  for w, s in (("the", 0.01), ("food", -0.12), ("was", 0.0), ("not", 0.52), ("good", 0.2))],
        "method_info": {"steps": 32, "converged": True},
        "top": [{"word": "not", "score": 0.52, "index": 3}, {"word": "good", "score": 0.2, "index": 4},
                {"word": "food", "score": -0.12, "index": 1}],
        "faithfulness": {"comprehensiveness": 0.3012, "sufficiency": 0.0456, "random_comprehensiveness": 0.1,
                         "random_sufficiency": 0.2, "beats_random": True,
                         "verdict": "beats random on both comprehensiveness and sufficiency",
                         "bins": [0.01, 0.05, 0.1, 0.2, 0.5], "random_rankings": 8, "seed": 0,
                         "probability_measured": "label probability"},
        "forwards": 40, "heatmap_html": '<div class="wb-heatmap">the food</div>', "seconds": 0.5,
    }
    return AttributeOutput.model_validate({**base, **changes})


def test_predict_classification_and_generation():
    row = PredictOutput(kind="classification", text="the food was good", id=100, gold_label="positive", correct=False,
                        label="negative", probability=0.61, probabilities={"negative": 0.61, "positive": 0.39},
                        label_mass=0.8)
    assert Predict().narrate(row, {"id": 100}) == (
        "The model predicts **negative** for review #100 with probability 0.610 (negative 0.610, positive 0.390). "
        "The gold label is positive, so the prediction is wrong.")
    text = row.model_copy(update={"id": None, "gold_label": None, "correct": None, "text": "great  food"})
    assert Predict().narrate(text, {}) == (
        'The model predicts **negative** for "great food" with probability 0.610 (negative 0.610, positive 0.390).')
    generation = PredictOutput(kind="generation", text="My favourite food is", continuation=" pizza.",
                               tokens=[{"token": " pizza", "probability": 0.4213}, {"token": ".", "probability": 0.9}],
                               stopped="eos")
    assert Predict().narrate(generation, {}) == (
        'For "My favourite food is" the model continues: "pizza."\n'
        "First tokens with their probabilities: ' pizza' 0.42, '.' 0.90.")


def test_attribute_label_answer_and_attention():
    assert Attribute().narrate(_attribution(), {"id": 12}) == (
        "The model predicts negative for review #12; the probability of negative is 0.812. By integrated gradients, "
        "the words that pushed it towards **negative** most: 'not' (+0.520), 'good' (+0.200); words that pushed "
        "away: 'food' (-0.120).\n"
        "Faithfulness: deleting the top-ranked words lowers the label probability by 0.301 on average "
        "(comprehensiveness; random rankings 0.100), and keeping only them loses 0.046 (sufficiency, lower is "
        "better; random 0.200). Verdict: the explanation beats random on both comprehensiveness and sufficiency.")
    contrast = _attribution(target={"kind": "label", "label": "positive", "contrast": "negative",
                                    "predicted": "negative", "probabilities": {"negative": 0.8, "positive": 0.2}},
                            top=[{"word": "food", "score": -0.12, "index": 1}], faithfulness=None)
    assert Attribute().narrate(contrast, {}) == (
        "The model predicts negative for review #12; the probability of positive is 0.200. By integrated gradients, "
        "the words that pushed it towards **positive** rather than negative most: none pushed towards it; "
        "words that pushed away: 'food' (-0.120).")
    answer = _attribution(
        id=None, gold_label=None, text="My favourite food is", method="attention", diagnostic_only=True,
        target={"kind": "tokens", "answer": " pizza", "answer_tokens": [" pizza"], "forced": False},
        top=[{"word": "food", "score": 0.3, "index": 2}], faithfulness=None,
        matrix={"outputs": [" pizza", "."], "scores": [[0.1] * 5, [0.0] * 5]})
    assert Attribute().narrate(answer, {}) == (
        'For "My favourite food is" the model answers "pizza". By attention, the words that pushed it towards its '
        "answer most: 'food' (+0.300). These are attention weights: where the model looked, not why it decided "
        "(a diagnostic only).\n"
        "Per answer token: a 2 x 5 matrix (answer tokens x input words) is in the heatmap.")


def test_attribute_figure_is_a_png_with_an_html_side_file_drawn_once(tmp_path):
    from agent.figures import figure_for_step
    from agent.records import Step

    output = _attribution(matrix={"outputs": [" a", " b"], "scores": [[0.1, -0.2, 0.0, 0.3, 0.1]] * 2})
    step = Step(tool="attribute", args={"id": 12}, status="done", output=output.model_dump(mode="json"))
    path = figure_for_step(step, tmp_path)
    assert path is not None and path.name.startswith("attribution-") and path.suffix == ".png"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 400 and height > 100
    html = path.with_suffix(".html").read_text()
    assert html.startswith("<!doctype html>") and '<div class="wb-heatmap">the food</div>' in html
    mtime = path.stat().st_mtime_ns
    assert figure_for_step(step, tmp_path) == path and path.stat().st_mtime_ns == mtime  # reused, not redrawn
    assert Attribute.figure_name == "attribution"


def test_attribute_terminal_heatmap_colours_every_word():
    text = Attribute().terminal(_attribution())
    assert "\x1b[" in text  # ANSI colours
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert plain.split() == ["the", "food", "was", "not", "good"]
    assert "48;2;55;55;255" in text  # the strongest positive word ('not') gets the deepest blue
    assert "48;2;255;" in text  # a negative word ('food') gets a red background


def test_counterfactual_found_and_not_found():
    out = CounterfactualOutput(
        text="the food was good", id=3, gold_label="positive", prediction="positive", probability=0.9,
        target="negative",
        counterfactuals=[
            {"text": "the food was not good", "edits": ["insert 'not'"], "kinds": ["negation"],
             "prediction": "negative", "probability": 0.7, "probabilities": {"negative": 0.7, "positive": 0.3},
             "words_changed": 1, "minimality": 0.25, "perplexity_ratio": 1.2},
            {"text": "the food was bad", "edits": ["'good' → 'bad'"], "kinds": ["antonym"],
             "prediction": "negative", "probability": 0.8, "probabilities": {"negative": 0.8, "positive": 0.2},
             "words_changed": 2, "minimality": 0.5},
        ],
        found=5, diversity=0.4, candidates_scored=60, rounds=2, search_seconds=0.3,
        important_words=[{"word": "good", "drop": 0.5}])
    assert Counterfactual().narrate(out, {}) == (
        "The model predicts positive (0.9) for review #3. The smallest verified change to negative: insert 'not', "
        "which makes it negative (0.7). 5 flips found among 60 edits scored on the model:\n"
        "- insert 'not' → negative (0.7): \"the food was not good\" "
        "[1 word changed, minimality 0.25, perplexity x1.2]\n"
        "- 'good' → 'bad' → negative (0.8): \"the food was bad\" [2 words changed, minimality 0.5]\n"
        "Diversity of these 2: 0.4 (mean pairwise word edit distance, normalised).")
    none = out.model_copy(update={"id": None, "target": None, "counterfactuals": [], "found": 0, "diversity": None})
    assert Counterfactual().narrate(none, {}) == (
        'I found no edit of up to 3 words that changes the prediction for "the food was good" (it predicts '
        "positive at 0.9); 60 candidate edits were scored on the model.")


def test_adversarial_fooled_and_robust():
    out = AdversarialOutput(
        text="the food was good", id=4, prediction="positive", probability=0.51,
        perturbations=[{"text": "To be honest, the food was good", "edits": ["insert 'to be honest,'"],
                        "kinds": ["insert"], "prediction": "negative", "probability": 0.5008,
                        "meaning_similarity": 0.9212, "words_changed": 1}],
        candidates_scored=48, flips=8, flips_meaning_preserved=3, threshold=0.85, success=True)
    assert Adversarial().narrate(out, {}) == (
        "The model predicts positive (0.51) for review #4. It can be fooled: 3 meaning-preserving perturbations "
        "(similarity at least 0.85) flip it, out of 48 tried.\n"
        "- insert 'to be honest,' → negative (0.5008), meaning similarity 0.9212: "
        '"To be honest, the food was good"')
    robust = out.model_copy(update={"perturbations": [], "flips_meaning_preserved": 0, "success": False})
    assert Adversarial().narrate(robust, {}) == (
        "The model predicts positive (0.51) for review #4. No meaning-preserving perturbation (synonym, typo, "
        "neutral phrase; up to 2) changed it: 8 of 48 candidates flipped it, 0 of them with MiniLM similarity of "
        "at least 0.85.")


def test_augment_variants_and_none():
    out = AugmentOutput(
        text="the food was good", prediction="positive", probability=0.9,
        variants=[{"text": "the meal was good", "source": "synonyms", "edits": ["'food' → 'meal'"],
                   "prediction": "positive", "probability": 0.88, "meaning_similarity": 0.95},
                  {"text": "the food was fine", "source": "LLM (fake)", "edits": [], "prediction": "positive",
                   "probability": 0.7, "meaning_similarity": 0.9}],
        candidates=20, label_preserving=15, meaning_preserving=6, diversity=0.375)
    assert Augment().narrate(out, {}) == (
        '2 variants of "the food was good" that the model still labels positive (15 of 20 candidates kept the '
        "label):\n"
        '- "the meal was good" (synonyms; positive at 0.88, meaning similarity 0.95)\n'
        '- "the food was fine" (LLM (fake); positive at 0.7, meaning similarity 0.9)\n'
        "Diversity: 0.375 (mean pairwise word edit distance, normalised).")
    none = out.model_copy(update={"id": 5, "variants": [], "diversity": None})
    assert Augment().narrate(none, {}) == (
        "I found no variant of review #5 that keeps both its label (positive) and its meaning.")


def test_rationalize_checked_and_not_checkable():
    out = RationalizeOutput(
        text="a great movie", id=106, gold_label="positive", prediction="positive", probability=0.7,
        explanation="The word 'movie' and   'great' made me decide.", cited_words=["great", "movie"],
        checks={"attribution_method": "occlusion", "attribution_top_words": ["a", "movie", "great"],
                "agreement": 1.0, "probability_after_removing_cited": 0.5, "drop": 0.2, "random_drop": 0.01,
                "prediction_after_removing_cited": "negative"},
        verdict="faithful: the cited words are among the attribution's top words and removing them matters more "
                "than random words")
    assert Rationalize().narrate(out, {}) == (
        "Asked why it predicts positive (0.7) for review #106, the model says: \"The word 'movie' and 'great' "
        "made me decide.\"\n"
        "Words of the input it cites: 'great', 'movie'. The occlusion attribution ranks first: 'a', 'movie', "
        "'great'. Agreement 1.0; removing the cited words lowers positive by 0.2 (random words of the same "
        "number: 0.01).\n"
        "Verdict: faithful: the cited words are among the attribution's top words and removing them matters more "
        "than random words.")
    silent = RationalizeOutput(
        text="terrible food", prediction="negative", probability=0.6, explanation="negative", cited_words=[],
        checks={"attribution_method": "occlusion", "attribution_top_words": ["terrible", "food"]},
        verdict="not checkable: the explanation cites no word of the input")
    assert Rationalize().narrate(silent, {}) == (
        'Asked why it predicts negative (0.6) for "terrible food", the model says: "negative"\n'
        "Words of the input it cites: none. The occlusion attribution ranks first: 'terrible', 'food'.\n"
        "Verdict: not checkable: the explanation cites no word of the input.")


def test_similar_with_and_without_gold_label_shares():
    out = SimilarOutput(
        text="the staff were rude", id=3, gold_label="negative", layer=-1,
        by_model=[{**ROW, "similarity": 0.97}, {**UNLABELLED, "similarity": 0.5}],
        by_sentence_embedding=[{**ROW, "similarity": 0.91}], overlap=[7],
        by_model_same_label=1.0, by_sentence_embedding_same_label=0.5)
    assert Similar().narrate(out, {}) == (
        "Rows most similar to review #3 in the model's own representation (mean hidden state of the embeddings):\n"
        '- #7 "the staff were rude" (gold: negative, predicted: negative at 87.5%) similarity 0.97\n'
        '- #9 "it came on time" similarity 0.5\n'
        "By sentence embedding (MiniLM):\n"
        '- #7 "the staff were rude" (gold: negative, predicted: negative at 87.5%) similarity 0.91\n'
        "1 row(s) appear in both lists. 100.0% of the model neighbours share its gold label. 50.0% of the "
        "sentence-embedding neighbours share its gold label.")
    free = out.model_copy(update={"id": None, "gold_label": None, "layer": 5, "by_model_same_label": None,
                                  "by_sentence_embedding_same_label": None, "overlap": []})
    assert Similar().narrate(free, {}).startswith(
        'Rows most similar to "the staff were rude" in the model\'s own representation (mean hidden state of '
        "block 5):\n")
    assert Similar().narrate(free, {}).endswith("\n0 row(s) appear in both lists.")
    assert out.by_model[0].model_dump()["domain"] == "restaurant"  # the dataset's own columns are kept


def test_influence():
    out = InfluenceOutput(
        text="the staff were rude", id=3, gold_label="negative", prediction="negative",
        method="TracIn, one checkpoint, last MLP output projection",
        proponents=[{**ROW, "influence": 0.0123}], opponents=[{**UNLABELLED, "influence": -0.004}],
        training_rows=9, by_embedding=[{**ROW, "similarity": 0.88}], overlap_with_embedding=[7])
    assert Influence().narrate(out, {}) == (
        "Rows whose training step would most support the prediction negative for review #3 (TracIn, one "
        "checkpoint, last MLP output projection, 9 rows):\n"
        '- #7 "the staff were rude" (gold: negative, predicted: negative at 87.5%) influence 0.0123\n'
        "Rows that would most push against it:\n"
        '- #9 "it came on time" influence -0.004\n'
        "For comparison, nearest rows by the model's last hidden state:\n"
        '- #7 "the staff were rude" (gold: negative, predicted: negative at 87.5%) similarity 0.88')


def test_outputs_reject_unknown_and_missing_fields():
    from pydantic import ValidationError

    assert PredictOutput.model_validate({"kind": "classification", "text": "x"}).label is None  # optional keys
    with pytest.raises(ValidationError, match="unexpected"):
        PredictOutput.model_validate({"kind": "classification", "text": "x", "unexpected": 1})
    with pytest.raises(ValidationError, match="target"):
        _attribution(target=None)
